"""One lead per project, the pure decision: which permits are one job, and which lead a later
permit joins (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from schemas import Category, MatchKind, PropertyMatch, RawPermit
from services.store.projects import (
    IncomingLead,
    ProjectLead,
    decide_projects,
    lead_to_join,
    merge_related,
    project_date,
    project_key,
    project_lock_id,
    property_identity,
    related_permit,
)
from tests.store.factories import categorization

NO_MATCH = PropertyMatch(match=MatchKind.NONE, county="travis")
ISSUED = date(2015, 3, 2)


def permit(number: str, address: str | None = "123 N Main St", **fields: object) -> RawPermit:
    values: dict[str, object] = {
        "jurisdiction": "austin_tx",
        "permit_number": number,
        "city": "Austin",
        "county": "Travis",
        "property_address": address,
        "issued_date": ISSUED,
        **fields,
    }
    return RawPermit.model_validate(values)


def test_an_address_spelt_two_ways_is_one_property() -> None:
    short = property_identity(permit("2015-1 BP", "123 N Main St"), NO_MATCH)
    long = property_identity(permit("2015-1 EP", "123 NORTH MAIN STREET", city="AUSTIN"), NO_MATCH)
    assert short == long == "address:austin_tx:123 N MAIN ST"
    # Portals often leave the city blank: within one jurisdiction it does not count.
    assert property_identity(permit("2015-1 MP", "123 N MAIN ST", city=None), NO_MATCH) == short


def test_another_unit_or_jurisdiction_is_another_property() -> None:
    house = property_identity(permit("1", "123 N Main St"), NO_MATCH)
    assert property_identity(permit("2", "123 N Main St Apt 4"), NO_MATCH) != house
    assert property_identity(permit("3", "123 N Main St", jurisdiction="cary_nc"), NO_MATCH) != (
        house
    )


def test_the_cad_match_outranks_the_parcel_which_outranks_the_address() -> None:
    matched = PropertyMatch(match=MatchKind.ADDRESS, county="Travis", account_id="00012345")
    with_parcel = permit("1", "123 N Main St", parcel_id="0212-0401-09")
    assert property_identity(with_parcel, matched) == "cad:travis:12345"
    # Separators and leading zeros do not count, as when the enricher matches parcels.
    assert property_identity(with_parcel, NO_MATCH) == "parcel:travis:212040109"
    # "Matched none" is no match, even with a county.
    assert str(property_identity(permit("1"), NO_MATCH)).startswith("address:")


def test_a_permit_without_property_or_date_is_never_folded() -> None:
    category = categorization(1)
    assert project_key(permit("1", None), category, NO_MATCH) is None
    assert project_key(permit("1", "Main St"), category, NO_MATCH) is None  # no house number
    undated = permit("1", issued_date=None)
    assert project_date(undated) is None
    alone = IncomingLead("austin_tx:1", "address:x|roof", None, has_lead=False)
    stored = ProjectLead("austin_tx:0", "address:x|roof", ISSUED, order=(0, 1))
    assert lead_to_join(alone, [stored]) is None


def test_the_project_key_is_property_and_category() -> None:
    roof, hvac = categorization(1), categorization(2)
    assert roof.category is Category.ROOF and hvac.category is Category.HVAC
    key = project_key(permit("1"), roof, NO_MATCH)
    assert key == "address:austin_tx:123 N MAIN ST|roof"
    assert project_key(permit("2"), hvac, NO_MATCH) != key


def test_the_project_date_falls_back_from_issued_to_applied_to_scraped() -> None:
    scraped = datetime(2015, 3, 9, 23, 30, tzinfo=UTC) - timedelta(hours=6)
    assert project_date(permit("1", applied_date=date(2015, 2, 1))) == ISSUED
    assert project_date(permit("1", issued_date=None, applied_date=date(2015, 2, 1))) == date(
        2015, 2, 1
    )
    assert project_date(permit("1", issued_date=None, scraped_at=scraped)) == date(2015, 3, 9)


def incoming(key: str, day: date | None = ISSUED, project: str = "p|roof") -> IncomingLead:
    return IncomingLead(key, project, day, has_lead=False)


def stored_lead(key: str, day: date | None = ISSUED, row_id: int = 1) -> ProjectLead:
    return ProjectLead(key, "p|roof", day, order=(0, row_id))


@pytest.mark.parametrize(
    ("days_apart", "joins"), [(0, True), (90, True), (-90, True), (91, False), (-91, False)]
)
def test_within_90_days_of_the_lead_either_way_joins(days_apart: int, joins: bool) -> None:
    later = incoming("b", ISSUED + timedelta(days=days_apart))
    lead = stored_lead("a")
    assert (lead_to_join(later, [lead]) == lead) is joins


def test_a_permit_issued_earlier_but_stored_later_joins_the_first_stored() -> None:
    lead = stored_lead("a", ISSUED)
    assert decide_projects([incoming("b", ISSUED - timedelta(days=30))], [lead]) == {"b": lead}


def test_the_first_stored_lead_wins_when_two_are_within_reach() -> None:
    spring = stored_lead("a", ISSUED, row_id=7)
    summer = stored_lead("c", ISSUED + timedelta(days=150), row_id=3)  # stored first
    between = incoming("b", ISSUED + timedelta(days=75))
    assert decide_projects([between], [spring, summer]) == {"b": summer}


def test_within_a_batch_the_first_arrival_is_the_lead_and_the_rest_join_it() -> None:
    decisions = decide_projects([incoming("b"), incoming("a"), incoming("c")], [])
    assert decisions["b"] is None
    assert decisions["a"] is not None and decisions["a"].permit_key == "b"
    assert decisions["c"] is not None and decisions["c"].permit_key == "b"


def test_a_permit_that_is_already_a_lead_stays_one() -> None:
    """A re-scrape, a re-score, a RETRY that got its score: never folded into another lead."""
    first, second = stored_lead("a", row_id=1), stored_lead("b", row_id=2)
    rescored = IncomingLead("b", "p|roof", ISSUED, has_lead=True)
    own_only = IncomingLead("a", "p|roof", ISSUED, has_lead=False)
    assert decide_projects([rescored], [first, second]) == {"b": None}
    assert decide_projects([own_only], [first]) == {"a": None}  # its own lead is no other


def test_a_lead_rescraped_in_the_batch_is_judged_by_its_new_date() -> None:
    moved = IncomingLead("a", "p|roof", ISSUED + timedelta(days=200), has_lead=True)
    later = incoming("b", ISSUED)
    assert decide_projects([moved, later], [stored_lead("a")]) == {"a": None, "b": None}


def test_related_permits_have_one_entry_per_permit_in_issue_order() -> None:
    category = categorization(1)
    bp = related_permit(permit("2015-1 BP", valuation=18_500, permit_type="R- 434"), category)
    assert bp == {
        "permit_key": "austin_tx:2015-1 BP",
        "permit_id": "2015-1 BP",
        "permit_type": "R- 434",
        "category": "roof",
        "issued_date": "2015-03-02",
        "valuation": 18_500,
    }
    ep = related_permit(permit("2015-2 EP", issued_date=date(2015, 2, 1)), category)
    undated = related_permit(permit("2015-3 MP", issued_date=None), category)
    merged = merge_related([undated, bp], [ep], removed=())
    assert [e["permit_id"] for e in merged] == ["2015-2 EP", "2015-1 BP", "2015-3 MP"]
    newer = {**bp, "valuation": 20_000}
    again = merge_related(merged, [newer], removed={"austin_tx:2015-3 MP"})
    assert again == [ep, newer]
    assert merge_related(again, [newer], removed=()) == again  # a replay changes nothing


def test_lock_ids_are_stable_signed_64_bit_numbers() -> None:
    lock = project_lock_id("address:austin_tx:123 N MAIN ST|roof")
    assert lock == project_lock_id("address:austin_tx:123 N MAIN ST|roof")
    assert -(2**63) <= lock < 2**63
    assert lock != project_lock_id("address:austin_tx:123 N MAIN ST|hvac")
