"""The one stream runtime every leadstream service runs on.

A service declares a :class:`Stage`: the topics it reads, the model each carries, and a
handler (plain business logic: model in, outputs out). The runtime owns everything Kafka:
polling, decoding, the DLQ, producing, committing, rebalances, backpressure and shutdown.

Delivery is at least once. An input offset becomes committable only when its handler has
finished and the broker has acknowledged every output it caused (see ``offsets.py``); a
crash therefore replays unfinished work and never drops it.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import signal
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, partial
from typing import Any, TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from pydantic import BaseModel, ValidationError

from schemas.dlq import DeadLetter
from schemas.topics import Topic
from services.common import metrics
from services.common.config import KafkaSettings, RuntimeSettings
from services.common.kafka import consumer_config, make_producer
from services.common.messages import BadInput, Output, Outputs, describe_validation_error
from services.common.offsets import OffsetTracker

log = logging.getLogger(__name__)

# Beyond this the DLQ keeps only the first bytes of a message (and says so).
DLQ_ORIGINAL_LIMIT = 8 * 1024 * 1024


MessageHandler = Callable[[Any], Outputs]
BatchHandler = Callable[[Sequence[Any]], Sequence[Outputs | BadInput]]
AsyncHandler = Callable[[Any], Awaitable[Outputs]]


@dataclass
class Stage:
    """A service's business logic and the topics it reads; exactly one handler is set.

    - ``handle``: per message, synchronous (CPU work).
    - ``handle_batch``: per poll batch, synchronous; returns one result per input, in order
      (batched lookups, one database transaction per batch).
    - ``handle_async``: per message, a coroutine; up to ``max_in_flight`` run at once and
      finish in any order (I/O work such as LLM calls).
    """

    name: str
    inputs: dict[str, type[BaseModel]]
    handle: MessageHandler | None = None
    handle_batch: BatchHandler | None = None
    handle_async: AsyncHandler | None = None
    max_message_bytes: int = 1_048_576
    on_ready: Callable[[], bool] = field(default=lambda: True)
    # Whether what the handler needs (a database, say) answers right now. A handler that keeps
    # failing while this is True is failing on the message, not on an outage, and the message
    # goes to the DLQ. None: unknown, so every failure may be an outage and is retried.
    dependencies_up: Callable[[], bool] | None = None

    def __post_init__(self) -> None:
        handlers = [self.handle, self.handle_batch, self.handle_async]
        if sum(h is not None for h in handlers) != 1:
            raise ValueError(f"stage {self.name}: set exactly one handler")


@dataclass
class _Taken:
    """A consumed message on its way through the handler."""

    msg: Message
    tp: tuple[str, int]
    offset: int
    generation: int  # the tracker's generation of tp when this was taken
    topic: str  # logical name
    value: Any = None  # the decoded model, once decoded


@dataclass
class _Delivery:
    """One output on its way to the broker, kept until acknowledged."""

    output: Output
    source: _Taken  # the input that caused it: uncommitted until this is acknowledged
    attempts: int = 0
    first_failed_at: float = 0.0
    not_before: float = 0.0  # monotonic time of the next send, after a failure


# The broker will never take a record this size on this topic as configured.
_TOO_LARGE = {KafkaError.MSG_SIZE_TOO_LARGE}
_RESEND_BACKOFF_MAX_S = 30.0
_PROBE_INTERVAL_S = 0.2


@dataclass(frozen=True)
class _GaveUp:
    """A retried call abandoned with the last error it raised."""

    error: Exception


_R = TypeVar("_R")


class _StopWhileRetrying(Exception):
    """A stop was asked for while a handler kept failing: leave its input uncommitted."""


@dataclass
class _PoisonWatch:
    """One message's failures in a row that each happened while the stage's dependencies
    answered. Any failure seen with them down starts the count again: when a database comes
    back, every message that failed during the outage fails once more "with it up" (its last
    error and the first good probe cross), and that must not add up to a verdict."""

    limit: int
    count: int = 0

    def failed(self, dependencies_up: bool) -> bool:
        self.count = self.count + 1 if dependencies_up else 0
        return self.count >= self.limit


class StreamRuntime:
    def __init__(
        self,
        stage: Stage,
        kafka: KafkaSettings | None = None,
        settings: RuntimeSettings | None = None,
        *,
        group_id: str | None = None,
    ) -> None:
        self.stage = stage
        self.kafka = kafka or KafkaSettings()
        self.settings = settings or RuntimeSettings()
        self.group_id = group_id or f"{self.kafka.group_prefix}.{stage.name}"
        self._by_physical = {self.kafka.topic(t): t for t in stage.inputs}
        self._tracker = OffsetTracker()
        self._stopping = False
        self._paused = False
        self._saturated = False
        # Fetched but not yet taken, each with the assignment epoch of its partition then.
        self._backlog: deque[tuple[Message, int]] = deque()
        # Bumped at every assignment change of a partition: backlog from an older epoch is stale.
        self._epochs: dict[tuple[str, int], int] = {}
        self._resend: list[_Delivery] = []
        self._last_commit = time.monotonic()
        self.last_loop_at = time.monotonic()
        self.started = False
        self._consumer: Consumer | None = None
        self._producer: Producer | None = None
        # Labelled metric children, looked up once: .labels() is costly on a per-message path.
        self._consumed = cache(partial(metrics.CONSUMED.labels, stage.name))
        self._produced = cache(partial(metrics.PRODUCED.labels, stage.name))
        self._handler_seconds = metrics.HANDLER_SECONDS.labels(stage.name)
        # Handler failures since the stage's last success, over every message in flight.
        self._failure_streak = 0
        self._failing_since: float | None = None
        self._probed_at, self._probed_up = -_PROBE_INTERVAL_S, False

    # ------------------------------------------------------------------ lifecycle

    def request_stop(self, *_: object) -> None:
        if not self._stopping:
            log.info("stop requested", extra={"stage": self.stage.name})
        self._stopping = True

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)

    def run(self) -> None:
        """Consume until stopped, then finish, flush, commit and leave the group."""
        self._connect()
        try:
            if self.stage.handle_async is not None:
                asyncio.run(self._run_async())
            else:
                self._run_sync()
        finally:
            self._close()

    def _connect(self) -> None:
        client_id = f"leadstream-{self.stage.name}"
        conf = consumer_config(self.kafka, self.group_id, client_id)
        conf["stats_cb"] = self._on_stats
        conf["error_cb"] = self._on_client_error
        conf["on_commit"] = self._on_commit
        self._consumer = Consumer(conf)
        self._producer = make_producer(self.kafka, client_id)
        self._consumer.subscribe(
            list(self._by_physical),
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )
        self.started = True

    def _close(self) -> None:
        consumer, producer = self._require()
        self._drain_producer(self.settings.shutdown_timeout_s)
        self._commit(sync=True)
        consumer.close()  # leaves the group so partitions move at once
        metrics.IN_FLIGHT.labels(self.stage.name).set(0)
        log.info("stopped", extra={"stage": self.stage.name})
        del producer

    def _require(self) -> tuple[Consumer, Producer]:
        if self._consumer is None or self._producer is None:
            raise RuntimeError("runtime not connected")
        return self._consumer, self._producer

    # ------------------------------------------------------------------ synchronous stages

    def _run_sync(self) -> None:
        _, producer = self._require()
        while not self._stopping:
            self.last_loop_at = time.monotonic()
            producer.poll(0)
            self._resend_failed()
            self._backpressure(self._tracker.unfinished, self.settings.max_unacked)
            batch = self._take(self.settings.batch_size, timeout=0.2)
            if batch:
                try:
                    self._process_sync(batch)
                except _StopWhileRetrying:
                    log.warning("stopped while retrying; unfinished input is redone on restart")
                    break
            self._maybe_commit()
            metrics.IN_FLIGHT.labels(self.stage.name).set(self._tracker.unfinished)

    def _process_sync(self, batch: list[_Taken]) -> None:
        if self.stage.handle_batch is not None:
            self._process_batch(self.stage.handle_batch, batch)
            return
        handle = self.stage.handle
        assert handle is not None
        for taken in batch:
            self._finish(taken, self._handle_one(partial(_guard, handle, taken.value), taken))

    def _process_batch(self, handle_batch: BatchHandler, batch: list[_Taken]) -> None:
        """The whole batch while it works; through an outage, the whole batch again; but when
        it fails with the dependencies up, each message alone, so one poison message is sent
        to the DLQ instead of holding every message behind it for ever."""
        values = [t.value for t in batch]
        results = self._retrying(
            partial(_handle_all, handle_batch, values), None, give_up=self._dependencies_up
        )
        if not isinstance(results, _GaveUp):
            for taken, result in zip(batch, results, strict=True):
                self._finish(taken, result)
            return
        log.warning(
            "batch failed with its dependencies up: handling its messages one at a time",
            extra={"stage": self.stage.name, "messages": len(batch)},
        )
        for taken in batch:
            call = partial(_handle_alone, handle_batch, taken.value)
            self._finish(taken, self._handle_one(call, taken))

    def _handle_one(
        self, call: Callable[[], Outputs | BadInput], taken: _Taken
    ) -> Outputs | BadInput:
        """One message until it succeeds; failing ``poison_attempts`` times in a row while the
        dependencies answer is the message's fault, and it goes to the DLQ with the error."""
        permit_key = _key_of(taken.value)
        poison = self._poison_watch(taken)
        result = self._retrying(
            call, permit_key, give_up=lambda: poison.failed(self._dependencies_up())
        )
        if isinstance(result, _GaveUp):
            return self._poisoned(result.error, poison.count, permit_key)
        return result

    def _retrying(
        self, call: Callable[[], _R], permit_key: str | None, *, give_up: Callable[[], bool]
    ) -> _R | _GaveUp:
        """Run ``call`` until it succeeds, retrying errors with backoff (an outage ends), or
        until ``give_up`` says so after a failure."""
        delay, failures = 0.1, 0
        while True:
            started = time.perf_counter()
            try:
                result = call()
            except Exception as exc:
                failures += 1
                self._handler_failed(exc, failures, delay, permit_key)
                if self._stopping:
                    raise _StopWhileRetrying from exc
                if give_up():
                    return _GaveUp(exc)
                self._idle(delay)
                delay = min(delay * 2, self.settings.retry_backoff_max_s)
                continue
            self._handler_seconds.observe(time.perf_counter() - started)
            self._handler_succeeded(permit_key)
            return result

    def _poison_watch(self, taken: _Taken) -> _PoisonWatch:
        # A DLQ record dead-lettered again would come straight back to the store, for ever:
        # one that keeps failing waits instead (and /healthz says the stage is stuck).
        never = taken.topic == Topic.DLQ.value
        return _PoisonWatch(sys.maxsize if never else self.settings.poison_attempts)

    def _dependencies_up(self) -> bool:
        """The stage's probe, asked at most every 0.2 s: 200 messages failing at once through
        an outage must not become 200 probes of the database that is down."""
        probe = self.stage.dependencies_up
        if probe is None:
            return False
        now = time.monotonic()
        if now - self._probed_at < _PROBE_INTERVAL_S:
            return self._probed_up
        try:
            up = bool(probe())
        except Exception:
            up = False
        self._probed_at, self._probed_up = time.monotonic(), up
        return up

    def _poisoned(self, exc: Exception, failures: int, permit_key: str | None) -> BadInput:
        log.error(
            "handler keeps failing on one message while its dependencies are up: DLQ",
            extra={"permit_key": permit_key, "attempts": failures, "error": _one_line(exc)},
        )
        metrics.HANDLER_POISONED.labels(self.stage.name).inc()
        self._failure_streak, self._failing_since = 0, None  # the stage moves on: progress
        return BadInput(
            f"the {self.stage.name} stage failed on this message {failures} times while its "
            f"dependencies were up: {_one_line(exc)}"
        )

    def _handler_failed(
        self, exc: Exception, attempt: int, delay: float, permit_key: str | None
    ) -> None:
        """The first failure since the stage's last success with its traceback, every other one
        in a line: an outage with 200 messages in flight must not bury the log in tracebacks."""
        metrics.HANDLER_ERRORS.labels(self.stage.name).inc()
        extra = {"permit_key": permit_key, "attempt": attempt, "retry_in_s": round(delay, 2)}
        if self._failure_streak == 0:
            self._failing_since = time.monotonic()
            log.error("handler failed, retrying", exc_info=exc, extra=extra)
        else:
            log.warning("handler still failing, retrying", extra={**extra, "error": _one_line(exc)})
        self._failure_streak += 1

    def _handler_succeeded(self, permit_key: str | None) -> None:
        if self._failure_streak:
            log.info(
                "handler recovered",
                extra={"permit_key": permit_key, "failed_attempts": self._failure_streak},
            )
            self._failure_streak = 0
        self._failing_since = None

    def _idle(self, seconds: float) -> None:
        """Wait without fetching, but keep polling so the group does not evict us."""
        _, producer = self._require()
        self._pause(True)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.last_loop_at = time.monotonic()
            producer.poll(0)
            self._resend_failed()
            self._keep_polling(min(0.2, deadline - time.monotonic()))
        self._pause(False)

    def _keep_polling(self, timeout: float = 0, limit: int | None = None) -> None:
        """Poll without taking work; anything fetched waits in the backlog, in order."""
        consumer, _ = self._require()
        self._backlog.extend(self._poll(consumer, timeout, limit))

    # ------------------------------------------------------------------ asynchronous stages

    async def _run_async(self) -> None:
        _, producer = self._require()
        handle = self.stage.handle_async
        assert handle is not None
        running: dict[asyncio.Task[Outputs | BadInput], _Taken] = {}
        limit = self.settings.max_in_flight
        last_poll = time.monotonic()
        while not self._stopping:
            self.last_loop_at = time.monotonic()
            producer.poll(0)
            self._resend_failed()
            room = max(0, limit - len(running))
            # Finished work whose outputs the broker has not taken counts too: a topic that
            # refuses records must stall intake, not grow memory.
            if self._tracker.unfinished - len(running) >= self.settings.max_unacked:
                room = 0
            self._show_backpressure(room == 0)
            taken: list[_Taken] = []
            if room:
                # Block briefly only when idle; with work in flight the loop must keep turning.
                taken = self._take(room, timeout=0 if running else 0.1)
                last_poll = time.monotonic()
            elif time.monotonic() - last_poll >= 1.0:
                # Full (e.g. the LLM's circuit is open): no pause/resume, which would make
                # librdkafka drop and refetch its prefetched messages each time; a poll a second
                # keeps the group from evicting us and adds at most one message to the backlog.
                self._keep_polling(limit=1)
                last_poll = time.monotonic()
            for item in taken:
                running[asyncio.create_task(self._call_async(handle, item))] = item
            if running:
                done, _ = await asyncio.wait(
                    running, timeout=0.005, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    self._finish(running.pop(task), task.result())
            else:
                await asyncio.sleep(0.005 if self._resend else 0)
            self._maybe_commit()
            metrics.IN_FLIGHT.labels(self.stage.name).set(len(running))
        await self._finish_in_flight(running)

    async def _call_async(self, handle: AsyncHandler, taken: _Taken) -> Outputs | BadInput:
        value = taken.value
        delay, failures = 0.1, 0
        poison = self._poison_watch(taken)
        while True:
            started = time.perf_counter()
            try:
                result = await handle(value)
            except BadInput as exc:
                return exc
            except Exception as exc:
                failures += 1
                self._handler_failed(exc, failures, delay, _key_of(value))
                if poison.failed(await asyncio.to_thread(self._dependencies_up)):
                    return self._poisoned(exc, poison.count, _key_of(value))
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.retry_backoff_max_s)
                continue
            self._handler_seconds.observe(time.perf_counter() - started)
            self._handler_succeeded(_key_of(value))
            return result

    async def _finish_in_flight(self, running: dict[asyncio.Task[Any], _Taken]) -> None:
        """On stop: give in-flight work a deadline; what misses it is redone after restart."""
        if not running:
            return
        done, pending = await asyncio.wait(running, timeout=self.settings.shutdown_timeout_s)
        for task in done:
            self._finish(running.pop(task), task.result())
        for task in pending:
            task.cancel()
        if pending:
            log.warning("abandoned in-flight messages at shutdown", extra={"count": len(pending)})
            await asyncio.gather(*pending, return_exceptions=True)

    # ------------------------------------------------------------------ taking messages

    def _take(self, limit: int, timeout: float) -> list[_Taken]:
        """Up to ``limit`` messages, oldest first. The poll comes before the backlog is read,
        even when the backlog alone would fill the batch: it is where librdkafka reports a
        revoked or lost partition, whose backlog is then someone else's work."""
        consumer, _ = self._require()
        want = max(1, limit - len(self._backlog))
        self._backlog.extend(self._poll(consumer, 0 if self._backlog else timeout, want))
        taken: list[_Taken] = []
        while self._backlog and len(taken) < limit:
            msg, epoch = self._backlog.popleft()
            if self._epochs.get((msg.topic() or "", msg.partition() or 0)) != epoch:
                continue  # fetched under an assignment that has ended since
            item = self._decode(msg)
            if item is not None:
                taken.append(item)
        return taken

    def _poll(
        self, consumer: Consumer, timeout: float, limit: int | None = None
    ) -> list[tuple[Message, int]]:
        msgs = consumer.consume(limit or self.settings.batch_size, timeout=max(timeout, 0))
        good = []
        for msg in msgs:
            err = msg.error()
            if err is None:
                tp = (msg.topic() or "", msg.partition() or 0)
                good.append((msg, self._epochs.get(tp, 0)))
            elif err.code() == KafkaError._MAX_POLL_EXCEEDED:
                # This member has left the group; librdkafka reports the partitions lost only
                # on a later poll, and until then the backlog must not be taken as ours.
                log.warning("left the group: max.poll.interval.ms exceeded")
                self._forget(consumer.assignment())
            elif err.code() != KafkaError._PARTITION_EOF:
                log.warning("consumer error", extra={"error": str(err)})
                if err.fatal():
                    raise RuntimeError(f"fatal consumer error: {err}")
        return good

    def _decode(self, msg: Message) -> _Taken | None:
        """Track the message and decode it; undecodable input goes to the DLQ at once."""
        physical = msg.topic() or ""
        topic = self._by_physical.get(physical, physical)
        tp = (physical, msg.partition() or 0)
        offset = msg.offset() or 0
        generation = self._tracker.add(tp, offset)
        item = _Taken(msg=msg, tp=tp, offset=offset, generation=generation, topic=topic)
        self._consumed(topic).inc()
        try:
            item.value = decode(self.stage, topic, msg.value())
        except BadInput as exc:
            self._finish(item, exc)
            return None
        return item

    # ------------------------------------------------------------------ producing

    def _finish(self, item: _Taken, result: Outputs | BadInput) -> None:
        outputs = [self._dead_letter(item, str(result))] if isinstance(result, BadInput) else result
        for output in outputs:
            if self._tracker.output_sent(item.tp, item.offset, item.generation):
                self._produce(_Delivery(output, item))
        self._tracker.seal(item.tp, item.offset, item.generation)

    def _dead_letter(self, item: _Taken, reason: str) -> Output:
        raw_key = item.msg.key()
        output = dead_letter(
            self.stage.name, item.topic, item.tp[1], item.offset, raw_key, item.msg.value(), reason
        )
        log.warning(
            "rejected to DLQ",
            extra={
                "permit_key": output.key,
                "reason": reason,
                "topic": item.topic,
                "offset": item.offset,
            },
        )
        return output

    def _produce(self, delivery: _Delivery) -> None:
        """Send one output; its input's tracker entry already counts it as outstanding and
        keeps counting it until the broker acknowledges it (or it is replaced by a DLQ
        record), so a failed delivery can never let the input be committed."""
        _, producer = self._require()
        output, source = delivery.output, delivery.source
        payload = output.value.model_dump_json(exclude_none=False).encode("utf-8")

        def on_delivery(err: KafkaError | None, _msg: Message) -> None:
            if err is None:
                self._produced(output.topic).inc()
                self._tracker.output_acked(source.tp, source.offset, source.generation)
            elif err.fatal():
                raise RuntimeError(f"fatal producer error: {err}")
            else:
                self._delivery_failed(delivery, err)

        while True:
            try:
                producer.produce(
                    self.kafka.topic(output.topic),
                    payload,
                    output.key.encode("utf-8"),
                    on_delivery=on_delivery,
                )
                return
            except BufferError:
                producer.poll(0.1)  # local queue full: let deliveries drain
            except KafkaException as exc:  # refused before sending, e.g. over message.max.bytes
                self._delivery_failed(delivery, exc.args[0])
                return

    def _delivery_failed(self, delivery: _Delivery, err: KafkaError) -> None:
        """The broker did not take an output: send it again later, or, when it never will
        (too large for the topic), send something that loses nothing in its place."""
        now = time.monotonic()
        delivery.attempts += 1
        if delivery.attempts == 1:
            delivery.first_failed_at = now
        output, source = delivery.output, delivery.source
        too_large = err.code() in _TOO_LARGE
        if too_large and output.topic != Topic.DLQ.value:
            # The input goes to the DLQ whole, with the broker's reason; replayable once the
            # topic takes records this size.
            reason = f"output to {output.topic} refused by the broker: {err.str()}"
            letter = self._dead_letter(source, reason)
            if self._tracker.output_sent(source.tp, source.offset, source.generation):
                self._resend.append(_Delivery(letter, source))
            self._tracker.output_acked(source.tp, source.offset, source.generation)
            return
        if too_large and now - delivery.first_failed_at >= self.settings.refused_record_grace_s:
            delivery.output = _halve_original(output, err.str())
        delivery.not_before = now + min(0.5 * 2 ** (delivery.attempts - 1), _RESEND_BACKOFF_MAX_S)
        if delivery.attempts == 1 or delivery.attempts % 10 == 0:
            log.warning(
                "delivery failed; its input stays uncommitted until it is sent",
                extra={
                    "error": err.str(),
                    "topic": output.topic,
                    "permit_key": output.key,
                    "attempt": delivery.attempts,
                },
            )
        metrics.DELIVERY_FAILURES.labels(self.stage.name, output.topic).inc()
        self._resend.append(delivery)

    def _resend_failed(self) -> None:
        if not self._resend:
            return
        now = time.monotonic()
        due = [d for d in self._resend if d.not_before <= now]
        if not due:
            return
        self._resend = [d for d in self._resend if d.not_before > now]
        for delivery in due:
            source = delivery.source
            # A revoked partition's input is redone by its next owner.
            if self._tracker.is_pending(source.tp, source.offset, source.generation):
                self._produce(delivery)

    def _drain_producer(self, timeout_s: float) -> None:
        _, producer = self._require()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            remaining = producer.flush(min(1.0, max(0.0, deadline - time.monotonic())))
            self._resend_failed()
            if remaining == 0 and not self._resend:
                return
            if remaining == 0:
                time.sleep(0.05)  # only resends waiting for their backoff
        log.warning("shutdown deadline passed with undelivered outputs; they are redone later")

    # ------------------------------------------------------------------ committing

    def _maybe_commit(self) -> None:
        if time.monotonic() - self._last_commit >= self.settings.commit_interval_s:
            self._commit(sync=False)

    def _commit(self, *, sync: bool, only: list[tuple[str, int]] | None = None) -> None:
        consumer, _ = self._require()
        self._last_commit = time.monotonic()
        offsets = self._tracker.to_commit(only)
        if not offsets:
            return
        partitions = [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
        try:
            if sync:
                consumer.commit(offsets=partitions, asynchronous=False)
            else:
                consumer.commit(offsets=partitions, asynchronous=True)
        except Exception as exc:  # a failed commit only means more replay after a crash
            log.warning("commit failed", extra={"error": str(exc)})
            return
        self._tracker.committed(offsets)

    # ------------------------------------------------------------------ rebalance & backpressure

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("partitions assigned", extra={"partitions": _names(partitions)})
        self._new_epoch(partitions)
        if self._paused:
            consumer.pause(partitions)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        tps = [(p.topic, p.partition) for p in partitions]
        log.info("partitions revoked", extra={"partitions": _names(partitions)})
        self._drain_producer(min(10.0, self.settings.shutdown_timeout_s))
        self._commit(sync=True, only=tps)
        self._forget(partitions)

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Another member may own these already: commit nothing for them, forget their work."""
        log.warning("partitions lost", extra={"partitions": _names(partitions)})
        self._forget(partitions)

    def _forget(self, partitions: list[TopicPartition]) -> None:
        tps = [(p.topic, p.partition) for p in partitions]
        self._tracker.drop(tps)
        self._new_epoch(partitions)
        gone = set(tps)
        # In place, never a new deque: librdkafka runs the rebalance callbacks from inside
        # consumer.consume(), while _take and _keep_polling already hold self._backlog to
        # extend with what that same call returns, the records just fetched for the partitions
        # this member keeps. A rebound backlog left them in a deque nobody read: they were
        # never handled and the next records' commits passed them (docs/reliability.md).
        kept = [(m, e) for m, e in self._backlog if (m.topic(), m.partition()) not in gone]
        self._backlog.clear()
        self._backlog.extend(kept)
        self._resend = [d for d in self._resend if d.source.tp not in gone]

    def _new_epoch(self, partitions: list[TopicPartition]) -> None:
        for p in partitions:
            tp = (p.topic, p.partition)
            self._epochs[tp] = self._epochs.get(tp, 0) + 1

    def _backpressure(self, load: int, limit: int) -> None:
        """Pause at ``limit``, resume only below three quarters of it.

        The gap matters: librdkafka drops its prefetched messages on every pause, so toggling
        at a single threshold would refetch the same messages over and over.
        """
        if load >= limit:
            self._pause(True)
        elif load <= limit * 3 // 4:
            self._pause(False)

    def _show_backpressure(self, saturated: bool) -> None:
        """Async stages do not pause fetching when full, but operators still see it."""
        if saturated != self._saturated:
            self._saturated = saturated
            metrics.PAUSED.labels(self.stage.name).set(1 if saturated else 0)

    def _pause(self, pause: bool) -> None:
        if pause == self._paused:
            return
        consumer, _ = self._require()
        assignment = consumer.assignment()
        if pause:
            consumer.pause(assignment)
        else:
            consumer.resume(assignment)
        self._paused = pause
        metrics.PAUSED.labels(self.stage.name).set(1 if pause else 0)

    # ------------------------------------------------------------------ client callbacks

    def _on_stats(self, stats_json: str) -> None:
        import json

        stats = json.loads(stats_json)
        for physical, topic_stats in stats.get("topics", {}).items():
            logical = self._by_physical.get(physical)
            if logical is None:
                continue
            for pid, part in topic_stats.get("partitions", {}).items():
                lag = part.get("consumer_lag", -1)
                if pid != "-1" and lag >= 0:
                    metrics.CONSUMER_LAG.labels(self.stage.name, logical, pid).set(lag)

    def _on_commit(self, err: KafkaError | None, partitions: list[TopicPartition]) -> None:
        """An asynchronous commit can fail (e.g. during a rebalance) after the tracker took
        it as done; unless offered again, an idle partition's lag would never reach zero."""
        failed = partitions if err is not None else [p for p in partitions if p.error]
        if not failed:
            return
        log.warning(
            "commit failed, committing again",
            extra={"error": str(err or failed[0].error), "partitions": _names(failed)},
        )
        self._tracker.commit_failed([(p.topic, p.partition) for p in failed])

    def _on_client_error(self, err: KafkaError) -> None:
        log.warning("kafka client error", extra={"error": str(err)})

    # ------------------------------------------------------------------ health

    def healthy(self) -> bool:
        """Alive while the loop turns, and not stuck: a handler failing for longer than the
        liveness timeout while the stage's dependencies answer is stuck on something a restart
        may clear; while they do not answer it is an outage, which a restart cannot fix."""
        now = time.monotonic()
        if not self.started or now - self.last_loop_at >= self.settings.liveness_timeout_s:
            return False
        failing_since = self._failing_since
        if failing_since is not None and now - failing_since >= self.settings.liveness_timeout_s:
            return not self._dependencies_up()
        return True

    def ready(self) -> bool:
        return self.healthy() and self.stage.on_ready()


def _guard(handle: MessageHandler, value: Any) -> Outputs | BadInput:
    try:
        return handle(value)
    except BadInput as exc:
        return exc


def _handle_all(handle_batch: BatchHandler, values: list[Any]) -> Sequence[Outputs | BadInput]:
    results = handle_batch(values)
    if len(results) != len(values):
        raise RuntimeError("batch handler returned a wrong count")
    return results


def _handle_alone(handle_batch: BatchHandler, value: Any) -> Outputs | BadInput:
    try:
        return _handle_all(handle_batch, [value])[0]
    except BadInput as exc:
        return exc


def _halve_original(output: Output, broker_error: str) -> Output:
    """A DLQ record the broker keeps refusing as too large: keep the reason and the source
    coordinates (the full original is still in the source topic), and half the bytes."""
    letter = output.value
    assert isinstance(letter, DeadLetter)
    original = letter.original
    kept = original[: len(original) // 2]
    note = (
        f" [original cut to {len(kept):,} bytes: the DLQ topic refused the record: {broker_error}]"
    )
    updated = letter.model_copy(
        update={
            "original_b64": base64.b64encode(kept).decode("ascii"),
            "original_truncated": True,
            "error": letter.error.split(" [original cut to ")[0][: 4000 - len(note)] + note,
        }
    )
    return Output(output.topic, output.key, updated)


def decode(stage: Stage, topic: str, value: bytes | None) -> BaseModel:
    """Bytes of ``topic`` → its model, or BadInput with a reason a scraper author can act on."""
    if value is None:
        raise BadInput("empty message (no value)")
    if len(value) > stage.max_message_bytes:
        raise BadInput(
            f"message is {len(value):,} bytes, over the {stage.max_message_bytes:,} byte limit"
        )
    try:
        value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"not UTF-8: {exc}") from exc
    try:
        return stage.inputs[topic].model_validate_json(value)
    except ValidationError as exc:
        raise BadInput(describe_validation_error(exc)) from exc


def dead_letter(
    stage: str,
    topic: str,
    partition: int,
    offset: int,
    raw_key: bytes | None,
    value: bytes | None,
    reason: str,
) -> Output:
    """The DLQ record for an input: the reason plus the original bytes, so nothing is lost."""
    original = value or b""
    try:
        key = raw_key.decode("utf-8") if raw_key is not None else None
    except UnicodeDecodeError:
        key = None
    metrics.DLQ.labels(stage, topic).inc()
    record = DeadLetter(
        error=reason[:4000],
        stage=stage,
        source_topic=topic,
        source_partition=partition,
        source_offset=offset,
        key=key,
        original_b64=base64.b64encode(original[:DLQ_ORIGINAL_LIMIT]).decode("ascii"),
        original_truncated=len(original) > DLQ_ORIGINAL_LIMIT,
        failed_at=datetime.now(UTC),
    )
    # Unkeyed input is keyed by its source position: the DLQ is an audit log, not a permit stream.
    return Output(Topic.DLQ.value, key or f"{topic}:{partition}:{offset}", record)


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _key_of(value: Any) -> str | None:
    """The permit key of a decoded message, for logs (every topic model has ``key``)."""
    key = getattr(value, "key", None)
    return key if isinstance(key, str) else None


def _names(partitions: list[TopicPartition]) -> list[str]:
    return [f"{p.topic}[{p.partition}]" for p in partitions]
