"""The loop of async stages: up to ``max_in_flight`` handler coroutines at once, each input
finishing on its own (an LLM call may take 50 ms or 20 s), so each is its own unit."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from schemas.topics import Topic
from services.common.failures import key_of
from services.common.messages import BadInput, Outputs
from services.common.offsets import Unit
from services.common.port import Record
from services.common.retry import Backoff, GaveUp, retrying_async
from services.common.stage import AsyncStage

if TYPE_CHECKING:
    from services.common.runtime import StreamRuntime

log = logging.getLogger("services.common.runtime")

Result = Outputs | BadInput


class AsyncLoop:
    def __init__(self, runtime: StreamRuntime, stage: AsyncStage[Any]) -> None:
        self.runtime = runtime
        self.stage = stage
        self._backoff = Backoff(0.1, runtime.settings.retry_backoff_max_s)
        self.running: dict[asyncio.Task[Result], tuple[Record, Unit]] = {}
        self._last_poll = time.monotonic()

    def run(self) -> None:
        asyncio.run(self.run_async())

    async def run_async(self) -> None:
        while not self.runtime.stopping:
            await self.step()
        await self.finish_in_flight()

    async def step(self, timeout: float | None = None) -> int:
        """Take what there is room for, start it, collect what finished; returns how many
        records it took."""
        runtime, running = self.runtime, self.running
        runtime.turn()
        room = max(0, runtime.settings.max_in_flight - len(running))
        # Finished work whose outputs the broker has not taken counts too: a topic that
        # refuses records must stall intake, not grow memory.
        if runtime.tracker.unfinished - len(running) >= runtime.settings.max_unacked:
            room = 0
        runtime.show_saturated(room == 0)
        taken = 0
        if room:
            # Block briefly only when idle; with work in flight the loop must keep turning.
            wait = timeout if timeout is not None else (0 if running else 0.1)
            taken = self._start(runtime.take(room, wait))
            self._last_poll = time.monotonic()
        elif time.monotonic() - self._last_poll >= 1.0:
            # Full (e.g. the LLM's circuit is open): no pause/resume, which would make
            # librdkafka drop and refetch its prefetched messages each time; a poll a second
            # keeps the group from evicting us and adds at most one message to the backlog.
            runtime.keep_polling(limit=1)
            self._last_poll = time.monotonic()
        if running:
            done, _ = await asyncio.wait(running, timeout=0.005, return_when="FIRST_COMPLETED")
            for task in done:
                self._finish(task)
        else:
            await asyncio.sleep(0.005 if runtime.deliveries.waiting else 0)
        runtime.maybe_commit()
        runtime.show_in_flight(len(running))
        return taken

    def _start(self, records: Sequence[Record]) -> int:
        runtime = self.runtime
        for record in records:
            unit = runtime.tracker.open(
                (record.topic() or "", record.partition() or 0), record.offset() or 0
            )
            if unit is None:
                continue  # committable already: a re-fetch of finished work
            try:
                value = runtime.decode(record)
            except BadInput as exc:
                runtime.finish(unit, record, exc)
                unit.seal()
                continue
            self.running[asyncio.create_task(self._call(record, value))] = (record, unit)
        return len(records)

    def _finish(self, task: asyncio.Task[Result]) -> None:
        record, unit = self.running.pop(task)
        self.runtime.finish(unit, record, task.result())
        unit.seal()

    async def _call(self, record: Record, value: Any) -> Result:
        failures = self.runtime.failures
        permit_key = key_of(value)
        poison = failures.watch(never_poison=self.runtime.topic_of(record) == Topic.DLQ.value)

        async def on_failure(exc: Exception, attempt: int, delay: float) -> bool:
            failures.failed(exc, attempt, delay, permit_key)
            return poison.failed(await asyncio.to_thread(failures.dependencies_up))

        started = time.perf_counter()
        result = await retrying_async(
            partial(_guarded, self.stage, value), self._backoff, on_failure, asyncio.sleep
        )
        if isinstance(result, GaveUp):
            return failures.poisoned(result.error, poison.count, permit_key)
        self.runtime.handler_seconds.observe(time.perf_counter() - started)
        failures.succeeded(permit_key)
        return result

    async def finish_in_flight(self) -> None:
        """On stop: give in-flight work a deadline; what misses it is redone after restart."""
        running = self.running
        if not running:
            return
        done, pending = await asyncio.wait(
            running, timeout=self.runtime.settings.shutdown_timeout_s
        )
        for task in done:
            self._finish(task)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("abandoned in-flight messages at shutdown", extra={"count": len(pending)})
            await asyncio.gather(*pending, return_exceptions=True)


async def _guarded(stage: AsyncStage[Any], value: Any) -> Result:
    try:
        return await stage.handle(value)
    except BadInput as exc:
        return exc
