"""Test helpers to publish to and read back from real Kafka topics."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from threading import Thread

from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient

from services.common.config import KafkaSettings, RuntimeSettings
from services.common.runtime import StreamRuntime
from services.common.stage import Stage


def publish(
    settings: KafkaSettings, topic: str, records: Iterable[tuple[str | None, bytes]]
) -> int:
    """Produce (key, value) pairs to a logical topic and wait until all are acknowledged."""
    producer = Producer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "enable.idempotence": True,
            "linger.ms": 5,
            "message.max.bytes": 8 * 1024 * 1024,
        }
    )
    count = 0
    for key, value in records:
        while True:
            try:
                producer.produce(settings.topic(topic), value, key.encode() if key else None)
                break
            except BufferError:
                producer.poll(0.1)
        count += 1
        producer.poll(0)
    assert producer.flush(30) == 0, "not every test message was acknowledged"
    return count


def read_topic(
    settings: KafkaSettings, topic: str, *, expect: int, timeout_s: float = 60.0
) -> list[tuple[str, bytes]]:
    """Read a topic from the beginning until ``expect`` messages arrived (or time out); a
    message without a key (none of the pipeline's) reads as key ""."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": f"reader-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([settings.topic(topic)])
    out: list[tuple[str, bytes]] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(out) < expect and time.monotonic() < deadline:
            for msg in consumer.consume(1000, timeout=0.5):
                if msg.error() is None:
                    key = msg.key()
                    out.append((key.decode() if key else "", msg.value() or b""))
        # Linger briefly so a test can also notice messages beyond what it expected.
        for msg in consumer.consume(1000, timeout=0.5):
            if msg.error() is None:
                key = msg.key()
                out.append((key.decode() if key else "", msg.value() or b""))
    finally:
        consumer.close()
    return out


def delete_prefixed_topics(settings: KafkaSettings) -> None:
    """Delete every topic under the settings' prefix (best effort: cleanup, not a check)."""
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    names = [t for t in admin.list_topics(timeout=10).topics if t.startswith(settings.topic_prefix)]
    if names:
        for future in admin.delete_topics(names, operation_timeout=10).values():
            with suppress(KafkaException):
                future.result(timeout=15)


@contextmanager
def running_stage(
    stage: Stage, kafka: KafkaSettings, settings: RuntimeSettings | None = None
) -> Iterator[StreamRuntime]:
    """Run a stage on the real broker in a background thread for the duration of a block."""
    runtime = StreamRuntime(stage, kafka, settings or RuntimeSettings(commit_interval_s=0.2))
    errors: list[BaseException] = []

    def target() -> None:
        try:
            runtime.run()
        except BaseException as exc:  # surfaced to the test below
            errors.append(exc)

    thread = Thread(target=target, name=f"stage-{stage.name}", daemon=True)
    thread.start()
    try:
        yield runtime
    finally:
        runtime.request_stop()
        thread.join(60)
        if errors:
            raise errors[0]
