"""Permits as they move through the pipeline: raw → categorized → enriched."""

from __future__ import annotations

from pydantic import Field

from schemas.base import (
    BoundedDate,
    Identifier,
    Message,
    OptionalCode,
    OptionalText,
    Part,
    ScrapeTime,
    TextChecked,
    permit_key,
)
from schemas.taxonomy import Category, MatchKind, TradeGroup


class RawPermit(TextChecked, Message):
    """``permits.raw``: one building permit as a scraper saw it on a portal.

    Only ``jurisdiction`` and ``permit_number`` are required by the schema. A permit that has
    neither a property address nor a parcel id is valid JSON but unusable; the categorizer
    discards it as ``invalid`` so it is still accounted for. Missing values are ``null``,
    never ``0`` or ``""``.
    """

    jurisdiction: Identifier = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9][a-z0-9_.-]*$",
        description="Portal id, lower case, e.g. 'austin_tx'.",
        examples=["austin_tx"],
    )
    permit_number: Identifier = Field(min_length=1, max_length=64, examples=["2015-012345 BP"])
    city: OptionalText = Field(default=None, max_length=128)
    state: OptionalCode = Field(default=None, max_length=2, description="USPS state code.")
    zip_code: OptionalText = Field(default=None, max_length=10)
    county: OptionalText = Field(default=None, max_length=64)
    property_address: OptionalText = Field(
        default=None, max_length=256, description="Situs address of the work."
    )
    parcel_id: OptionalText = Field(default=None, max_length=64)
    permit_type: OptionalText = Field(default=None, max_length=256)
    permit_class: OptionalText = Field(
        default=None, max_length=256, description="Portal class or sub-type, as worded there."
    )
    work_type: OptionalText = Field(default=None, max_length=256)
    work_description: OptionalText = Field(default=None, max_length=8000)
    valuation: float | None = Field(
        default=None,
        ge=0,
        lt=1e12,  # NUMERIC(14, 2) in the store; a trillion-dollar permit is a scraper bug
        description="Job value in dollars.",
    )
    applicant_name: OptionalText = Field(default=None, max_length=256)
    contractor_name: OptionalText = Field(default=None, max_length=256)
    owner_name: OptionalText = Field(default=None, max_length=256)
    owner_mailing_address: OptionalText = Field(default=None, max_length=256)
    owner_mailing_city: OptionalText = Field(default=None, max_length=128)
    owner_mailing_zip: OptionalText = Field(default=None, max_length=10)
    applied_date: BoundedDate | None = None
    issued_date: BoundedDate | None = None
    status: OptionalText = Field(default=None, max_length=64)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    source_url: OptionalText = Field(default=None, max_length=2048)
    scraped_at: ScrapeTime | None = Field(
        default=None,
        description="When the scraper read the portal; the clock freshness is judged against "
        "and the version of this permit (a later scrape supersedes an earlier one). At most "
        "1 day ahead of the receiving stage's clock, else it would outrank every real scrape.",
    )

    @property
    def key(self) -> str:
        return permit_key(self.jurisdiction, self.permit_number)


class Categorization(Part):
    """What the categorizer decided, and why."""

    category: Category
    trade_group: TradeGroup
    is_commercial: bool
    tags: list[Category] = Field(
        default_factory=list, description="Secondary trades the permit also covers."
    )
    evidence: list[str] = Field(
        default_factory=list, description="Which words or fields decided, e.g. 'description:pool'."
    )
    days_old: int | None = Field(
        default=None, description="Days from issue to as_of; null when the issue date is unknown."
    )
    as_of: BoundedDate = Field(description="The clock freshness was judged against.")
    flags: list[str] = Field(default_factory=list)
    rules_version: str


class CategorizedPermit(Message):
    """``permits.categorized``: a sellable-looking permit with its trade."""

    permit: RawPermit
    categorization: Categorization

    @property
    def key(self) -> str:
        return self.permit.key


class PropertyMatch(Part):
    """Appraisal-district facts about the property, and how the record was found."""

    match: MatchKind
    county: str | None = None
    account_id: str | None = None
    market_value: float | None = Field(default=None, ge=0, lt=1e12)
    owner_name: str | None = None
    owner_mailing_address: str | None = None
    is_absentee: bool | None = Field(
        default=None, description="Owner's mailing address differs from the situs; null = unknown."
    )
    absentee_basis: str | None = Field(
        default=None, description="What is_absentee compared: 'address', 'city_zip' or null."
    )
    homestead: bool | None = None
    year_built: int | None = None
    square_feet: int | None = Field(default=None, ge=0)
    land_use: str | None = None
    market_value_percentile_county: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Share of the county's appraised parcels worth less than this one (0-1); "
        "null when unknown or the county has too few parcels with a value.",
    )
    market_value_percentile_zip: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Share of the parcels in the same situs ZIP worth less than this one (0-1); "
        "null when unknown or the ZIP has too few parcels with a value.",
    )
    county_median_market_value: float | None = Field(
        default=None, ge=0, lt=1e12, description="Median market value of the county's parcels."
    )
    zip_median_market_value: float | None = Field(
        default=None, ge=0, lt=1e12, description="Median market value of the ZIP's parcels."
    )


class EnrichedPermit(Message):
    """``permits.enriched``: a categorized permit with its property data (or match none)."""

    permit: RawPermit
    categorization: Categorization
    cad: PropertyMatch

    @property
    def key(self) -> str:
        return self.permit.key
