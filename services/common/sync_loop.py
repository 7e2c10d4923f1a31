"""The loop of synchronous stages: take a poll batch, handle it, produce, repeat.

A batch's inputs of one partition are tracked as one unit (``offsets.Unit``): the handler
finishes them together, so their offset is committable once the broker has acknowledged all
their outputs. That keeps the per-message work to decoding, the handler and producing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from schemas.topics import Topic
from services.common.failures import key_of
from services.common.messages import BadInput, Outputs
from services.common.offsets import Unit
from services.common.port import Record, TopicPartition
from services.common.retry import Backoff, GaveUp, retrying
from services.common.stage import BatchStage, MessageStage

if TYPE_CHECKING:
    from services.common.runtime import StreamRuntime

log = logging.getLogger("services.common.runtime")

Result = Outputs | BadInput
# A decoded input: its record, its batch unit and its model.
_Taken = tuple[Record, Unit, Any]


class StopWhileRetrying(Exception):
    """A stop was asked for while a handler kept failing: leave its input uncommitted."""


class SyncLoop:
    def __init__(self, runtime: StreamRuntime, stage: MessageStage[Any] | BatchStage[Any]) -> None:
        self.runtime = runtime
        self.stage = stage
        settings = runtime.settings
        self._backoff = Backoff(0.1, settings.retry_backoff_max_s)

    def run(self) -> None:
        while not self.runtime.stopping:
            try:
                self.step(timeout=0.2)
            except StopWhileRetrying:
                log.warning("stopped while retrying; unfinished input is redone on restart")
                break

    def step(self, timeout: float) -> int:
        """One poll batch, start to end; returns how many records it took."""
        runtime = self.runtime
        runtime.turn()
        runtime.backpressure(runtime.tracker.unfinished, runtime.settings.max_unacked)
        records = runtime.take(runtime.settings.batch_size, timeout)
        if records:
            self._handle(records)
        runtime.maybe_commit()
        runtime.show_in_flight(runtime.tracker.unfinished)
        return len(records)

    def _handle(self, records: Sequence[Record]) -> None:
        runtime = self.runtime
        open_unit, decode, logical = runtime.tracker.open, self.stage.decode, runtime.logical
        units: dict[TopicPartition, Unit | None] = {}
        taken: list[_Taken] = []
        for record in records:
            tp = (record.topic() or "", record.partition() or 0)
            offset = record.offset() or 0
            if tp in units:
                unit = units[tp]
                if unit is None:
                    continue  # committable already: a re-fetch of finished work
                unit.extend(offset)
            else:
                unit = units[tp] = open_unit(tp, offset)
                if unit is None:
                    continue
            try:
                taken.append((record, unit, decode(logical.get(tp[0], tp[0]), record.value())))
            except BadInput as exc:
                runtime.finish(unit, record, exc)
        if taken:
            started = time.perf_counter()
            if isinstance(self.stage, BatchStage):
                self._handle_batch(self.stage, taken)
            else:
                self._handle_each(self.stage, taken)
            elapsed = time.perf_counter() - started
            per = elapsed if isinstance(self.stage, BatchStage) else elapsed / len(taken)
            runtime.handler_seconds.observe(per)
        for unit in units.values():
            if unit is not None:
                unit.seal()

    def _handle_each(self, stage: MessageStage[Any], taken: list[_Taken]) -> None:
        handle, finish, send = stage.handle, self.runtime.finish, self.runtime.deliveries.send
        for record, unit, value in taken:
            try:
                outputs = handle(value)
            except BadInput as exc:
                finish(unit, record, exc)
                continue
            except Exception as exc:
                call = partial(_guard, handle, value)
                finish(unit, record, self._until_done(call, record, value, first_error=exc))
                continue
            if outputs and unit.live:
                send(unit, record, outputs)

    def _handle_batch(self, stage: BatchStage[Any], taken: list[_Taken]) -> None:
        """The whole batch while it works; through an outage, the whole batch again; but when
        it fails with the dependencies up, each message alone, so one poison message is sent
        to the DLQ instead of holding every message behind it for ever."""
        values = [value for _, _, value in taken]
        failures = self.runtime.failures
        results = retrying(
            partial(_handle_all, stage.handle_batch, values),
            self._backoff,
            partial(self._failed, None, failures.dependencies_up),
            self._wait,
        )
        if not isinstance(results, GaveUp):
            failures.succeeded(None)
            for (record, unit, _), result in zip(taken, results, strict=True):
                self.runtime.finish(unit, record, result)
            return
        log.warning(
            "batch failed with its dependencies up: handling its messages one at a time",
            extra={"stage": stage.name, "messages": len(taken)},
        )
        for record, unit, value in taken:
            call = partial(_handle_alone, stage.handle_batch, value)
            self.runtime.finish(unit, record, self._until_done(call, record, value))

    def _until_done(
        self,
        call: Callable[[], Result],
        record: Record,
        value: Any,
        first_error: Exception | None = None,
    ) -> Result:
        """One message until it succeeds; failing ``poison_attempts`` times in a row while the
        dependencies answer is the message's fault, and it goes to the DLQ with the error."""
        failures = self.runtime.failures
        permit_key = key_of(value)
        poison = failures.watch(never_poison=self.runtime.topic_of(record) == Topic.DLQ.value)
        result = retrying(
            call,
            self._backoff,
            partial(self._failed, permit_key, lambda: poison.failed(failures.dependencies_up())),
            self._wait,
            first_error=first_error,
        )
        if isinstance(result, GaveUp):
            return failures.poisoned(result.error, poison.count, permit_key)
        failures.succeeded(permit_key)
        return result

    def _failed(
        self,
        permit_key: str | None,
        give_up: Callable[[], bool],
        exc: Exception,
        attempt: int,
        delay: float,
    ) -> bool:
        self.runtime.failures.failed(exc, attempt, delay, permit_key)
        if self.runtime.stopping:
            raise StopWhileRetrying from exc
        return give_up()

    def _wait(self, seconds: float) -> None:
        """Wait without fetching, but keep polling so the group does not evict us."""
        runtime = self.runtime
        runtime.pause(True)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            runtime.turn()
            runtime.keep_polling(min(0.2, deadline - time.monotonic()))
        runtime.pause(False)


def _guard(handle: Callable[[Any], Outputs], value: Any) -> Result:
    try:
        return handle(value)
    except BadInput as exc:
        return exc


def _handle_all(
    handle_batch: Callable[[Sequence[Any]], Sequence[Result]], values: list[Any]
) -> Sequence[Result]:
    results = handle_batch(values)
    if len(results) != len(values):
        raise RuntimeError("batch handler returned a wrong count")
    return results


def _handle_alone(handle_batch: Callable[[Sequence[Any]], Sequence[Result]], value: Any) -> Result:
    try:
        return _handle_all(handle_batch, [value])[0]
    except BadInput as exc:
        return exc
