"""The builder registry in PostgreSQL: recording, replays, overrides, the operators' commands,
and the categorizer stage deciding on it through the real broker."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from schemas.discards import DiscardedPermit
from schemas.permits import CategorizedPermit
from schemas.topics import Topic
from services.categorizer.builders import VERDICT_ALLOWED, VERDICT_BUILDER, BuilderSettings
from services.categorizer.categorize import observations_of
from services.categorizer.registry import LiveRegistry, load, record, set_override
from services.categorizer.rule_book import Rules
from services.categorizer.service import build_stage
from services.cli import main as leadstream
from services.common.config import KafkaSettings
from services.common.db.engine import make_engine, upgrade
from services.common.db.tables.builder_registry import builder_observations
from tests.categorizer.conftest import make_permit
from tests.support.kafka import publish, read_topic, running_stage

SETTINGS = BuilderSettings(min_new_homes=12, window_days=365, refresh_s=30)
NEW_HOME = "New single family residence with attached garage"
SCRAPED = datetime(2015, 12, 31, tzinfo=UTC)


def new_home(number: int, firm: str = "Brohn Group, LLC", **fields: object):  # type: ignore[no-untyped-def]
    values: dict[str, object] = {
        "permit_number": f"2015-{number:06d} BP",
        "permit_type": "Building Permit (BP)",
        "permit_class": "R- 101 Single Family Houses",
        "contractor_name": firm,
        "issued_date": date(2015, 11, 1) + timedelta(days=number % 28),
        "scraped_at": SCRAPED,
    }
    values.update(fields)
    return make_permit(NEW_HOME, **values)


def observation_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(select(func.count()).select_from(builder_observations)).scalar_one()
        )


@pytest.mark.postgres
def test_recording_the_same_permits_again_inserts_nothing(engine: Engine, rules: Rules) -> None:
    permits = [new_home(i) for i in range(12)]
    with engine.begin() as conn:
        first = record(conn, observations_of(permits, rules))
    with engine.begin() as conn:
        again = record(conn, observations_of(permits + permits, rules))
        known = load(conn, SETTINGS)
    assert (len(first), len(again), observation_rows(engine)) == (12, 0, 12)
    assert known.peak_count("austin_tx", "brohn group", date(2015, 11, 15)) == 12


@pytest.mark.postgres
def test_the_view_holds_only_names_that_can_reach_the_threshold(
    engine: Engine, rules: Rules
) -> None:
    permits = [new_home(i) for i in range(12)] + [new_home(100 + i, "Small Co") for i in range(11)]
    with engine.begin() as conn:
        record(conn, observations_of(permits, rules))
        known = load(conn, SETTINGS)
    assert set(known.days) == {("austin_tx", "brohn group")}


@pytest.mark.postgres
def test_the_live_view_counts_its_own_batches_and_rereads_overrides_when_due(
    engine: Engine, rules: Rules
) -> None:
    now = [0.0]
    registry = LiveRegistry(engine, SETTINGS, clock=lambda: now[0])
    batch = list(observations_of([new_home(i) for i in range(11)], rules))
    assert registry.record(batch).peak_count("austin_tx", "brohn group", date(2015, 11, 15)) == 0
    # the 12th permit crosses the threshold: the view takes the name in at once
    known = registry.record(list(observations_of([new_home(11)], rules)))
    assert known.flag("austin_tx", "brohn group", date(2015, 11, 15)) is not None
    # a redelivered batch counts nothing twice
    assert registry.record(batch).peak_count("austin_tx", "brohn group", date(2015, 11, 15)) == 12

    with engine.begin() as conn:
        assert set_override(conn, "BROHN GROUP", VERDICT_ALLOWED) == "brohn group"
    assert registry.record([]).flag("austin_tx", "brohn group", date(2015, 11, 15)) is not None
    now[0] += SETTINGS.refresh_s
    assert registry.record([]).flag("austin_tx", "brohn group", date(2015, 11, 15)) is None

    with engine.begin() as conn:  # an operator changes their mind: the last word counts
        set_override(conn, "Brohn Group LLC", VERDICT_BUILDER)
    now[0] += SETTINGS.refresh_s
    assert registry.record([]).overrides == {"brohn group": VERDICT_BUILDER}


def write_jsonl(path: Path, permits: list[object]) -> Path:
    path.write_text("\n".join(p.model_dump_json() for p in permits) + "\n")  # type: ignore[attr-defined]
    return path


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("LEADSTREAM_BUILDER_MIN_NEW_HOMES", "12")


@pytest.mark.postgres
def test_builders_commands_learn_list_add_and_allow(
    cli_env: None, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = write_jsonl(
        tmp_path / "permits.jsonl",
        [new_home(i) for i in range(14)] + [new_home(50 + i, "Small Co") for i in range(3)],
    )
    assert leadstream(["builders", "learn", str(export), "--format", "jsonl"]) == 0
    out = capsys.readouterr().out
    assert "17 new-home permits by a named firm" in out and "17 new to the registry" in out
    assert "flags 1 names there" in out
    assert leadstream(["builders", "learn", str(export), "--format", "jsonl"]) == 0
    assert "0 new to the registry, 17 already known" in capsys.readouterr().out
    assert observation_rows(engine) == 17

    assert leadstream(["builders", "add", "Acme Homebuilders, Inc."]) == 0
    assert "'acme' is a production builder in every jurisdiction" in capsys.readouterr().out
    assert leadstream(["builders", "list", "--jurisdiction", "austin_tx"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("2 production builders (at least 12 new-home permits")
    assert lines[2].split() == ["austin_tx", "14", "2015-11-01", "2015-11-14", "brohn", "group"]
    assert lines[3].split()[0:2] == ["*", "0"] and "acme  [added by an operator]" in lines[3]

    assert leadstream(["builders", "allow", "The Brohn Group"]) == 0
    assert leadstream(["builders", "allow", "Lennar Homes"]) == 0
    out = capsys.readouterr().out
    assert "'lennar' is on the rules' own list of builders, which stays a floor" in out
    assert leadstream(["builders", "list"]) == 0
    assert "brohn" not in capsys.readouterr().out
    assert leadstream(["builders", "list", "--min-new-homes", "1"]) == 0
    assert "      3  2015-11-23  2015-11-25  small\n" in capsys.readouterr().out  # "Co" dropped
    assert leadstream(["builders", "add", "Homes, LLC"]) == 2
    assert "no name left" in capsys.readouterr().err


@pytest.mark.postgres
@pytest.mark.kafka
def test_stage_discards_a_registry_builder_and_a_replay_changes_nothing(
    rules: Rules, engine: Engine, kafka_settings: KafkaSettings
) -> None:
    # seeded from a historical export: 11 new homes in October, one short of the threshold
    history = [new_home(500 + i, issued_date=date(2015, 10, 1 + i)) for i in range(11)]
    with engine.begin() as conn:
        record(conn, observations_of(history, rules))
    permits = [new_home(i) for i in range(5)] + [new_home(99, "Small Co")]
    records: list[tuple[str | None, bytes]] = [
        (p.key, p.model_dump_json().encode()) for p in permits
    ]
    stage = build_stage(rules, registry=LiveRegistry(engine, SETTINGS))
    with running_stage(stage, kafka_settings):
        publish(kafka_settings, Topic.RAW.value, records)
        discarded = read_topic(kafka_settings, Topic.DISCARDED.value, expect=5)
        kept = read_topic(kafka_settings, Topic.CATEGORIZED.value, expect=1)
        assert observation_rows(engine) == 11 + 5 + 1
        publish(kafka_settings, Topic.RAW.value, records)  # the same permits again
        discarded_again = read_topic(kafka_settings, Topic.DISCARDED.value, expect=10)
        kept_again = read_topic(kafka_settings, Topic.CATEGORIZED.value, expect=2)

    # each permit counts itself and what came before it (how many depends on the batches)
    first = [DiscardedPermit.model_validate_json(value) for _, value in discarded]
    assert {d.reason for d in first} == {"production_builder"}
    assert all(
        re.fullmatch(
            r"production builder: builder:brohn group 1[2-6] new homes in austin_tx"
            r" within 365 days",
            d.detail,
        )
        for d in first
    ), [d.detail for d in first]
    assert CategorizedPermit.model_validate_json(kept[0][1]).permit.contractor_name == "Small Co"
    # the replay records nothing, and every permit is now judged on all 16
    assert observation_rows(engine) == 11 + 5 + 1
    replayed = [DiscardedPermit.model_validate_json(v) for _, v in discarded_again]
    assert sorted(d.key for d in replayed) == sorted([d.key for d in first] * 2)
    assert {d.detail for d in replayed} - {d.detail for d in first} <= {
        "production builder: builder:brohn group 16 new homes in austin_tx within 365 days"
    }
    assert kept_again == kept * 2


def test_the_demos_sqlite_runs_the_same_registry(tmp_path: Path, rules: Rules) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    upgrade(url)
    engine = make_engine(url)
    registry = LiveRegistry(engine, SETTINGS)
    batch = list(observations_of([new_home(i) for i in range(12)], rules))
    assert registry.record(batch).flag("austin_tx", "brohn group", date(2015, 11, 15)) is not None
    assert registry.record(batch).peak_count("austin_tx", "brohn group", date(2015, 11, 15)) == 12
    with engine.begin() as conn:
        set_override(conn, "Brohn Group", VERDICT_ALLOWED)
        set_override(conn, "Brohn Group", VERDICT_BUILDER)
        assert load(conn, SETTINGS).overrides == {"brohn group": VERDICT_BUILDER}
    assert observation_rows(engine) == 12
    engine.dispose()
