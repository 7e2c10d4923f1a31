"""Disputes of bought leads: opened by the buyer, decided by the system or an operator.

An approval and its credit are one transaction: the dispute's status changes and one
``credit`` ledger entry of minus the charged price is appended, or neither. Opening and
deciding take one transaction-scoped advisory lock per buyer, so a buyer's disputes are
decided one at a time: two requests cannot both decide one dispute, and an automatic
duplicate approval reads whether the original purchase was credited after any concurrent
decision on it has committed. The ledger's unique ``dispute_id`` and ``(purchase_id, kind)``
would refuse a second credit anyway. The rules of automatic approval are in dispute_rules.py.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Connection, Engine, Row, Select, Table, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from services.common.db.tables.marketplace import BuyerRow, disputes, ledger_entries
from services.exporter.buyers import Buyer
from services.exporter.dispute_rules import (
    STALE_AFTER_DAYS,
    BoughtLead,
    DecidedBy,
    DisputeReason,
    DisputeStatus,
    automatic_approval,
    window_closes_at,
    within_window,
)
from services.exporter.ledger import ZERO, LedgerKind, append_entry
from services.exporter.queries import fetch_lead, leads, purchases
from services.exporter.sales import LeadNotFound, SaleConflict

buyers = cast(Table, BuyerRow.__table__)


class DisputeConflict(SaleConflict):
    """The dispute cannot be opened or decided in its current state (a 409)."""


class DisputeNotFound(LookupError):
    pass


class NoteRequired(ValueError):
    pass


@dataclass(frozen=True)
class Dispute:
    id: int
    purchase_id: int
    lead_id: int
    buyer_id: int
    buyer_name: str
    reason: DisputeReason
    detail: str | None
    status: DisputeStatus
    decided_by: DecidedBy | None
    decision_note: str | None
    created_at: datetime
    decided_at: datetime | None
    price: Decimal  # what the purchase was charged, and what an approval credits


def open_dispute(
    engine: Engine,
    buyer: Buyer,
    lead_id: int,
    reason: DisputeReason,
    detail: str | None,
    *,
    window_days: int,
    now: datetime,
    stale_after_days: int = STALE_AFTER_DAYS,
    max_buyers_per_lead: int = 1,
) -> Dispute:
    """Open the buyer's dispute of a lead it bought; approved at once when provable.

    Raises LeadNotFound (no such lead, or not one the buyer may see: as in the rest of the
    API, a lead sold out to others is not found) or DisputeConflict (not bought by this buyer,
    already disputed, or the window is over).
    """
    try:
        with engine.begin() as conn:
            _lock_buyer(conn, buyer.id)
            bought = _purchase(conn, buyer, lead_id)
            if bought is None:
                raise _why_no_purchase(conn, buyer, lead_id, max_buyers_per_lead)
            earlier = conn.execute(
                select(disputes.c.id, disputes.c.status).where(
                    disputes.c.purchase_id == bought.purchase_id
                )
            ).first()
            if earlier is not None:
                raise DisputeConflict(
                    f"you have already disputed this lead (dispute {earlier.id}, "
                    f"{earlier.status}): one dispute per purchase"
                )
            if not within_window(bought.purchased_at, now, window_days):
                closed = window_closes_at(bought.purchased_at, window_days)
                raise DisputeConflict(
                    f"the dispute window of this purchase closed at {closed.isoformat()}: "
                    f"disputes are accepted within {window_days} days of the purchase"
                )
            dispute_id = conn.execute(
                insert(disputes)
                .values(
                    purchase_id=bought.purchase_id,
                    lead_id=lead_id,
                    buyer_id=buyer.id,
                    reason=reason.value,
                    detail=detail,
                    status=DisputeStatus.OPEN.value,
                    created_at=now,
                )
                .returning(disputes.c.id)
            ).scalar_one()
            proof = automatic_approval(
                reason,
                bought,
                _other_purchases_of_project(conn, buyer.id, bought),
                stale_after_days=stale_after_days,
            )
            if proof is not None:
                _approve(conn, dispute_id, DecidedBy.SYSTEM, proof, now)
            return _fetch(conn, dispute_id)
    except IntegrityError as exc:  # a concurrent request opened it first
        raise DisputeConflict("you have already disputed this lead") from exc


def decide_dispute(
    engine: Engine, dispute_id: int, *, approve: bool, note: str | None, now: datetime
) -> Dispute:
    """An operator's decision on an open dispute; approving credits the charged price once.

    Raises DisputeNotFound, NoteRequired (a denial must say why) or DisputeConflict (already
    decided: nothing changes, nothing is credited again).
    """
    note = note.strip() if note else None
    if not approve and not note:
        raise NoteRequired("a denial needs a note saying why (the buyer reads it)")
    with engine.begin() as conn:
        buyer_id = conn.execute(
            select(disputes.c.buyer_id).where(disputes.c.id == dispute_id)
        ).scalar()
        if buyer_id is None:
            raise DisputeNotFound(f"dispute {dispute_id} not found")
        _lock_buyer(conn, buyer_id)
        # Read after the lock: a decision committed meanwhile is seen (READ COMMITTED).
        status = conn.execute(
            select(disputes.c.status).where(disputes.c.id == dispute_id)
        ).scalar_one()
        if status != DisputeStatus.OPEN:
            decided = _fetch(conn, dispute_id)
            when = "" if decided.decided_at is None else f" on {decided.decided_at:%Y-%m-%d %H:%M}"
            raise DisputeConflict(
                f"dispute {dispute_id} was already {status} by {decided.decided_by}{when}: "
                "nothing changed"
            )
        if approve:
            _approve(conn, dispute_id, DecidedBy.OPERATOR, note, now)
        else:
            conn.execute(
                update(disputes)
                .where(disputes.c.id == dispute_id)
                .values(
                    status=DisputeStatus.DENIED.value,
                    decided_by=DecidedBy.OPERATOR.value,
                    decision_note=note,
                    decided_at=now,
                )
            )
        return _fetch(conn, dispute_id)


def list_disputes(
    engine: Engine, *, status: DisputeStatus | None = None, buyer_id: int | None = None
) -> list[Dispute]:
    """Oldest first: the queue order an operator works in."""
    query = _disputes_query()
    if status is not None:
        query = query.where(disputes.c.status == status.value)
    if buyer_id is not None:
        query = query.where(disputes.c.buyer_id == buyer_id)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(disputes.c.created_at, disputes.c.id)).all()
    return [_dispute(row) for row in rows]


def _approve(
    conn: Connection, dispute_id: int, decided_by: DecidedBy, note: str | None, now: datetime
) -> None:
    row = conn.execute(
        update(disputes)
        .where(disputes.c.id == dispute_id, disputes.c.status == DisputeStatus.OPEN.value)
        .values(
            status=DisputeStatus.APPROVED.value,
            decided_by=decided_by.value,
            decision_note=note,
            decided_at=now,
        )
        .returning(disputes.c.buyer_id, disputes.c.lead_id, disputes.c.purchase_id)
    ).one()
    price = conn.execute(
        select(purchases.c.price).where(purchases.c.id == row.purchase_id)
    ).scalar_one()
    append_entry(
        conn,
        buyer_id=row.buyer_id,
        kind=LedgerKind.CREDIT,
        amount=-_charged(price),
        at=now,
        lead_id=row.lead_id,
        purchase_id=row.purchase_id,
        dispute_id=dispute_id,
        note=f"dispute {dispute_id} approved by {decided_by.value}",
    )


def _lock_buyer(conn: Connection, buyer_id: int) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(_buyer_lock_id(buyer_id))))


def _buyer_lock_id(buyer_id: int) -> int:
    """A signed 64-bit id for ``pg_advisory_xact_lock``, in a namespace of its own."""
    digest = hashlib.sha256(f"leadstream.disputes:{buyer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _purchase(conn: Connection, buyer: Buyer, lead_id: int) -> BoughtLead | None:
    row = conn.execute(
        select(
            purchases.c.id,
            purchases.c.purchased_at,
            leads.c.project_key,
            leads.c.project_date,
            leads.c.issued_date,
        )
        .join(leads, leads.c.id == purchases.c.lead_id)
        .where(purchases.c.lead_id == lead_id, purchases.c.buyer_id == buyer.id)
    ).first()
    if row is None:
        return None
    return BoughtLead(
        purchase_id=row.id,
        lead_id=lead_id,
        purchased_at=row.purchased_at,
        project_key=row.project_key,
        project_date=row.project_date or row.issued_date,
        issued_date=row.issued_date,
    )


def _other_purchases_of_project(
    conn: Connection, buyer_id: int, bought: BoughtLead
) -> list[BoughtLead]:
    if bought.project_key is None:
        return []
    credited = exists().where(
        ledger_entries.c.purchase_id == purchases.c.id,
        ledger_entries.c.kind == LedgerKind.CREDIT.value,
    )
    rows = conn.execute(
        select(
            purchases.c.id,
            purchases.c.lead_id,
            purchases.c.purchased_at,
            leads.c.project_key,
            leads.c.project_date,
            leads.c.issued_date,
            credited.label("credited"),
        )
        .join(leads, leads.c.id == purchases.c.lead_id)
        .where(
            purchases.c.buyer_id == buyer_id,
            purchases.c.id != bought.purchase_id,
            leads.c.project_key == bought.project_key,
        )
    ).all()
    return [
        BoughtLead(
            purchase_id=row.id,
            lead_id=row.lead_id,
            purchased_at=row.purchased_at,
            project_key=row.project_key,
            project_date=row.project_date or row.issued_date,
            issued_date=row.issued_date,
            credited=bool(row.credited),
        )
        for row in rows
    ]


def _why_no_purchase(
    conn: Connection, buyer: Buyer, lead_id: int, max_buyers_per_lead: int
) -> Exception:
    if fetch_lead(conn, buyer, lead_id, max_buyers_per_lead) is None:
        return LeadNotFound(f"lead {lead_id} not found")
    return DisputeConflict("you have not bought this lead: only its buyer can dispute it")


def _disputes_query() -> Select[Any]:
    return select(
        disputes,
        buyers.c.name.label("buyer_name"),
        purchases.c.price.label("price"),
    ).select_from(
        disputes.join(buyers, buyers.c.id == disputes.c.buyer_id).join(
            purchases, purchases.c.id == disputes.c.purchase_id
        )
    )


def _fetch(conn: Connection, dispute_id: int) -> Dispute:
    return _dispute(conn.execute(_disputes_query().where(disputes.c.id == dispute_id)).one())


def _dispute(row: Row[Any]) -> Dispute:
    values = row._mapping
    return Dispute(
        id=values["id"],
        purchase_id=values["purchase_id"],
        lead_id=values["lead_id"],
        buyer_id=values["buyer_id"],
        buyer_name=values["buyer_name"],
        reason=DisputeReason(values["reason"]),
        detail=values["detail"],
        status=DisputeStatus(values["status"]),
        decided_by=None if values["decided_by"] is None else DecidedBy(values["decided_by"]),
        decision_note=values["decision_note"],
        created_at=values["created_at"],
        decided_at=values["decided_at"],
        price=_charged(values["price"]),
    )


def _charged(price: object) -> Decimal:
    """A purchase recorded without a price was charged nothing."""
    return ZERO if price is None else Decimal(str(price)).quantize(ZERO)
