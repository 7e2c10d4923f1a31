"""Builders of enricher inputs for tests: accounts as the import stores them, permits."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, date, datetime
from typing import Any

from schemas.permits import Categorization, CategorizedPermit, RawPermit
from schemas.taxonomy import Category, TradeGroup
from services.enricher.matching import PropertyFacts
from services.enricher.properties import CadRecord, property_row

SCRAPED_AT = datetime(2026, 4, 11, 9, 33, tzinfo=UTC)


def account(
    account_id: str,
    situs: str | None,
    *,
    county: str = "tarrant",
    units_at_situs: int = 1,
    **values: Any,
) -> PropertyFacts:
    """An account exactly as ``cad import`` would store it."""
    values.setdefault("owner_name", f"OWNER OF {account_id}")
    values.setdefault("market_value", 350_000)
    row = property_row(county, CadRecord(account_id=account_id, situs_address=situs, **values))
    row["units_at_situs"] = units_at_situs
    return PropertyFacts(**{f.name: row[f.name] for f in fields(PropertyFacts) if f.name in row})


def permit(number: str = "PB26-00001", **values: Any) -> RawPermit:
    values.setdefault("scraped_at", SCRAPED_AT)
    return RawPermit(jurisdiction="fort_worth_tx", permit_number=number, **values)


def categorized(raw: RawPermit, category: Category = Category.ROOF) -> CategorizedPermit:
    return CategorizedPermit(
        permit=raw,
        categorization=Categorization(
            category=category,
            trade_group=TradeGroup.HOME_EXTERIOR,
            is_commercial=False,
            as_of=date(2026, 4, 11),
            rules_version="test",
        ),
    )
