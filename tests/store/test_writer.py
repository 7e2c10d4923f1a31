"""The store's writes and replacement rules on real databases (PostgreSQL, and SQLite)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine, event, insert, update

from schemas import LeadScore, ScoredLead, Tier
from services.common.db.engine import make_engine
from services.common.db.tables.pipeline import (
    DiscardedPermitRow,
    PermitRow,
    PropertyRow,
    ScoredLeadRow,
)
from services.common.messages import BadInput
from services.common.times import as_utc
from services.store.plan import StoreRaced
from services.store.writer import BatchWriter, Outcome
from tests.store.factories import (
    SCRAPED_AT,
    dead_letter,
    discarded_permit,
    scored_lead,
    unvalidated,
    with_nul_in_reasoning,
)
from tests.store.tables import snapshot, stored

CREATED, UPDATED, SKIPPED = Outcome.CREATED, Outcome.UPDATED, Outcome.SKIPPED
LATER = SCRAPED_AT + timedelta(days=2)


def lead_of(engine: Engine, message: ScoredLead) -> dict[str, Any]:
    (lead,) = stored(engine, ScoredLeadRow, message.key)
    return lead


def sell(engine: Engine, message: ScoredLead) -> dict[str, Any]:
    """Record a sale the way the exporter does, and return the sales fields."""
    sale = {
        "status": "sold",
        "sold_to": "Blue Haven Pools",
        "sold_at": SCRAPED_AT + timedelta(days=1),
        "sold_price": 45,
        "sold_count": 1,
        "exported_at": SCRAPED_AT + timedelta(hours=20),
    }
    with engine.begin() as conn:
        conn.execute(
            update(ScoredLeadRow).where(ScoredLeadRow.permit_key == message.key).values(**sale)
        )
    lead = lead_of(engine, message)
    return {name: lead[name] for name in sale}


def rescored(message: ScoredLead, *, minutes: int, **changes: Any) -> ScoredLead:
    """The same permit version scored again ``minutes`` later."""
    scored_at = message.score.scored_at + timedelta(minutes=minutes)
    score = LeadScore(**{**message.score.model_dump(), "scored_at": scored_at, **changes})
    return message.model_copy(update={"score": score})


def test_a_redelivered_batch_is_skipped_and_leaves_identical_tables(
    writer: BatchWriter, engine: Engine
) -> None:
    batch = (
        [scored_lead(i) for i in range(20)]
        + [scored_lead(i, retry=True) for i in range(20, 25)]
        + [discarded_permit(i) for i in range(25, 30)]
        + [dead_letter(i) for i in range(3)]
    )
    assert writer.write(batch) == [CREATED] * len(batch)
    before = snapshot(engine)
    assert writer.write(batch) == [SKIPPED] * len(batch)
    assert snapshot(engine) == before
    assert [len(rows) for rows in before.values()] == [30, 25, 5, 3]


def test_a_newer_version_updates_the_lead_and_keeps_its_sales_history(
    writer: BatchWriter, engine: Engine
) -> None:
    first = scored_lead(1)
    writer.write([first])
    sale = sell(engine, first)
    newer = scored_lead(1, scraped_at=LATER, valuation=91_000.0)
    assert writer.write([newer]) == [UPDATED]
    lead = lead_of(engine, newer)
    assert float(lead["valuation"]) == 91_000.0
    assert as_utc(lead["version_at"]) == LATER
    assert {name: lead[name] for name in sale} == sale
    assert as_utc(stored(engine, PermitRow, newer.key)[0]["scraped_at"]) == LATER


def test_an_older_version_arriving_late_changes_nothing(
    writer: BatchWriter, engine: Engine
) -> None:
    newer = scored_lead(1, scraped_at=LATER, valuation=91_000.0)
    writer.write([newer])
    before = snapshot(engine)
    assert writer.write([scored_lead(1)]) == [SKIPPED]
    assert snapshot(engine) == before


def test_on_the_same_version_the_later_score_wins(writer: BatchWriter, engine: Engine) -> None:
    first = scored_lead(2)
    second = rescored(
        first, minutes=30, score=97, tier=Tier.A, reasoning="Pool with spa, $1.2M home."
    )
    assert writer.write([first, second]) == [SKIPPED, CREATED]  # collapsed inside the batch
    assert writer.write([first]) == [SKIPPED]
    assert lead_of(engine, first)["score"] == 97


def test_a_rescore_with_the_same_result_is_skipped_as_unchanged(
    writer: BatchWriter, engine: Engine
) -> None:
    first = scored_lead(3)
    writer.write([first])
    assert writer.write([rescored(first, minutes=60, latency_ms=1_000)]) == [SKIPPED]
    assert as_utc(lead_of(engine, first)["scored_at"]) == first.score.scored_at


def test_a_scored_lead_replaces_a_retry_lead_even_of_an_older_version(
    writer: BatchWriter, engine: Engine
) -> None:
    retry = scored_lead(4, scraped_at=LATER, retry=True)
    writer.write([retry])
    scored = scored_lead(4)
    assert writer.write([scored]) == [UPDATED]
    lead = lead_of(engine, scored)
    assert (lead["tier"], lead["score"]) == (scored.score.tier.value, scored.score.score)


def test_a_retry_never_replaces_a_scored_lead_but_the_newer_permit_is_recorded(
    writer: BatchWriter, engine: Engine
) -> None:
    scored = scored_lead(5)
    writer.write([scored])
    assert writer.write([scored_lead(5, scraped_at=LATER, retry=True)]) == [SKIPPED]
    assert lead_of(engine, scored)["tier"] == scored.score.tier.value
    assert as_utc(stored(engine, PermitRow, scored.key)[0]["scraped_at"]) == LATER


def test_a_discard_never_replaces_a_lead(writer: BatchWriter, engine: Engine) -> None:
    lead = scored_lead(6)
    writer.write([lead])
    sale = sell(engine, lead)
    stale = discarded_permit(6, scraped_at=LATER)
    assert writer.write([stale]) == [SKIPPED]
    assert {name: lead_of(engine, lead)[name] for name in sale} == sale
    assert stored(engine, DiscardedPermitRow, lead.key) == []
    assert as_utc(stored(engine, PermitRow, lead.key)[0]["scraped_at"]) == LATER


def test_a_lead_replaces_a_discard_of_the_same_version(writer: BatchWriter, engine: Engine) -> None:
    writer.write([discarded_permit(7)])
    assert writer.write([scored_lead(7)]) == [CREATED]
    assert stored(engine, DiscardedPermitRow, scored_lead(7).key) == []


def test_a_lead_older_than_the_stored_discard_is_skipped(
    writer: BatchWriter, engine: Engine
) -> None:
    writer.write([discarded_permit(8, scraped_at=LATER)])
    assert writer.write([scored_lead(8)]) == [SKIPPED]
    assert stored(engine, ScoredLeadRow, scored_lead(8).key) == []
    assert len(stored(engine, DiscardedPermitRow, scored_lead(8).key)) == 1


def test_duplicates_in_one_batch_collapse_to_the_newest(
    writer: BatchWriter, engine: Engine
) -> None:
    versions = [scored_lead(9, scraped_at=SCRAPED_AT + timedelta(days=d)) for d in (1, 3, 2)]
    assert writer.write(versions) == [SKIPPED, CREATED, SKIPPED]
    assert as_utc(lead_of(engine, versions[0])["version_at"]) == SCRAPED_AT + timedelta(days=3)


def test_a_lead_and_a_discard_of_one_permit_in_one_batch_store_the_lead(
    writer: BatchWriter, engine: Engine
) -> None:
    assert writer.write([discarded_permit(10), scored_lead(10)]) == [SKIPPED, CREATED]
    assert stored(engine, DiscardedPermitRow, scored_lead(10).key) == []


def test_a_nul_character_goes_to_the_dlq_and_the_rest_commits(
    writer: BatchWriter, engine: Engine
) -> None:
    batch = [scored_lead(i) for i in range(5)]
    batch[2] = with_nul_in_reasoning(batch[2])
    results = writer.write(batch)
    assert isinstance(results[2], BadInput)
    assert "score.reasoning contains a NUL" in str(results[2])
    assert [r for i, r in enumerate(results) if i != 2] == [CREATED] * 4
    assert len(snapshot(engine)["scored_leads"]) == 4


@pytest.mark.postgres
def test_a_row_postgresql_rejects_goes_to_the_dlq_with_the_reason_and_the_rest_commits(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    batch: list[Any] = [scored_lead(i) for i in range(10)]
    batch[3] = unvalidated(scored_lead(3), valuation=4.2e13)  # beyond NUMERIC(14, 2)
    batch[6] = rescored(scored_lead(6), minutes=0, model="m" * 200)  # beyond VARCHAR(120)
    results = BatchWriter(engine).write(batch)
    assert "numeric field overflow" in str(results[3])
    assert "value too long for type character varying(120)" in str(results[6])
    assert "scored_leads" in str(results[6])
    assert [r for i, r in enumerate(results) if i not in (3, 6)] == [CREATED] * 8
    leads = snapshot(engine)["scored_leads"]
    assert sorted(row["permit_key"] for row in leads) == sorted(
        m.key for i, m in enumerate(batch) if i not in (3, 6)
    )
    engine.dispose()


def test_dead_letters_are_stored_once_per_source_position(
    writer: BatchWriter, engine: Engine
) -> None:
    record = dead_letter(1, source_offset=77)
    assert writer.write([record, record, dead_letter(2)]) == [CREATED, SKIPPED, CREATED]
    assert writer.write([record]) == [SKIPPED]
    assert len(snapshot(engine)["dead_letters"]) == 2


def test_a_lead_is_linked_to_its_permit_and_its_appraisal_record(
    writer: BatchWriter, engine: Engine
) -> None:
    message = scored_lead(11)
    with engine.begin() as conn:
        property_id = conn.execute(
            insert(PropertyRow)
            .values(county="travis", account_id=message.cad.account_id, content_hash="x")
            .returning(PropertyRow.id)
        ).scalar_one()
    writer.write([message])
    lead = lead_of(engine, message)
    assert lead["cad_property_id"] == property_id
    assert lead["permit_id"] == stored(engine, PermitRow, message.key)[0]["id"]


def test_outcomes_are_counted_by_topic_in_prometheus(writer: BatchWriter) -> None:
    def count(topic: str, outcome: str) -> float:
        labels = {"topic": topic, "outcome": outcome}
        return REGISTRY.get_sample_value("leadstream_store_writes_total", labels) or 0.0

    before = {o: count("leads.scored", o) for o in ("created", "skipped", "error")}
    writer.write([scored_lead(12), scored_lead(13), with_nul_in_reasoning(scored_lead(14))])
    writer.write([scored_lead(12)])
    after = {o: count("leads.scored", o) for o in ("created", "skipped", "error")}
    assert {o: after[o] - before[o] for o in after} == {"created": 2, "skipped": 1, "error": 1}


@pytest.mark.postgres
def test_two_replicas_writing_a_lead_and_a_discard_of_the_same_permits_leave_one_outcome(
    database_url: str,
) -> None:
    keys = range(200)
    discarding, scoring = make_engine(database_url), make_engine(database_url)
    BatchWriter(discarding).write([discarded_permit(i) for i in keys])
    state_read = threading.Event()

    @event.listens_for(discarding, "after_cursor_execute")
    def linger_after_reading_state(*args: Any) -> None:
        # Hold the discarding replica's transaction open right after it has decided what each
        # permit already has, so the scoring replica runs in the middle of it.
        if "LEFT OUTER JOIN scored_leads" in args[2] and not state_read.is_set():
            state_read.set()
            time.sleep(1.0)

    later_discards = [discarded_permit(i, discarded_at=LATER, reason="no_data") for i in keys]
    discarder = threading.Thread(target=BatchWriter(discarding).write, args=(later_discards,))
    discarder.start()
    assert state_read.wait(30)
    BatchWriter(scoring).write([scored_lead(i) for i in keys])
    discarder.join(30)
    tables = snapshot(scoring)
    # Whichever commits first: a lead replaces a discard of the same permit version, and a
    # discard never replaces a lead. Both rows for one permit would be two outcomes.
    assert len(tables["scored_leads"]) == len(keys)
    assert tables["discarded_permits"] == []
    discarding.dispose()
    scoring.dispose()


@pytest.mark.postgres
def test_a_dead_letter_stored_by_another_replica_meanwhile_rolls_the_batch_back_for_a_retry(
    database_url: str,
) -> None:
    engine, other_replica = make_engine(database_url), make_engine(database_url)
    record, lead = dead_letter(1), scored_lead(1)
    stored_meanwhile = threading.Event()

    @event.listens_for(engine, "after_cursor_execute")
    def store_it_elsewhere_right_after_the_read(*args: Any) -> None:
        # No lock guards a dead letter: another replica may store the same record between
        # this batch's read and its insert.
        if "FROM dead_letters" in args[2] and not stored_meanwhile.is_set():
            stored_meanwhile.set()
            BatchWriter(other_replica).write([record])

    with pytest.raises(StoreRaced, match="dead_letters"):
        BatchWriter(engine).write([lead, record])
    assert snapshot(engine)["scored_leads"] == []  # nothing of the batch committed
    # The runtime retries the batch: now the record is known, and the lead is written.
    assert BatchWriter(engine).write([lead, record]) == [CREATED, SKIPPED]
    assert len(snapshot(engine)["dead_letters"]) == 1
    engine.dispose()
    other_replica.dispose()
