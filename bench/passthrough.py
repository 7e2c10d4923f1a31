"""The Python ceiling: a bare consume→produce loop on the same broker, no runtime, no parsing.

Every stage benchmark reports its throughput as a ratio of this, measured in the same run,
because this shared 2-core machine is too noisy for absolute numbers to mean much.
"""

from __future__ import annotations

import hashlib
import statistics
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from confluent_kafka import TIMESTAMP_LOG_APPEND_TIME, Consumer, Producer, TopicPartition
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ResourceType,
)

from services.common.config import KafkaSettings
from services.common.kafka import create_topics, producer_config


def fresh_settings(bootstrap: str, partitions: int = 4) -> KafkaSettings:
    settings = KafkaSettings(
        bootstrap_servers=bootstrap,
        topic_prefix=f"bench{uuid.uuid4().hex[:8]}.",
        partitions=partitions,
        group_prefix=f"bench{uuid.uuid4().hex[:8]}",
    )
    create_topics(settings)
    return settings


def load(settings: KafkaSettings, topic: str, records: Iterable[tuple[str, bytes]]) -> int:
    producer = Producer(producer_config(settings, "bench-loader"))
    count = 0
    for key, value in records:
        while True:
            try:
                producer.produce(settings.topic(topic), value, key.encode())
                break
            except BufferError:
                producer.poll(0.05)
        count += 1
    producer.flush(60)
    return count


@dataclass(frozen=True)
class Arrived:
    """What a contender wrote: its rate (broker timestamps) and a digest of its records."""

    rate: float
    digest: str  # over (logical topic, key, value), in any order
    append_stamped: bool  # every record carried the broker's append time, not a producer's


def wait_for_outputs(
    settings: KafkaSettings,
    topics: Iterable[str],
    expect: int,
    timeout_s: float = 300,
    still_running: Callable[[], bool] = lambda: True,
) -> None:
    """Wait until ``topics`` (physical names) hold ``expect`` records between them.

    Only the partitions' end offsets are asked for, twice a second, so a contender running
    in this process is not slowed by a reader taking the GIL from it. ``still_running``
    false gives up at once (a contender that died will write nothing more).
    """
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": "unused"})
    try:
        metadata = consumer.list_topics(timeout=30).topics
        partitions = [TopicPartition(t, p) for t in topics for p in metadata[t].partitions]
        deadline = time.monotonic() + timeout_s
        while True:
            held = sum(consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in partitions)
            if held >= expect:
                return
            if time.monotonic() > deadline or not still_running():
                raise RuntimeError(f"only {held} of {expect} messages arrived on {sorted(topics)}")
            time.sleep(0.5)
    finally:
        consumer.close()


def read_outputs(settings: KafkaSettings, topics: Mapping[str, str], expect: int) -> Arrived:
    """Read the ``expect`` records already on ``topics`` (physical name → logical name).

    The rate is messages/s between the first and last record's timestamp, which excludes
    start-up (group join, rebalance) from every contender.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": f"rate-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe(list(topics))
    stamps: list[int] = []
    hashes: list[bytes] = []
    producer_stamped = 0
    deadline = time.monotonic() + 120
    while len(stamps) < expect and time.monotonic() < deadline:
        for m in consumer.consume(1000, 0.5):
            if m.error() is None:
                kind, stamp = m.timestamp()
                stamps.append(stamp)
                producer_stamped += kind != TIMESTAMP_LOG_APPEND_TIME
                logical = topics[m.topic() or ""].encode()
                record = b"\0".join([logical, m.key() or b"", m.value() or b""])
                hashes.append(hashlib.sha256(record).digest())
    consumer.close()
    if len(stamps) < expect:
        raise RuntimeError(f"only {len(stamps)} of {expect} messages read from {sorted(topics)}")
    span_ms = max(max(stamps) - min(stamps), 1)
    digest = hashlib.sha256(b"".join(sorted(hashes))).hexdigest()
    return Arrived(len(stamps) / (span_ms / 1000), digest, producer_stamped == 0)


def output_rate(settings: KafkaSettings, topic: str, expect: int, timeout_s: float = 300) -> float:
    """Messages/s on ``topic`` between its first and last message (broker timestamps)."""
    physical = settings.topic(topic)
    wait_for_outputs(settings, [physical], expect, timeout_s)
    return read_outputs(settings, {physical: topic}, expect).rate


def stamp_on_append(settings: KafkaSettings, names: Iterable[str]) -> None:
    """Have the broker stamp these topics' records as it appends them.

    A producer may set a record's timestamp: quixstreams copies the input record's onto its
    outputs, which would make its output span the span of the load, not of its own work.
    """
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    entry = ConfigEntry(
        "message.timestamp.type",
        "LogAppendTime",
        incremental_operation=AlterConfigOpType.SET,
    )
    resources = [
        ConfigResource(ResourceType.TOPIC, settings.topic(n), incremental_configs=[entry])
        for n in names
    ]
    for future in admin.incremental_alter_configs(resources).values():
        future.result(timeout=30)


def drop_topics(settings: KafkaSettings) -> None:
    """Delete every topic under this benchmark's prefix: the broker is shared."""
    if not settings.topic_prefix:
        raise ValueError("refusing to drop topics without a prefix: that would be every topic")
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    ours = [t for t in admin.list_topics(timeout=30).topics if t.startswith(settings.topic_prefix)]
    if ours:
        for future in admin.delete_topics(ours, operation_timeout=30).values():
            future.result(timeout=60)


def passthrough(settings: KafkaSettings, source: str, sink: str, expect: int) -> float:
    """Copy ``expect`` messages source → sink with a bare loop; returns messages/s."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": f"pt-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": True,
        }
    )
    producer = Producer(producer_config(settings, "bench-passthrough"))
    consumer.subscribe([settings.topic(source)])
    done = 0
    out = settings.topic(sink)
    while done < expect:
        for msg in consumer.consume(500, timeout=1.0):
            if msg.error() is not None:
                continue
            while True:
                try:
                    producer.produce(out, msg.value(), msg.key())
                    break
                except BufferError:
                    producer.poll(0.05)
            done += 1
        producer.poll(0)
    producer.flush(60)
    consumer.close()
    return output_rate(settings, sink, expect)


def median_of(runs: int, measure: Callable[[], float]) -> tuple[float, list[float]]:
    values = [measure() for _ in range(runs)]
    return statistics.median(values), values
