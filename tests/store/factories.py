"""Realistic input messages for the store, built from the schema models (Austin-like permits)."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta
from typing import Any

from schemas import (
    Categorization,
    Category,
    ContactPriority,
    DeadLetter,
    DiscardedPermit,
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

SCRAPED_AT = datetime(2026, 4, 9, 14, 30, tzinfo=UTC)

_STREETS = (
    "Avenue H",
    "W 6th St",
    "Barton Hills Dr",
    "Shoal Creek Blvd",
    "Rollingwood Dr",
    "Speedway",
    "E 38th St",
    "Bull Creek Rd",
    "Mesa Dr",
    "Spicewood Springs Rd",
)
_OWNERS = (
    "GARCIA, MARIA",
    "NGUYEN, TUAN & LINH",
    "SMITH, ROBERT J",
    "WILLIAMS FAMILY TRUST",
    "PATEL, ANIL",
    "JOHNSON, KAREN",
    "HILL COUNTRY HOLDINGS LLC",
    "BROWN, DAVID & SUSAN",
)
_CONTRACTORS = (
    "Blue Haven Pools",
    "Lone Star Roofing",
    "Cool Breeze Air Conditioning",
    "Hill Country Remodeling",
    "Sunpower by Freedom Solar",
    None,
)
# category, trade group, work description, job value
_WORK: tuple[tuple[Category, TradeGroup, str, float | None], ...] = (
    (
        Category.POOL,
        TradeGroup.LUXURY_OUTDOOR,
        "New in-ground gunite pool and spa, travertine deck",
        85_000,
    ),
    (
        Category.ROOF,
        TradeGroup.HOME_EXTERIOR,
        "Tear off and re-roof, 32 sq architectural shingles",
        18_500,
    ),
    (
        Category.HVAC,
        TradeGroup.HOME_SYSTEMS,
        "Replace 4 ton split system AC and gas furnace",
        12_400,
    ),
    (
        Category.REMODEL,
        TradeGroup.STRUCTURAL,
        "Kitchen remodel, remove non-bearing wall, new cabinets",
        65_000,
    ),
    (
        Category.SOLAR,
        TradeGroup.HOME_SYSTEMS,
        "Roof mounted 8.4 kW photovoltaic system, 21 panels",
        24_000,
    ),
    (
        Category.FOUNDATION,
        TradeGroup.STRUCTURAL,
        "Foundation repair, 14 exterior pressed concrete piers",
        None,
    ),
    (
        Category.OUTDOOR_LIVING,
        TradeGroup.LUXURY_OUTDOOR,
        "Covered patio with outdoor kitchen",
        42_000,
    ),
)


def raw_permit(i: int, *, scraped_at: datetime | None = SCRAPED_AT, **changes: Any) -> RawPermit:
    category, _, description, valuation = _WORK[i % len(_WORK)]
    fields: dict[str, Any] = {
        "jurisdiction": "austin_tx",
        "permit_number": f"2026-{i:06d} {'BP' if i % 3 else 'MP'}",
        "city": "Austin",
        "state": "TX",
        "zip_code": f"787{i % 60 + 1:02d}",
        "county": "Travis",
        "property_address": f"{1000 + i % 8900} {_STREETS[i % len(_STREETS)]}",
        "permit_type": "R- 434 Addition & Alterations"
        if category != Category.POOL
        else "R- 329 Res Structures Other Than Bldg",
        "work_type": "Remodel",
        "work_description": description,
        "valuation": valuation,
        "applicant_name": _CONTRACTORS[i % len(_CONTRACTORS)],
        "contractor_name": _CONTRACTORS[i % len(_CONTRACTORS)],
        "issued_date": date(2026, 4, 1) + timedelta(days=i % 8),
        "status": "Active",
        "source_url": f"https://abc.austintexas.gov/web/permit/public-search?rsn={10_000_000 + i}",
        "scraped_at": scraped_at,
    }
    fields.update(changes)
    return RawPermit(**fields)


def categorization(i: int) -> Categorization:
    category, trade_group, _, _ = _WORK[i % len(_WORK)]
    tags = [Category.OUTDOOR_LIVING] if category == Category.POOL and i % 2 else []
    return Categorization(
        category=category,
        trade_group=trade_group,
        is_commercial=False,
        tags=tags,
        evidence=[f"description:{category.value}"],
        days_old=i % 8,
        as_of=date(2026, 4, 9),
        rules_version="2026.04.1",
    )


def property_match(i: int) -> PropertyMatch:
    if i % 5 == 0:
        return PropertyMatch(match=MatchKind.NONE, county="travis")
    return PropertyMatch(
        match=MatchKind.ADDRESS,
        county="travis",
        account_id=f"{200_000 + i}",
        market_value=float(310_000 + (i * 7919) % 1_400_000),
        owner_name=_OWNERS[i % len(_OWNERS)],
        owner_mailing_address=f"{1000 + i % 8900} {_STREETS[i % len(_STREETS)]}",
        is_absentee=i % 7 == 0,
        absentee_basis="address",
        homestead=i % 7 != 0,
        year_built=1950 + i % 70,
        square_feet=1_400 + i % 3_000,
        land_use="A1 single family",
    )


def lead_score(i: int, *, scored_at: datetime, retry: bool = False) -> LeadScore:
    if retry:
        return LeadScore(
            score=-1,
            tier=Tier.RETRY,
            flags=["scoring failed: deadline of 60 s passed (deepseek-flash)"],
            contact_priority=ContactPriority.SKIP,
            scoring_method=ScoringMethod.PENDING_RETRY,
            model="deepseek-flash",
            attempts=1,
            scored_at=scored_at,
        )
    score = 35 + (i * 37) % 66
    return LeadScore(
        score=score,
        tier=tier_for(score),
        reasoning="Homeowner pulled the permit on a well-valued home; specific, fresh job.",
        flags=[] if i % 4 else ["owner name looks like an LLC"],
        ideal_contractor="premium pool builder" if i % 7 == 0 else "licensed specialist",
        contact_priority=ContactPriority.CALL if score >= 80 else ContactPriority.EMAIL,
        chain_of_thought="Owner-pulled permit; value above $500k; issued this week.",
        scoring_method=ScoringMethod.LLM,
        model="deepseek-flash",
        prompt_version="p3",
        tokens_in=1_850,
        tokens_out=210,
        tokens_cached=1_024,
        latency_ms=2_400 + i % 900,
        scored_at=scored_at,
    )


def scored_lead(
    i: int,
    *,
    scraped_at: datetime | None = SCRAPED_AT,
    scored_at: datetime | None = None,
    retry: bool = False,
    **permit_changes: Any,
) -> ScoredLead:
    scored = scored_at or (scraped_at or SCRAPED_AT) + timedelta(minutes=10)
    return ScoredLead(
        permit=raw_permit(i, scraped_at=scraped_at, **permit_changes),
        categorization=categorization(i),
        cad=property_match(i),
        score=lead_score(i, scored_at=scored, retry=retry),
    )


def unvalidated(lead: ScoredLead, **permit_changes: Any) -> ScoredLead:
    """A lead whose permit breaks the contract, as a foreign producer might write one: only
    the store's own checks and PostgreSQL stand in its way."""
    return lead.model_copy(update={"permit": lead.permit.model_copy(update=permit_changes)})


