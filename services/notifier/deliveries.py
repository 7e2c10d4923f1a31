"""Webhook deliveries in PostgreSQL: claiming due ones, recording attempts, and what the
deliveries API reads and changes. So a restart or SIGKILL loses nothing: a claimed delivery
whose worker died is due again when its lease (``next_attempt_at``) passes."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, select, text, update

from services.common.db.tables.notifier import subscriptions as _SUBSCRIPTIONS
from services.common.db.tables.notifier import webhook_attempts as _ATTEMPTS
from services.common.db.tables.notifier import webhook_deliveries as _DELIVERIES
from services.notifier.matcher import new_webhook_id, webhook_body
from services.notifier.schedule import AttemptResult, Decision, Verdict

PING = "ping"
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
# Why a subscription was disabled, as the API shows it (``disabled_reason``).
GONE_REASON = "the endpoint answered 410 Gone"
FAILING_REASON = "the endpoint failed every delivery for 24 hours"


@dataclass(frozen=True)
class Claimed:
    id: str
    subscription_id: str
    body: str
    attempts: int
    first_failed_at: datetime | None
    url: str
    secrets: tuple[str, ...]


# Due deliveries of active subscriptions, at most ``per_endpoint`` per subscription and none of
# the subscriptions already busy in this worker, soonest first; locked with SKIP LOCKED so
# replicas share them, and leased by moving ``next_attempt_at`` past the send.
_CLAIM = text(
    """
    WITH due AS (
        SELECT d.id, d.subscription_id, d.next_attempt_at
        FROM webhook_deliveries d
        WHERE d.status = 'pending' AND d.next_attempt_at <= now()
          AND NOT (d.subscription_id = ANY(CAST(:busy AS varchar[])))
        ORDER BY d.next_attempt_at
        LIMIT :scan
    ), ranked AS (
        SELECT due.id, due.next_attempt_at, row_number() OVER (
            PARTITION BY due.subscription_id ORDER BY due.next_attempt_at) AS n
        FROM due JOIN subscriptions s ON s.id = due.subscription_id
        WHERE s.active AND s.webhook_url IS NOT NULL
    ), locked AS (
        SELECT d.id FROM webhook_deliveries d
        WHERE d.id IN (SELECT id FROM ranked WHERE n <= :per_endpoint
                       ORDER BY next_attempt_at LIMIT :wanted)
          AND d.status = 'pending' AND d.next_attempt_at <= now()
        FOR UPDATE SKIP LOCKED
    )
    UPDATE webhook_deliveries d
    SET next_attempt_at = now() + make_interval(secs => :lease_s)
    FROM locked, subscriptions s
    WHERE d.id = locked.id AND s.id = d.subscription_id
    RETURNING d.id, d.subscription_id, d.body, d.attempts, d.first_failed_at, s.webhook_url,
              s.secret, s.previous_secret, s.previous_secret_until
    """
)


def claim(
    engine: Engine,
    *,
    wanted: int,
    busy: Collection[str],
    per_endpoint: int,
    lease_s: float,
) -> list[Claimed]:
    params = {
        "busy": sorted(busy),
        "scan": max(wanted * 4, 100),
        "per_endpoint": per_endpoint,
        "wanted": wanted,
        "lease_s": lease_s,
    }
    with engine.begin() as conn:
        rows = conn.execute(_CLAIM, params).all()
    now = datetime.now(UTC)
    return [
        Claimed(
            id=row.id,
            subscription_id=row.subscription_id,
            body=row.body,
            attempts=row.attempts,
            first_failed_at=row.first_failed_at,
            url=row.webhook_url,
            secrets=signing_secrets(
                row.secret, row.previous_secret, row.previous_secret_until, now
            ),
        )
        for row in rows
    ]


def signing_secrets(
    secret: str, previous: str | None, previous_until: datetime | None, now: datetime
) -> tuple[str, ...]:
    """The current secret, and the previous one while it still verifies after a rotation."""
    if previous and previous_until is not None and previous_until > now:
        return (secret, previous)
    return (secret,)


def record(
    engine: Engine, delivery: Claimed, result: AttemptResult, decision: Decision, now: datetime
) -> bool:
    """The attempt, the delivery's new state and, when it says so, the subscription disabled
    (one transaction). Returns whether this disabled the subscription."""
    d = _DELIVERIES.c
    failed = decision.verdict is not Verdict.DELIVERED
    status = {Verdict.DELIVERED: DELIVERED, Verdict.RETRY: PENDING}.get(decision.verdict, FAILED)
    with engine.begin() as conn:
        conn.execute(
            insert(_ATTEMPTS).values(
                delivery_id=delivery.id,
                attempted_at=now,
                status_code=result.status_code,
                latency_ms=round(result.latency_s * 1000),
                error=result.error,
                next_retry_at=decision.next_attempt_at,
            )
        )
        conn.execute(
            update(_DELIVERIES)
            .where(d.id == delivery.id)
            .values(
                status=status,
                attempts=d.attempts + 1,
                next_attempt_at=decision.next_attempt_at,
                first_failed_at=func.coalesce(d.first_failed_at, now) if failed else None,
                last_status_code=result.status_code,
                last_error=result.error,
                delivered_at=now if not failed else None,
            )
        )
        reason = {Verdict.GONE: GONE_REASON, Verdict.GAVE_UP: FAILING_REASON}.get(decision.verdict)
        if reason is None:
            return False
        return disable(conn, delivery.subscription_id, f"{reason} (last: {result.error})", now)


def disable(conn: Connection, subscription_id: str, reason: str, now: datetime) -> bool:
    s = _SUBSCRIPTIONS.c
    disabled = conn.execute(
        update(_SUBSCRIPTIONS)
        .where(s.id == subscription_id, s.active.is_(True))
        .values(active=False, disabled_reason=reason, disabled_at=now, updated_at=now)
    ).rowcount
    return bool(disabled)


def backlog(engine: Engine) -> tuple[int, float]:
    """Pending deliveries due now, and how long the oldest has been due (seconds)."""
    d = _DELIVERIES.c
    with engine.connect() as conn:
        count, oldest = conn.execute(
            select(func.count(), func.min(d.next_attempt_at)).where(
                d.status == PENDING, d.next_attempt_at <= func.now()
            )
        ).one()
    overdue = 0.0 if oldest is None else (datetime.now(UTC) - oldest).total_seconds()
    return int(count), max(0.0, overdue)


# ---------------------------------------------------------------------- the deliveries API


def create_ping(conn: Connection, subscription_id: str) -> str:
    """A signed ``ping`` delivery, due now; returns its webhook id."""
    webhook_id = new_webhook_id()
    now = datetime.now(UTC)
    conn.execute(
        insert(_DELIVERIES).values(
            id=webhook_id,
            event_id=None,
            subscription_id=subscription_id,
            type=PING,
            lead_id=None,
            body=webhook_body(PING, now, {"subscription_id": subscription_id}),
            status=PENDING,
            next_attempt_at=now,
        )
    )
    return webhook_id


def recent(conn: Connection, subscription_id: str, limit: int) -> list[dict[str, Any]]:
    """The subscription's latest deliveries, newest first, each with its attempts."""
    d, a = _DELIVERIES.c, _ATTEMPTS.c
    deliveries = conn.execute(
        select(
            d.id,
            d.event_id,
            d.type,
            d.lead_id,
            d.status,
            d.attempts,
            d.next_attempt_at,
            d.last_status_code,
            d.last_error,
            d.delivered_at,
            d.created_at,
        )
        .where(d.subscription_id == subscription_id)
        .order_by(d.created_at.desc(), d.id)
        .limit(limit)
    ).all()
    ids = [row.id for row in deliveries]
    attempts: dict[str, list[dict[str, Any]]] = {}
    if ids:
        for row in conn.execute(
            select(
                a.delivery_id, a.attempted_at, a.status_code, a.latency_ms, a.error, a.next_retry_at
            )
            .where(a.delivery_id.in_(ids))
            .order_by(a.id)
        ):
            attempts.setdefault(row.delivery_id, []).append(dict(row._mapping))
    return [{**row._mapping, "attempt_log": attempts.get(row.id, [])} for row in deliveries]


def retry_now(conn: Connection, subscription_id: str, delivery_id: str) -> bool:
    """Make a delivery due now (again, if it had failed); False if it is not this
    subscription's. Its webhook id stays the same."""
    d = _DELIVERIES.c
    changed = conn.execute(
        update(_DELIVERIES)
        .where(and_(d.id == delivery_id, d.subscription_id == subscription_id))
        .values(status=PENDING, next_attempt_at=func.now(), first_failed_at=None)
    ).rowcount
    return bool(changed)
