"""The runtime under faults the broker or a handler cause, through a real Kafka broker: a topic
that refuses records, a message its handler cannot process, a partition lost with a backlog."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient

from schemas import DeadLetter, RawPermit
from services.common import confluent, dead_letters
from services.common.config import KafkaSettings, RuntimeSettings
from services.common.kafka import (
    consumer_config,
    create_topics,
    producer_config,
    set_topic_config,
)
from services.common.messages import Output
from services.common.stage import AsyncStage, BatchStage, MessageStage, Stage
from tests.support.kafka import publish, read_topic, running_stage
from tests.support.toy import TOY_OUT, echo, permit_json, toy_stage

pytestmark = pytest.mark.kafka


@pytest.fixture
def toy_kafka(kafka_settings: KafkaSettings) -> KafkaSettings:
    create_topics(kafka_settings, [TOY_OUT])
    return kafka_settings


@contextmanager
def _topic_config(settings: KafkaSettings, topic: str, name: str, value: str) -> Iterator[None]:
    """Change a topic setting for the block (and put the pipeline's value back after it)."""
    before = {"max.message.bytes": "16777216"}[name]
    set_topic_config(settings, topic, name, value)
    try:
        yield
    finally:
        set_topic_config(settings, topic, name, before)


def _noise(size: int) -> str:
    """Text that does not compress: the producer compresses, the broker limits compressed size."""
    return secrets.token_urlsafe(size)[:size]


def _huge_invalid_permit(i: int, size: int) -> tuple[str, bytes]:
    key, value = permit_json(i, prefix="HUGE")
    doc = json.loads(value)
    doc["valuation"] = "not a number " + _noise(size)
    return key, json.dumps(doc).encode()


def _letters(settings: KafkaSettings, expect: int) -> list[DeadLetter]:
    return [
        DeadLetter.model_validate_json(v)
        for _, v in read_topic(settings, "permits.dlq", expect=expect, timeout_s=20)
    ]


# ---------------------------------------------------------------- a topic that refuses records


def test_a_dlq_record_the_broker_refuses_for_a_while_is_written_once_it_accepts(
    toy_kafka: KafkaSettings,
) -> None:
    good = [permit_json(i) for i in range(20)]
    bad = _huge_invalid_permit(1, 5_000)
    settings = RuntimeSettings(commit_interval_s=0.2, refused_record_grace_s=600)
    with _topic_config(toy_kafka, "permits.dlq", "max.message.bytes", "2000"):
        publish(toy_kafka, "permits.raw", [*good[:10], bad, *good[10:]])
        with running_stage(toy_stage(), toy_kafka, settings):
            assert len(read_topic(toy_kafka, TOY_OUT, expect=len(good))) == len(good)
            time.sleep(3)  # several refusals and resends
            assert _letters(toy_kafka, expect=1) == [], "the topic was supposed to refuse it"
            set_topic_config(toy_kafka, "permits.dlq", "max.message.bytes", "16777216")
            letters = _letters(toy_kafka, expect=1)
    assert len(letters) == 1, "the refused DLQ record was dropped"
    assert letters[0].original == bad[1] and not letters[0].original_truncated
    assert "valuation" in letters[0].error


def test_an_input_whose_dlq_record_is_refused_is_not_committed_and_a_restart_redoes_it(
    toy_kafka: KafkaSettings,
) -> None:
    """The process dies while the DLQ refuses the record: the next run must still write it."""
    bad = _huge_invalid_permit(2, 5_000)
    settings = RuntimeSettings(commit_interval_s=0.2, refused_record_grace_s=600)
    publish(toy_kafka, "permits.raw", [bad, *(permit_json(i) for i in range(5))])
    with (
        _topic_config(toy_kafka, "permits.dlq", "max.message.bytes", "2000"),
        running_stage(toy_stage(), toy_kafka, settings),
    ):
        read_topic(toy_kafka, TOY_OUT, expect=5)
        time.sleep(2)
    # The limit is back; a new run of the same group must find the input uncommitted.
    with running_stage(toy_stage(), toy_kafka, settings):
        letters = _letters(toy_kafka, expect=1)
    assert [letter.original for letter in letters] == [bad[1]]


def test_a_dlq_record_refused_past_the_grace_is_kept_with_a_cut_original_and_its_reason(
    toy_kafka: KafkaSettings,
) -> None:
    bad = _huge_invalid_permit(3, 20_000)
    settings = RuntimeSettings(commit_interval_s=0.2, refused_record_grace_s=0)
    with _topic_config(toy_kafka, "permits.dlq", "max.message.bytes", "8000"):
        publish(toy_kafka, "permits.raw", [bad, permit_json(1)])
        with running_stage(toy_stage(), toy_kafka, settings):
            letters = _letters(toy_kafka, expect=1)
            read_topic(toy_kafka, TOY_OUT, expect=1)
    assert len(letters) == 1
    letter = letters[0]
    assert letter.original_truncated and 0 < len(letter.original) < len(bad[1])
    assert bad[1].startswith(letter.original)
    assert "valuation" in letter.error and "the DLQ topic refused the record" in letter.error
    assert (letter.source_topic, letter.key) == ("permits.raw", bad[0])


def test_an_output_too_large_for_its_topic_sends_the_input_whole_to_the_dlq(
    toy_kafka: KafkaSettings,
) -> None:
    key, value = permit_json(4)
    doc = json.loads(value)
    doc["work_description"] = "replace roof shingles " + _noise(3_000)
    big = (key, json.dumps(doc).encode())
    with _topic_config(toy_kafka, TOY_OUT, "max.message.bytes", "2000"):
        publish(toy_kafka, "permits.raw", [big, permit_json(5)])
        with running_stage(toy_stage(), toy_kafka, RuntimeSettings(commit_interval_s=0.2)):
            letters = _letters(toy_kafka, expect=1)
            out = read_topic(toy_kafka, TOY_OUT, expect=1)
    assert [k for k, _ in out] == [permit_json(5)[0]]
    assert len(letters) == 1 and letters[0].original == big[1]
    assert "output to toy.out refused by the broker" in letters[0].error


@pytest.mark.slow
def test_outputs_undeliverable_past_the_delivery_timeout_are_sent_again_until_they_land(
    toy_kafka: KafkaSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The output topic is missing for longer than delivery.timeout.ms (a bad redeploy): every
    delivery fails, and none of the outputs may be lost once the topic is back."""

    def short_delivery_timeout(*args: Any) -> dict[str, Any]:
        return {**producer_config(*args), "delivery.timeout.ms": 1_500}

    monkeypatch.setattr(confluent, "producer_config", short_delivery_timeout)
    kafka = toy_kafka
    inputs = [permit_json(i) for i in range(200)]
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
    for future in admin.delete_topics([kafka.topic(TOY_OUT)], operation_timeout=10).values():
        future.result(timeout=15)
    publish(kafka, "permits.raw", inputs)
    with running_stage(toy_stage(), kafka, RuntimeSettings(commit_interval_s=0.2)) as stage:
        time.sleep(5)  # past the delivery timeout, more than once
        assert sum(_committed(kafka, stage.group_id)) == 0, "committed without an output"
        create_topics(kafka, [TOY_OUT])
        out = read_topic(kafka, TOY_OUT, expect=len(inputs), timeout_s=60)
        time.sleep(1)
        committed = _committed(kafka, stage.group_id)
    assert {k for k, _ in out} == {k for k, _ in inputs}
    assert sum(committed) == len(inputs), "inputs left uncommitted after their outputs landed"


def _committed(settings: KafkaSettings, group_id: str) -> list[int]:
    from confluent_kafka import Consumer, TopicPartition

    topic = settings.topic("permits.raw")
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": group_id})
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        found = consumer.committed([TopicPartition(topic, p) for p in parts], timeout=10)
        return [max(tp.offset, 0) for tp in found]
    finally:
        consumer.close()


# ---------------------------------------------------------------- a message the handler fails on


def _poison_batch_stage(dependencies_up: bool) -> Stage:
    def handle_batch(permits: Sequence[RawPermit]) -> list[Sequence[Output]]:
        if any(p.permit_number.startswith("POISON-") for p in permits):
            raise OverflowError("date value out of range")
        return [echo(p) for p in permits]

    return BatchStage(
        name="toy-batch",
        inputs={"permits.raw": RawPermit},
        handle_batch=handle_batch,
        dependencies_up=lambda: dependencies_up,
    )


def test_a_batch_with_a_poison_message_stores_the_rest_and_dead_letters_that_one(
    toy_kafka: KafkaSettings,
) -> None:
    good = [permit_json(i) for i in range(300)]
    poison = [permit_json(i, prefix="POISON") for i in range(2)]
    publish(toy_kafka, "permits.raw", [*good[:100], poison[0], *good[100:200], poison[1]])
    publish(toy_kafka, "permits.raw", good[200:])
    settings = RuntimeSettings(commit_interval_s=0.2, poison_attempts=3)
    with running_stage(_poison_batch_stage(dependencies_up=True), toy_kafka, settings):
        out = read_topic(toy_kafka, TOY_OUT, expect=len(good))
        letters = _letters(toy_kafka, expect=len(poison))
    assert sorted(k for k, _ in out) == sorted(k for k, _ in good)
    assert sorted(letter.key or "" for letter in letters) == sorted(k for k, _ in poison)
    for letter in letters:
        assert "failed on this message 3 times while its dependencies were up" in letter.error
        assert "OverflowError: date value out of range" in letter.error


def test_a_failing_batch_is_retried_whole_while_its_dependencies_are_down(
    toy_kafka: KafkaSettings,
) -> None:
    publish(toy_kafka, "permits.raw", [permit_json(i, prefix="POISON") for i in range(3)])
    settings = RuntimeSettings(commit_interval_s=0.2, poison_attempts=1)
    with running_stage(_poison_batch_stage(dependencies_up=False), toy_kafka, settings):
        time.sleep(3)
        assert _letters(toy_kafka, expect=1) == [], "an outage must not send input to the DLQ"


def test_messages_that_failed_through_an_outage_are_not_dead_lettered_when_it_ends(
    toy_kafka: KafkaSettings,
) -> None:
    """The database answers its probe a little before the handler's own calls stop failing
    (a server that just accepted connections, a pool with dead connections): every message
    that failed through the outage fails once more with the database "up", and none of them
    may be taken for a poison message."""
    started = time.monotonic()

    async def database_down_for_three_seconds(permit: RawPermit) -> Sequence[Output]:
        if time.monotonic() - started < 3.0:
            raise ConnectionError("the database system is starting up")
        return echo(permit)

    stage = AsyncStage(
        name="toy-async",
        inputs={"permits.raw": RawPermit},
        handle=database_down_for_three_seconds,
        dependencies_up=lambda: time.monotonic() - started >= 2.5,
    )
    inputs = [permit_json(i) for i in range(50)]
    publish(toy_kafka, "permits.raw", inputs)
    settings = RuntimeSettings(max_in_flight=50, commit_interval_s=0.2, poison_attempts=3)
    with running_stage(stage, toy_kafka, settings):
        out = read_topic(toy_kafka, TOY_OUT, expect=len(inputs))
        letters = _letters(toy_kafka, expect=1)
    assert letters == [], f"{len(letters)} messages dead-lettered for an outage"
    assert sorted(k for k, _ in out) == sorted(k for k, _ in inputs)


def _stuck_stage(dependencies: list[bool]) -> Stage:
    def handle(permit: RawPermit) -> Sequence[Output]:
        raise ValueError("Exceeds the limit (4300 digits) for integer string conversion")

    return MessageStage(
        name="toy",
        inputs={"permits.raw": RawPermit},
        handle=handle,
        dependencies_up=lambda: dependencies[0],
    )


def test_healthz_fails_when_the_handler_is_stuck_on_input_while_its_dependencies_are_up(
    toy_kafka: KafkaSettings,
) -> None:
    dependencies = [False]
    publish(toy_kafka, "permits.raw", [permit_json(1)])
    settings = RuntimeSettings(liveness_timeout_s=1.5, poison_attempts=10_000)
    with running_stage(_stuck_stage(dependencies), toy_kafka, settings) as stage_runtime:
        time.sleep(3)
        assert stage_runtime.healthy(), "an outage is not a reason to restart the stage"
        dependencies[0] = True
        time.sleep(0.5)  # the runtime asks the probe at most every 0.2 s
        assert not stage_runtime.healthy(), "stuck on one input with everything up"


# ---------------------------------------------------------------- a partition lost with a backlog


@pytest.mark.slow
def test_a_partition_lost_with_a_full_backlog_does_not_handle_the_stale_backlog(
    toy_kafka: KafkaSettings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Two members share the input. One is a full async stage (slow calls: a backlog builds up),
    then blocks past max.poll.interval: the group gives its partitions to the other member.
    What it fetched before that is the other member's now and must not be handled here too."""

    def short_poll_interval(*args: Any) -> dict[str, Any]:
        fast = {"session.timeout.ms": 6_000, "max.poll.interval.ms": 6_000}
        return {**consumer_config(*args), **fast}

    monkeypatch.setattr(confluent, "consumer_config", short_poll_interval)
    calls = Counter[str]()

    async def slow_then_blocking(permit: RawPermit) -> Sequence[Output]:
        calls["all"] += 1
        if calls["all"] <= 2:
            await asyncio.sleep(10)  # both slots busy: a message a second joins the backlog
        elif calls["all"] == 3:
            time.sleep(8)  # blocks the loop past max.poll.interval.ms: the partitions are lost
        return echo(permit)

    stalling = AsyncStage(name="toy", inputs={"permits.raw": RawPermit}, handle=slow_then_blocking)
    inputs = [permit_json(i) for i in range(400)]
    with (
        caplog.at_level(logging.INFO),
        running_stage(toy_stage(), toy_kafka, RuntimeSettings(commit_interval_s=0.2)),
        running_stage(stalling, toy_kafka, RuntimeSettings(commit_interval_s=0.2, max_in_flight=2)),
    ):
        time.sleep(3)  # both members in the group before the input arrives
        publish(toy_kafka, "permits.raw", inputs)
        read_topic(toy_kafka, TOY_OUT, expect=len(inputs), timeout_s=60)
        time.sleep(12)
        out = read_topic(toy_kafka, TOY_OUT, expect=len(inputs) + 100, timeout_s=5)
    messages = [r.getMessage() for r in caplog.records if r.name == "services.common.runtime"]
    assert "partitions lost" in messages, "the test did not make the group take the partitions"
    counts = Counter(k for k, _ in out)
    assert counts.keys() == {k for k, _ in inputs}
    twice = [k for k, n in counts.items() if n > 1]
    # Only the calls started before the partitions went (two slots, twice) may be redone.
    assert len(twice) <= 4, f"{len(twice)} messages handled twice: {calls}"


def test_a_stop_during_an_outage_is_prompt_and_the_input_is_redone_after_restart(
    toy_kafka: KafkaSettings,
) -> None:
    def database_down(permit: RawPermit) -> Sequence[Output]:
        raise ConnectionError("connection refused")

    stage = MessageStage(name="toy", inputs={"permits.raw": RawPermit}, handle=database_down)
    publish(toy_kafka, "permits.raw", [permit_json(1)])
    settings = RuntimeSettings(commit_interval_s=0.2)
    with running_stage(stage, toy_kafka, settings):
        time.sleep(2)
        stop_asked = time.monotonic()
    assert time.monotonic() - stop_asked < 10, "SIGTERM waited for the outage to end"
    with running_stage(toy_stage(), toy_kafka, settings):
        out = read_topic(toy_kafka, TOY_OUT, expect=1)
    assert [k for k, _ in out] == [permit_json(1)[0]]


def test_a_dlq_record_its_reader_keeps_failing_on_is_never_dead_lettered_again(
    toy_kafka: KafkaSettings,
) -> None:
    """The store reads the DLQ: a DLQ record sent to the DLQ again would come straight back."""

    def handle_batch(letters: Sequence[DeadLetter]) -> list[Sequence[Output]]:
        raise ValueError("a bug in the DLQ writer")

    stage = BatchStage(
        name="toy-dlq-reader",
        inputs={"permits.dlq": DeadLetter},
        handle_batch=handle_batch,
        dependencies_up=lambda: True,
    )
    letter = dead_letters.dead_letter("toy", "permits.raw", 0, 7, b"k", b"garbage", "not JSON")
    publish(toy_kafka, "permits.dlq", [(letter.key, letter.value.model_dump_json().encode())])
    settings = RuntimeSettings(commit_interval_s=0.2, poison_attempts=2, liveness_timeout_s=2)
    with running_stage(stage, toy_kafka, settings) as reader:
        time.sleep(4)
        assert len(_letters(toy_kafka, expect=2)) == 1, "the DLQ record was dead-lettered again"
        assert not reader.healthy(), "a stage stuck on one DLQ record must say so"
