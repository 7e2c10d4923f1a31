"""The buyers' money: an append-only ledger of purchases, credits and adjustments.

Rows are only ever inserted (PostgreSQL refuses UPDATE and DELETE on ``ledger_entries``);
amounts are signed from the buyer's side, so a buyer's balance is the sum of its entries.
An invoicing system reads this table; charging cards is not leadstream's job.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Connection, insert

from services.common.db.tables import ledger_entries


class LedgerKind(StrEnum):
    PURCHASE = "purchase"
    CREDIT = "credit"
    ADJUSTMENT = "adjustment"


def append_entry(
    conn: Connection,
    *,
    buyer_id: int,
    kind: LedgerKind,
    amount: Decimal,
    at: datetime,
    lead_id: int | None = None,
    purchase_id: int | None = None,
    dispute_id: int | None = None,
    note: str | None = None,
) -> int:
    """Append one entry inside the caller's transaction (the one that sold or credited)."""
    entry_id: int = conn.execute(
        insert(ledger_entries)
        .values(
            buyer_id=buyer_id,
            kind=kind.value,
            amount=amount,
            lead_id=lead_id,
            purchase_id=purchase_id,
            dispute_id=dispute_id,
            note=note,
            created_at=at,
        )
        .returning(ledger_entries.c.id)
    ).scalar_one()
    return entry_id
