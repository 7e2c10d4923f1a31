"""Members joining a fresh group while records flow, through a real Kafka broker.

Every member that joins makes the others give up partitions in a cooperative rebalance,
served by librdkafka from inside the poll that also returns the records fetched meanwhile
for the partitions they keep. None of those records may be lost, and no commit may pass a
record whose output was not produced (docs/reliability.md, "a revocation dropped the records
fetched with it").
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack

import pytest
from confluent_kafka import Consumer, ConsumerGroupState, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from services.common.config import KafkaSettings, RuntimeSettings
from services.common.kafka import create_topics
from services.common.stage import Stage
from tests.support.kafka import running_stage
from tests.support.toy import TOY_OUT, permit_json, slow_async_stage, toy_stage

pytestmark = pytest.mark.kafka

MEMBERS = 3  # each join after the first is a rebalance in which the others give partitions up
ROUNDS = 3  # each on a fresh group: the first rebalances of a group are the ones under test
RECORDS = 150  # per round, published over ~3 s, so records arrive during every join


@pytest.fixture
def toy_kafka(kafka_settings: KafkaSettings) -> KafkaSettings:
    create_topics(kafka_settings, [TOY_OUT])
    return kafka_settings


def _positions(
    settings: KafkaSettings, topic: str, until: Callable[[set[str]], bool], timeout_s: float
) -> dict[tuple[int, int], str]:
    """(partition, offset) → key of the records of a logical topic, read from the beginning
    until ``until(keys read)`` holds and nothing more comes for a second, or the timeout."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": f"reader-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([settings.topic(topic)])
    found: dict[tuple[int, int], str] = {}
    deadline = time.monotonic() + timeout_s
    quiet_since = time.monotonic()
    try:
        while time.monotonic() < deadline:
            msgs = [m for m in consumer.consume(1000, timeout=0.2) if m.error() is None]
            for msg in msgs:
                found[(msg.partition() or 0, msg.offset() or 0)] = (msg.key() or b"").decode()
            if msgs:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= 1 and until(set(found.values())):
                break
    finally:
        consumer.close()
    return found


def _holds_every_partition(settings: KafkaSettings, group: str) -> bool:
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    description = admin.describe_consumer_groups([group])[group].result(timeout=10)
    held = [tp for m in description.members for tp in m.assignment.topic_partitions]
    return description.state == ConsumerGroupState.STABLE and len(held) == settings.partitions


class _CommitWatch:
    """Samples a group's committed offsets on permits.raw until stopped; keeps the highest."""

    def __init__(self, settings: KafkaSettings, group: str) -> None:
        self.highest: dict[int, int] = {}
        self._stop = threading.Event()
        self._consumer = Consumer(
            {"bootstrap.servers": settings.bootstrap_servers, "group.id": group}
        )
        self._tps = [
            TopicPartition(settings.topic("permits.raw"), p) for p in range(settings.partitions)
        ]
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for tp in self._consumer.committed(self._tps, timeout=10):
                if tp.offset >= 0:
                    self.highest[tp.partition] = max(self.highest.get(tp.partition, 0), tp.offset)
            time.sleep(0.05)

    def stop(self) -> dict[int, int]:
        self._stop.set()
        self._thread.join(30)
        self._consumer.close()
        return self.highest


def _members_join_while_records_flow(
    settings: KafkaSettings, make_stage: Callable[[], Stage], round_no: int
) -> tuple[list[str], list[str]]:
    """One fresh group: member 1 alone takes every partition, records start flowing, and the
    others join one by one while they do; then all drain. Returns (keys without an output,
    offsets committed past without an output)."""
    group = f"{settings.group_prefix}-r{round_no}"
    round_settings = settings.model_copy(update={"group_prefix": group})
    inputs = [permit_json(i, prefix=f"R{round_no}") for i in range(RECORDS)]
    runtime_settings = RuntimeSettings(commit_interval_s=0.1, max_in_flight=50)

    wanted = {key for key, _ in inputs}

    def produce() -> None:
        producer = Producer({"bootstrap.servers": settings.bootstrap_servers, "linger.ms": 5})
        for key, value in inputs:  # ~50 records a second, spread over every partition
            producer.produce(settings.topic("permits.raw"), value, key.encode())
            producer.poll(0)
            time.sleep(0.02)
        assert producer.flush(30) == 0

    producer = threading.Thread(target=produce, daemon=True)
    with ExitStack() as members:
        first = members.enter_context(running_stage(make_stage(), round_settings, runtime_settings))
        watch = _CommitWatch(settings, first.group_id)
        deadline = time.monotonic() + 30
        while not _holds_every_partition(settings, first.group_id):
            assert time.monotonic() < deadline, "the first member never got the partitions"
            time.sleep(0.1)
        producer.start()
        for _ in range(MEMBERS - 1):
            time.sleep(1.0)
            members.enter_context(running_stage(make_stage(), round_settings, runtime_settings))
        producer.join(60)
        out = _positions(settings, TOY_OUT, lambda keys: wanted <= keys, timeout_s=30)
        time.sleep(1)  # a few commit intervals: the last commits land
    committed = watch.stop()
    produced = set(out.values())
    missing = sorted(wanted - produced)
    positions = _positions(settings, "permits.raw", lambda keys: wanted <= keys, timeout_s=30)
    ours = {pos: key for pos, key in positions.items() if key in wanted}
    committed_past = sorted(
        f"permits.raw[{p}]@{o} ({key}) under committed {committed[p]}"
        for (p, o), key in ours.items()
        if o < committed.get(p, 0) and key not in produced
    )
    return missing, committed_past


@pytest.mark.parametrize(
    "make_stage",
    [toy_stage, lambda: slow_async_stage(0.01, {})],
    ids=["sync", "async"],
)
def test_records_fetched_while_a_member_joins_are_never_lost(
    toy_kafka: KafkaSettings, make_stage: Callable[[], Stage]
) -> None:
    lost: list[str] = []
    past: list[str] = []
    for round_no in range(ROUNDS):
        missing, committed_past = _members_join_while_records_flow(toy_kafka, make_stage, round_no)
        lost += missing
        past += committed_past
    assert past == [], f"committed past records without an output: {past[:10]}"
    assert lost == [], f"{len(lost)} of {ROUNDS * RECORDS} records lost: {lost[:10]}"
