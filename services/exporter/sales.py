"""Purchases and conversions, with the no-oversell rule enforced by the database itself.

A purchase is one transaction: a conditional ``UPDATE … WHERE sold_count < max`` claims a
slot (PostgreSQL serialises concurrent updates of the row and re-checks the condition, so
concurrent buyers cannot oversell), the book price is read (after the claim, in the same
transaction: the price charged is the book's at the moment of the sale, and a price above
the buyer's ``max_price`` rolls the claim back), the purchase row is inserted (its unique
(lead_id, buyer_id) makes buying the same lead twice fail and roll the claim back) and the
charge is appended to the ledger. All or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, Engine, case, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from schemas.taxonomy import Tier
from services.exporter.buyers import Buyer
from services.exporter.ledger import LedgerKind, append_entry
from services.exporter.prices import book_price
from services.exporter.queries import LeadStatus, entitled, fetch_lead, leads, purchases
from services.exporter.records import SELLABLE_TIERS


class LeadNotFound(LookupError):
    """No such lead, or none this buyer may see (the two are deliberately indistinguishable)."""


class SaleConflict(RuntimeError):
    """The lead exists for this buyer but the request conflicts with its state."""


@dataclass(frozen=True)
class Purchase:
    lead_id: int
    price: Decimal  # what was charged
    purchased_at: datetime
    purchase_id: int  # lead_purchases.id (disputes and the ledger refer to it)


def purchase_lead(
    engine: Engine,
    buyer: Buyer,
    lead_id: int,
    max_price: Decimal | None,
    *,
    max_buyers_per_lead: int,
    now: datetime,
) -> Purchase:
    """Sell the lead to the buyer at its book price, at most ``max_price``; a lead not in the
    book sells at ``max_price`` (None then is a ``SaleConflict``: there is no price)."""
    sellable = sorted(t.value for t in SELLABLE_TIERS)
    claim = (
        update(leads)
        .where(
            leads.c.id == lead_id,
            entitled(buyer.entitlements),
            leads.c.tier.in_(sellable),
            leads.c.sold_count < max_buyers_per_lead,
        )
        .values(
            sold_count=leads.c.sold_count + 1,
            # A later co-buyer does not undo an earlier buyer's conversion.
            status=case(
                (leads.c.status == LeadStatus.CONVERTED.value, leads.c.status),
                else_=LeadStatus.SOLD.value,
            ),
            sold_to=buyer.name,
            sold_at=now,
            updated_at=now,
        )
        .returning(leads.c.id)
    )
    try:
        with engine.begin() as conn:
            if conn.execute(claim).first() is None:
                raise _why_not_for_sale(conn, buyer, lead_id)
            price = charged_price(book_price(conn, lead_id), max_price)
            conn.execute(update(leads).where(leads.c.id == lead_id).values(sold_price=price))
            purchase_id = conn.execute(
                insert(purchases)
                .values(lead_id=lead_id, buyer_id=buyer.id, price=price, purchased_at=now)
                .returning(purchases.c.id)
            ).scalar_one()
            append_entry(
                conn,
                buyer_id=buyer.id,
                kind=LedgerKind.PURCHASE,
                amount=price,
                at=now,
                lead_id=lead_id,
                purchase_id=purchase_id,
            )
    except IntegrityError as exc:
        raise SaleConflict("you have already purchased this lead") from exc
    return Purchase(lead_id, price, now, purchase_id)


def charged_price(book: Decimal | None, max_price: Decimal | None) -> Decimal:
    """The book price if the buyer agreed to it, else the buyer's own price when the lead is
    not in the book; a ``SaleConflict`` otherwise."""
    if book is None:
        if max_price is None:
            raise SaleConflict("this lead is not in the price book: name a max_price")
        return max_price
    if max_price is not None and book > max_price:
        raise SaleConflict(f"the price is now {book}, above your max_price {max_price}")
    return book


def _why_not_for_sale(conn: Connection, buyer: Buyer, lead_id: int) -> Exception:
    if _purchased_at(conn, buyer, lead_id) is not None:
        return SaleConflict("you have already purchased this lead")
    tier = conn.execute(
        select(leads.c.tier).where(leads.c.id == lead_id, entitled(buyer.entitlements))
    ).scalar()
    if tier is None:
        return LeadNotFound(f"lead {lead_id} not found")
    if tier == Tier.RETRY:
        return SaleConflict("this lead is waiting for a score (tier RETRY) and is not for sale")
    return SaleConflict("this lead is sold out")


def record_conversion(
    engine: Engine, buyer: Buyer, lead_id: int, *, max_buyers_per_lead: int, now: datetime
) -> datetime:
    """Mark the buyer's purchase converted; repeating it returns the first conversion time."""
    with engine.begin() as conn:
        converted = conn.execute(
            update(purchases)
            .where(
                purchases.c.lead_id == lead_id,
                purchases.c.buyer_id == buyer.id,
                purchases.c.converted_at.is_(None),
            )
            .values(converted_at=now)
            .returning(purchases.c.converted_at)
        ).scalar()
        if converted is None:
            return _earlier_conversion(conn, buyer, lead_id, max_buyers_per_lead)
        conn.execute(
            update(leads)
            .where(leads.c.id == lead_id)
            .values(
                status=LeadStatus.CONVERTED.value,
                converted_at=func.coalesce(leads.c.converted_at, now),
                updated_at=now,
            )
        )
        return now


def _earlier_conversion(
    conn: Connection, buyer: Buyer, lead_id: int, max_buyers_per_lead: int
) -> datetime:
    purchased = conn.execute(
        select(purchases.c.converted_at).where(
            purchases.c.lead_id == lead_id, purchases.c.buyer_id == buyer.id
        )
    ).first()
    if purchased is not None:
        converted_at: datetime = purchased.converted_at
        return converted_at
    if fetch_lead(conn, buyer, lead_id, max_buyers_per_lead) is None:
        raise LeadNotFound(f"lead {lead_id} not found")
    raise SaleConflict("only a buyer who purchased this lead can record its conversion")


def _purchased_at(conn: Connection, buyer: Buyer, lead_id: int) -> datetime | None:
    purchased_at: datetime | None = conn.execute(
        select(purchases.c.purchased_at).where(
            purchases.c.lead_id == lead_id, purchases.c.buyer_id == buyer.id
        )
    ).scalar()
    return purchased_at
