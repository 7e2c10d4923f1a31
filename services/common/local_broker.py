"""An in-memory broker behind the Kafka port: partitions, consumer groups, committed offsets,
pause/resume and delivery reports, in one process.

The embedded demo runs every stage's production loop on it, and the runtime's fast tests use
it. Like librdkafka, delivery reports are served from ``poll``/``flush`` and rebalance events
from ``consume``; a group's partitions are spread over its members (all of them move when a
member joins or leaves). It keeps everything: a demo or a test is small.
"""

from __future__ import annotations

import threading
import zlib
from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from services.common.port import (
    MSG_SIZE_TOO_LARGE,
    ConsumerEvents,
    DeliveryReport,
    Record,
    RecordRefused,
    TopicPartition,
)


class LocalRecord:
    __slots__ = ("_key", "_offset", "_partition", "_topic", "_value")

    def __init__(self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes):
        self._topic, self._partition, self._offset = topic, partition, offset
        self._key, self._value = key, value

    def topic(self) -> str | None:
        return self._topic

    def partition(self) -> int | None:
        return self._partition

    def offset(self) -> int | None:
        return self._offset

    def key(self) -> bytes | None:
        return self._key

    def value(self) -> bytes | None:
        return self._value


@dataclass(frozen=True)
class LocalError:
    _code: int
    reason: str

    def code(self) -> int:
        return self._code

    def str(self) -> str:
        return self.reason

    def fatal(self) -> bool:
        return False


@dataclass
class _Group:
    members: list[LocalConsumer] = field(default_factory=list)
    committed: dict[TopicPartition, int] = field(default_factory=dict)


class LocalBroker:
    def __init__(self, partitions: int = 1, max_message_bytes: int = 16 * 1024 * 1024) -> None:
        self.partitions = partitions
        self.max_message_bytes = max_message_bytes
        self.topic_limits: dict[str, int] = {}  # per-topic max.message.bytes
        self._logs: dict[str, list[list[LocalRecord]]] = {}
        self._groups: dict[str, _Group] = defaultdict(_Group)
        self._lock = threading.RLock()
        self._arrived = threading.Condition(self._lock)

    # ---------------------------------------------------------------- the port's Broker

    def consumer(self, group_id: str, client_id: str) -> LocalConsumer:
        return LocalConsumer(self, group_id)

    def producer(self, client_id: str) -> LocalProducer:
        return LocalProducer(self)

    def topic(self, name: str) -> str:
        return name

    # ---------------------------------------------------------------- what the demo and tests ask

    def append(self, topic: str, key: bytes | None, value: bytes) -> LocalRecord:
        with self._lock:
            parts = self._partitions(topic)
            index = zlib.crc32(key) % len(parts) if key is not None else 0
            log = parts[index]
            record = LocalRecord(topic, index, len(log), key, value)
            log.append(record)
            self._arrived.notify_all()
            return record

    def records(self, topic: str) -> list[LocalRecord]:
        with self._lock:
            return [r for log in self._partitions(topic) for r in log]

    def caught_up(self, group_id: str, topics: Sequence[str]) -> bool:
        """The group has committed everything on ``topics``."""
        with self._lock:
            committed = self._groups[group_id].committed
            return all(
                committed.get((topic, i), 0) >= len(log)
                for topic in topics
                for i, log in enumerate(self._partitions(topic))
            )

    # ---------------------------------------------------------------- internals

    def _partitions(self, topic: str) -> list[list[LocalRecord]]:
        parts = self._logs.get(topic)
        if parts is None:
            parts = self._logs[topic] = [[] for _ in range(self.partitions)]
        return parts

    def _join(self, member: LocalConsumer) -> None:
        with self._lock:
            group = self._groups[member.group_id]
            group.members.append(member)
            self._rebalance(group)

    def _leave(self, member: LocalConsumer) -> None:
        with self._lock:
            group = self._groups[member.group_id]
            if member in group.members:
                group.members.remove(member)
                self._rebalance(group)

    def _rebalance(self, group: _Group) -> None:
        """Every partition of every subscribed topic, dealt round-robin over the members."""
        topics = sorted({t for m in group.members for t in m.topics})
        tps = [(t, i) for t in topics for i in range(len(self._partitions(t)))]
        shares: dict[int, list[TopicPartition]] = {id(m): [] for m in group.members}
        for n, tp in enumerate(tps):
            shares[id(group.members[n % len(group.members)])].append(tp)
        for member in group.members:
            member.pending_assignment = shares[id(member)]
        self._arrived.notify_all()


