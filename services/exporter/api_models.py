"""Request and response bodies of the buyer API (they are its OpenAPI schema)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from schemas.taxonomy import Tier
from services.exporter.queries import LeadStatus
from services.exporter.records import days_old


class ErrorOut(BaseModel):
    detail: str = Field(examples=["lead 42 not found"])


class RelatedPermitOut(BaseModel):
    """Another permit of the same job (same property and category within 90 days), folded
    into this lead so it is sold once."""

    permit_id: str = Field(description="The permit number as the jurisdiction's portal shows it.")
    permit_type: str | None
    category: str
    issued_date: date | None
    valuation: float | None = Field(description="Job value in dollars.")


class LeadOut(BaseModel):
    """A lead as a buyer sees it; purchase fields are the viewer's own purchase, if any."""

    id: int = Field(description="Lead id: use it to read, purchase or convert the lead.")
    permit_id: str = Field(description="The permit number as the jurisdiction's portal shows it.")
    jurisdiction: str
    city: str | None
    county: str | None
    property_address: str | None
    owner_name: str | None
    project_description: str | None
    valuation: float | None = Field(description="Job value in dollars.")
    market_value: float | None = Field(description="Appraised property value in dollars.")
    is_absentee: bool | None
    issued_date: date | None
    days_old: int | None = Field(description="Days since the permit was issued (today, UTC).")
    category: str
    tags: list[str]
    trade_group: str
    is_commercial: bool
    score: int
    tier: Tier
    reasoning: str | None
    flags: list[str]
    ideal_contractor: str | None
    contact_priority: str
    scoring_method: str
    scored_at: datetime
    status: LeadStatus
    sold_count: int = Field(description="How many buyers bought this lead so far.")
    purchased_at: datetime | None
    purchase_price: float | None
    converted_at: datetime | None
    related_permits: list[RelatedPermitOut] = Field(
        description="Later permits of the same job (property and category, within 90 days of "
        "this one): not sold separately. Empty when there are none."
    )
    zip_code: str | None = Field(description="5-digit ZIP of the property.")
    latitude: float | None
    longitude: float | None
    location_approximate: bool | None = Field(
        description="true: latitude/longitude are the ZIP's centroid, not the portal's point; "
        "null: the lead has no location (it never matches a `near` search)."
    )

    @classmethod
    def from_row(cls, row: Any, today: date) -> LeadOut:
        return cls(
            id=row.id,
            permit_id=row.permit_number,
            jurisdiction=row.jurisdiction,
            city=row.city,
            county=row.county,
            property_address=row.property_address,
            owner_name=row.owner_name,
            project_description=row.project_description,
            valuation=row.valuation,
            market_value=row.market_value,
            is_absentee=row.is_absentee,
            issued_date=row.issued_date,
            days_old=days_old(row.issued_date, today),
            category=row.category,
            tags=row.tags,
            trade_group=row.trade_group,
            is_commercial=row.is_commercial,
            score=row.score,
            tier=row.tier,
            reasoning=row.reasoning,
            flags=row.flags,
            ideal_contractor=row.ideal_contractor,
            contact_priority=row.contact_priority,
            scoring_method=row.scoring_method,
            scored_at=row.scored_at,
            status=row.status,
            sold_count=row.sold_count,
            purchased_at=row.purchased_at,
            purchase_price=row.purchase_price,
            converted_at=row.converted_at,
            related_permits=[
                RelatedPermitOut.model_validate(entry) for entry in row.related_permits or []
            ],
            zip_code=row.zip_code,
            latitude=row.latitude,
            longitude=row.longitude,
            location_approximate=row.location_approximate,
        )


class LeadPage(BaseModel):
    items: list[LeadOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class PurchaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    price: Decimal = Field(ge=0, max_digits=10, decimal_places=2, examples=[25.0])


class PurchaseOut(BaseModel):
    lead_id: int
    price: float
    purchased_at: datetime


class ConversionOut(BaseModel):
    lead_id: int
    converted_at: datetime


class StatsOut(BaseModel):
    since: datetime | None
    until: datetime | None
    input: int = Field(description="Permits that reached an outcome: leads + discarded + DLQ.")
    discarded: int
    discarded_by_reason: dict[str, int]
    scored: int = Field(description="Leads with a score (tiers A, B and C).")
    tiers: dict[str, int]
    pending_retry: int
    flagged: int = Field(description="Scored leads needing review (REVIEW flag or score < 30).")
    dlq: int
    by_category: dict[str, int] = Field(description="Stored leads (scored and RETRY).")
    by_trade_group: dict[str, int]
