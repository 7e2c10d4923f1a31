"""Every table of leadstream, on one metadata so alembic has one migration history.

``permit_key`` ("{jurisdiction}:{permit_number}") is unique in every table that holds a permit
or a lead: it is what makes the store's writes idempotent.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, cast

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.schema import DDL

from services.common.db.types import BigId, Json

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: Json, list[str]: Json}


def _now() -> Any:
    return func.now()


class PermitRow(Base):
    """The raw record of every permit the store has seen, latest version."""

    __tablename__ = "permits"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    permit_key: Mapped[str] = mapped_column(String(140), unique=True)
    jurisdiction: Mapped[str] = mapped_column(String(64))
    permit_number: Mapped[str] = mapped_column(String(64))
    city: Mapped[str | None] = mapped_column(String(128))
    state: Mapped[str | None] = mapped_column(String(2))
    zip_code: Mapped[str | None] = mapped_column(String(10))
    county: Mapped[str | None] = mapped_column(String(64))
    property_address: Mapped[str | None] = mapped_column(String(256))
    parcel_id: Mapped[str | None] = mapped_column(String(64))
    permit_type: Mapped[str | None] = mapped_column(String(256))
    permit_class: Mapped[str | None] = mapped_column(String(256))
    work_type: Mapped[str | None] = mapped_column(String(256))
    work_description: Mapped[str | None] = mapped_column(Text)
    valuation: Mapped[float | None] = mapped_column(Numeric(14, 2))
    applicant_name: Mapped[str | None] = mapped_column(String(256))
    contractor_name: Mapped[str | None] = mapped_column(String(256))
    owner_name: Mapped[str | None] = mapped_column(String(256))
    applied_date: Mapped[date | None] = mapped_column(Date)
    issued_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str | None] = mapped_column(String(64))
    source_url: Mapped[str | None] = mapped_column(Text)
    scraped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    raw: Mapped[dict[str, Any]] = mapped_column(Json)
    content_hash: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


class PropertyRow(Base):
    """One appraisal-district (CAD) account: a parcel with its owner and value."""

    __tablename__ = "properties"
    __table_args__ = (UniqueConstraint("county", "account_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    county: Mapped[str] = mapped_column(String(64))
    # Indexed alone too: a permit's parcel id is looked up without knowing the county.
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    parcel_id: Mapped[str | None] = mapped_column(String(64), index=True)
    situs_address: Mapped[str | None] = mapped_column(String(256))
    situs_normalized: Mapped[str | None] = mapped_column(String(256), index=True)
    situs_street: Mapped[str | None] = mapped_column(
        String(256), index=True, comment="Normalised situs without its unit designator."
    )
    situs_unit: Mapped[str | None] = mapped_column(String(32))
    situs_city: Mapped[str | None] = mapped_column(String(128))
    situs_zip: Mapped[str | None] = mapped_column(String(10))
    owner_name: Mapped[str | None] = mapped_column(String(256))
    owner_mailing_address: Mapped[str | None] = mapped_column(String(256))
    owner_mailing_city: Mapped[str | None] = mapped_column(String(128))
    owner_mailing_state: Mapped[str | None] = mapped_column(String(2))
    owner_mailing_zip: Mapped[str | None] = mapped_column(String(10))
    market_value: Mapped[float | None] = mapped_column(Numeric(14, 2))
    homestead: Mapped[bool | None] = mapped_column(Boolean)
    year_built: Mapped[int | None] = mapped_column(Integer)
    living_area: Mapped[int | None] = mapped_column(Integer)
    land_use: Mapped[str | None] = mapped_column(String(64))
    units_at_situs: Mapped[int] = mapped_column(
        Integer, default=1, server_default="1", comment="Accounts sharing this situs street line."
    )
    # The parcel against its local market, recomputed by every `cad import` (cad_import.py):
    # percent_rank of market_value among the county's (ZIP's) parcels with a value, and the
    # median of those values; null where the county (ZIP) has too few such parcels.
    market_value_percentile_county: Mapped[float | None] = mapped_column(
        Float, comment="Share of the county's valued parcels worth less (0-1)."
    )
    market_value_percentile_zip: Mapped[float | None] = mapped_column(
        Float, comment="Share of the situs ZIP's valued parcels worth less (0-1)."
    )
    county_median_market_value: Mapped[float | None] = mapped_column(Numeric(14, 2))
    zip_median_market_value: Mapped[float | None] = mapped_column(Numeric(14, 2))
    content_hash: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


class ScoredLeadRow(Base):
    """One sellable lead per permit, with its score and its sales history."""

    __tablename__ = "scored_leads"
    __table_args__ = (
        CheckConstraint("score >= -1 AND score <= 100", name="score_range"),
        CheckConstraint("tier IN ('A','B','C','RETRY')", name="tier_enum"),
        CheckConstraint("status IN ('new','exported','sold','converted')", name="status_enum"),
        CheckConstraint("sold_count >= 0", name="sold_count_nonneg"),
        Index("ix_scored_leads_score_recency", "score", "scored_at", "id"),
        # The buyer API matches city and county case-insensitively; these indexes also give
        # the planner statistics on the lower-cased values (a rare county is then cheap).
        Index("ix_scored_leads_lower_city", text("lower(city)")),
        Index("ix_scored_leads_lower_county", text("lower(county)")),
        # The radius search (`near`) prefilters on a latitude/longitude box.
        Index("ix_scored_leads_latitude_longitude", "latitude", "longitude"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    permit_key: Mapped[str] = mapped_column(String(140), unique=True)
    permit_id: Mapped[int | None] = mapped_column(ForeignKey("permits.id"))
    cad_property_id: Mapped[int | None] = mapped_column(ForeignKey("properties.id"))
    jurisdiction: Mapped[str] = mapped_column(String(64))
    permit_number: Mapped[str] = mapped_column(String(64))
    city: Mapped[str | None] = mapped_column(String(128), index=True)
    county: Mapped[str | None] = mapped_column(String(64), index=True)
    property_address: Mapped[str | None] = mapped_column(String(256))
    owner_name: Mapped[str | None] = mapped_column(String(256))
    project_description: Mapped[str | None] = mapped_column(Text)
    valuation: Mapped[float | None] = mapped_column(Numeric(14, 2))
    market_value: Mapped[float | None] = mapped_column(Numeric(14, 2))
    is_absentee: Mapped[bool | None] = mapped_column(Boolean)
    issued_date: Mapped[date | None] = mapped_column(Date)
    category: Mapped[str] = mapped_column(String(40), index=True)
    tags: Mapped[list[str]] = mapped_column(Json)
    trade_group: Mapped[str] = mapped_column(String(40), index=True)
    is_commercial: Mapped[bool] = mapped_column(Boolean)
    match: Mapped[str] = mapped_column(String(20))
    score: Mapped[int] = mapped_column(Integer, index=True)
    tier: Mapped[str] = mapped_column(String(8), index=True)
    reasoning: Mapped[str | None] = mapped_column(Text)
    chain_of_thought: Mapped[str | None] = mapped_column(Text)
    flags: Mapped[list[str]] = mapped_column(Json)
    ideal_contractor: Mapped[str | None] = mapped_column(String(300))
    contact_priority: Mapped[str] = mapped_column(String(8))
    scoring_method: Mapped[str] = mapped_column(String(20))
    model: Mapped[str | None] = mapped_column(String(120))
    prompt_version: Mapped[str | None] = mapped_column(String(40))
    tokens_in: Mapped[int | None] = mapped_column(Integer)
    tokens_out: Mapped[int | None] = mapped_column(Integer)
    tokens_cached: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    scored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    rules_version: Mapped[str | None] = mapped_column(String(40))
    version_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), comment="scraped_at of the permit version this lead is from."
    )
    content_hash: Mapped[str] = mapped_column(String(64))
    lead: Mapped[dict[str, Any]] = mapped_column(Json, comment="The leads.scored message.")
    # One lead per project (services/store/projects.py): later permits of the same property and
    # category within 90 days are `duplicate` discards, listed here.
    project_key: Mapped[str | None] = mapped_column(
        String(400), index=True, comment="Property and category; null = never folded."
    )
    project_date: Mapped[date | None] = mapped_column(
        Date, comment="Issued, else applied, else scraped date: what the 90 days count from."
    )
    related_permits: Mapped[list[dict[str, Any]]] = mapped_column(
        Json,
        server_default=text("'[]'"),
        comment="The permits folded into this lead: number, type, category, issued, valuation.",
    )
    # Where the work is: the portal's coordinates, else the ZIP's centroid (approximate).
    zip_code: Mapped[str | None] = mapped_column(String(10), index=True)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    location_approximate: Mapped[bool | None] = mapped_column(
        Boolean, comment="true = the ZIP's centroid, not the portal's point; null = no location."
    )
    status: Mapped[str] = mapped_column(String(12), default="new", server_default="new", index=True)
    sold_to: Mapped[str | None] = mapped_column(String(128))
    sold_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sold_price: Mapped[float | None] = mapped_column(Numeric(10, 2))
    sold_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    converted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    exported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


# Category implies trade group; without these statistics the planner multiplies their
# selectivities and badly misjudges filters like "category roof, trade group luxury_outdoor".
# (SQLAlchemy has no construct for it; the migration creates the same.)
event.listen(
    ScoredLeadRow.__table__,
    "after_create",
    DDL(  # type: ignore[no-untyped-call]
        "CREATE STATISTICS st_scored_leads_trade_group_category (mcv) "
        "ON trade_group, category FROM scored_leads"
    ).execute_if(dialect="postgresql"),
)


class DiscardedPermitRow(Base):
    __tablename__ = "discarded_permits"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    permit_key: Mapped[str] = mapped_column(String(140), unique=True)
    permit_id: Mapped[int | None] = mapped_column(ForeignKey("permits.id"))
    reason: Mapped[str] = mapped_column(String(64), index=True)
    reason_group: Mapped[str] = mapped_column(String(32), index=True)
    detail: Mapped[str] = mapped_column(Text)
    stage: Mapped[str] = mapped_column(String(32))
    rules_version: Mapped[str | None] = mapped_column(String(40))
    category: Mapped[str | None] = mapped_column(String(40))
    trade_group: Mapped[str | None] = mapped_column(String(40))
    city: Mapped[str | None] = mapped_column(String(128))
    county: Mapped[str | None] = mapped_column(String(64))
    discarded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    version_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    content_hash: Mapped[str] = mapped_column(String(64))
    duplicate_of: Mapped[str | None] = mapped_column(
        String(140), index=True, comment="reason duplicate: permit_key of the lead it joined."
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


class DeadLetterRow(Base):
    """A copy of every ``permits.dlq`` record, so operators can count and replay them in SQL.

    A replayed row stays as the record of what failed; the permit's outcome is then wherever
    its replay ended, so conservation counts only rows with ``replayed_at`` null.
    """

    __tablename__ = "dead_letters"
    __table_args__ = (UniqueConstraint("source_topic", "source_partition", "source_offset"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source_topic: Mapped[str] = mapped_column(String(200))
    source_partition: Mapped[int] = mapped_column(Integer)
    source_offset: Mapped[int] = mapped_column(BigId)
    stage: Mapped[str] = mapped_column(String(32), index=True)
    key: Mapped[str | None] = mapped_column(String(300), index=True)
    error: Mapped[str] = mapped_column(Text)
    original: Mapped[bytes] = mapped_column(LargeBinary)
    original_truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
    # Indexed: the operator's summary and replay read only the rows not replayed yet.
    replayed_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True),
        index=True,
        comment="When `leadstream dlq replay` re-published the original; null = not yet.",
    )


class ScoringCacheRow(Base):
    """LLM results keyed by a hash of the exact scoring input (prompt version included).

    Shared by every scorer replica, so a re-published unchanged permit costs no second call.
    """

    __tablename__ = "scoring_cache"

    input_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    prompt_version: Mapped[str] = mapped_column(String(40))
    model: Mapped[str] = mapped_column(String(120))
    result: Mapped[dict[str, Any]] = mapped_column(Json)
    hits: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
    last_hit_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())

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
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


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


class LeadEventRow(Base):
    """The store's transactional outbox: one row per lead created or changed, written in the
    same transaction as the lead, published to ``leads.stored`` by the relay after commit
    (services/notifier/relay.py). The id is the event id consumers deduplicate by."""

    __tablename__ = "lead_events"
    __table_args__ = (
        # The relay reads the unpublished rows only; this index holds nothing else.
        Index(
            "ix_lead_events_unpublished",
            "id",
            postgresql_where=text("published_at IS NULL"),
            sqlite_where=text("published_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    lead_id: Mapped[int] = mapped_column(BigId, comment="scored_leads.id")
    permit_key: Mapped[str] = mapped_column(String(140))
    type: Mapped[str] = mapped_column(String(20), comment="lead.created | lead.updated")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
    published_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), comment="When the relay's publish was acknowledged; null = due."
    )


class WebhookDeliveryRow(Base):
    """One event (or ping) for one subscription: unique per (event, subscription), so a
    replayed event adds nothing. ``id`` is the ``webhook-id`` header, the same on every
    attempt. ``body`` is the exact JSON signed and sent, rendered once when the delivery is
    made, so a redelivery sends the same bytes."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "subscription_id"),
        # The worker claims due pending deliveries, soonest first.
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index("ix_webhook_deliveries_subscription_id_created_at", "subscription_id", "created_at"),
        CheckConstraint("status IN ('pending','delivered','failed')", name="status_enum"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, comment='"msg_" + 24 hex')
    event_id: Mapped[int | None] = mapped_column(BigId, comment="lead_events.id; null = ping")
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(20))
    lead_id: Mapped[int | None] = mapped_column(BigId, index=True)
    data_hash: Mapped[str | None] = mapped_column(
        String(64), comment="Hash of the lead as sent (less days_old): an unchanged update is not."
    )
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True),
        comment="When the worker sends it next (also the lease of a claimed one); null = done.",
    )
    first_failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


