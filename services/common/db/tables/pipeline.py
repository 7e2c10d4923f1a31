"""The pipeline's tables: every permit seen, the appraisal-district parcels, the scored
leads and the discarded permits.

``permit_key`` ("{jurisdiction}:{permit_number}") is unique in every table that holds a permit
or a lead: it is what makes the store's writes idempotent.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.schema import DDL

from services.common.db.tables.base import Base, server_now
from services.common.db.types import BigId, Json


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
    first_seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=server_now()
    )
    last_seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=server_now()
    )


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
    imported_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=server_now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=server_now()
    )


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
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=server_now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=server_now()
    )


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
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=server_now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=server_now()
    )


# Core handles for code that reads and writes rows, not ORM objects (the declarative
# ``__table__`` attribute is typed as a FromClause).
permits = cast(Table, PermitRow.__table__)
properties = cast(Table, PropertyRow.__table__)
scored_leads = cast(Table, ScoredLeadRow.__table__)
discarded_permits = cast(Table, DiscardedPermitRow.__table__)
