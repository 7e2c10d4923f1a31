"""One scoring pass over a lead: cache, LLM calls with repair and backoff, circuit breaker.

A pass ends in a :class:`Verdict` or, once the lead's own budget (attempts and backoff time)
is spent on transient failures, a :class:`ScoringFailure`. Systemic failures and calls made
while the circuit is open are not charged to the lead: it waits for the circuit instead, so
an outage delays the backlog rather than turning it into RETRY leads.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from typing import Protocol

from schemas import EnrichedPermit, ScoringMethod
from services.scorer import metrics
from services.scorer.answer import Assessment, InvalidAnswer, parse_answer
from services.scorer.cache import ScoringCache, input_hash
from services.scorer.circuit import Admission, CircuitBreaker, Outcome
from services.scorer.llm import CallFailed, ChatClient, SystemicCallError, TransientCallError, Usage
from services.scorer.prompt import PROMPT_VERSION, Messages, build_messages, repair_messages
from services.scorer.retry_policy import backoff_delay
from services.scorer.rules_scorer import RULES_MODEL, assess
from services.scorer.settings import ScorerSettings
from services.scorer.verdict import ScoringFailure, ScoringResult, Verdict

log = logging.getLogger(__name__)

# The store keeps token counts in a PostgreSQL integer.
_TOKENS_LIMIT = 2**31 - 1


class Scorer(Protocol):
    async def score(self, lead: EnrichedPermit) -> ScoringResult: ...


class RulesScorer:
    """The deterministic backend, chosen by configuration; its leads say so."""

    async def score(self, lead: EnrichedPermit) -> ScoringResult:
        return Verdict(assessment=assess(lead), method=ScoringMethod.RULES, model=RULES_MODEL)


class UnusableAnswer(TransientCallError):
    """The model answered, but not with the object we asked for; one repair is allowed."""

    def __init__(self, content: str, problem: str) -> None:
        super().__init__("invalid", problem)
        self.content = content


class LeadRejected(Exception):
    """The endpoint keeps rejecting this lead while it accepts others: the lead's own fault."""


@dataclass
class _Ledger:
    """Tokens spent on one lead across the calls of a pass."""

    tokens_in: int | None = None
    tokens_out: int | None = None
    tokens_cached: int | None = None

    def add(self, usage: Usage) -> None:
        self.tokens_in = _plus(self.tokens_in, usage.prompt_tokens)
        self.tokens_out = _plus(self.tokens_out, usage.completion_tokens)
        self.tokens_cached = _plus(self.tokens_cached, usage.cached_prompt_tokens)


