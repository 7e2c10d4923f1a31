"""The buyers' money: an append-only ledger of purchases, credits and adjustments.

Rows are only ever inserted (PostgreSQL refuses UPDATE and DELETE on ``ledger_entries``);
amounts are signed from the buyer's side, so a buyer's balance is the sum of its entries.
An invoicing system reads this table; charging cards is not leadstream's job.

Reads: a buyer's account totals, and a month's statement with a running balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ColumnElement, Connection, case, func, insert, select

from services.common.db.tables.marketplace import ledger_entries


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


ZERO = Decimal("0.00")


@dataclass(frozen=True)
class AccountSummary:
    """A buyer's totals. ``credited`` is positive (what it got back); ``net`` is what it owes:
    spent − credited + adjustments, the sum of all its entries."""

    purchases: int
    spent: Decimal
    credited: Decimal
    adjustments: Decimal
    net: Decimal


@dataclass(frozen=True)
class StatementLine:
    entry_id: int
    created_at: datetime
    kind: LedgerKind
    lead_id: int | None
    purchase_id: int | None
    dispute_id: int | None
    amount: Decimal
    note: str | None
    balance: Decimal  # the buyer's net after this entry, all earlier months included


def account_summary(conn: Connection, buyer_id: int) -> AccountSummary:
    c = ledger_entries.c

    def total(kind: LedgerKind) -> ColumnElement[Decimal]:
        return func.coalesce(func.sum(case((c.kind == kind.value, c.amount))), 0)

    row = conn.execute(
        select(
            func.count().filter(c.kind == LedgerKind.PURCHASE.value),
            total(LedgerKind.PURCHASE),
            total(LedgerKind.CREDIT),
            total(LedgerKind.ADJUSTMENT),
        ).where(c.buyer_id == buyer_id)
    ).one()
    purchases, spent, credits, adjustments = row
    spent, credits, adjustments = (_money(v) for v in (spent, credits, adjustments))
    return AccountSummary(
        purchases=int(purchases),
        spent=spent,
        credited=-credits,
        adjustments=adjustments,
        net=spent + credits + adjustments,
    )


def month_bounds(month_start: date) -> tuple[datetime, datetime | None]:
    """[first instant of the month, first instant of the next) in UTC; None past year 9999."""
    start = datetime.combine(month_start.replace(day=1), time(), UTC)
    if start.month < 12:
        return start, start.replace(month=start.month + 1)
    if start.year < date.max.year:
        return start, start.replace(year=start.year + 1, month=1)
    return start, None


def statement_entries(conn: Connection, buyer_id: int, month_start: date) -> list[StatementLine]:
    """Every entry of the buyer created in that month (UTC), oldest first, with the balance
    carried from the months before."""
    c = ledger_entries.c
    start, end = month_bounds(month_start)
    opening = _money(
        conn.execute(
            select(func.coalesce(func.sum(c.amount), 0)).where(
                c.buyer_id == buyer_id, c.created_at < start
            )
        ).scalar_one()
    )
    in_month = select(
        c.id, c.created_at, c.kind, c.lead_id, c.purchase_id, c.dispute_id, c.amount, c.note
    ).where(c.buyer_id == buyer_id, c.created_at >= start)
    if end is not None:
        in_month = in_month.where(c.created_at < end)
    lines = []
    balance = opening
    for row in conn.execute(in_month.order_by(c.created_at, c.id)):
        amount = _money(row.amount)
        balance += amount
        lines.append(
            StatementLine(
                entry_id=row.id,
                created_at=row.created_at,
                kind=LedgerKind(row.kind),
                lead_id=row.lead_id,
                purchase_id=row.purchase_id,
                dispute_id=row.dispute_id,
                amount=amount,
                note=row.note,
                balance=balance,
            )
        )
    return lines


def _money(value: object) -> Decimal:
    return Decimal(str(value)).quantize(ZERO)
