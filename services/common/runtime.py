"""The one stream runtime every leadstream service runs on.

A service declares a stage (``stage.py``): the topics it reads, the model each carries, and a
handler (plain business logic: model in, outputs out). The runtime owns everything Kafka,
through the port (``port.py``): polling, decoding, the DLQ, producing, committing, rebalances,
backpressure and shutdown. How messages reach the handler is the loop strategy's
(``sync_loop.py`` for message and batch stages, ``async_loop.py`` for coroutines).

Delivery is at least once. An input offset becomes committable only when its handler has
finished and the broker has acknowledged every output it caused (see ``offsets.py``); a
crash therefore replays unfinished work and never drops it.
"""

from __future__ import annotations

import logging
import signal
import time
from collections import Counter, deque
from collections.abc import Sequence
from functools import cache, partial
from typing import Any

from services.common import metrics
from services.common.async_loop import AsyncLoop
from services.common.config import KafkaSettings, RuntimeSettings
from services.common.dead_letters import dead_letter
from services.common.deliveries import Deliveries
from services.common.failures import HandlerFailures
from services.common.messages import BadInput, Output, Outputs
from services.common.offsets import OffsetTracker, Unit
from services.common.port import Broker, Consumer, Producer, Record, TopicPartition
from services.common.stage import AsyncStage, Stage
from services.common.sync_loop import SyncLoop

log = logging.getLogger(__name__)


