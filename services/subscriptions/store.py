"""Subscriptions in PostgreSQL, always per buyer: a buyer reads and changes its own only.

Every function takes the buyer's id and matches it in the ``WHERE``, so another buyer's
subscription is simply not found (the API's 404), never "forbidden".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select, update

from services.common.db.tables.notifier import subscriptions
from services.subscriptions.signing import new_signing_secret, new_subscription_id

# After a rotation the previous secret still signs (and so still verifies) this long.
PREVIOUS_SECRET_VALID = timedelta(hours=24)
# A cap on one buyer's subscriptions: each costs the notifier memory and matching time.
MAX_PER_BUYER = 1_000

# What a buyer is shown of a subscription: never a secret.
SHOWN = tuple(c for c in subscriptions.c if c.name not in ("secret", "previous_secret"))


class TooManySubscriptions(ValueError):
    pass


def create(
    conn: Connection,
    buyer_id: int,
    *,
    name: str,
    filters: Mapping[str, Any],
    webhook_url: str | None,
) -> tuple[Row[Any], str]:
    """The new subscription and its signing secret (returned this once, stored for signing)."""
    owned = conn.execute(
        select(func.count()).select_from(subscriptions).where(subscriptions.c.buyer_id == buyer_id)
    ).scalar_one()
    if owned >= MAX_PER_BUYER:
        raise TooManySubscriptions(
            f"at most {MAX_PER_BUYER} subscriptions per buyer: delete one first"
        )
    secret = new_signing_secret()
    row = conn.execute(
        insert(subscriptions)
        .values(
            id=new_subscription_id(),
            buyer_id=buyer_id,
            name=name,
            filters=dict(filters),
            webhook_url=webhook_url,
            secret=secret,
        )
        .returning(*SHOWN)
    ).one()
    return row, secret


def list_for(conn: Connection, buyer_id: int) -> Sequence[Row[Any]]:
    return conn.execute(
        select(*SHOWN)
        .where(subscriptions.c.buyer_id == buyer_id)
        .order_by(subscriptions.c.created_at, subscriptions.c.id)
    ).all()


def find(conn: Connection, buyer_id: int, subscription_id: str) -> Row[Any] | None:
    return conn.execute(
        select(*SHOWN).where(
            subscriptions.c.id == subscription_id, subscriptions.c.buyer_id == buyer_id
        )
    ).first()


def change(
    conn: Connection, buyer_id: int, subscription_id: str, values: Mapping[str, Any]
) -> Row[Any] | None:
    """Set the given columns; None when the buyer has no such subscription."""
    return conn.execute(
        update(subscriptions)
        .where(subscriptions.c.id == subscription_id, subscriptions.c.buyer_id == buyer_id)
        .values(**values, updated_at=func.now())
        .returning(*SHOWN)
    ).first()


def remove(conn: Connection, buyer_id: int, subscription_id: str) -> bool:
    result = conn.execute(
        delete(subscriptions).where(
            subscriptions.c.id == subscription_id, subscriptions.c.buyer_id == buyer_id
        )
    )
    return bool(result.rowcount)


def rotate_secret(
    conn: Connection, buyer_id: int, subscription_id: str, now: datetime
) -> tuple[Row[Any], str] | None:
    """A new signing secret; the current one becomes the previous one, which still signs
    until ``now`` + 24 h (a secret rotated out earlier is dropped)."""
    secret = new_signing_secret()
    row = change(
        conn,
        buyer_id,
        subscription_id,
        {
            "previous_secret": subscriptions.c.secret,
            "previous_secret_until": now + PREVIOUS_SECRET_VALID,
            "secret": secret,
        },
    )
    return None if row is None else (row, secret)
