"""Request and response bodies of the buyer API (they are its OpenAPI schema)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.taxonomy import Tier
from services.exporter.market_bands import market_value_band
from services.exporter.previews import Secrets, redact, redact_all, related_permit_numbers
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
    """A lead as a buyer sees it; purchase fields are the viewer's own purchase, if any.

    ``revealed: false`` is a preview (a marketplace buyer's view of a lead it has not bought,
    docs/marketplace.md): the contact fields are null (permit_id, property_address,
    owner_name, project_description, market_value, latitude, longitude,
    location_approximate), related_permits is empty, and reasoning, flags and
    ideal_contractor are redacted.
    """

    id: int = Field(description="Lead id: use it to read, purchase or convert the lead.")
    permit_id: str | None = Field(
        description="The permit number as the jurisdiction's portal shows it; null in a preview."
    )
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
    revealed: bool = Field(
        description="true: the lead in full; false: a preview (buy it to see the contact)."
    )
    price: float | None = Field(
        description="What the lead costs now by the price book; null: not in the book (it "
        "sells at the max_price you name)."
    )
    market_value_band: str | None = Field(
        description='The appraised value\'s band, e.g. "$200k–$400k"; null when unknown.',
        examples=["$200k–$400k"],
    )

    @classmethod
    def from_row(cls, row: Any, today: date) -> LeadOut:
        """A row of ``queries.visible_leads``, in full or as a preview as its ``revealed``."""
        lead = cls.in_full(row, today)
        if row.revealed:
            return lead
        secrets = Secrets.of(
            names=(row.owner_name, row.applicant_name, row.contractor_name),
            address=row.property_address,
            permit_numbers=(
                row.permit_number,
                *related_permit_numbers(row.related_permits),
            ),
        )
        return lead.model_copy(
            update={
                **dict.fromkeys(PREVIEW_HIDDEN),
                "revealed": False,
                "related_permits": [],
                "reasoning": redact(lead.reasoning, secrets),
                "flags": redact_all(lead.flags, secrets),
                "ideal_contractor": redact(lead.ideal_contractor, secrets),
            }
        )

    @classmethod
    def in_full(cls, row: Any, today: date) -> LeadOut:
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
            revealed=True,
            price=row.price,
            market_value_band=market_value_band(row.market_value),
        )


# Null in a preview (``related_permits`` is emptied, the free texts redacted).
PREVIEW_HIDDEN = (
    "permit_id",
    "property_address",
    "owner_name",
    "project_description",
    "market_value",
    "latitude",
    "longitude",
    "location_approximate",
)


class LeadPage(BaseModel):
    items: list[LeadOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


Money = Annotated[Decimal, Field(ge=0, max_digits=10, decimal_places=2)]


class PurchaseIn(BaseModel):
    """``max_price``: the most you agree to pay. The lead is charged its book price when it has
    one (409 if that is above ``max_price``), else ``max_price`` itself. ``price`` is the
    older name of ``max_price``, still accepted."""

    model_config = ConfigDict(extra="forbid")

    max_price: Money | None = Field(default=None, examples=[45.0])
    price: Money | None = Field(
        default=None, description="Alias of max_price (the older body): deprecated."
    )

    @model_validator(mode="after")
    def _one_limit(self) -> PurchaseIn:
        if self.max_price is None and self.price is None:
            raise ValueError('name the most you will pay: {"max_price": 45.0}')
        if None not in (self.max_price, self.price) and self.max_price != self.price:
            raise ValueError("price is an alias of max_price: send one of them")
        return self

    @property
    def limit(self) -> Decimal:
        limit = self.max_price if self.max_price is not None else self.price
        assert limit is not None  # the validator requires one
        return limit


class PurchaseOut(BaseModel):
    lead_id: int
    price: float = Field(description="What you were charged.")
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
