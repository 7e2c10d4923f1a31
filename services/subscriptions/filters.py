"""What a subscription asks for, and whether one lead matches it: pure, no database.

The notifier's index (services/notifier/) narrows the candidates by trade group, category,
county and ZIP, then calls ``matches`` for the rest. The buyer's entitlements are checked
when a subscription is saved (``services/subscriptions/entitlements.py``), and again by whoever
delivers, since entitlements can shrink after a subscription was saved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from schemas.taxonomy import Category, TradeGroup
from services.subscriptions.geo import miles_between

MAX_RADIUS_MILES = 250.0
T = TypeVar("T")

ZipCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{5}$")]
PlaceName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[^\x00]*$"),
]
SellableTier = Literal["A", "B", "C"]


class Near(BaseModel):
    """A circle: leads within ``miles`` of (lat, lon)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    miles: float = Field(gt=0, le=MAX_RADIUS_MILES)


class SubscriptionFilters(BaseModel):
    """Every key optional; an absent key does not filter. Lists match any of their values.
    Counties and cities are compared case-insensitively and kept lower-case."""

    model_config = ConfigDict(extra="forbid")

    trade_groups: list[TradeGroup] | None = Field(default=None, max_length=20)
    categories: list[Category] | None = Field(default=None, max_length=50)
    tiers: list[SellableTier] | None = Field(default=None, max_length=3)
    counties: list[PlaceName] | None = Field(default=None, max_length=200)
    cities: list[PlaceName] | None = Field(default=None, max_length=500)
    zip_codes: list[ZipCode] | None = Field(default=None, max_length=2000)
    min_score: int | None = Field(default=None, ge=0, le=100)
    near: Near | None = None

    @field_validator("counties", "cities")
    @classmethod
    def _lower_case(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else _unique(v.strip().lower() for v in values)

    @field_validator("trade_groups", "categories", "tiers", "zip_codes")
    @classmethod
    def _deduplicated(cls, values: list[Any] | None) -> list[Any] | None:
        return None if values is None else _unique(values)

    def stored(self) -> dict[str, object]:
        """The JSON kept in ``subscriptions.filters``."""
        return self.model_dump(mode="json", exclude_none=True)


@dataclass(frozen=True)
class LeadFacts:
    """What matching needs to know of a lead. County and city in any case."""

    trade_group: str
    category: str
    tier: str
    county: str | None
    city: str | None
    zip_code: str | None
    score: int
    latitude: float | None
    longitude: float | None


def matches(filters: SubscriptionFilters, lead: LeadFacts) -> bool:
    """Whether the lead is one the subscription asks for. A RETRY lead (no score yet) never
    is; a lead without coordinates never matches ``near``."""
    if lead.tier not in ("A", "B", "C"):
        return False
    if filters.trade_groups is not None and lead.trade_group not in filters.trade_groups:
        return False
    if filters.categories is not None and lead.category not in filters.categories:
        return False
    if filters.tiers is not None and lead.tier not in filters.tiers:
        return False
    if filters.counties is not None and (lead.county or "").lower() not in filters.counties:
        return False
    if filters.cities is not None and (lead.city or "").lower() not in filters.cities:
        return False
    if filters.zip_codes is not None and five_digit_zip(lead.zip_code) not in filters.zip_codes:
        return False
    if filters.min_score is not None and lead.score < filters.min_score:
        return False
    if filters.near is not None:
        if lead.latitude is None or lead.longitude is None:
            return False
        near = filters.near
        if miles_between(near.lat, near.lon, lead.latitude, lead.longitude) > near.miles:
            return False
    return True


def five_digit_zip(zip_code: str | None) -> str | None:
    """The 5-digit ZIP of "78701" or "78701-1234"; None for anything else."""
    if zip_code is None:
        return None
    head = zip_code.strip()[:5]
    return head if len(head) == 5 and head.isdigit() else None


def _unique(values: Iterable[T]) -> list[T]:
    """The values in their first order, each once."""
    return list(dict.fromkeys(values))