class WebhookAttemptRow(Base):
    """One HTTP attempt of a delivery, as the buyer sees it in the deliveries API."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    next_retry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BuilderObservationRow(Base):
    """One new-construction permit naming one builder: the registry's evidence.

    ``name`` is the normalised applicant or contractor name (``services/categorizer/
    builders.py``); a permit that names the same builder twice is one row. Unique on
    (permit_key, name), so a replayed or re-scraped permit adds nothing: the registry's counts
    are ``count(*)`` over a date window, never a stored counter.
    """

    __tablename__ = "builder_observations"
    __table_args__ = (
        UniqueConstraint("permit_key", "name"),
        Index(
            "ix_builder_observations_jurisdiction_name_observed_on",
            "jurisdiction",
            "name",
            "observed_on",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(256))
    jurisdiction: Mapped[str] = mapped_column(String(64))
    permit_key: Mapped[str] = mapped_column(String(140))
    observed_on: Mapped[date] = mapped_column(
        Date, comment="The permit's date the rolling window counts (docs/categorizer.md)."
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


class BuilderOverrideRow(Base):
    """An operator's word on one normalised name, in every jurisdiction: ``builder``
    (`leadstream builders add`) or ``allowed`` (`leadstream builders allow`: a custom builder
    the counts or the built-in list wrongly flag). It wins over the counts and the list."""

    __tablename__ = "builder_overrides"
    __table_args__ = (CheckConstraint("verdict IN ('builder','allowed')", name="verdict_enum"),)

    name: Mapped[str] = mapped_column(String(256), primary_key=True)
    verdict: Mapped[str] = mapped_column(String(16))
    entered_as: Mapped[str] = mapped_column(
        String(256), comment="The name as the operator typed it."
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


class SubscriptionRow(Base):
    """A buyer's saved search, pushed to ``webhook_url`` when it has one.

    ``filters`` is the ``SubscriptionFilters`` dump (services/subscriptions/filters.py), always
    within the buyer's entitlements when saved. ``secret`` signs the webhooks (Standard
    Webhooks, ``whsec_…``); after a rotation ``previous_secret`` still signs until
    ``previous_secret_until``.
    """

    __tablename__ = "subscriptions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, comment='"sub_" + 24 hex')
    buyer_id: Mapped[int] = mapped_column(ForeignKey("buyers.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    filters: Mapped[dict[str, Any]] = mapped_column(Json)
    webhook_url: Mapped[str | None] = mapped_column(Text, comment="null = a saved search")
    secret: Mapped[str] = mapped_column(String(120))
    previous_secret: Mapped[str | None] = mapped_column(String(120))
    previous_secret_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_now())


# Core handles for code that reads and writes rows, not ORM objects (the declarative
# ``__table__`` attribute is typed as a FromClause).
permits = cast(Table, PermitRow.__table__)
properties = cast(Table, PropertyRow.__table__)
scored_leads = cast(Table, ScoredLeadRow.__table__)
discarded_permits = cast(Table, DiscardedPermitRow.__table__)
dead_letters = cast(Table, DeadLetterRow.__table__)
lead_purchases = cast(Table, LeadPurchaseRow.__table__)
lead_events = cast(Table, LeadEventRow.__table__)
webhook_deliveries = cast(Table, WebhookDeliveryRow.__table__)
webhook_attempts = cast(Table, WebhookAttemptRow.__table__)
builder_observations = cast(Table, BuilderObservationRow.__table__)
builder_overrides = cast(Table, BuilderOverrideRow.__table__)
subscriptions = cast(Table, SubscriptionRow.__table__)
price_book = cast(Table, PriceBookRow.__table__)
disputes = cast(Table, DisputeRow.__table__)
ledger_entries = cast(Table, LedgerEntryRow.__table__)

__all__ = [
    "Base",
    "BuilderObservationRow",
    "BuilderOverrideRow",
    "BuyerRow",
    "DeadLetterRow",
    "DiscardedPermitRow",
    "DisputeRow",
    "LeadEventRow",
    "LeadPurchaseRow",
    "LedgerEntryRow",
    "PermitRow",
    "PriceBookRow",
    "PropertyRow",
    "ScoredLeadRow",
    "ScoringCacheRow",
    "SubscriptionRow",
    "WebhookAttemptRow",
    "WebhookDeliveryRow",
    "builder_observations",
    "builder_overrides",
    "dead_letters",
    "discarded_permits",
    "disputes",
    "lead_events",
    "lead_purchases",
    "ledger_entries",
    "permits",
    "price_book",
    "properties",
    "scored_leads",
    "subscriptions",
    "webhook_attempts",
    "webhook_deliveries",
]
