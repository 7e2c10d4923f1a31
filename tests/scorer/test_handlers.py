"""The handlers: new leads and due re-scores, with a scripted scorer in place of the LLM."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from localinfra.fake_llm import FakeLLM
from schemas import (
    ContactPriority,
    EnrichedPermit,
    RetryRequest,
    ScoredLead,
    ScoringMethod,
    Tier,
    Topic,
)
from services.common.messages import Outputs
from services.scorer.answer import Assessment
from services.scorer.circuit import CircuitBreaker
from services.scorer.handlers import ScoringHandlers
from services.scorer.leads import GAVE_UP_FLAG, RETRY_ERROR_FLAG
from services.scorer.llm import ChatClient
from services.scorer.retry_policy import RescorePolicy
from services.scorer.scoring import LLMScorer
from services.scorer.service import build_scorer
from services.scorer.verdict import ScoringFailure, ScoringResult, Verdict
from tests.scorer.factories import enriched_lead, llm_settings

POLICY = RescorePolicy(first_delay_s=0.2, backoff=2, max_delay_s=1, max_attempts=3)
FAILURE = ScoringFailure(error="server_error: HTTP 503", model="m", prompt_version="p")
VERDICT = Verdict(
    assessment=Assessment(score=88, reasoning="r", contact_priority=ContactPriority.CALL),
    method=ScoringMethod.LLM,
    model="m",
)


class ScriptedScorer:
    def __init__(self, *results: ScoringResult) -> None:
        self.results = list(results)
        self.scored: list[EnrichedPermit] = []

    async def score(self, lead: EnrichedPermit) -> ScoringResult:
        self.scored.append(lead)
        return self.results.pop(0)


def _run(handlers: ScoringHandlers, message: EnrichedPermit | RetryRequest) -> Outputs:
    if isinstance(message, RetryRequest):
        return asyncio.run(handlers.rescore(message))
    return asyncio.run(handlers.score_new(message))


def _handlers(scorer: ScriptedScorer, max_wait_s: float = 5) -> ScoringHandlers:
    return ScoringHandlers(scorer, POLICY, max_wait_s=max_wait_s)


def test_a_failed_new_lead_comes_back_through_leads_retry_and_its_success_replaces_it() -> None:
    scorer = ScriptedScorer(FAILURE, VERDICT)
    handlers = _handlers(scorer)
    retry_lead, request = _run(handlers, enriched_lead(1))
    assert isinstance(retry_lead.value, ScoredLead) and retry_lead.value.score.tier is Tier.RETRY
    assert request.topic == Topic.RETRY.value and isinstance(request.value, RetryRequest)
    not_due_for = (request.value.due_at - datetime.now(UTC)).total_seconds()
    started = time.monotonic()
    [rescored] = _run(handlers, request.value)
    assert time.monotonic() - started >= not_due_for > 0  # re-scored when due, not before
    assert rescored.topic == Topic.SCORED.value and rescored.key == enriched_lead(1).key
    assert isinstance(rescored.value, ScoredLead)
    assert (rescored.value.score.score, rescored.value.score.attempts) == (88, 2)


def test_after_the_last_attempt_the_lead_stays_retry_and_no_request_follows() -> None:
    request = RetryRequest(
        lead=enriched_lead(2), attempt=2, due_at=datetime.now(UTC), last_error="timeout"
    )
    [final] = _run(_handlers(ScriptedScorer(FAILURE)), request)
    assert isinstance(final.value, ScoredLead) and final.value.score.tier is Tier.RETRY
    assert GAVE_UP_FLAG.format(attempts=3) in final.value.score.flags


def test_a_request_due_much_later_goes_back_to_the_queue_unscored() -> None:
    scorer = ScriptedScorer()
    due = datetime.now(UTC) + timedelta(hours=1)
    request = RetryRequest(lead=enriched_lead(3), attempt=1, due_at=due, last_error="timeout")
    started = time.monotonic()
    [requeued] = _run(_handlers(scorer, max_wait_s=0.2), request)
    assert 0.2 <= time.monotonic() - started < 1  # held briefly so re-queueing cannot spin
    assert (requeued.topic, requeued.value) == (Topic.RETRY.value, request)
    assert scorer.scored == []


def test_an_answer_with_a_5000_digit_number_ends_as_a_retry_lead_after_bounded_calls(
    fake_llm: FakeLLM,
) -> None:
    """Python's int-digit limit raises a plain ValueError; it used to escape the handler, and
    the runtime retried the message, and paid for another call, for ever."""
    fake_llm.configure(huge_number=1.0)
    settings = llm_settings(fake_llm.url, llm_max_attempts=2, rescore_max_attempts=2)
    handlers = ScoringHandlers(
        build_scorer(settings, None, "test"),
        RescorePolicy.from_settings(settings),
        max_wait_s=settings.rescore_max_wait_s,
    )

    async def run() -> tuple[Outputs, dict[str, Any], Outputs]:
        first = await asyncio.wait_for(handlers.score_new(enriched_lead(1)), 30)
        stats = await asyncio.to_thread(fake_llm.stats)
        request = first[1].value
        assert isinstance(request, RetryRequest)
        due = request.model_copy(update={"due_at": datetime.now(UTC)})
        return first, stats, await asyncio.wait_for(handlers.rescore(due), 30)

    (retry_lead, request), stats, [final] = asyncio.run(run())
    assert isinstance(retry_lead.value, ScoredLead) and retry_lead.value.score.tier is Tier.RETRY
    assert retry_lead.value.score.flags[0].startswith(RETRY_ERROR_FLAG + "invalid")
    assert request.topic == Topic.RETRY.value
    # two attempts, each a call and its one repair turn; then it stops
    assert (stats["calls"], stats["repairs"]) == (4, 2)
    assert stats["outcomes"] == {"huge_number": 4}
    # the re-score pass ends the same way, and it was the last one
    assert isinstance(final.value, ScoredLead) and final.value.score.tier is Tier.RETRY
    assert GAVE_UP_FLAG.format(attempts=2) in final.value.score.flags
    assert fake_llm.stats()["calls"] == 8


def test_the_providers_error_body_reaches_the_operators_log_and_never_the_lead(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = {"error": {"message": "internal: api key sk-live-9f8e7d quota for org-xyz exceeded"}}
    transport = httpx.MockTransport(lambda _: httpx.Response(500, json=body))
    settings = llm_settings("http://llm.invalid/v1", llm_max_attempts=2, circuit_window=100)
    breaker = CircuitBreaker("test", window=100, failure_ratio=1.0, probe_interval_s=1)
    scorer = LLMScorer(settings, ChatClient(settings, transport=transport), breaker, cache=None)
    handlers = ScoringHandlers(scorer, POLICY, max_wait_s=1)
    with caplog.at_level(logging.WARNING, logger="services.scorer"):
        retry_lead, request = _run(handlers, enriched_lead(1))
    assert isinstance(retry_lead.value, ScoredLead) and retry_lead.value.score.tier is Tier.RETRY
    assert retry_lead.value.score.flags == [RETRY_ERROR_FLAG + "server_error (after 2 attempts)"]
    for output in (retry_lead, request):
        published = output.value.model_dump_json()
        assert "sk-live" not in published and "org-xyz" not in published
        assert "internal" not in published and "HTTP 500" not in published
    logged = [getattr(r, "error", "") for r in caplog.records]
    assert any("HTTP 500" in e and "org-xyz" in e for e in logged), "operators lose the cause"
