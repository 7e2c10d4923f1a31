"""The marketplace's tables: buyers, their purchases, the price book, disputes and the
append-only ledger of their money."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.schema import DDL

from services.common.db.tables.base import Base, server_now
from services.common.db.types import BigId, Json


class BuyerRow(Base):
    """A buyer account: what it may see, and the hash of its API key (never the key)."""

    __tablename__ = "buyers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    trade_groups: Mapped[list[str]] = mapped_column(Json)
    tiers: Mapped[list[str]] = mapped_column(Json)
    counties: Mapped[list[str] | None] = mapped_column(Json, comment="null = every county")
    plan: Mapped[str] = mapped_column(
        String(20),
        default="marketplace",
        server_default="marketplace",
        comment="marketplace = previews until bought; subscription = every entitled lead in full",
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=server_now()
    )

    __table_args__ = (CheckConstraint("plan IN ('marketplace','subscription')", name="plan_enum"),)


class LeadPurchaseRow(Base):
    __tablename__ = "lead_purchases"
    __table_args__ = (UniqueConstraint("lead_id", "buyer_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("scored_leads.id"), index=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("buyers.id"), index=True)
    price: Mapped[float | None] = mapped_column(Numeric(10, 2))
    purchased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    converted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PriceBookRow(Base):
    """What a lead costs: per trade group and tier, optionally narrowed to a category and/or a
    county (lower-case). The most specific entry matching a lead quotes its price; a null
    category or county matches any."""

    __tablename__ = "price_book"
    __table_args__ = (
        # NULL means "any", so uniqueness is over the coalesced values (NULLs are distinct).
        Index(
            "uq_price_book_scope",
            "trade_group",
            "tier",
            func.coalesce(text("category"), ""),
            func.coalesce(text("county"), ""),
            unique=True,
        ),
        CheckConstraint("price >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    trade_group: Mapped[str] = mapped_column(String(40))
    tier: Mapped[str] = mapped_column(String(10))
    category: Mapped[str | None] = mapped_column(String(60), comment="null = any category")
    county: Mapped[str | None] = mapped_column(String(100), comment="null = any county")
    price: Mapped[float] = mapped_column(Numeric(10, 2))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=server_now()
    )


class DisputeRow(Base):
    """A buyer's complaint about a lead it bought: one per purchase."""

    __tablename__ = "disputes"
    __table_args__ = (
        CheckConstraint(
            "reason IN ('wrong_contact','duplicate','stale','not_a_project','other')",
            name="reason_enum",
        ),
        CheckConstraint("status IN ('open','approved','denied')", name="status_enum"),
        Index("ix_disputes_status_created_at", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("lead_purchases.id"), unique=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("scored_leads.id"), index=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("buyers.id"), index=True)
    reason: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="open", server_default="open")
    decided_by: Mapped[str | None] = mapped_column(
        String(20), comment="'system' (proved automatically) or 'operator'"
    )
    decision_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=server_now()
    )
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LedgerEntryRow(Base):
    """The buyers' money, append-only: rows are inserted, never updated or deleted (PostgreSQL
    refuses both). ``amount`` is signed from the buyer's side: a purchase is what it was
    charged (positive), a credit what it got back (negative), an adjustment either. A
    purchase is charged once and credited at most once."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("purchase_id", "kind"),
        CheckConstraint("kind IN ('purchase','credit','adjustment')", name="kind_enum"),
        Index("ix_ledger_entries_buyer_id_created_at", "buyer_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("buyers.id"))
    kind: Mapped[str] = mapped_column(String(12))
    amount: Mapped[float] = mapped_column(Numeric(12, 2))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("scored_leads.id"))
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("lead_purchases.id"))
    dispute_id: Mapped[int | None] = mapped_column(ForeignKey("disputes.id"), unique=True)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=server_now()
    )


LEDGER_IS_APPEND_ONLY = """
CREATE OR REPLACE FUNCTION ledger_entries_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger_entries is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only();
"""
event.listen(
    LedgerEntryRow.__table__,
    "after_create",
    DDL(LEDGER_IS_APPEND_ONLY).execute_if(dialect="postgresql"),  # type: ignore[no-untyped-call]
)


# Core handles for code that reads and writes rows, not ORM objects (the declarative
# ``__table__`` attribute is typed as a FromClause).
lead_purchases = cast(Table, LeadPurchaseRow.__table__)
price_book = cast(Table, PriceBookRow.__table__)
disputes = cast(Table, DisputeRow.__table__)
ledger_entries = cast(Table, LedgerEntryRow.__table__)
