"""The Kafka port: the few consumer and producer operations the stream runtime needs.

The runtime is written against these protocols only. ``confluent.py`` adapts
confluent-kafka to them for production; ``local_broker.py`` is an in-memory broker with the
same semantics (partitions, consumer groups, committed offsets, delivery reports) that the
embedded demo and the runtime's fast tests use, so both run exactly the production loop.

The shapes follow confluent-kafka's where that costs nothing: a record has ``topic()``,
``offset()``, ... methods and a delivery report is ``(error, record)``, so the confluent
adapter hands librdkafka's own objects through without a per-message wrapper.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

TopicPartition = tuple[str, int]

# Kafka's error code for "this record is larger than the topic or broker accepts"
# (librdkafka: RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE).
MSG_SIZE_TOO_LARGE = 10


class Record(Protocol):
    """A consumed (or delivered) record."""

    def topic(self) -> str | None: ...
    def partition(self) -> int | None: ...
    def offset(self) -> int | None: ...
    def key(self) -> bytes | None: ...
    def value(self) -> bytes | None: ...


class DeliveryError(Protocol):
    """Why the broker did not take a record."""

    def code(self) -> int: ...
    def str(self) -> str: ...
    def fatal(self) -> bool: ...


DeliveryReport = Callable[[DeliveryError | None, Record], None]


class RecordRefused(Exception):
    """The client refused a record before sending it (e.g. over its size limit)."""

    def __init__(self, error: DeliveryError) -> None:
        super().__init__(error.str())
        self.error = error


class ConsumerEvents(Protocol):
    """What the runtime is told about its group membership and progress, from inside
    ``consume``."""

    def assigned(self, partitions: list[TopicPartition]) -> None: ...
    def revoked(self, partitions: list[TopicPartition]) -> None: ...
    def lost(self, partitions: list[TopicPartition]) -> None: ...
    def commit_failed(self, partitions: list[TopicPartition], error: str) -> None: ...
    def lag(self, partition: TopicPartition, records: int) -> None: ...


class Consumer(Protocol):
    def subscribe(self, topics: Sequence[str], events: ConsumerEvents) -> None: ...

    def consume(self, limit: int, timeout: float) -> Sequence[Record]:
        """Up to ``limit`` records of assigned partitions, in order per partition. Client
        errors are the adapter's: it logs them, reports a partition it no longer owns through
        ``ConsumerEvents.lost`` and raises only on a fatal one."""
        ...

    def commit(self, offsets: Mapping[TopicPartition, int], *, wait: bool) -> None: ...
    def pause(self, partitions: list[TopicPartition]) -> None: ...
    def resume(self, partitions: list[TopicPartition]) -> None: ...
    def assignment(self) -> list[TopicPartition]: ...
    def close(self) -> None: ...


class Producer(Protocol):
    def produce(self, topic: str, value: bytes, key: bytes, on_delivery: DeliveryReport) -> None:
        """Queue one record; waits while the local queue is full; ``RecordRefused`` when the
        client will not send it at all. ``on_delivery`` runs later, from ``poll``/``flush``."""
        ...

    def poll(self, timeout: float) -> None: ...

    def flush(self, timeout: float) -> int:
        """Wait for outstanding deliveries; returns how many are still outstanding."""
        ...


class Broker(Protocol):
    """Makes the clients of one stage process."""

    def consumer(self, group_id: str, client_id: str) -> Consumer: ...
    def producer(self, client_id: str) -> Producer: ...
    def topic(self, name: str) -> str:
        """The physical name of a logical topic (a prefix per environment or test)."""
        ...
