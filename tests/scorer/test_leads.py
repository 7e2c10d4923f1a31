"""Scoring results become leads: our tier, the review flag, RETRY instead of a guess."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel

from schemas import ContactPriority, RetryRequest, ScoredLead, ScoringMethod, Tier, Topic
from schemas.leads import REVIEW_FLAG
from services.scorer.answer import Assessment
from services.scorer.leads import GAVE_UP_FLAG, RETRY_ERROR_FLAG, outputs_for
from services.scorer.retry_policy import RescorePolicy
from services.scorer.verdict import ScoringFailure, Verdict
from tests.scorer.factories import enriched_lead

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
POLICY = RescorePolicy(first_delay_s=60, backoff=4, max_delay_s=3600, max_attempts=3)
FAILURE = ScoringFailure(
    error="timeout: no answer within 60 s (after 3 attempts)",
    model="m",
    prompt_version="p",
    kind="timeout",
    attempts=3,
)


def _verdict(score: int) -> Verdict:
    assessment = Assessment(
        score=score, reasoning="r", contact_priority=ContactPriority.EMAIL, flags=["f"]
    )
    return Verdict(assessment=assessment, method=ScoringMethod.LLM, model="deepseek-flash")


def _publish(result: Verdict | ScoringFailure, attempt: int = 1) -> list[tuple[str, BaseModel]]:
    outputs = outputs_for(
        enriched_lead(1), result, attempt=attempt, policy=POLICY, now=NOW, rng=random.Random(1)
    )
    assert all(o.key == enriched_lead(1).key for o in outputs)
    return [(o.topic, o.value) for o in outputs]


@pytest.mark.parametrize(
    ("score", "tier", "review"),
    [(100, Tier.A, False), (80, Tier.A, False), (79, Tier.B, False), (50, Tier.B, False),
     (49, Tier.C, False), (30, Tier.C, False), (29, Tier.C, True), (0, Tier.C, True)],
)  # fmt: skip
def test_the_tier_comes_from_the_score_and_low_scores_are_flagged_for_review(
    score: int, tier: Tier, review: bool
) -> None:
    [(topic, lead)] = _publish(_verdict(score))
    assert topic == Topic.SCORED.value and isinstance(lead, ScoredLead)
    assert lead.score.score == score and lead.score.tier is tier
    assert (REVIEW_FLAG in lead.score.flags) is review
    assert "f" in lead.score.flags and lead.score.scoring_method is ScoringMethod.LLM


def test_a_failure_publishes_a_visible_retry_lead_and_a_request_to_rescore_it() -> None:
    [(scored_topic, lead), (retry_topic, request)] = _publish(FAILURE)
    assert scored_topic == Topic.SCORED.value and isinstance(lead, ScoredLead)
    assert (lead.score.score, lead.score.tier) == (-1, Tier.RETRY)
    assert lead.score.contact_priority is ContactPriority.SKIP
    assert lead.score.scoring_method is ScoringMethod.PENDING_RETRY
    assert lead.score.flags == [RETRY_ERROR_FLAG + "timeout (after 3 attempts)"]
    assert retry_topic == Topic.RETRY.value and isinstance(request, RetryRequest)
    assert request.attempt == 1 and request.last_error == "timeout (after 3 attempts)"
    assert NOW + timedelta(seconds=30) <= request.due_at <= NOW + timedelta(seconds=60)
    assert request.lead == enriched_lead(1)


def test_after_the_last_attempt_the_lead_stays_retry_with_a_final_flag() -> None:
    [(topic, lead)] = _publish(FAILURE, attempt=POLICY.max_attempts)
    assert topic == Topic.SCORED.value and isinstance(lead, ScoredLead)
    assert lead.score.tier is Tier.RETRY and lead.score.attempts == POLICY.max_attempts
    assert GAVE_UP_FLAG.format(attempts=POLICY.max_attempts) in lead.score.flags


@pytest.mark.parametrize(
    ("kind", "attempts", "reason"),
    [
        ("server_error", 2, "server_error (after 2 attempts)"),
        ("invalid", 4, "invalid (after 4 attempts)"),
        ("rejected", None, "rejected"),
        ("HTTP 500: internal: sk-live-1234", 1, "scoring_unavailable (after 1 attempts)"),
    ],
)
def test_a_retry_lead_says_what_failed_in_our_words_never_the_providers(
    kind: str, attempts: int | None, reason: str
) -> None:
    secret = "internal: api key sk-live-1234 over quota for org-xyz"
    failure = ScoringFailure(
        error=f"server_error: HTTP 500: {secret}",
        model="m",
        prompt_version="p",
        kind=kind,
        attempts=attempts,
    )
    [(_, lead), (_, request)] = _publish(failure)
    assert isinstance(lead, ScoredLead) and isinstance(request, RetryRequest)
    assert lead.score.flags == [RETRY_ERROR_FLAG + reason]
    assert request.last_error == reason
    for published in (lead, request):
        text = published.model_dump_json()
        assert "sk-live" not in text and "org-xyz" not in text and "HTTP 500" not in text
