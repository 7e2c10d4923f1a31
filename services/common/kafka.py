"""Kafka client configuration and topic administration, in one place."""

from __future__ import annotations

import logging
from typing import Any

from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
)

from schemas.topics import Topic
from services.common.config import KafkaSettings

log = logging.getLogger(__name__)

# DLQ records carry the original bytes (base64) and must fit even when the input was large.
DLQ_MAX_MESSAGE_BYTES = 16 * 1024 * 1024


def producer_config(settings: KafkaSettings, client_id: str) -> dict[str, Any]:
    return {
        "bootstrap.servers": settings.bootstrap_servers,
        "client.id": client_id,
        # Idempotence makes broker-side retries exactly-once per partition and implies acks=all.
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "compression.type": "lz4",
        "message.max.bytes": DLQ_MAX_MESSAGE_BYTES,
        # A broker outage should stall, not fail, deliveries; failures after this are re-sent.
        "delivery.timeout.ms": settings.delivery_timeout_ms,
    }


def consumer_config(settings: KafkaSettings, group_id: str, client_id: str) -> dict[str, Any]:
    return {
        "bootstrap.servers": settings.bootstrap_servers,
        "group.id": group_id,
        "client.id": client_id,
        "enable.auto.commit": False,  # the runtime commits only what is fully processed
        "auto.offset.reset": "earliest",
        "partition.assignment.strategy": "cooperative-sticky",
        # A SIGKILLed replica's partitions move to the others within seconds, not 45 s.
        "session.timeout.ms": 10_000,
        "heartbeat.interval.ms": 1_000,
        "max.poll.interval.ms": 300_000,
        "statistics.interval.ms": 5_000,
        "fetch.max.bytes": 52_428_800,
        # Bounds what librdkafka prefetches while a full async stage is not taking messages.
        "queued.max.messages.kbytes": 8_192,
    }


def make_producer(settings: KafkaSettings, client_id: str) -> Producer:
    return Producer(producer_config(settings, client_id))


def create_topics(
    settings: KafkaSettings,
    names: list[str] | None = None,
    *,
    partitions: int | None = None,
    timeout_s: float = 30.0,
) -> dict[str, str]:
    """Create the pipeline's topics (prefixed) if missing; returns name → created|exists."""
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    wanted = names if names is not None else [t.value for t in Topic]
    new_topics = []
    for name in wanted:
        config = {"min.insync.replicas": str(min(2, settings.replication_factor))}
        if name == Topic.DLQ.value:
            config["max.message.bytes"] = str(DLQ_MAX_MESSAGE_BYTES)
        new_topics.append(
            NewTopic(
                settings.topic(name),
                num_partitions=partitions or settings.partitions,
                replication_factor=settings.replication_factor,
                config=config,
            )
        )
    result: dict[str, str] = {}
    for topic, future in admin.create_topics(new_topics, request_timeout=timeout_s).items():
        try:
            future.result(timeout=timeout_s)
            result[topic] = "created"
        except KafkaException as exc:
            if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":
                raise
            result[topic] = "exists"
    return result


def set_topic_config(settings: KafkaSettings, topic: str, name: str, value: str) -> None:
    """Change one setting of a (logical) topic, e.g. ``max.message.bytes``."""
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    entry = ConfigEntry(name, value, incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource("topic", settings.topic(topic), incremental_configs=[entry])
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(timeout=15)


def wait_for_broker(bootstrap_servers: str, timeout_s: float = 30.0) -> None:
    """Block until the cluster answers a metadata request."""
    AdminClient({"bootstrap.servers": bootstrap_servers}).list_topics(timeout=timeout_s)
