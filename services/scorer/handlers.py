"""The scorer's two handlers: new leads, and RETRY leads coming back when due."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime

from schemas import EnrichedPermit, RetryRequest, Topic
from services.common.messages import Output, Outputs
from services.scorer import metrics
from services.scorer.leads import outputs_for
from services.scorer.retry_policy import RescorePolicy, rescore_wait
from services.scorer.scoring import Scorer
from services.scorer.verdict import ScoringFailure, ScoringResult

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class ScoringHandlers:
    def __init__(
        self,
        scorer: Scorer,
        policy: RescorePolicy,
        *,
        max_wait_s: float,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._scorer = scorer
        self._policy = policy
        self._max_wait_s = max_wait_s
        self._rng = rng or random.Random()
        self._clock = clock

    async def score_new(self, lead: EnrichedPermit) -> Outputs:
        """``permits.enriched`` → the scored lead, or a RETRY lead and its re-score request."""
        return self._publish(lead, await self._scorer.score(lead), attempt=1)

    async def rescore(self, request: RetryRequest) -> Outputs:
        """``leads.retry`` → the same, once the request is due; success replaces the RETRY lead."""
        wait_s, requeue = rescore_wait(request.due_at, self._clock(), self._max_wait_s)
        await asyncio.sleep(wait_s)
        if requeue:
            return [Output(Topic.RETRY.value, request.key, request)]
        result = await self._scorer.score(request.lead)
        return self._publish(request.lead, result, attempt=request.attempt + 1)

    def _publish(self, lead: EnrichedPermit, result: ScoringResult, *, attempt: int) -> Outputs:
        outputs = outputs_for(
            lead, result, attempt=attempt, policy=self._policy, now=self._clock(), rng=self._rng
        )
        if not isinstance(result, ScoringFailure):
            metrics.LEADS.labels("scored").inc()
            return outputs
        context = {"permit_key": lead.key, "attempt": attempt, "error": result.error}
        if any(output.topic == Topic.RETRY.value for output in outputs):
            metrics.LEADS.labels("retry").inc()
            log.warning("lead published as RETRY, re-scored later", extra=context)
        else:
            metrics.LEADS.labels("gave_up").inc()
            log.error("lead stays RETRY: scoring attempts used up", extra=context)
        return outputs
