"""Scoring results → the scorer's messages: pure functions, no network, no clock of their own."""

from __future__ import annotations

import random
from datetime import datetime

from schemas import (
    ContactPriority,
    EnrichedPermit,
    LeadScore,
    ScoredLead,
    ScoringMethod,
    Tier,
    Topic,
)
from schemas.leads import REVIEW_BELOW_SCORE, REVIEW_FLAG, tier_for
from services.common.messages import Output
from services.scorer.retry_policy import RescorePolicy
from services.scorer.verdict import ScoringFailure, ScoringResult, Verdict

RETRY_ERROR_FLAG = "RETRY: scoring failed: "
GAVE_UP_FLAG = "RETRY FINAL: gave up after {attempts} scoring attempts; re-publish to try again"
_FLAG_LIMIT = 500


def verdict_score(verdict: Verdict, *, attempts: int, scored_at: datetime) -> LeadScore:
    """A lead's score from a verdict; the tier is ours, whatever the model thought of it."""
    assessment = verdict.assessment
    flags = list(assessment.flags)
    if assessment.score < REVIEW_BELOW_SCORE and REVIEW_FLAG not in flags:
        flags.append(REVIEW_FLAG)
    return LeadScore(
        score=assessment.score,
        tier=tier_for(assessment.score),
        reasoning=assessment.reasoning,
        flags=flags,
        ideal_contractor=assessment.ideal_contractor,
        contact_priority=assessment.contact_priority,
        chain_of_thought=verdict.chain_of_thought,
        scoring_method=verdict.method,
        model=verdict.model,
        prompt_version=verdict.prompt_version,
        tokens_in=verdict.tokens_in,
        tokens_out=verdict.tokens_out,
        tokens_cached=verdict.tokens_cached,
        latency_ms=verdict.latency_ms,
        attempts=attempts,
        scored_at=scored_at,
    )


def retry_score(
    failure: ScoringFailure, *, attempts: int, final: bool, scored_at: datetime
) -> LeadScore:
    """The visible placeholder of a lead without a score: never a guessed number.

    Buyers see the lead, so its flag says what failed in our own words only; the provider's
    error text (which can name keys, accounts and internals) stays in the operators' logs.
    """
    flags = [(RETRY_ERROR_FLAG + failure.public_reason())[:_FLAG_LIMIT]]
    if final:
        flags.append(GAVE_UP_FLAG.format(attempts=attempts))
    return LeadScore(
        score=-1,
        tier=Tier.RETRY,
        flags=flags,
        contact_priority=ContactPriority.SKIP,
        scoring_method=ScoringMethod.PENDING_RETRY,
        model=failure.model,
        prompt_version=failure.prompt_version,
        attempts=attempts,
        scored_at=scored_at,
    )


def scored_lead(lead: EnrichedPermit, score: LeadScore) -> ScoredLead:
    return ScoredLead(
        permit=lead.permit, categorization=lead.categorization, cad=lead.cad, score=score
    )


def outputs_for(
    lead: EnrichedPermit,
    result: ScoringResult,
    *,
    attempt: int,
    policy: RescorePolicy,
    now: datetime,
    rng: random.Random,
) -> list[Output]:
    """What scoring pass number ``attempt`` of ``lead`` publishes.

    A verdict: the scored lead. A failure: the RETRY lead, and the request that re-scores it
    later, unless the attempts are used up (then the RETRY lead says so and stays).
    """
    if isinstance(result, Verdict):
        score = verdict_score(result, attempts=attempt, scored_at=now)
        return [Output(Topic.SCORED.value, lead.key, scored_lead(lead, score))]
    request = policy.next_request(lead, attempt, result.public_reason(), now, rng)
    score = retry_score(result, attempts=attempt, final=request is None, scored_at=now)
    outputs = [Output(Topic.SCORED.value, lead.key, scored_lead(lead, score))]
    if request is not None:
        outputs.append(Output(Topic.RETRY.value, lead.key, request))
    return outputs
