"""The Python ceiling: a bare consume→produce loop on the same broker, no runtime, no parsing.

Every stage benchmark reports its throughput as a ratio of this, measured in the same run,
because this shared 2-core machine is too noisy for absolute numbers to mean much.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable, Iterable

from confluent_kafka import Consumer, Producer

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


def output_rate(settings: KafkaSettings, topic: str, expect: int, timeout_s: float = 300) -> float:
    """Messages/s on ``topic`` between its first and last message (broker timestamps).

    Measuring the output side excludes start-up (group join, rebalance) from every contender.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": f"rate-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([settings.topic(topic)])
    stamps: list[int] = []
    deadline = time.monotonic() + timeout_s
    while len(stamps) < expect and time.monotonic() < deadline:
        stamps.extend(m.timestamp()[1] for m in consumer.consume(1000, 0.5) if m.error() is None)
    consumer.close()
    if len(stamps) < expect:
        raise RuntimeError(f"only {len(stamps)} of {expect} messages arrived on {topic}")
    span_ms = max(max(stamps) - min(stamps), 1)
    return len(stamps) / (span_ms / 1000)


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
