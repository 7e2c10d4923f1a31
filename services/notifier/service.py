"""The notifier service (``leadstream run notifier``): three parts in one process.

- the stage: ``leads.stored`` through the shared runtime → deliveries (matcher.py);
- the outbox relay thread: ``lead_events`` → ``leads.stored`` (relay.py);
- the delivery worker thread: due deliveries → signed webhooks (worker.py).

The relay lives here rather than in the store so the store's process stays one stage and its
batch latency is not shared with publishing; replicas of the notifier share the relay's rows
through ``SKIP LOCKED`` and the worker's through the same, so scaling it out is just more
replicas (docs/webhooks.md).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from functools import partial

from schemas.stored import LeadStored
from schemas.topics import Topic
from services.common.config import KafkaSettings, RuntimeSettings
from services.common.db.engine import database_answers, make_engine, require_current_schema
from services.common.runtime import StreamRuntime
from services.common.service import Foreground, start_service
from services.common.stage import BatchStage
from services.notifier.matcher import Matcher
from services.notifier.relay import OutboxRelay
from services.notifier.settings import NotifierSettings
from services.notifier.worker import DeliveryWorker

log = logging.getLogger(__name__)


def build_stage(engine_url: str, settings: NotifierSettings) -> BatchStage[LeadStored]:
    engine = make_engine(engine_url)
    require_current_schema(engine)
    return BatchStage(
        name="notifier",
        inputs={Topic.STORED.value: LeadStored},
        handle_batch=Matcher(engine, settings.max_buyers_per_lead).handle_batch,
        dependencies_up=partial(database_answers, engine),
    )


class Background:
    """The relay and the delivery worker, each on its own thread, stopped together."""

    def __init__(self, settings: NotifierSettings, kafka: KafkaSettings) -> None:
        self._engine = make_engine(settings.database_url, pool_size=8)
        self._relay = OutboxRelay(
            self._engine, kafka, settings.relay_batch, settings.relay_poll_interval_s
        )
        self._worker = DeliveryWorker(self._engine, settings)
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker_stop: asyncio.Event | None = None
        self._threads = [
            threading.Thread(target=self._relay.run, args=(self._stop,), name="relay"),
            threading.Thread(target=self._run_worker, name="delivery-worker"),
        ]

    def _run_worker(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._worker_stop = asyncio.Event()
            if self._stop.is_set():
                return
            await self._worker.run(self._worker_stop)

        asyncio.run(main())

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, timeout_s: float = 15.0) -> None:
        self._stop.set()
        if self._loop is not None and self._worker_stop is not None:
            self._loop.call_soon_threadsafe(self._worker_stop.set)
        for thread in self._threads:
            thread.join(timeout_s)
        self._engine.dispose()


class NotifierProcess(Foreground):
    """The stage in the foreground; the relay and the delivery worker run while it does."""

    def __init__(self, runtime: StreamRuntime, background: Background) -> None:
        self.runtime = runtime
        self.background = background

    def run(self) -> None:
        self.background.start()
        try:
            self.runtime.run()
        finally:
            self.background.stop()


def main() -> None:
    settings, kafka, runtime = NotifierSettings(), KafkaSettings(), RuntimeSettings()

    def build() -> NotifierProcess:
        stage = build_stage(settings.database_url, settings)
        return NotifierProcess(StreamRuntime(stage, kafka, runtime), Background(settings, kafka))

    start_service("notifier", runtime, build)


if __name__ == "__main__":
    main()
