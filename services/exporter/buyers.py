"""Buyer accounts: what each may see, and their API keys (only a hash is ever stored)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from schemas.taxonomy import Tier, TradeGroup
from services.common.db.tables.marketplace import BuyerRow

KEY_BYTES = 32


class BuyerExists(ValueError):
    pass


@dataclass(frozen=True)
class Entitlements:
    """What a buyer may see and buy. Counties are lower-case; None means every county."""

    trade_groups: frozenset[str]
    tiers: frozenset[str]
    counties: frozenset[str] | None

    @classmethod
    def of(
        cls,
        trade_groups: Iterable[str],
        tiers: Iterable[str],
        counties: Iterable[str] | None,
    ) -> Entitlements:
        return cls(
            frozenset(trade_groups),
            frozenset(tiers),
            None if counties is None else frozenset(c.lower() for c in counties),
        )

    def allows_file(self, trade_group: str, tier: str) -> bool:
        return trade_group in self.trade_groups and tier in self.tiers


class BuyerPlan(StrEnum):
    """How a buyer sees leads (docs/marketplace.md)."""

    MARKETPLACE = "marketplace"  # a preview of every lead it has not bought
    SUBSCRIPTION = "subscription"  # every entitled lead in full


@dataclass(frozen=True)
class Buyer:
    id: int
    name: str
    entitlements: Entitlements
    # The default hides more: a buyer built without its plan never sees what it did not buy.
    plan: BuyerPlan = BuyerPlan.MARKETPLACE

    @property
    def sees_everything(self) -> bool:
        return self.plan == BuyerPlan.SUBSCRIPTION


def new_api_key() -> str:
    return secrets.token_urlsafe(KEY_BYTES)


def hash_key(key: str) -> str:
    """A fast hash is enough: keys are 256 random bits, not guessable passwords."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_buyer(
    engine: Engine,
    name: str,
    trade_groups: Iterable[TradeGroup],
    tiers: Iterable[Tier],
    counties: Iterable[str] | None = None,
    plan: BuyerPlan = BuyerPlan.MARKETPLACE,
) -> tuple[Buyer, str]:
    """Store a new buyer and return it with its API key, which exists nowhere else."""
    key = new_api_key()
    row = BuyerRow(
        name=name,
        key_hash=hash_key(key),
        trade_groups=sorted({g.value for g in trade_groups}),
        tiers=sorted({t.value for t in tiers}),
        counties=None if counties is None else sorted(set(counties)),
        plan=plan.value,
        active=True,
    )
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            session.add(row)
    except IntegrityError as exc:
        raise BuyerExists(f"a buyer named {name!r} already exists") from exc
    entitlements = Entitlements.of(row.trade_groups, row.tiers, row.counties)
    return Buyer(row.id, name, entitlements, plan), key


def find_buyer(conn: Connection, key: str) -> Buyer | None:
    """The active buyer owning this key, or None."""
    row = conn.execute(
        select(
            BuyerRow.id,
            BuyerRow.name,
            BuyerRow.trade_groups,
            BuyerRow.tiers,
            BuyerRow.counties,
            BuyerRow.plan,
        ).where(BuyerRow.key_hash == hash_key(key), BuyerRow.active.is_(True))
    ).first()
    if row is None:
        return None
    entitlements = Entitlements.of(row.trade_groups, row.tiers, row.counties)
    return Buyer(row.id, row.name, entitlements, BuyerPlan(row.plan))


def list_buyers(engine: Engine) -> list[BuyerRow]:
    with Session(engine) as session:
        return list(session.scalars(select(BuyerRow).order_by(BuyerRow.name)))


def deactivate_buyer(engine: Engine, name: str) -> bool:
    """Revoke a buyer's key; their purchases stay recorded. False if there is no such buyer."""
    with engine.begin() as conn:
        result = conn.execute(update(BuyerRow).where(BuyerRow.name == name).values(active=False))
    return result.rowcount > 0
