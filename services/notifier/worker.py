"""The delivery worker: sends due deliveries, each endpoint on its own, never all in memory.

It claims from the table only as many due deliveries as it has free slots (``max_in_flight``
in all, ``max_per_endpoint`` per subscription), skipping the subscriptions already at their
limit here, so a hanging endpoint holds at most its own few slots while the others keep
flowing, and a thousand endpoints that are down cost a thousand rows waiting in PostgreSQL,
not in this process. Every attempt is recorded with its outcome before the slot is freed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from datetime import UTC, datetime

import httpx
from sqlalchemy import Engine

from services.notifier import deliveries, metrics
from services.notifier.deliveries import Claimed
from services.notifier.schedule import AttemptResult, Verdict, decide
from services.notifier.sender import attempt, make_client
from services.notifier.settings import NotifierSettings

log = logging.getLogger(__name__)

_BACKLOG_SAMPLE_S = 5.0


class DeliveryWorker:
    def __init__(self, engine: Engine, settings: NotifierSettings) -> None:
        self._engine = engine
        self._settings = settings
        self._in_flight: Counter[str] = Counter()  # subscription → requests running
        self._tasks: set[asyncio.Task[None]] = set()
        self._sampled_at = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        settings = self._settings
        wake = asyncio.Event()
        async with make_client(settings.webhook_max_in_flight) as client:
            while not stop.is_set():
                free = settings.webhook_max_in_flight - sum(self._in_flight.values())
                claimed: list[Claimed] = []
                if free > 0:
                    try:
                        claimed = await asyncio.to_thread(self._claim, free)
                        await self._sample_backlog()
                    except Exception:
                        log.exception("claiming deliveries failed; retrying")
                for delivery in claimed:
                    self._in_flight[delivery.subscription_id] += 1
                    task = asyncio.create_task(self._deliver(client, delivery, wake))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                if free <= 0 or len(claimed) < free:
                    # Every slot busy, or nothing more is due: wait for a slot to free up (a
                    # delivery finishing) or the next poll, never spin without yielding.
                    wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), settings.webhook_poll_interval_s)
            if self._tasks:  # finish what was sent; the rest is due again after its lease
                await asyncio.wait(self._tasks, timeout=settings.webhook_timeout_s)

    def _claim(self, free: int) -> list[Claimed]:
        settings = self._settings
        busy = [sub for sub, n in self._in_flight.items() if n >= settings.webhook_max_per_endpoint]
        return deliveries.claim(
            self._engine,
            wanted=free,
            busy=busy,
            per_endpoint=settings.webhook_max_per_endpoint,
            lease_s=settings.webhook_lease_s,
        )

    async def _deliver(
        self, client: httpx.AsyncClient, delivery: Claimed, wake: asyncio.Event
    ) -> None:
        settings = self._settings
        try:
            result = await attempt(
                client,
                delivery.url,
                delivery.id,
                delivery.body,
                delivery.secrets,
                timeout_s=settings.webhook_timeout_s,
                allow_private=settings.webhook_allow_private,
            )
            await asyncio.to_thread(self._record, delivery, result)
        except Exception:
            # Not recorded: the lease runs out and it is sent again, with the same webhook-id.
            log.exception("delivery failed unexpectedly", extra={"webhook_id": delivery.id})
        finally:
            self._in_flight[delivery.subscription_id] -= 1
            if self._in_flight[delivery.subscription_id] <= 0:
                del self._in_flight[delivery.subscription_id]
            wake.set()

    def _record(self, delivery: Claimed, result: AttemptResult) -> None:
        settings = self._settings
        now = datetime.now(UTC)
        decision = decide(
            result,
            attempt=delivery.attempts + 1,
            first_failed_at=delivery.first_failed_at,
            now=now,
            schedule=settings.webhook_retry_schedule_s,
            every_s=settings.webhook_retry_every_s,
            give_up_after_s=settings.webhook_give_up_after_s,
        )
        disabled = deliveries.record(self._engine, delivery, result, decision, now)
        metrics.DELIVERIES.labels(decision.verdict.value).inc()
        metrics.ATTEMPT_SECONDS.observe(result.latency_s)
        if disabled:
            reason = "gone" if decision.verdict is Verdict.GONE else "failing"
            metrics.ENDPOINTS_DISABLED.labels(reason).inc()
            log.warning(
                "subscription disabled",
                extra={"subscription": delivery.subscription_id, "reason": reason},
            )
        if decision.verdict is not Verdict.DELIVERED:
            log.info(
                "webhook attempt failed",
                extra={
                    "webhook_id": delivery.id,
                    "subscription": delivery.subscription_id,
                    "error": result.error,
                    "verdict": decision.verdict.value,
                },
            )

    async def _sample_backlog(self) -> None:
        now = time.monotonic()
        if now - self._sampled_at < _BACKLOG_SAMPLE_S:
            return
        self._sampled_at = now
        count, overdue = await asyncio.to_thread(deliveries.backlog, self._engine)
        metrics.BACKLOG.set(count)
        metrics.OLDEST_DUE_SECONDS.set(overdue)
