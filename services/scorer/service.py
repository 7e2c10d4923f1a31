"""The scorer service: ``permits.enriched`` → ``leads.scored`` (+ ``leads.retry``).

Two stages run in one process. ``scorer`` scores new leads. ``scorer-retry`` consumes
``leads.retry`` in its own consumer group with its own in-flight limit and re-scores RETRY
leads when due: a request waiting for its due time holds a slot of that stage only, so a
backlog of RETRY leads can never crowd new leads out of the scorer's slots.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import replace

from schemas import EnrichedPermit, RetryRequest, Topic
from services.common.config import DatabaseSettings, KafkaSettings, RuntimeSettings
from services.common.runtime import StreamRuntime
from services.common.service import Foreground, start_service
from services.common.stage import AsyncStage
from services.scorer.cache import ScoringCache
from services.scorer.circuit import CircuitBreaker
from services.scorer.handlers import ScoringHandlers
from services.scorer.llm import ChatClient, redact_url
from services.scorer.retry_policy import RescorePolicy
from services.scorer.scoring import LLMScorer, RulesScorer, Scorer
from services.scorer.settings import ScorerBackend, ScorerSettings

log = logging.getLogger(__name__)

STAGE = "scorer"
RETRY_STAGE = "scorer-retry"


def build_stage(
    settings: ScorerSettings, *, cache: ScoringCache | None = None
) -> AsyncStage[EnrichedPermit]:
    """New leads. ``cache`` is the shared scoring cache (None: every lead is a miss)."""
    handlers = _handlers(settings, cache, STAGE)
    return AsyncStage(
        name=STAGE,
        inputs={Topic.ENRICHED.value: EnrichedPermit},
        handle=handlers.score_new,
        dependencies_up=_dependencies_up(cache),
    )


def build_retry_stage(
    settings: ScorerSettings, *, cache: ScoringCache | None = None
) -> AsyncStage[RetryRequest]:
    """RETRY leads, re-scored when due."""
    handlers = _handlers(settings, cache, RETRY_STAGE)
    return AsyncStage(
        name=RETRY_STAGE,
        inputs={Topic.RETRY.value: RetryRequest},
        handle=handlers.rescore,
        dependencies_up=_dependencies_up(cache),
    )


def _dependencies_up(cache: ScoringCache | None) -> Callable[[], bool]:
    """LLM failures never escape the handlers (they become RETRY leads); only the scoring
    cache's database can be down under them."""
    return cache.reachable if cache is not None else lambda: True


def build_scorer(settings: ScorerSettings, cache: ScoringCache | None, name: str) -> Scorer:
    """The configured backend; each stage gets its own (HTTP clients are bound to one loop)."""
    if settings.scorer_backend is ScorerBackend.RULES:
        return RulesScorer()
    breaker = CircuitBreaker(
        name,
        window=settings.circuit_window,
        failure_ratio=settings.circuit_failure_ratio,
        probe_interval_s=settings.circuit_probe_interval_s,
    )
    return LLMScorer(settings, ChatClient(settings), breaker, cache)


def _handlers(settings: ScorerSettings, cache: ScoringCache | None, name: str) -> ScoringHandlers:
    return ScoringHandlers(
        build_scorer(settings, cache, name),
        RescorePolicy.from_settings(settings),
        max_wait_s=settings.rescore_max_wait_s,
    )


def log_start(settings: ScorerSettings) -> None:
    log.info(
        "scorer starting",
        extra={
            "backend": settings.scorer_backend.value,
            "model": settings.llm_model,
            "base_url": redact_url(settings.llm_base_url),  # it may carry credentials
            "thinking": settings.llm_thinking.value,
        },
    )


class ScorerProcess(Foreground):
    """Both stages: ``scorer`` in the foreground, ``scorer-retry`` on a thread with its own
    in-flight limit. The service is ready only while the re-score stage is healthy too, and a
    re-score stage that fails stops the whole process so it is restarted."""

    def __init__(
        self,
        settings: ScorerSettings,
        kafka: KafkaSettings,
        runtime_settings: RuntimeSettings,
        cache: ScoringCache | None,
    ) -> None:
        self._cache = cache
        self._join_timeout_s = runtime_settings.shutdown_timeout_s + 10
        self.retry_runtime = StreamRuntime(
            build_retry_stage(settings, cache=cache),
            kafka,
            runtime_settings.model_copy(update={"max_in_flight": settings.rescore_max_in_flight}),
        )
        stage = replace(build_stage(settings, cache=cache), on_ready=self.retry_runtime.healthy)
        self.runtime = StreamRuntime(stage, kafka, runtime_settings)
        self._failures: list[BaseException] = []
        self._retry_thread = threading.Thread(
            target=_run_retry_runtime,
            args=(self.retry_runtime, self._failures),
            name=RETRY_STAGE,
            daemon=True,
        )

    def run(self) -> None:
        self._retry_thread.start()
        try:
            self.runtime.run()
        finally:
            self.retry_runtime.request_stop()
            self._retry_thread.join(self._join_timeout_s)
            if self._cache is not None:
                self._cache.close()
        if self._failures:
            raise self._failures[0]


def main() -> None:
    settings, kafka, runtime = ScorerSettings(), KafkaSettings(), RuntimeSettings()
    database = DatabaseSettings()

    def build() -> ScorerProcess:
        log_start(settings)
        cache = None
        if settings.scorer_backend is ScorerBackend.LLM:
            cache = ScoringCache.connect(
                database.database_url, pool_size=settings.scoring_cache_pool_size
            )
        return ScorerProcess(settings, kafka, runtime, cache)

    start_service(STAGE, runtime, build)


def _run_retry_runtime(runtime: StreamRuntime, failures: list[BaseException]) -> None:
    try:
        runtime.run()
    except BaseException as exc:
        failures.append(exc)
        log.exception("re-score stage failed: stopping the service so it is restarted")
        os.kill(os.getpid(), signal.SIGTERM)


if __name__ == "__main__":
    main()
