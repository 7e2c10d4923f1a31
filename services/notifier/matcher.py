"""The notifier's stage: each ``leads.stored`` event becomes one delivery per matching
subscription, in one transaction per batch (nothing is sent here; the worker sends).

The lead each buyer receives is rendered by the exporter's own query and model
(``fetch_lead`` + ``LeadOut``), so a webhook carries exactly what ``GET /v1/leads/{id}`` shows
that buyer now (a marketplace buyer's preview of a lead it has not bought: the subscriptions
carry their buyer's plan), and a lead the buyer may no longer see (entitlements narrowed, sold to
another buyer) is not sent at all. Deliveries are unique per (event, subscription): a
replayed event inserts nothing. A ``lead.updated`` whose rendering did not change for that
buyer is not sent again; the first delivery of a lead to a subscription is ``lead.created``
whatever the store called it (a RETRY lead becomes visible only when it is re-scored).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.dialects import postgresql

from schemas.stored import LeadStored
from services.common.db.tables.notifier import webhook_deliveries as _DELIVERIES
from services.common.db.tables.pipeline import scored_leads as _LEADS
from services.common.messages import BadInput, Outputs
from services.exporter.api_models import LeadOut
from services.exporter.buyers import Buyer
from services.exporter.queries import fetch_lead
from services.notifier import metrics, subscriptions
from services.notifier.index import SubscriptionIndex
from services.subscriptions.filters import LeadFacts

LEAD_CREATED, LEAD_UPDATED = "lead.created", "lead.updated"
# The index is rebuilt when the subscriptions change, and at least this often (a buyer's
# entitlements can change without touching a subscription).
_INDEX_MAX_AGE_S = 30.0


def new_webhook_id() -> str:
    return "msg_" + secrets.token_hex(12)


def webhook_body(kind: str, timestamp: datetime, data: Any) -> str:
    return json.dumps(
        {"type": kind, "timestamp": timestamp.astimezone(UTC).isoformat(), "data": data},
        separators=(",", ":"),
        ensure_ascii=False,
    )


def data_hash(data: dict[str, Any]) -> str:
    """What the buyer sees of the lead, minus its age in days (that changes every day)."""
    seen = {name: value for name, value in data.items() if name != "days_old"}
    return hashlib.sha256(json.dumps(seen, sort_keys=True).encode()).hexdigest()


class Matcher:
    def __init__(self, engine: Engine, max_buyers_per_lead: int) -> None:
        self._engine = engine
        self._max_buyers = max_buyers_per_lead
        self._index = SubscriptionIndex(())
        self._version: tuple[Any, ...] | None = None
        self._built_at = -_INDEX_MAX_AGE_S

    def handle_batch(self, events: Sequence[LeadStored]) -> list[Outputs | BadInput]:
        with self._engine.begin() as conn:
            self._refresh(conn)
            self._deliveries_for(conn, events)
        return [[] for _ in events]

    def _refresh(self, conn: Connection) -> None:
        current = subscriptions.version(conn)
        stale = time.monotonic() - self._built_at > _INDEX_MAX_AGE_S
        if current != self._version or stale:
            self._index = SubscriptionIndex(subscriptions.load_active(conn))
            self._version, self._built_at = current, time.monotonic()

    def _deliveries_for(self, conn: Connection, events: Sequence[LeadStored]) -> None:
        unique = {event.event_id: event for event in events}
        facts = _lead_facts(conn, sorted({event.lead_id for event in unique.values()}))
        wanted = [
            (event, subscription)
            for event in unique.values()
            if (lead := facts.get(event.lead_id)) is not None
            for subscription in self._index.matching(lead)
        ]
        if not wanted:
            return
        seen = _last_seen(conn, sorted({event.lead_id for event, _ in wanted}))
        rendered: dict[tuple[int, int], dict[str, Any] | None] = {}
        today = datetime.now(UTC).date()
        rows = []
        for event, subscription in wanted:
            buyer = subscription.buyer
            key = (buyer.id, event.lead_id)
            if key not in rendered:
                rendered[key] = self._render(conn, buyer, event.lead_id, today)
            data = rendered[key]
            if data is None:  # not visible to this buyer now
                continue
            digest = data_hash(data)
            previous = seen.get((subscription.id, event.lead_id))
            if previous == digest:
                continue  # nothing this buyer sees changed
            kind = LEAD_CREATED if previous is None else LEAD_UPDATED
            rows.append(
                {
                    "id": new_webhook_id(),
                    "event_id": event.event_id,
                    "subscription_id": subscription.id,
                    "type": kind,
                    "lead_id": event.lead_id,
                    "data_hash": digest,
                    "body": webhook_body(kind, event.occurred_at, data),
                    "status": "pending",
                    "next_attempt_at": datetime.now(UTC),
                }
            )
        if not rows:
            return
        statement = postgresql.insert(_DELIVERIES).on_conflict_do_nothing(
            index_elements=["event_id", "subscription_id"]
        )
        created = conn.execute(statement.returning(_DELIVERIES.c.type), rows).scalars().all()
        for kind in created:
            metrics.MATCHED.labels(kind).inc()

    def _render(self, conn: Connection, buyer: Buyer, lead_id: int, today: date) -> Any:
        row = fetch_lead(conn, buyer, lead_id, self._max_buyers)
        if row is None:
            return None
        return LeadOut.from_row(row, today).model_dump(mode="json")


def _lead_facts(conn: Connection, lead_ids: Sequence[int]) -> dict[int, LeadFacts]:
    c = _LEADS.c
    query = select(
        c.id,
        c.trade_group,
        c.category,
        c.tier,
        c.county,
        c.city,
        c.zip_code,
        c.score,
        c.latitude,
        c.longitude,
    ).where(c.id.in_(lead_ids))
    return {
        row.id: LeadFacts(
            trade_group=row.trade_group,
            category=row.category,
            tier=row.tier,
            county=row.county,
            city=row.city,
            zip_code=row.zip_code,
            score=row.score,
            latitude=row.latitude,
            longitude=row.longitude,
        )
        for row in conn.execute(query)
    }


def _last_seen(conn: Connection, lead_ids: Sequence[int]) -> dict[tuple[str, int], str]:
    """(subscription, lead) → the data hash of the latest delivery of that lead to it."""
    d = _DELIVERIES.c
    query = (
        select(d.subscription_id, d.lead_id, d.data_hash)
        .where(d.lead_id.in_(lead_ids), d.event_id.is_not(None))
        .order_by(d.created_at, d.event_id)
    )
    return {(sub, lead): digest for sub, lead, digest in conn.execute(query)}
