"""The rules backend: deterministic, follows the principles, labelled on every lead."""

from __future__ import annotations

import asyncio

from schemas import Category, EnrichedPermit, PropertyMatch, ScoringMethod
from services.scorer.rules import RULES_MODEL, assess
from services.scorer.scoring import RulesScorer
from services.scorer.verdict import Verdict
from tests.scorer.factories import enriched_lead


def _lead(
    *,
    category: Category,
    days_old: int,
    value: float | None,
    owner: str | None,
    applicant: str | None,
    absentee: bool = False,
) -> EnrichedPermit:
    lead = enriched_lead(0, applicant_name=applicant, owner_name=owner)
    cad = PropertyMatch(
        match=lead.cad.match, market_value=value, owner_name=owner, is_absentee=absentee
    )
    trade = lead.categorization.model_copy(update={"category": category, "days_old": days_old})
    return lead.model_copy(update={"cad": cad, "categorization": trade})


def test_every_rules_verdict_says_it_came_from_rules() -> None:
    verdict = asyncio.run(RulesScorer().score(enriched_lead(1)))
    assert isinstance(verdict, Verdict)
    assert verdict.method is ScoringMethod.RULES
    assert verdict.model == RULES_MODEL == "rules-v1"


def test_the_same_lead_always_gets_the_same_score() -> None:
    assert [assess(enriched_lead(i)) for i in range(50)] == [
        assess(enriched_lead(i)) for i in range(50)
    ]


def test_a_fresh_homeowner_lead_on_a_million_dollar_home_beats_a_stale_landlord_lead() -> None:
    best = assess(
        _lead(
            category=Category.POOL,
            days_old=10,
            value=1_400_000,
            owner="GARCIA MARIA",
            applicant="Maria Garcia",
        )
    )
    worst = assess(
        _lead(
            category=Category.ROOF,
            days_old=40,
            value=210_000,
            absentee=True,
            owner="DFW RENTAL HOLDINGS LLC",
            applicant="Acme Roofing",
        )
    )
    assert best.score >= 90 and best.contact_priority == "call"
    assert worst.score < 30 and worst.contact_priority == "skip"
    assert "absentee landlord" in worst.flags


def test_freshness_depends_on_the_trade() -> None:
    def score(category: Category) -> int:
        return assess(
            _lead(
                category=category,
                days_old=25,
                value=600_000,
                owner="LEE DAVID",
                applicant="David Lee",
            )
        ).score

    assert score(Category.POOL) > score(Category.PLUMBING) > score(Category.ROOF)


def test_missing_owner_and_value_assume_the_worst() -> None:
    known = assess(
        _lead(
            category=Category.HVAC,
            days_old=5,
            value=650_000,
            owner="PATEL RAJ",
            applicant="Raj Patel",
        )
    )
    unknown = assess(
        _lead(category=Category.HVAC, days_old=5, value=None, owner=None, applicant="Raj Patel")
    )
    assert unknown.score < known.score - 30
    assert "no owner name: nobody to contact" in unknown.flags
    assert "no market value: wealth cannot be judged" in unknown.flags
