"""What the notifier's tables keep: published events for 7 days, finished deliveries (and
their attempts) for 30. Pending deliveries and unpublished events are never removed.

Deleted in batches of at most 10,000 rows per statement, so pruning never holds long locks;
the relay runs it once an hour. A lead updated more than 30 days after its last delivery to a
subscription is announced to it as ``lead.created`` again (the matcher no longer sees the
earlier delivery).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select

from services.common.db.tables.notifier import lead_events as _EVENTS
from services.common.db.tables.notifier import webhook_deliveries as _DELIVERIES

EVENTS_KEPT = timedelta(days=7)
DELIVERIES_KEPT = timedelta(days=30)
_BATCH = 10_000


def prune(engine: Engine, now: datetime) -> tuple[int, int]:
    """(events, deliveries) deleted."""
    e, d = _EVENTS.c, _DELIVERIES.c
    old_events = (
        select(e.id).where(e.published_at < now - EVENTS_KEPT).limit(_BATCH).scalar_subquery()
    )
    finished = (
        select(d.id)
        .where(d.status != "pending", d.created_at < now - DELIVERIES_KEPT)
        .limit(_BATCH)
        .scalar_subquery()
    )
    totals = [0, 0]
    for slot, statement in enumerate(
        (delete(_EVENTS).where(e.id.in_(old_events)), delete(_DELIVERIES).where(d.id.in_(finished)))
    ):
        while True:
            with engine.begin() as conn:
                deleted = conn.execute(statement).rowcount
            totals[slot] += deleted
            if deleted < _BATCH:
                break
    return totals[0], totals[1]
