"""The rules backend: deterministic, follows the principles, labelled on every lead."""

from __future__ import annotations

import asyncio

from schemas import Category, EnrichedPermit, PropertyMatch, ScoringMethod
from services.scorer.rules_scorer import RULES_MODEL, assess
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
    zip_percentile: float | None = None,
    zip_median: float | None = None,
    county_percentile: float | None = None,
    county_median: float | None = None,
) -> EnrichedPermit:
    lead = enriched_lead(0, applicant_name=applicant, owner_name=owner)
    cad = PropertyMatch(
        match=lead.cad.match,
        market_value=value,
        owner_name=owner,
        is_absentee=absentee,
        market_value_percentile_zip=zip_percentile,
        zip_median_market_value=zip_median,
        market_value_percentile_county=county_percentile,
        county_median_market_value=county_median,
    )
    trade = lead.categorization.model_copy(update={"category": category, "days_old": days_old})
    return lead.model_copy(update={"cad": cad, "categorization": trade})


def test_every_rules_verdict_says_it_came_from_rules() -> None:
    verdict = asyncio.run(RulesScorer().score(enriched_lead(1)))
    assert isinstance(verdict, Verdict)
    assert verdict.method is ScoringMethod.RULES
    assert verdict.model == RULES_MODEL == "rules-v2"


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
            zip_percentile=0.99,
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
            zip_percentile=0.2,
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


def _house(
    zip_percentile: float | None = None,
    zip_median: float | None = None,
    county_percentile: float | None = None,
    county_median: float | None = None,
) -> EnrichedPermit:
    return _lead(
        category=Category.POOL,
        days_old=10,
        value=400_000,
        owner="NGUYEN ANH",
        applicant="Anh Nguyen",
        zip_percentile=zip_percentile,
        zip_median=zip_median,
        county_percentile=county_percentile,
        county_median=county_median,
    )


def test_the_same_house_is_wealthier_where_it_stands_higher_in_its_zip() -> None:
    """$400k is the 95th percentile of one ZIP and the 20th of another: wealth is local."""
    top = assess(_house(zip_percentile=0.95, zip_median=190_000))
    low = assess(_house(zip_percentile=0.20, zip_median=620_000))
    assert top.score == low.score + 25  # 30 wealth points against 5
    assert "95th percentile of its ZIP, 2.1x the ZIP median" in top.reasoning
    assert "20th percentile of its ZIP, 0.6x the ZIP median" in low.reasoning


def test_the_zip_wins_over_the_county_and_the_county_stands_in_for_a_missing_zip() -> None:
    both = assess(_house(zip_percentile=0.96, county_percentile=0.40, county_median=300_000))
    county = assess(_house(county_percentile=0.40, county_median=300_000))
    assert "96th percentile of its ZIP" in both.reasoning
    assert "40th percentile of its county, 1.3x the county median" in county.reasoning
    assert both.score > county.score


def test_an_unknown_local_market_scores_wealth_neutral_and_says_so() -> None:
    unknown = assess(_house())
    top = assess(_house(zip_percentile=0.99))
    low = assess(_house(zip_percentile=0.05))
    no_value = assess(
        _lead(
            category=Category.POOL,
            days_old=10,
            value=None,
            owner="NGUYEN ANH",
            applicant="Anh Nguyen",
        )
    )
    assert low.score < unknown.score < top.score
    assert no_value.score < low.score  # no value at all still assumes the worst
    assert "local market unknown: wealth scored neutral" in unknown.flags
    assert "local market unknown" in unknown.reasoning


def test_an_absentee_owner_is_judged_by_the_value_for_its_area() -> None:
    def absentee(percentile: float | None) -> list[str]:
        lead = _lead(
            category=Category.ROOF,
            days_old=5,
            value=400_000,
            owner="KIM JUNE",
            applicant="June Kim",
            absentee=True,
            zip_percentile=percentile,
        )
        return assess(lead).flags

    assert "absentee owner: second home" in absentee(0.97)
    assert "absentee landlord" in absentee(0.30)
    assert "absentee owner (local market unknown)" in absentee(None)


def test_rules_reasoning_and_flags_name_no_one_and_no_address() -> None:
    for i in range(60):
        verdict = assess(enriched_lead(i))
        lead = enriched_lead(i)
        text = " ".join([verdict.reasoning, *verdict.flags]).lower()
        for name in (lead.cad.owner_name, lead.permit.applicant_name, lead.permit.owner_name):
            assert not name or name.lower() not in text
        assert lead.permit.property_address
        assert lead.permit.property_address.lower() not in text
