"""Production builders by behaviour: name normalisation, the rolling-window threshold and the
operators' overrides, without a database."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import pytest

from schemas.discards import DiscardedPermit
from schemas.permits import CategorizedPermit
from services.categorizer.builders import (
    VERDICT_ALLOWED,
    VERDICT_BUILDER,
    BuilderSettings,
    KnownBuilders,
    Observation,
    learn,
    normalise_name,
)
from services.categorizer.categorize import (
    categorize,
    new_home_observation,
    observations_of,
    read_permit,
)
from services.categorizer.rule_book import Rules
from services.cli import main as leadstream
from tests.categorizer.conftest import AS_OF, make_permit

SETTINGS = BuilderSettings(min_new_homes=12, window_days=365)
NEW_HOME = "New single family residence with attached garage"


@pytest.mark.parametrize(
    ("spellings", "key"),
    [
        (["D.R. Horton Homes, Inc.", "DR HORTON", "D R Horton, Ltd."], "dr horton"),
        (["Acme Homes, LLC", "ACME HOMEBUILDERS", "Acme Communities LP", "The Acme Co."], "acme"),
        (["Standard Pacific Homes Of Texas, Inc.", "STANDARD PACIFIC Homes of Texas,Inc"], None),
        (["The Brohn Group, LLC DBA BROHN HOMES", "Brohn Homes"], "brohn"),
        (["Parker & Orleans Homebuilders", "PARKER AND ORLEANS"], "parker and orleans"),
        (["M/I HOMES OF RALEIGH, LLC", "M I Homes of Raleigh"], "mi of raleigh"),
    ],
)
def test_spellings_of_one_builder_normalise_to_one_name(
    spellings: list[str], key: str | None
) -> None:
    names = {normalise_name(spelling) for spelling in spellings}
    assert len(names) == 1
    if key is not None:
        assert names == {key}


def test_a_name_with_nothing_distinctive_left_is_not_a_name() -> None:
    assert normalise_name("Homes LLC") is None
    assert normalise_name("M Builders, Inc.") is None  # one letter names too many firms
    assert normalise_name("Acme Plumbing") != normalise_name("Acme Homes")


def known_with(count: int, *, every_days: int = 7, start: date = date(2015, 1, 5)) -> KnownBuilders:
    return learn(
        (
            Observation(
                "acme", "austin_tx", f"austin_tx:{i}", start + timedelta(days=i * every_days)
            )
            for i in range(count)
        ),
        SETTINGS,
    )


def test_the_threshold_is_inclusive_and_names_the_count() -> None:
    assert known_with(11).flag("austin_tx", "acme", date(2015, 6, 1)) is None
    flag = known_with(12).flag("austin_tx", "acme", date(2015, 6, 1))
    assert flag is not None
    assert flag.evidence == "builder:acme 12 new homes in austin_tx within 365 days"


def test_the_window_is_365_days_and_per_jurisdiction() -> None:
    # 12 permits, one every 34 days: 374 days from first to last, so no window holds 12
    sparse = known_with(12, every_days=34)
    assert sparse.peak_count("austin_tx", "acme", date(2015, 6, 1)) == 11
    assert sparse.flag("austin_tx", "acme", date(2015, 6, 1)) is None
    assert known_with(40).flag("fort_worth_tx", "acme", date(2015, 6, 1)) is None


def test_a_permit_is_judged_on_the_windows_that_contain_its_day() -> None:
    known = known_with(20, start=date(2015, 3, 2))  # 2015-03-02 .. 2015-07-13
    # the stream knows only the past: before the builder's 12th permit it is not flagged
    assert known.peak_count("austin_tx", "acme", date(2015, 3, 2)) == 20  # a backfill sees ahead
    assert known.flag("austin_tx", "acme", date(2014, 3, 1)) is None  # a year before: nothing
    assert known.peak_count("austin_tx", "acme", date(2016, 7, 13)) == 0  # a year after
    stream = known_with(5, start=date(2015, 3, 2))
    assert stream.peak_count("austin_tx", "acme", date(2015, 4, 1)) == 5


def test_overrides_beat_the_counts() -> None:
    known = known_with(40)
    known.overrides["acme"] = VERDICT_ALLOWED
    assert known.flag("austin_tx", "acme", date(2015, 6, 1)) is None
    known.overrides["acme"] = VERDICT_BUILDER
    nobody = KnownBuilders(SETTINGS, overrides={"acme": VERDICT_BUILDER})
    flag = nobody.flag("nashville_tn", "acme", date(2015, 6, 1))
    assert flag is not None and flag.evidence == "builder:acme (added by an operator)"


def new_home(number: int, firm: str, **fields: object) -> dict[str, object]:
    return {
        "permit_number": f"2015-{number:06d} BP",
        "permit_type": "Building Permit (BP)",
        "permit_class": "R- 101 Single Family Houses",
        "contractor_name": firm,
        "issued_date": date(2015, 11, 1) + timedelta(days=number % 28),
        **fields,
    }


def test_a_registry_builder_is_discarded_with_why(rules: Rules) -> None:
    permits = [make_permit(NEW_HOME, **new_home(i, "Brohn Group, LLC")) for i in range(12)]
    known = learn(observations_of(permits, rules), SETTINGS)
    result = categorize(permits[0], rules, AS_OF, known)
    assert isinstance(result, DiscardedPermit)
    assert result.reason == "production_builder"
    evidence = "builder:brohn group 12 new homes in austin_tx within 365 days"
    assert result.detail == f"production builder: {evidence}"
    assert evidence in result.categorization.evidence  # type: ignore[union-attr]
    # without the registry (or one permit short of it) the same permit is a lead
    assert isinstance(categorize(permits[0], rules, AS_OF), CategorizedPermit)
    fewer = learn(observations_of(permits[:11], rules), SETTINGS)
    assert isinstance(categorize(permits[0], rules, AS_OF, fewer), CategorizedPermit)


def test_only_a_new_homes_own_permit_counts(rules: Rules) -> None:
    def observed(description: str | None, **fields: object) -> Observation | None:
        return new_home_observation(read_permit(make_permit(description, **fields), rules, AS_OF))

    home = observed(NEW_HOME, **new_home(1, "Brohn Group"))
    # no applied date: the issue date is the day it counts on
    assert home == Observation(
        "brohn group", "austin_tx", "austin_tx:2015-000001 BP", date(2015, 11, 2)
    )
    # the electrician's permit for the same new house: the electrician is no builder
    trade = new_home(2, "Casa Electric", permit_type="Electrical Permit (EP)")
    assert observed(NEW_HOME, **trade) is None
    assert (
        observed(
            "New 3-story office building",
            **new_home(3, "Big Commercial GC", permit_class="C- 324 Office Bank Professional"),
        )
        is None
    )
    assert (
        observed(
            "Kitchen remodel",
            **new_home(4, "Brohn Group", permit_class="R- 435 Renovations/Remodel"),
        )
        is None
    )
    assert observed(NEW_HOME, **new_home(5, "Homes LLC")) is None  # no name left


def test_custom_builders_and_plan_reviewers_are_never_learned(rules: Rules) -> None:
    for firm in ("Cambridge Custom Homes, LLC", "METRO CODE"):
        permits = [make_permit(NEW_HOME, **new_home(i, firm)) for i in range(30)]
        known = learn(observations_of(permits, rules), SETTINGS)
        assert isinstance(categorize(permits[0], rules, AS_OF, known), CategorizedPermit), firm


def test_allow_lifts_the_name_shape_but_not_the_list_of_builders(rules: Rules) -> None:
    allowed = KnownBuilders(
        SETTINGS, overrides={"smith": VERDICT_ALLOWED, "lennar": VERDICT_ALLOWED}
    )
    shaped = make_permit(NEW_HOME, **new_home(1, "Smith Homes LLC"))
    assert isinstance(categorize(shaped, rules, AS_OF), DiscardedPermit)
    assert isinstance(categorize(shaped, rules, AS_OF, allowed), CategorizedPermit)
    listed = make_permit(NEW_HOME, **new_home(2, "Lennar Homes"))
    assert isinstance(categorize(listed, rules, AS_OF, allowed), DiscardedPermit)


def test_an_operators_builder_is_discarded_in_any_jurisdiction(rules: Rules) -> None:
    added = KnownBuilders(SETTINGS, overrides={"brohn group": VERDICT_BUILDER})
    permit = make_permit(NEW_HOME, **new_home(1, "BROHN GROUP LLC"), jurisdiction="cary_nc")
    result = categorize(permit, rules, AS_OF, added)
    assert isinstance(result, DiscardedPermit)
    assert result.detail == "production builder: builder:brohn group (added by an operator)"


def test_learning_the_same_permits_twice_changes_nothing(rules: Rules) -> None:
    permits = [make_permit(NEW_HOME, **new_home(i, "Brohn Group")) for i in range(12)]
    once = learn(observations_of(permits, rules), SETTINGS)
    twice = learn(observations_of(permits + permits, rules), SETTINGS)
    assert once.days == twice.days


def test_categorize_command_learns_the_file_first(
    tmp_path: Path, rules: Rules, capsys: pytest.CaptureFixture[str]
) -> None:
    # the builder's first permit comes first in the file: only learning first catches it
    permits = [make_permit(NEW_HOME, **new_home(i, "Brohn Group")) for i in range(12)]
    export = tmp_path / "permits.jsonl"
    export.write_text("".join(p.model_dump_json() + "\n" for p in permits))
    out = tmp_path / "pred.csv"
    argv = ["categorize", str(export), "--format", "jsonl", "--as-of", "2015-12-31"]
    assert leadstream([*argv, "--out", str(out)]) == 0
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["discard"] for row in rows} == {"production_builder"}
    assert "builder:brohn group 12 new homes in austin_tx within 365 days" in rows[0]["evidence"]
    assert leadstream([*argv, "--out", str(out), "--no-registry"]) == 0
    with out.open(newline="") as handle:
        assert {row["discard"] for row in csv.DictReader(handle)} == {"none"}
