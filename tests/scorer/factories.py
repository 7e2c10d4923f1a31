"""Enriched permits as the enricher would publish them, and scorer settings for tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from schemas import (
    Categorization,
    Category,
    EnrichedPermit,
    MatchKind,
    PropertyMatch,
    RawPermit,
    TradeGroup,
)
from services.scorer.settings import ScorerSettings, Thinking

AS_OF = date(2026, 5, 4)
_WORK = [
    (Category.POOL, TradeGroup.LUXURY_OUTDOOR, "New gunite pool and spa with outdoor kitchen"),
    (Category.ROOF, TradeGroup.HOME_EXTERIOR, "Re-roof, remove and replace composition shingles"),
    (Category.HVAC, TradeGroup.HOME_SYSTEMS, "Replace 4 ton heat pump and air handler, new ducts"),
    (Category.FOUNDATION, TradeGroup.STRUCTURAL, "Foundation repair: 14 interior piers"),
    (Category.OUTDOOR_LIVING, TradeGroup.LUXURY_OUTDOOR, "Cedar pergola over existing patio"),
]
_STREETS = ["Crestline Rd", "Camp Bowie Blvd", "Shady Oaks Dr", "Byron Nelson Pkwy"]
_OWNERS = ["MARTINEZ CARLOS & ANA", "NGUYEN ANH", "SMITH ROBERT J", "OAKMONT RENTALS LLC"]


def enriched_lead(i: int, **permit_changes: Any) -> EnrichedPermit:
    """Lead number ``i``: a plausible Fort Worth-area permit with its appraisal match."""
    category, group, description = _WORK[i % len(_WORK)]
    owner = _OWNERS[i % len(_OWNERS)]
    issued = AS_OF - timedelta(days=3 + i % 40)
    fields: dict[str, Any] = dict(
        jurisdiction="fortworth_tx",
        permit_number=f"PB26-{i:06d}",
        city="Fort Worth",
        state="TX",
        zip_code="76107",
        county="Tarrant",
        property_address=f"{1200 + i} {_STREETS[i % len(_STREETS)]}",
        permit_type="Residential",
        permit_class="Alteration",
        work_description=description,
        valuation=float(15_000 + 250 * (i % 300)),
        applicant_name=owner if i % 3 == 0 else "Blue Haven Pools",
        owner_name=owner,
        issued_date=issued,
        status="Issued",
        scraped_at=datetime(2026, 5, 4, 6, 0, tzinfo=UTC),
    )
    permit = RawPermit(**{**fields, **permit_changes})
    return EnrichedPermit(
        permit=permit,
        categorization=Categorization(
            category=category,
            trade_group=group,
            is_commercial=False,
            days_old=(AS_OF - issued).days,
            as_of=AS_OF,
            rules_version="test",
        ),
        cad=PropertyMatch(
            match=MatchKind.ADDRESS,
            county="Tarrant",
            account_id=f"{40_000_000 + i}",
            market_value=float(280_000 + 9_000 * (i % 120)),
            owner_name=owner,
            is_absentee=i % 7 == 0,
            homestead=i % 7 != 0,
            year_built=1962 + i % 60,
            square_feet=1_600 + 10 * (i % 200),
            land_use="residential",
        ),
    )


def llm_settings(base_url: str, **changes: Any) -> ScorerSettings:
    """Settings against a local server, with retry timings short enough for a test."""
    defaults: dict[str, Any] = {
        "llm_base_url": base_url,
        "llm_api_key": "test-key",
        "llm_thinking": Thinking.ON,
        "llm_deadline_s": 2.0,
        "llm_max_attempts": 3,
        "llm_backoff_base_s": 0.05,
        "llm_backoff_max_s": 0.2,
        "circuit_probe_interval_s": 0.3,
        "rescore_delay_s": 0.3,
        "rescore_backoff": 2.0,
        "rescore_max_delay_s": 2.0,
        "rescore_max_wait_s": 1.0,
    }
    return ScorerSettings(**{**defaults, **changes})