class StreamRuntime:
    def __init__(
        self,
        stage: Stage,
        kafka: KafkaSettings,
        settings: RuntimeSettings,
        *,
        broker: Broker | None = None,
        group_id: str | None = None,
    ) -> None:
        if broker is None:
            from services.common.confluent import ConfluentBroker

            broker = ConfluentBroker(kafka)
        self.stage = stage
        self.broker = broker
        self.settings = settings
        self.group_id = group_id or f"{kafka.group_prefix}.{stage.name}"
        # Physical topic name → the logical name the stage knows it by.
        self.logical = {broker.topic(t): t for t in stage.inputs}
        self.tracker = OffsetTracker()
        self.failures = HandlerFailures(stage.name, stage.dependencies_up, settings.poison_attempts)
        self.stopping = False
        self._paused = False
        self._saturated = False
        self._assigned: set[TopicPartition] = set()
        # Fetched but not yet taken (a poll while the stage is full, or waiting out a retry).
        self._backlog: deque[Record] = deque()
        self._last_commit = time.monotonic()
        self.last_loop_at = time.monotonic()
        self.started = False
        self._consumer: Consumer | None = None
        self._producer: Producer | None = None
        self._deliveries: Deliveries | None = None
        # Labelled metric children, looked up once: .labels() is costly on a per-poll path.
        self._consumed = cache(partial(metrics.CONSUMED.labels, stage.name))
        self._in_flight = metrics.IN_FLIGHT.labels(stage.name)
        self._paused_gauge = metrics.PAUSED.labels(stage.name)
        self.handler_seconds = metrics.HANDLER_SECONDS.labels(stage.name)

    # ------------------------------------------------------------------ lifecycle

    def request_stop(self, *_: object) -> None:
        if not self.stopping:
            log.info("stop requested", extra={"stage": self.stage.name})
        self.stopping = True

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)

    def run(self) -> None:
        """Consume until stopped, then finish, flush, commit and leave the group."""
        self.open()
        try:
            self.loop().run()
        finally:
            self.close()

    def loop(self) -> SyncLoop | AsyncLoop:
        """The strategy that feeds this stage's handler (``SyncLoop`` or ``AsyncLoop``)."""
        if isinstance(self.stage, AsyncStage):
            return AsyncLoop(self, self.stage)
        return SyncLoop(self, self.stage)

    def open(self) -> None:
        client_id = f"leadstream-{self.stage.name}"
        self._consumer = self.broker.consumer(self.group_id, client_id)
        self._producer = self.broker.producer(client_id)
        self._deliveries = Deliveries(
            self.stage.name, self._producer, self.broker.topic, self.settings, self._letter_for
        )
        self._consumer.subscribe(list(self.logical), self)
        self.started = True

    def close(self) -> None:
        consumer = self.consumer
        self.deliveries.drain(self.settings.shutdown_timeout_s)
        self.commit(wait=True)
        consumer.close()  # leaves the group so partitions move at once
        self._in_flight.set(0)
        log.info("stopped", extra={"stage": self.stage.name})

    @property
    def consumer(self) -> Consumer:
        if self._consumer is None:
            raise RuntimeError("runtime not open")
        return self._consumer

    @property
    def deliveries(self) -> Deliveries:
        if self._deliveries is None:
            raise RuntimeError("runtime not open")
        return self._deliveries

    def turn(self) -> None:
        """What every turn of a loop does first: serve delivery reports, resend failures."""
        self.last_loop_at = time.monotonic()
        assert self._producer is not None
        self._producer.poll(0)
        self.deliveries.resend_due()
        self.deliveries.count_acked()

    def idle(self) -> bool:
        """Nothing taken and unfinished, nothing waiting to be sent (the demo's end)."""
        return not self._backlog and not self.tracker.unfinished and not self.deliveries.waiting

    # ------------------------------------------------------------------ taking messages

    def take(self, limit: int, timeout: float) -> Sequence[Record]:
        """Up to ``limit`` records, oldest first. The poll comes before the backlog is read,
        even when the backlog alone would fill the batch: it is where the client reports a
        revoked or lost partition, whose backlog is then someone else's work."""
        want = max(1, limit - len(self._backlog))
        fetched = self.consumer.consume(want, 0 if self._backlog else timeout)
        records: Sequence[Record]
        if not self._backlog and len(fetched) <= limit:
            records = fetched
        else:
            self._backlog.extend(fetched)
            records = [self._backlog.popleft() for _ in range(min(limit, len(self._backlog)))]
        assigned = self._assigned
        if records and any((r.topic(), r.partition()) not in assigned for r in records):
            records = [r for r in records if (r.topic(), r.partition()) in assigned]
        self._count_consumed(records)
        return records

    def keep_polling(self, timeout: float = 0, limit: int | None = None) -> None:
        """Poll without taking work; anything fetched waits in the backlog, in order."""
        self._backlog.extend(self.consumer.consume(limit or self.settings.batch_size, timeout))

    def _count_consumed(self, records: Sequence[Record]) -> None:
        if not records:
            return
        topics = Counter(r.topic() for r in records)
        for physical, n in topics.items():
            self._consumed(self.logical.get(physical or "", physical)).inc(n)

    def topic_of(self, record: Record) -> str:
        physical = record.topic() or ""
        return self.logical.get(physical, physical)

    def decode(self, record: Record) -> Any:
        return self.stage.decode(self.topic_of(record), record.value())

    # ------------------------------------------------------------------ results

    def finish(self, unit: Unit, record: Record, result: Outputs | BadInput) -> None:
        """Produce what one input caused (or its DLQ record); the caller seals the unit."""
        if not unit.live:
            return  # revoked meanwhile: its next owner redoes it
        if isinstance(result, BadInput):
            result = [self._reject(record, str(result))]
        if result:
            self.deliveries.send(unit, record, result)

    def _reject(self, record: Record, reason: str) -> Output:
        output = self._letter_for(record, reason)
        log.warning(
            "rejected to DLQ",
            extra={
                "permit_key": output.key,
                "reason": reason,
                "topic": self.topic_of(record),
                "offset": record.offset(),
            },
        )
        return output

    def _letter_for(self, record: Record, reason: str) -> Output:
        return dead_letter(
            self.stage.name,
            self.topic_of(record),
            record.partition() or 0,
            record.offset() or 0,
            record.key(),
            record.value(),
            reason,
        )

    # ------------------------------------------------------------------ committing

    def maybe_commit(self) -> None:
        if time.monotonic() - self._last_commit >= self.settings.commit_interval_s:
            self.commit(wait=False)

    def commit(self, *, wait: bool, only: list[TopicPartition] | None = None) -> None:
        self._last_commit = time.monotonic()
        offsets = self.tracker.to_commit(only)
        if not offsets:
            return
        try:
            self.consumer.commit(offsets, wait=wait)
        except Exception as exc:  # a failed commit only means more replay after a crash
            log.warning("commit failed", extra={"error": str(exc)})
            return
        self.tracker.committed(offsets)

    # ------------------------------------------------------------------ consumer events

    def assigned(self, partitions: list[TopicPartition]) -> None:
        log.info("partitions assigned", extra={"partitions": _names(partitions)})
        self._assigned.update(partitions)
        if self._paused:
            self.consumer.pause(partitions)

    def revoked(self, partitions: list[TopicPartition]) -> None:
        log.info("partitions revoked", extra={"partitions": _names(partitions)})
        self.deliveries.drain(min(10.0, self.settings.shutdown_timeout_s))
        self.commit(wait=True, only=partitions)
        self._forget(partitions)

    def lost(self, partitions: list[TopicPartition]) -> None:
        """Another member may own these already: commit nothing for them, forget their work."""
        log.warning("partitions lost", extra={"partitions": _names(partitions)})
        self._forget(partitions)

    def commit_failed(self, partitions: list[TopicPartition], error: str) -> None:
        """An asynchronous commit can fail (e.g. during a rebalance) after the tracker took
        it as done; unless offered again, an idle partition's lag would never reach zero."""
        log.warning(
            "commit failed, committing again",
            extra={"error": error, "partitions": _names(partitions)},
        )
        self.tracker.commit_failed(partitions)

    def lag(self, partition: TopicPartition, records: int) -> None:
        logical = self.logical.get(partition[0])
        if logical is not None:
            metrics.CONSUMER_LAG.labels(self.stage.name, logical, str(partition[1])).set(records)

    def _forget(self, partitions: list[TopicPartition]) -> None:
        gone = set(partitions)
        self._assigned -= gone
        self.tracker.drop(partitions)

        def dropped(record: Record) -> bool:
            return (record.topic(), record.partition()) in gone

        # In place, never a new deque: these callbacks run from inside consume(), while take
        # and keep_polling may already hold self._backlog to extend with what that same call
        # returns, the records just fetched for the partitions this member keeps. A rebound
        # backlog left them in a deque nobody read: they were never handled and the next
        # records' commits passed them (docs/reliability.md).
        kept = [r for r in self._backlog if not dropped(r)]
        self._backlog.clear()
        self._backlog.extend(kept)
        self.deliveries.forget(dropped)

    # ------------------------------------------------------------------ backpressure

    def backpressure(self, load: int, limit: int) -> None:
        """Pause at ``limit``, resume only below three quarters of it.

        The gap matters: librdkafka drops its prefetched messages on every pause, so toggling
        at a single threshold would refetch the same messages over and over.
        """
        if load >= limit:
            self.pause(True)
        elif load <= limit * 3 // 4:
            self.pause(False)

    def show_saturated(self, saturated: bool) -> None:
        """Async stages do not pause fetching when full, but operators still see it."""
        if saturated != self._saturated:
            self._saturated = saturated
            self._paused_gauge.set(1 if saturated else 0)

    def pause(self, pause: bool) -> None:
        if pause == self._paused:
            return
        assignment = self.consumer.assignment()
        if pause:
            self.consumer.pause(assignment)
        else:
            self.consumer.resume(assignment)
        self._paused = pause
        self._paused_gauge.set(1 if pause else 0)

    def show_in_flight(self, count: int) -> None:
        self._in_flight.set(count)

    # ------------------------------------------------------------------ health

    def healthy(self) -> bool:
        """Alive while the loop turns, and not stuck on one input with everything up."""
        now = time.monotonic()
        if not self.started or now - self.last_loop_at >= self.settings.liveness_timeout_s:
            return False
        return not self.failures.stuck(self.settings.liveness_timeout_s)

    def ready(self) -> bool:
        return self.healthy() and self.stage.on_ready()


def _names(partitions: list[TopicPartition]) -> list[str]:
    return [f"{topic}[{partition}]" for topic, partition in partitions]
