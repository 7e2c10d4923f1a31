"""The deterministic ``rules`` scorer: the principles of a score as arithmetic
(docs/scorer.md, "What a score means" and "The `rules` backend").

Chosen by configuration only (``LEADSTREAM_SCORER_BACKEND=rules``) for the embedded demo
without an API key and as a cost-free pre-screen; every lead it scores says
``scoring_method: rules`` and ``model: rules-v2``. It reads the same facts the LLM sees.
Wealth is judged against the local market (the parcel's market-value percentile in its ZIP,
else its county), never by fixed dollar amounts; its notes and flags name no one and no
address.
"""

from __future__ import annotations

import re

from schemas import Category, ContactPriority, EnrichedPermit
from services.scorer.answer import Assessment
from services.scorer.prompt import LocalStanding, local_standing

RULES_MODEL = "rules-v2"

# Days a lead stays warm, by trade (principle 2); everything else: 30.
FRESH_DAYS = {
    Category.ROOF: 14,
    Category.COMMERCIAL_ROOF: 14,
    Category.HVAC: 21,
    Category.COMMERCIAL_HVAC: 21,
    Category.FOUNDATION: 28,
    Category.POOL: 60,
    Category.COMMERCIAL_POOL: 60,
    Category.OUTDOOR_LIVING: 60,
}
DEFAULT_FRESH_DAYS = 30
CALL_FROM, EMAIL_FROM = 70, 30

# Principle 3 against the local market: (lowest percentile, points), best first. On the
# Tarrant sample (Fort Worth) the 95th percentile is ~$560k, the 90th ~$450k, the 75th ~$350k
# and the median ~$264k.
WEALTH_POINTS = ((0.95, 30), (0.90, 25), (0.75, 20), (0.50, 12))
LOW_WEALTH_POINTS = 5
# A value is known but not where it stands locally (too few parcels, no CAD ranks): neither
# a strength nor a weakness.
NEUTRAL_WEALTH_POINTS = 15
# "High value for its area" for an entity owner or an absentee owner (principles 1 and 4).
HIGH_VALUE_PERCENTILE = 0.90

_ENTITY = re.compile(
    r"\b(llc|inc|corp|corporation|company|ltd|lp|llp|partners|investments?|holdings)\b"
)
_BUILDER = re.compile(r"\b(homes?|builders?|building|construction|custom|development|remodel\w*)\b")
_WORD = re.compile(r"[a-z0-9]+")


def assess(lead: EnrichedPermit) -> Assessment:
    permit, trade, cad = lead.permit, lead.categorization, lead.cad
    owner = cad.owner_name or permit.owner_name
    value = cad.market_value
    notes: list[str] = []
    flags: list[str] = []

    local = local_standing(cad)
    high_value = None if local is None else local.percentile >= HIGH_VALUE_PERCENTILE

    applicant_points, applicant_note = _applicant(
        permit.applicant_name, permit.contractor_name, owner, high_value
    )
    notes.append(applicant_note)

    window = FRESH_DAYS.get(trade.category, DEFAULT_FRESH_DAYS)
    freshness_points = _freshness(trade.days_old, window)
    if trade.days_old is None:
        flags.append("issue date unknown")
        notes.append("issue date unknown")
    else:
        notes.append(f"issued {trade.days_old} days ago ({window}-day window)")

    wealth_points = _wealth(value, local)
    if value is None:
        flags.append("no market value: wealth cannot be judged")
    elif local is None:
        flags.append("local market unknown: wealth scored neutral")
        notes.append(f"${value:,.0f} property, local market unknown")
    else:
        notes.append(f"${value:,.0f} property, {_describe(local, value)}")

    absentee_points = 0
    if cad.is_absentee:
        if high_value is None:
            absentee_points = -3
            flags.append("absentee owner (local market unknown)")
        else:
            absentee_points = 3 if high_value else -8
            flags.append("absentee owner: second home" if high_value else "absentee landlord")

    if owner is None:
        flags.append("no owner name: nobody to contact")
    description_points = _specificity(permit.work_description)
    if description_points == 0:
        flags.append("vague or missing description")

    score = applicant_points + freshness_points + wealth_points + absentee_points
    score += description_points
    if owner is None:
        score -= 20
    score = max(0, min(100, score))
    priority = (
        ContactPriority.CALL
        if score >= CALL_FROM
        else ContactPriority.EMAIL
        if score >= EMAIL_FROM
        else ContactPriority.SKIP
    )
    return Assessment(
        score=score,
        reasoning=f"Rules-based score (no LLM): {'; '.join(notes)}.",
        flags=flags,
        ideal_contractor=f"{trade.category.value.replace('_', ' ')} contractor",
        contact_priority=priority,
    )


def _applicant(
    applicant: str | None, contractor: str | None, owner: str | None, high_value: bool | None
) -> tuple[int, str]:
    """Principle 1: who pulled the permit (0-35 points)."""
    if owner and _is_entity(owner):
        if high_value:
            return 20, "owned by an entity, high value for its area"
        if high_value is None:
            return 12, "owned by an entity, local market unknown"
        return 8, "owned by an LLC or investor"
    if applicant and owner and _same_person(applicant, owner):
        return 35, "the homeowner pulled the permit"
    if not applicant and not contractor and owner:
        return 30, "no contractor named: likely the homeowner"
    puller = applicant or contractor or ""
    if _BUILDER.search(puller.lower()):
        return 18, "a builder pulled the permit (cross-sell)"
    return 15, "a contractor pulled the permit: the main job is likely sold"


def _freshness(days_old: int | None, window: int) -> int:
    """Principle 2, against the trade's window (0-25 points); unknown counts as old."""
    if days_old is None:
        return 5
    if days_old <= window / 2:
        return 25
    if days_old <= window:
        return 15
    return 5 if days_old <= 2 * window else 0


def _describe(local: LocalStanding, value: float) -> str:
    """ "96th percentile of its ZIP, 2.1x the ZIP median" """
    area = "ZIP" if local.area == "zip" else local.area
    text = f"{_ordinal(round(local.percentile * 100))} percentile of its {area}"
    if local.median:
        text += f", {value / local.median:.1f}x the {area} median"
    return text


def _wealth(value: float | None, local: LocalStanding | None) -> int:
    """Principle 3 against the local market (0-30 points); a missing value counts as the worst
    (principle 5), a value whose local standing is unknown as neutral."""
    if value is None:
        return 0
    if local is None:
        return NEUTRAL_WEALTH_POINTS
    for floor, points in WEALTH_POINTS:
        if local.percentile >= floor:
            return points
    return LOW_WEALTH_POINTS


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _specificity(description: str | None) -> int:
    """Principle 6, crudely: a specific description is worth up to 10 points."""
    words = len(_WORD.findall((description or "").lower()))
    return 0 if words < 3 else 5 if words < 8 else 10


def _is_entity(name: str) -> bool:
    return _ENTITY.search(name.lower()) is not None


def _same_person(a: str, b: str) -> bool:
    """Names as portals and appraisal rolls write them: 'SMITH JOHN' is 'John Smith'."""
    words_a = {w for w in _WORD.findall(a.lower()) if len(w) > 1}
    words_b = {w for w in _WORD.findall(b.lower()) if len(w) > 1}
    return len(words_a & words_b) >= 2 or (bool(words_a) and words_a == words_b)
