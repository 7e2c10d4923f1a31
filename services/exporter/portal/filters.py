"""The leads page's filter form: the API's query parameters, as an HTML GET form sends them.

Same names and limits as ``GET /v1/leads`` (``dependencies.lead_filters`` builds the filters
from them, so the two cannot drift); the one difference is that a form sends every field,
so an empty field means "any" instead of being a 422.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.taxonomy import Category, Tier, TradeGroup
from services.exporter.buyers import Buyer
from services.exporter.dependencies import NO_NUL, lead_filters
from services.exporter.queries import LeadFilters, LeadStatus


class FilterForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    trade_group: TradeGroup | None = None
    category: Category | None = None
    tier: Tier | None = None
    min_score: int | None = Field(default=None, ge=0, le=100)
    county: str | None = Field(default=None, max_length=64, pattern=NO_NUL)
    city: str | None = Field(default=None, max_length=128, pattern=NO_NUL)
    status: LeadStatus | None = None
    zip_code: str | None = Field(
        default=None, max_length=200, pattern=NO_NUL, description="ZIPs, space-separated"
    )
    near: str | None = Field(default=None, max_length=100, pattern=NO_NUL)
    scored_since: date | None = None
    scored_until: date | None = Field(default=None, description="Inclusive, as a day")

    @model_validator(mode="before")
    @classmethod
    def _blank_is_any(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}
        return data

    def lead_filters(self, viewer: Buyer) -> LeadFilters:
        """The API's filters (its own builder: ZIP and ``near`` are checked the same way, and
        a marketplace buyer's ``near`` is refused the same way)."""
        return lead_filters(
            viewer,
            trade_group=self.trade_group,
            category=self.category,
            tier=self.tier,
            min_score=self.min_score,
            county=self.county.strip() if self.county else None,
            city=self.city.strip() if self.city else None,
            scored_since=_midnight(self.scored_since),
            scored_until=_midnight(self.scored_until, days_after=1),
            status=self.status,
            zip_code=(self.zip_code or "").replace(",", " ").split() or None,
            near=self.near.replace(" ", "") if self.near else None,
        )

    def query_string(self, **extra: str) -> str:
        values = {k: str(v) for k, v in self.model_dump(mode="json").items() if v is not None}
        return urlencode({**values, **extra})

    @staticmethod
    def choices() -> dict[str, list[str]]:
        return {
            "trade_group": [g.value for g in TradeGroup],
            "category": [c.value for c in Category],
            "tier": [t.value for t in Tier],
            "status": [s.value for s in LeadStatus],
        }


def _midnight(day: date | None, days_after: int = 0) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=days_after), time(), tzinfo=UTC)


FilterQuery = Annotated[FilterForm, Query()]
