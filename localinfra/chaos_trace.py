"""Where a chaos run's missing permits went: every record of theirs on every pipeline topic.

A permit without an outcome has stopped somewhere between ``permits.raw`` and the store. The
trace reads each topic once, from its first offset to its high watermark (a consumer with no
group, so no offsets are committed anywhere), and lists each record of the missing keys, so a
post-mortem starts from the last stage that saw them instead of from five services' logs.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Collection

from confluent_kafka import Consumer, TopicPartition

from schemas import Topic
from services.common.config import KafkaSettings

_READ_TIMEOUT_S = 60.0


def trace_keys(kafka: KafkaSettings, keys: Collection[str]) -> dict[str, list[str]]:
    """Per key, its records in pipeline order: ``topic[partition]@offset`` and, where the
    record says something about its fate (tier, discard reason, DLQ error), that too."""
    wanted = set(keys)
    found: dict[str, list[str]] = {key: [] for key in keys}
    consumer = Consumer(
        {
            "bootstrap.servers": kafka.bootstrap_servers,
            "group.id": f"chaos-trace-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        for topic in Topic:
            for where, key, value in _records(consumer, kafka.topic(topic.value)):
                if key in wanted:
                    found[key].append(f"{topic.value}{where}{_fate(topic, value)}")
    finally:
        consumer.close()
    return found


def _records(consumer: Consumer, topic: str) -> list[tuple[str, str, bytes]]:
    metadata = consumer.list_topics(topic, timeout=10).topics[topic]
    ends: dict[int, int] = {}
    starts = []
    for partition in metadata.partitions:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        if high > low:
            ends[partition] = high
            starts.append(TopicPartition(topic, partition, low))
    consumer.assign(starts)
    records = []
    deadline = time.monotonic() + _READ_TIMEOUT_S
    while ends and time.monotonic() < deadline:
        for message in consumer.consume(1000, timeout=0.5):
            partition, offset = message.partition(), message.offset()
            if message.error() is not None or partition is None or offset is None:
                continue
            if message.topic() != topic:
                continue  # prefetched for the topic read before: not this one's progress
            raw_key = message.key()
            key = raw_key.decode(errors="replace") if raw_key else ""
            records.append((f"[{partition}]@{offset}", key, message.value() or b""))
            if offset + 1 >= ends.get(partition, 0):
                ends.pop(partition, None)
    consumer.unassign()
    return records


def _fate(topic: Topic, value: bytes) -> str:
    try:
        body = json.loads(value)
    except ValueError:
        return " (not JSON)"
    if not isinstance(body, dict):
        return ""
    if topic is Topic.SCORED:
        score = body.get("score")
        return f" tier {score.get('tier')}" if isinstance(score, dict) else ""
    if topic is Topic.DISCARDED:
        return f" {body.get('reason')}"
    if topic is Topic.DLQ:
        return f" from {body.get('source_topic')}: {str(body.get('error'))[:120]}"
    return ""


def describe(trace: dict[str, list[str]]) -> str:
    """One line per key, for a failure message."""
    return "\n".join(
        f"{key}: {' → '.join(records) if records else 'on no topic at all'}"
        for key, records in trace.items()
    )
