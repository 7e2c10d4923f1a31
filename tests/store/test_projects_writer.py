"""One lead per project on real databases (PostgreSQL, and SQLite for the demo): a later permit
of the same job is a ``duplicate`` discard naming its lead, and the lead lists it."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, event, select

from schemas import ScoredLead
from services.common.db.engine import make_engine
from services.common.db.tables.pipeline import DiscardedPermitRow, ScoredLeadRow
from services.store.writer import BatchWriter, Outcome
from tests.store.factories import SCRAPED_AT, discarded_permit, scored_lead
from tests.store.tables import snapshot, stored

CREATED, UPDATED, SKIPPED = Outcome.CREATED, Outcome.UPDATED, Outcome.SKIPPED
ISSUED = date(2026, 3, 2)
# Factory numbers whose permits have no CAD match (i % 5 == 0), so the address decides:
POOL, POOL_TOO, SOLAR = 0, 35, 5  # categories pool, pool, solar (i % 7)


def permit_of(
    i: int, number: str, address: str = "123 N Main St", issued: date = ISSUED, **changes: Any
) -> ScoredLead:
    return scored_lead(
        i, permit_number=number, property_address=address, issued_date=issued, **changes
    )


def lead_row(engine: Engine, message: ScoredLead) -> dict[str, Any]:
    (row,) = stored(engine, ScoredLeadRow, message.key)
    return row


def discard_row(engine: Engine, message: ScoredLead) -> dict[str, Any]:
    (row,) = stored(engine, DiscardedPermitRow, message.key)
    return row


def outcomes_per_permit(engine: Engine) -> Counter[str]:
    tables = snapshot(engine)
    return Counter(
        row["permit_key"] for name in ("scored_leads", "discarded_permits") for row in tables[name]
    )


def test_two_spellings_of_one_property_are_one_lead_and_one_duplicate(
    writer: BatchWriter, engine: Engine
) -> None:
    building = permit_of(POOL, "2026-000100 BP", "123 N Main St", valuation=85_000.0)
    plumbing = permit_of(
        POOL_TOO,
        "2026-000101 PP",
        "123 NORTH MAIN STREET",
        ISSUED + timedelta(days=20),
        permit_type="R- 329 Res Structures Other Than Bldg",
        valuation=4_500.0,
    )
    assert writer.write([building]) == [CREATED]
    assert writer.write([plumbing]) == [CREATED]

    lead = lead_row(engine, building)
    assert lead["related_permits"] == [
        {
            "permit_key": "austin_tx:2026-000101 PP",
            "permit_id": "2026-000101 PP",
            "permit_type": "R- 329 Res Structures Other Than Bldg",
            "category": "pool",
            "issued_date": "2026-03-22",
            "valuation": 4_500.0,
        }
    ]
    duplicate = discard_row(engine, plumbing)
    assert duplicate["reason"] == duplicate["reason_group"] == "duplicate"
    assert duplicate["stage"] == "store"
    assert duplicate["duplicate_of"] == building.key
    assert "same project as lead austin_tx:2026-000100 BP" in duplicate["detail"]
    assert stored(engine, ScoredLeadRow, plumbing.key) == []
    assert outcomes_per_permit(engine) == {building.key: 1, plumbing.key: 1}

    # A replay of both batches, in either order, and of both at once, changes nothing.
    before = snapshot(engine)
    assert writer.write([building]) == [SKIPPED]
    assert writer.write([plumbing]) == [SKIPPED]
    assert writer.write([plumbing, building]) == [SKIPPED, SKIPPED]
    assert snapshot(engine) == before


def test_in_one_batch_the_first_is_the_lead_and_a_replay_changes_nothing(
    writer: BatchWriter, engine: Engine
) -> None:
    building = permit_of(POOL, "2026-000100 BP")
    electrical = permit_of(POOL_TOO, "2026-000102 EP", "123 N. MAIN STREET, AUSTIN TX 78701")
    assert writer.write([building, electrical]) == [CREATED, CREATED]
    assert [e["permit_id"] for e in lead_row(engine, building)["related_permits"]] == [
        "2026-000102 EP"
    ]
    assert discard_row(engine, electrical)["duplicate_of"] == building.key
    before = snapshot(engine)
    assert writer.write([building, electrical]) == [SKIPPED, SKIPPED]
    assert snapshot(engine) == before


def test_permits_91_days_apart_are_two_leads(writer: BatchWriter, engine: Engine) -> None:
    spring = permit_of(POOL, "2026-000100 BP")
    summer = permit_of(POOL_TOO, "2026-000200 BP", issued=ISSUED + timedelta(days=91))
    autumn = permit_of(POOL, "2026-000300 BP", issued=ISSUED + timedelta(days=120))
    assert writer.write([spring, summer, autumn]) == [CREATED] * 3
    assert lead_row(engine, spring)["related_permits"] == []
    # 120 days from spring's lead, 29 from summer's: it joins summer.
    assert discard_row(engine, autumn)["duplicate_of"] == summer.key
    assert [e["permit_id"] for e in lead_row(engine, summer)["related_permits"]] == [
        "2026-000300 BP"
    ]


def test_another_category_at_the_same_property_is_another_lead(
    writer: BatchWriter, engine: Engine
) -> None:
    pool = permit_of(POOL, "2026-000100 BP")
    solar = permit_of(SOLAR, "2026-000101 EP", "123 NORTH MAIN STREET")
    assert writer.write([pool, solar]) == [CREATED, CREATED]
    assert lead_row(engine, pool)["project_key"] != lead_row(engine, solar)["project_key"]
    assert snapshot(engine)["discarded_permits"] == []


def test_a_permit_issued_earlier_but_stored_later_joins_the_lead(
    writer: BatchWriter, engine: Engine
) -> None:
    lead = permit_of(POOL, "2026-000200 BP")
    earlier = permit_of(POOL_TOO, "2026-000100 BP", issued=ISSUED - timedelta(days=60))
    writer.write([lead])
    writer.write([earlier])
    assert discard_row(engine, earlier)["duplicate_of"] == lead.key


def test_the_lead_stays_the_lead_through_its_rescore_and_its_duplicates_follow_their_rescrapes(
    writer: BatchWriter, engine: Engine
) -> None:
    waiting = permit_of(POOL, "2026-000100 BP", retry=True)
    second = permit_of(POOL_TOO, "2026-000101 PP", valuation=4_500.0)
    writer.write([waiting, second])
    # The RETRY lead gets its score: a re-score of its own permit, never a duplicate.
    scored = permit_of(POOL, "2026-000100 BP")
    assert writer.write([scored]) == [UPDATED]
    assert lead_row(engine, scored)["tier"] != "RETRY"
    # The second permit re-scraped with a new valuation: still a duplicate, its entry updated.
    rescraped = permit_of(
        POOL_TOO, "2026-000101 PP", valuation=6_000.0, scraped_at=SCRAPED_AT + timedelta(days=1)
    )
    assert writer.write([rescraped]) == [UPDATED]
    (entry,) = lead_row(engine, scored)["related_permits"]
    assert entry["valuation"] == 6_000.0
    # The categorizer discarding it later (stale) does not take it out of its project.
    later = SCRAPED_AT + timedelta(days=30)
    stale = discarded_permit(POOL_TOO, scraped_at=later).model_copy(
        update={"permit": rescraped.permit.model_copy(update={"scraped_at": later})}
    )
    assert writer.write([stale]) == [SKIPPED]
    assert discard_row(engine, rescraped)["reason"] == "duplicate"
    assert outcomes_per_permit(engine) == {scored.key: 1, rescraped.key: 1}


def test_a_duplicate_whose_new_version_is_no_longer_in_the_project_becomes_a_lead(
    writer: BatchWriter, engine: Engine
) -> None:
    lead = permit_of(POOL, "2026-000100 BP")
    second = permit_of(POOL_TOO, "2026-000101 PP")
    writer.write([lead, second])
    # The portal corrected the address: another property, so its own lead.
    moved = permit_of(
        POOL_TOO, "2026-000101 PP", "900 Barton Hills Dr", scraped_at=SCRAPED_AT + timedelta(1)
    )
    assert writer.write([moved]) == [CREATED]
    assert lead_row(engine, lead)["related_permits"] == []
    assert lead_row(engine, moved)["permit_key"] == moved.key
    assert snapshot(engine)["discarded_permits"] == []


def test_two_replicas_storing_two_permits_of_one_project_make_one_lead(database_url: str) -> None:
    projects = range(40)
    first, second = make_engine(database_url), make_engine(database_url)
    leads_read = threading.Event()

    @event.listens_for(first, "after_cursor_execute")
    def linger_after_reading_the_projects(*args: Any) -> None:
        # Hold the first replica's transaction open right after it has read which leads its
        # projects have, so the second replica runs in the middle of it.
        if "scored_leads.project_date" in args[2] and not leads_read.is_set():
            leads_read.set()
            time.sleep(1.0)

    def one_of(p: int, number: str, spelling: str) -> ScoredLead:
        return permit_of(POOL, f"2026-{number}{p:04d}", f"{100 + p} {spelling}")

    building = [one_of(p, "1", "N Main St") for p in projects]
    plumbing = [one_of(p, "2", "NORTH MAIN STREET") for p in projects]
    writing = threading.Thread(target=BatchWriter(first).write, args=(building,))
    writing.start()
    assert leads_read.wait(30)
    BatchWriter(second).write(plumbing)
    writing.join(30)
    tables = snapshot(second)
    assert len(tables["scored_leads"]) == len(projects)
    assert Counter(row["reason"] for row in tables["discarded_permits"]) == {
        "duplicate": len(projects)
    }
    assert all(len(row["related_permits"]) == 1 for row in tables["scored_leads"])
    first.dispose()
    second.dispose()


def test_every_permit_keeps_exactly_one_outcome(writer: BatchWriter, engine: Engine) -> None:
    """Conservation (what `make chaos` counts): leads + discards + DLQ = input, per permit."""
    batch = [
        permit_of(POOL if n % 2 else POOL_TOO, f"2026-{n:06d} BP", f"{100 + n % 7} N Main St")
        for n in range(60)
    ]
    writer.write(batch[:25])
    writer.write(batch[20:])
    per_permit = outcomes_per_permit(engine)
    assert set(per_permit) == {m.key for m in batch} and set(per_permit.values()) == {1}
    with engine.connect() as conn:
        leads = conn.execute(select(ScoredLeadRow.related_permits)).scalars().all()
    assert len(leads) == 7  # one lead per address
    assert sum(len(related) for related in leads) == 60 - 7