class LLMScorer:
    def __init__(
        self,
        settings: ScorerSettings,
        client: ChatClient,
        breaker: CircuitBreaker,
        cache: ScoringCache | None,
        rng: random.Random | None = None,
    ) -> None:
        self._settings = settings
        self._client = client
        self._breaker = breaker
        self._cache = cache
        self._rng = rng or random.Random()

    async def score(self, lead: EnrichedPermit) -> ScoringResult:
        messages = build_messages(lead)
        key = input_hash(self._settings.llm_model, self._settings.llm_thinking.value, messages)
        if self._cache is not None:
            cached = await self._cache.get(key)
            metrics.CACHE_LOOKUPS.labels("hit" if cached else "miss").inc()
            if cached is not None:
                return cached
        result = await self._score_uncached(messages)
        if isinstance(result, Verdict) and self._cache is not None:
            try:
                await self._cache.put(key, result)
            except Exception:  # the score is paid for and good; only a later replay pays again
                metrics.CACHE_LOOKUPS.labels("write_error").inc()
                log.exception("scoring cache write failed", extra={"permit_key": lead.key})
        return result

    async def _score_uncached(self, messages: Messages) -> ScoringResult:
        started = time.perf_counter()
        ledger = _Ledger()
        settings = self._settings
        backoff_spent = 0.0
        for attempt in range(1, settings.llm_max_attempts + 1):
            try:
                assessment, reasoning = await self._attempt(messages, ledger)
            except LeadRejected as exc:
                return self._failure(str(exc), kind="rejected", attempts=attempt)
            except TransientCallError as exc:
                error: CallFailed = exc
            else:
                return Verdict(
                    assessment=assessment,
                    method=ScoringMethod.LLM,
                    model=settings.llm_model,
                    prompt_version=PROMPT_VERSION,
                    chain_of_thought=reasoning,
                    tokens_in=ledger.tokens_in,
                    tokens_out=ledger.tokens_out,
                    tokens_cached=ledger.tokens_cached,
                    latency_ms=round((time.perf_counter() - started) * 1000),
                )
            if attempt == settings.llm_max_attempts:
                break
            delay = backoff_delay(
                attempt, settings.llm_backoff_base_s, settings.llm_backoff_max_s, self._rng
            )
            delay = max(delay, error.retry_after_s or 0.0)
            if backoff_spent + delay > settings.llm_retry_budget_s:
                break
            backoff_spent += delay
            await asyncio.sleep(delay)
        return self._failure(f"{error} (after {attempt} attempts)", error.kind, attempt)

    def _failure(self, error: str, kind: str, attempts: int) -> ScoringFailure:
        return ScoringFailure(
            error=error,
            model=self._settings.llm_model,
            prompt_version=PROMPT_VERSION,
            kind=kind,
            attempts=attempts,
        )

    async def _attempt(self, messages: Messages, ledger: _Ledger) -> tuple[Assessment, str | None]:
        """One attempt: a call, and one repair call if the answer was unusable."""
        try:
            return await self._call_through_circuit(messages, ledger)
        except UnusableAnswer as exc:
            repair = repair_messages(messages, exc.content, exc.detail)
            return await self._call_through_circuit(repair, ledger)

    async def _call_through_circuit(
        self, messages: Messages, ledger: _Ledger
    ) -> tuple[Assessment, str | None]:
        rejected_at: int | None = None  # the breaker's recovery count when this lead was rejected
        while True:
            admission = await self._breaker.admit()
            try:
                answer = await self._call(messages, ledger)
            except SystemicCallError as exc:
                if exc.may_be_the_leads and rejected_at not in (None, self._breaker.recoveries):
                    # Rejected again after other leads got the circuit closed: it is this lead.
                    self._breaker.record(admission, Outcome.FAILURE, str(exc))
                    raise LeadRejected(str(exc)) from exc
                rejected_at = self._breaker.recoveries
                self._breaker.record(admission, Outcome.SYSTEMIC, str(exc))
                continue
            except TransientCallError as exc:
                self._breaker.record(admission, Outcome.FAILURE, str(exc))
                if admission is Admission.PROBE:
                    continue  # a failed probe is the outage's, not the lead's
                raise
            except BaseException:
                self._breaker.record(admission, Outcome.ABANDONED)
                raise
            self._breaker.record(admission, Outcome.SUCCESS)
            return answer

    async def _call(self, messages: Messages, ledger: _Ledger) -> tuple[Assessment, str | None]:
        """One HTTP call, measured, and its content judged."""
        started = time.perf_counter()
        try:
            completion = await self._client.complete(messages)
            self._count_usage(completion.usage)
            ledger.add(completion.usage)
            if not completion.content.strip():
                raise TransientCallError("blank", "the model returned blank content")
            try:
                assessment = parse_answer(completion.content)
            except InvalidAnswer as exc:
                raise UnusableAnswer(completion.content, str(exc)) from exc
            except Exception as exc:
                # A parser bug, but still about this answer: it must end as an invalid answer,
                # never escape to the runtime, which would retry the message (and pay) forever.
                log.exception("unexpected error reading the model's answer")
                problem = f"an answer we could not read ({type(exc).__name__})"
                raise UnusableAnswer(completion.content, problem) from exc
        except CallFailed as exc:
            _observe_call(exc.kind, started)
            raise
        _observe_call("ok", started)
        return assessment, completion.reasoning

    def _count_usage(self, usage: Usage) -> None:
        settings = self._settings
        prompt, cached = usage.prompt_tokens or 0, usage.cached_prompt_tokens or 0
        completion = usage.completion_tokens or 0
        metrics.LLM_TOKENS.labels("prompt").inc(prompt)
        metrics.LLM_TOKENS.labels("cached_prompt").inc(cached)
        metrics.LLM_TOKENS.labels("completion").inc(completion)
        cost = (
            max(prompt - cached, 0) * settings.llm_price_input_per_mtok
            + cached * settings.llm_price_cached_input_per_mtok
            + completion * settings.llm_price_output_per_mtok
        ) / 1_000_000
        metrics.LLM_COST.inc(cost)


def _observe_call(outcome: str, started: float) -> None:
    metrics.LLM_CALLS.labels(outcome).inc()
    metrics.LLM_SECONDS.observe(time.perf_counter() - started)


def _plus(total: int | None, more: int | None) -> int | None:
    if more is None:
        return total
    return min((total or 0) + more, _TOKENS_LIMIT)
