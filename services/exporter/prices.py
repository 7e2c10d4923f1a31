"""The price book: what a lead costs, per trade group and tier, optionally narrowed to a
category and/or a county.

The most specific entry matching a lead quotes its price: category+county, then category,
then county, then the trade group and tier alone. ``quote`` is that rule in Python (on plain
entries, for tests and callers that hold the book); ``quoted_price`` is the same rule in SQL,
evaluated per lead inside the query that reads it (a page, a CSV, a sale's transaction).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    delete,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql

from services.common.db.tables.marketplace import price_book
from services.common.db.tables.pipeline import scored_leads

PRICE_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class BookEntry:
    """One price: ``category`` / ``county`` None means any; the county is lower-case."""

    trade_group: str
    tier: str
    category: str | None
    county: str | None
    price: Decimal

    @property
    def specificity(self) -> tuple[bool, bool]:
        """Sorts category+county > category > county > trade group and tier alone."""
        return (self.category is not None, self.county is not None)


class QuotedLead(Protocol):
    @property
    def trade_group(self) -> str: ...
    @property
    def tier(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def county(self) -> str | None: ...


def matches(entry: BookEntry, lead: QuotedLead) -> bool:
    county = None if lead.county is None else lead.county.lower()
    return (
        entry.trade_group == lead.trade_group
        and entry.tier == lead.tier
        and (entry.category is None or entry.category == lead.category)
        and (entry.county is None or entry.county == county)
    )


def quote(book_entries: Iterable[BookEntry], lead: QuotedLead) -> Decimal | None:
    """The lead's price by the most specific matching entry; None when none matches."""
    best: BookEntry | None = None
    for entry in book_entries:
        if matches(entry, lead) and (best is None or entry.specificity > best.specificity):
            best = entry
    return None if best is None else best.price


def quoted_price(leads: Any = scored_leads) -> ColumnElement[Any]:
    """``quote`` as a correlated scalar subquery on ``leads`` (the table, or an alias of it).

    The book is small and indexed on (trade_group, tier, …), so this is an index probe and a
    sort of a handful of rows per lead.
    """
    book = price_book.c
    return (
        select(book.price)
        .where(
            book.trade_group == leads.c.trade_group,
            book.tier == leads.c.tier,
            (book.category.is_(None)) | (book.category == leads.c.category),
            (book.county.is_(None)) | (book.county == func.lower(leads.c.county)),
        )
        .order_by(book.category.is_(None), book.county.is_(None))  # false (set) sorts first
        .limit(1)
        .correlate(leads)
        .scalar_subquery()
    )


def book_price(conn: Connection, lead_id: int) -> Decimal | None:
    """A lead's price now, read on ``conn`` (inside a sale's transaction)."""
    price: Decimal | None = conn.execute(
        select(quoted_price()).where(scored_leads.c.id == lead_id)
    ).scalar()
    return price


def _scope(
    trade_group: str, tier: str, category: str | None, county: str | None
) -> list[ColumnElement[bool]]:
    book = price_book.c
    return [
        book.trade_group == trade_group,
        book.tier == tier,
        book.category.is_(None) if category is None else book.category == category,
        book.county.is_(None) if county is None else book.county == county.lower(),
    ]


def set_price(
    engine: Engine,
    *,
    trade_group: str,
    tier: str,
    price: Decimal,
    now: datetime,
    category: str | None = None,
    county: str | None = None,
) -> BookEntry:
    """Insert or replace the price of one scope (upsert on the unique coalesced scope)."""
    county = None if county is None else county.lower()
    values = {
        "trade_group": trade_group,
        "tier": tier,
        "category": category,
        "county": county,
        "price": price,
        "updated_at": now,
    }
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            statement = postgresql.insert(price_book).values(values)
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[
                        price_book.c.trade_group,
                        price_book.c.tier,
                        func.coalesce(price_book.c.category, literal("")),
                        func.coalesce(price_book.c.county, literal("")),
                    ],
                    set_={"price": price, "updated_at": now},
                )
            )
        else:  # SQLite: the same upsert in two statements (tests of the CLI without PostgreSQL)
            changed = conn.execute(
                update(price_book)
                .where(*_scope(trade_group, tier, category, county))
                .values(price=price, updated_at=now)
            ).rowcount
            if not changed:
                conn.execute(price_book.insert().values(values))
    return BookEntry(trade_group, tier, category, county, price)


def delete_price(
    engine: Engine, *, trade_group: str, tier: str, category: str | None, county: str | None
) -> bool:
    """Remove one scope's price; False when there was none."""
    with engine.begin() as conn:
        removed = conn.execute(
            delete(price_book).where(*_scope(trade_group, tier, category, county))
        ).rowcount
    return bool(removed)


def list_prices(engine: Engine) -> list[BookEntry]:
    book = price_book.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(book.trade_group, book.tier, book.category, book.county, book.price).order_by(
                book.trade_group,
                book.tier,
                book.category.is_(None).desc(),
                book.category,
                book.county.is_(None).desc(),
                book.county,
            )
        ).all()
    return [BookEntry(*row) for row in rows]
