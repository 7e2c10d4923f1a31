"""Rows of ``scored_leads`` and ``buyers`` for exporter tests, inserted directly.

The store service owns how a ``leads.scored`` message becomes a row; the exporter only reads
rows, so its tests insert them as the store would leave them.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, insert

from schemas import (
    Categorization,
    Category,
    ContactPriority,
    LeadScore,
    MatchKind,
    PropertyMatch,
    RawPermit,
    ScoredLead,
    ScoringMethod,
    Tier,
    TradeGroup,
)
from schemas.leads import tier_for
from services.exporter.queries import leads

_numbers = itertools.count(1)
SCORED_AT = datetime(2026, 5, 2, 12, 0, tzinfo=UTC)


def lead_values(**overrides: Any) -> dict[str, Any]:
    """A complete, valid ``scored_leads`` row; the tier follows the score unless given."""
    number = next(_numbers)
    values: dict[str, Any] = {
        "permit_key": f"austin_tx:BP-{number:06d}",
        "jurisdiction": "austin_tx",
        "permit_number": f"BP-{number:06d}",
        "city": "Austin",
        "county": "Travis",
        "property_address": f"{number} Lakeview Dr",
        "owner_name": "Jane Homeowner",
        "project_description": "In-ground pool and spa",
        "valuation": 65000,
        "market_value": 820000,
        "is_absentee": False,
        "issued_date": date(2026, 4, 20),
        "category": "pool",
        "tags": [],
        "trade_group": "luxury_outdoor",
        "is_commercial": False,
        "match": "address",
        "score": 85,
        "reasoning": "Homeowner-pulled pool permit on a high-value property.",
        "chain_of_thought": "internal reasoning",
        "flags": [],
        "ideal_contractor": "Premium pool builder",
        "contact_priority": "call",
        "scoring_method": "llm",
        "model": "test-model",
        "scored_at": SCORED_AT,
        "content_hash": f"{number:064d}",
        "lead": {"note": "the leads.scored message"},
        "related_permits": [],
        "zip_code": None,
        "latitude": None,
        "longitude": None,
        "location_approximate": None,
    }
    values.update(overrides)
    if "tier" not in overrides:
        values["tier"] = tier_for(values["score"]).value
    if values["tier"] == Tier.RETRY:
        values.update(scoring_method="pending_retry", contact_priority="skip")
    return values


def insert_leads(engine: Engine, *rows: dict[str, Any]) -> list[int]:
    with engine.begin() as conn:
        return [
            conn.execute(insert(leads).values(row).returning(leads.c.id)).scalar_one()
            for row in rows
        ]


def insert_lead(engine: Engine, **overrides: Any) -> int:
    return insert_leads(engine, lead_values(**overrides))[0]


def scored_lead(
    number: int,
    *,
    category: Category = Category.POOL,
    trade_group: TradeGroup = TradeGroup.LUXURY_OUTDOOR,
    score: int = 85,
    flags: tuple[str, ...] = (),
    county: str = "Tarrant",
) -> ScoredLead:
    """A ``leads.scored`` message as the scorer publishes it (tier from the score)."""
    retry = score < 0
    return ScoredLead(
        permit=RawPermit(
            jurisdiction="fortworth_tx",
            permit_number=f"PB26-{number:05d}",
            city="Fort Worth",
            county=county,
            property_address=f"{number} Camp Bowie Blvd",
            work_description="Residential swimming pool with spa",
            valuation=72000,
            issued_date=date(2026, 4, 28),
            scraped_at=SCORED_AT,
        ),
        categorization=Categorization(
            category=category,
            trade_group=trade_group,
            is_commercial=False,
            as_of=date(2026, 5, 1),
            rules_version="test",
        ),
        cad=PropertyMatch(
            match=MatchKind.ADDRESS,
            county=county,
            account_id=f"{number:08d}",
            market_value=640000,
            owner_name="Pat Owner",
            is_absentee=number % 2 == 0,
        ),
        score=LeadScore(
            score=score,
            tier=tier_for(score),
            reasoning=None if retry else "Owner-pulled permit on a valuable property.",
            flags=list(flags),
            ideal_contractor=None if retry else "Pool builder",
            contact_priority=ContactPriority.SKIP if retry else ContactPriority.CALL,
            scoring_method=ScoringMethod.PENDING_RETRY if retry else ScoringMethod.LLM,
            scored_at=SCORED_AT,
        ),
    )
