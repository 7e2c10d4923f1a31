"""The store's outbox: one lead_events row per lead created or changed, in the lead's own
transaction (PostgreSQL, and SQLite)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select

from services.common.db.tables.notifier import lead_events
from services.common.db.tables.pipeline import scored_leads
from services.store.writer import BatchWriter, Outcome
from tests.store.factories import SCRAPED_AT, scored_lead, with_nul_in_reasoning


def events(engine: Engine) -> list[dict[str, Any]]:
    query = select(lead_events.c.lead_id, lead_events.c.permit_key, lead_events.c.type).order_by(
        lead_events.c.id
    )
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def lead_id(engine: Engine, key: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(scored_leads.c.id).where(scored_leads.c.permit_key == key)
            ).scalar_one()
        )


def test_a_new_lead_is_announced_once_and_an_unchanged_replay_not_at_all(
    writer: BatchWriter, engine: Engine
) -> None:
    first, second = scored_lead(1), scored_lead(2)
    assert writer.write([first, second]) == [Outcome.CREATED, Outcome.CREATED]
    writer.write([first, second])  # a replay of the same messages

    assert events(engine) == [
        {"lead_id": lead_id(engine, m.key), "permit_key": m.key, "type": "lead.created"}
        for m in (first, second)
    ]


def test_a_rescore_is_announced_as_an_update(writer: BatchWriter, engine: Engine) -> None:
    waiting = scored_lead(3, retry=True)
    scored = scored_lead(3, scored_at=SCRAPED_AT + timedelta(hours=2))
    writer.write([waiting])
    assert writer.write([scored]) == [Outcome.UPDATED]

    assert [event["type"] for event in events(engine)] == ["lead.created", "lead.updated"]


def test_a_rejected_row_announces_nothing_and_its_batch_neighbours_are_announced(
    writer: BatchWriter, engine: Engine
) -> None:
    good, bad = scored_lead(4), with_nul_in_reasoning(scored_lead(5))
    results = writer.write([good, bad])

    assert results[0] == Outcome.CREATED
    assert [event["permit_key"] for event in events(engine)] == [good.key]


def test_a_permit_folded_into_a_lead_announces_that_lead_as_updated(
    writer: BatchWriter, engine: Engine
) -> None:
    # Factory numbers 0 and 35 are both pool permits without a CAD match: one property, one job.
    building = scored_lead(0, permit_number="2026-000100 BP", property_address="123 N Main St")
    plumbing = scored_lead(35, permit_number="2026-000101 PP", property_address="123 N Main St")
    writer.write([building])
    writer.write([plumbing])  # becomes a duplicate, listed in the building's related permits

    assert events(engine)[1:] == [
        {
            "lead_id": lead_id(engine, building.key),
            "permit_key": building.key,
            "type": "lead.updated",
        }
    ]