def with_nul_in_reasoning(lead: ScoredLead) -> ScoredLead:
    """Valid by the contract, but PostgreSQL cannot store a NUL."""
    return lead.model_copy(
        update={"score": lead.score.model_copy(update={"reasoning": "Re-roof\x00 house"})}
    )


def discarded_permit(
    i: int,
    *,
    scraped_at: datetime | None = SCRAPED_AT,
    discarded_at: datetime | None = None,
    reason: str = "stale",
) -> DiscardedPermit:
    return DiscardedPermit(
        permit=raw_permit(i, scraped_at=scraped_at),
        reason=reason,
        detail="issued 45 days before as_of; roof leads go stale after 14 days",
        stage="categorizer",
        rules_version="2026.04.1",
        categorization=categorization(i),
        discarded_at=discarded_at or (scraped_at or SCRAPED_AT) + timedelta(minutes=1),
    )


def dead_letter(i: int, *, source_offset: int | None = None) -> DeadLetter:
    original = b'{"jurisdiction": "austin_tx", "permit_number": ' + str(i).encode() + b"}"
    return DeadLetter(
        error="invalid message: property_address: Field required",
        stage="categorizer",
        source_topic="permits.raw",
        source_partition=i % 4,
        source_offset=source_offset if source_offset is not None else i,
        key=f"austin_tx:{i}",
        original_b64=base64.b64encode(original).decode("ascii"),
        failed_at=SCRAPED_AT,
    )


def encoded(message: ScoredLead | DiscardedPermit | DeadLetter) -> tuple[str, bytes]:
    """(key, value) as the producing stage publishes it."""
    return message.key or "", message.model_dump_json().encode("utf-8")
