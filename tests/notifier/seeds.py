"""Buyers, subscriptions and leads written straight into a test database."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, insert, select

from schemas import ScoredLead
from services.common.db.tables.marketplace import BuyerRow
from services.common.db.tables.notifier import subscriptions
from services.common.db.tables.pipeline import scored_leads
from services.exporter.buyers import hash_key
from services.store.writer import BatchWriter

SELLABLE = ("A", "B", "C")


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def add_buyer(
    engine: Engine,
    name: str,
    trade_groups: Sequence[str],
    tiers: Sequence[str] = SELLABLE,
    counties: Sequence[str] | None = None,
    plan: str = "subscription",
) -> int:
    with engine.begin() as conn:
        return int(
            conn.execute(
                insert(BuyerRow)
                .values(
                    name=name,
                    key_hash=hash_key(secrets.token_urlsafe(16)),
                    trade_groups=list(trade_groups),
                    tiers=list(tiers),
                    counties=None if counties is None else list(counties),
                    plan=plan,
                )
                .returning(BuyerRow.id)
            ).scalar_one()
        )


def add_subscription(
    engine: Engine, buyer_id: int, url: str, filters: dict[str, Any] | None = None
) -> tuple[str, str]:
    """(subscription id, signing secret)."""
    sub_id, secret = "sub_" + secrets.token_hex(12), new_secret()
    with engine.begin() as conn:
        conn.execute(
            insert(subscriptions).values(
                id=sub_id,
                buyer_id=buyer_id,
                name=f"test {sub_id}",
                filters=filters or {},
                webhook_url=url,
                secret=secret,
            )
        )
    return sub_id, secret


def store(engine: Engine, messages: Sequence[ScoredLead]) -> None:
    """Through the real store writer, which writes the outbox rows with the leads."""
    BatchWriter(engine).write(messages)


def lead_ids(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(select(scored_leads.c.permit_key, scored_leads.c.id)).all())