class LocalConsumer:
    def __init__(self, broker: LocalBroker, group_id: str) -> None:
        self.broker = broker
        self.group_id = group_id
        self.topics: list[str] = []
        self.pending_assignment: list[TopicPartition] | None = None
        self._events: ConsumerEvents | None = None
        self._positions: dict[TopicPartition, int] = {}
        self._paused: set[TopicPartition] = set()

    def subscribe(self, topics: Sequence[str], events: ConsumerEvents) -> None:
        self.topics, self._events = list(topics), events
        self.broker._join(self)

    def consume(self, limit: int, timeout: float) -> list[Record]:
        broker = self.broker
        with broker._arrived:
            self._apply_rebalance()
            records = self._fetch(limit)
            if not records and timeout > 0:
                broker._arrived.wait(timeout)
                self._apply_rebalance()
                records = self._fetch(limit)
            return records

    def _apply_rebalance(self) -> None:
        new = self.pending_assignment
        if new is None or self._events is None:
            return
        self.pending_assignment = None
        old = list(self._positions)
        if old:
            self._events.revoked(old)
            self._positions.clear()
        committed = self.broker._groups[self.group_id].committed
        self._positions = {tp: committed.get(tp, 0) for tp in new}
        self._events.assigned(list(new))

    def _fetch(self, limit: int) -> list[Record]:
        out: list[Record] = []
        for tp, position in self._positions.items():
            if tp in self._paused or len(out) >= limit:
                continue
            log = self.broker._partitions(tp[0])[tp[1]]
            batch = log[position : position + limit - len(out)]
            out.extend(batch)
            self._positions[tp] = position + len(batch)
        return out

    def commit(self, offsets: Mapping[TopicPartition, int], *, wait: bool) -> None:
        with self.broker._lock:
            self.broker._groups[self.group_id].committed.update(offsets)

    def pause(self, partitions: list[TopicPartition]) -> None:
        self._paused.update(partitions)

    def resume(self, partitions: list[TopicPartition]) -> None:
        self._paused.difference_update(partitions)

    def assignment(self) -> list[TopicPartition]:
        return list(self._positions)

    def close(self) -> None:
        self.broker._leave(self)
        self._positions.clear()


class LocalProducer:
    def __init__(self, broker: LocalBroker) -> None:
        self.broker = broker
        self._reports: deque[tuple[DeliveryReport, LocalRecord, LocalError | None]] = deque()

    def produce(self, topic: str, value: bytes, key: bytes, on_delivery: DeliveryReport) -> None:
        if len(value) > self.broker.max_message_bytes:
            reason = f"{len(value):,} bytes is over the client's limit"
            raise RecordRefused(LocalError(MSG_SIZE_TOO_LARGE, reason))
        limit = self.broker.topic_limits.get(topic)
        if limit is not None and len(value) > limit:
            error = LocalError(MSG_SIZE_TOO_LARGE, f"Broker: Message size too large ({topic})")
            self._reports.append((on_delivery, LocalRecord(topic, 0, -1, key, value), error))
            return
        self._reports.append((on_delivery, self.broker.append(topic, key, value), None))

    def poll(self, timeout: float) -> None:
        while self._reports:
            report, record, error = self._reports.popleft()
            report(error, record)

    def flush(self, timeout: float) -> int:
        self.poll(0)
        return 0
