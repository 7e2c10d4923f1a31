"""The shared stream runtime through a real Kafka broker (docs/architecture.md, "Delivery")."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from schemas import DeadLetter, RawPermit
from services.common import confluent
from services.common.config import KafkaSettings, RuntimeSettings
from services.common.kafka import consumer_config, create_topics
from services.common.messages import Output
from services.common.stage import AsyncStage, MessageStage
from tests.support.kafka import publish, read_topic, running_stage
from tests.support.toy import TOY_OUT, echo, permit_json, slow_async_stage, toy_stage

pytestmark = pytest.mark.kafka
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def toy_kafka(kafka_settings: KafkaSettings) -> KafkaSettings:
    create_topics(kafka_settings, [TOY_OUT])
    return kafka_settings


def test_ten_thousand_messages_round_trip(toy_kafka: KafkaSettings) -> None:
    inputs = [permit_json(i) for i in range(10_000)]
    publish(toy_kafka, "permits.raw", inputs)
    with running_stage(toy_stage(), toy_kafka):
        out = read_topic(toy_kafka, TOY_OUT, expect=len(inputs))
    assert Counter(k for k, _ in out) == Counter(k for k, _ in inputs)


def test_bad_input_goes_to_the_dlq_with_a_reason_and_good_messages_still_flow(
    toy_kafka: KafkaSettings,
) -> None:
    good = [permit_json(i) for i in range(50)]
    valid = json.loads(good[0][1])
    bad = {
        "not utf-8": b"\xff\xfe\x00garbage",
        "not json": b"{this is not json",
        "wrong types": json.dumps({**valid, "valuation": "a lot"}).encode(),
        "missing field": json.dumps({"jurisdiction": "toy_tx"}).encode(),
        "2 MB": json.dumps({**valid, "work_description": "x" * 2_000_000}).encode(),
        "refused by handler": permit_json(1, prefix="BAD")[1],
    }
    publish(
        toy_kafka, "permits.raw", good[:25] + [(f"bad:{n}", v) for n, v in bad.items()] + good[25:]
    )
    with running_stage(toy_stage(), toy_kafka):
        out = read_topic(toy_kafka, TOY_OUT, expect=len(good))
        dlq = read_topic(toy_kafka, "permits.dlq", expect=len(bad))
    assert sorted(k for k, _ in out) == sorted(k for k, _ in good)
    letters = {d.key or "": d for d in (DeadLetter.model_validate_json(v) for _, v in dlq)}
    assert set(letters) == {f"bad:{n}" for n in bad}
    reasons = {key.removeprefix("bad:"): letter.error for key, letter in letters.items()}
    assert "not UTF-8" in reasons["not utf-8"]
    assert "Invalid JSON" in reasons["not json"]
    assert "valuation" in reasons["wrong types"]
    assert "permit_number: Field required" in reasons["missing field"]
    assert "byte limit" in reasons["2 MB"]
    assert "refused by the toy stage" in reasons["refused by handler"]
    for name, letter in letters.items():  # nothing is lost: the original bytes are kept
        assert letter.original == bad[name.removeprefix("bad:")]
        assert letter.stage == "toy" and letter.source_topic == "permits.raw"


def _worker(
    settings: KafkaSettings, delay_s: float, metrics_port: int = 0
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        **settings.environment(),
        "LEADSTREAM_COMMIT_INTERVAL_S": "0.2",
        "TOY_DELAY_S": str(delay_s),
        "LEADSTREAM_METRICS_PORT": str(metrics_port),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.toy_worker"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_for_output(settings: KafkaSettings, at_least: int, timeout_s: float = 60) -> None:
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": "probe"})
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            parts = (
                consumer.list_topics(settings.topic(TOY_OUT), timeout=10)
                .topics[settings.topic(TOY_OUT)]
                .partitions
            )
            total = sum(
                consumer.get_watermark_offsets(TopicPartition(settings.topic(TOY_OUT), p))[1]
                for p in parts
            )
            if total >= at_least:
                return
            time.sleep(0.1)
    finally:
        consumer.close()
    raise AssertionError(f"fewer than {at_least} outputs after {timeout_s} s")


def test_a_failing_handler_is_retried_until_it_recovers_with_one_traceback_per_streak(
    toy_kafka: KafkaSettings, caplog: pytest.LogCaptureFixture
) -> None:
    failures_left = 4

    def database_down_for_a_while(permit: RawPermit) -> Sequence[Output]:
        nonlocal failures_left
        if failures_left:
            failures_left -= 1
            raise ConnectionError("connection refused\n\tIs the server running?")
        return echo(permit)

    stage = MessageStage(
        name="toy", inputs={"permits.raw": RawPermit}, handle=database_down_for_a_while
    )
    inputs = [permit_json(i) for i in range(5)]
    publish(toy_kafka, "permits.raw", inputs)
    with caplog.at_level(logging.INFO), running_stage(stage, toy_kafka):
        out = read_topic(toy_kafka, TOY_OUT, expect=len(inputs))
    assert sorted(k for k, _ in out) == sorted(k for k, _ in inputs), "a message was skipped"

    records = [r for r in caplog.records if r.name == "services.common.runtime"]
    first = [r for r in records if r.getMessage() == "handler failed, retrying"]
    again = [r for r in records if r.getMessage() == "handler still failing, retrying"]
    recovered = [r for r in records if r.getMessage() == "handler recovered"]
    assert len(first) == 1 and first[0].exc_info is not None
    assert [r.__dict__["attempt"] for r in again] == [2, 3, 4]
    assert all(r.exc_info is None for r in again)
    assert again[0].__dict__["error"] == "ConnectionError: connection refused"
    assert [r.__dict__["failed_attempts"] for r in recovered] == [4]
    assert recovered[0].__dict__["permit_key"] == first[0].__dict__["permit_key"]


def test_an_outage_under_many_messages_in_flight_logs_one_traceback_and_one_recovery(
    toy_kafka: KafkaSettings, caplog: pytest.LogCaptureFixture
) -> None:
    outage_ends: list[float] = []  # two seconds from the first call

    async def database_down_for_a_while(permit: RawPermit) -> Sequence[Output]:
        if not outage_ends:
            outage_ends.append(time.monotonic() + 2.0)
        if time.monotonic() < outage_ends[0]:
            raise ConnectionError("connection refused")
        return echo(permit)

    stage = AsyncStage(
        name="toy-async", inputs={"permits.raw": RawPermit}, handle=database_down_for_a_while
    )
    inputs = [permit_json(i) for i in range(50)]
    publish(toy_kafka, "permits.raw", inputs)
    settings = RuntimeSettings(max_in_flight=50, commit_interval_s=0.2)
    with caplog.at_level(logging.INFO), running_stage(stage, toy_kafka, settings):
        out = read_topic(toy_kafka, TOY_OUT, expect=len(inputs))
    assert sorted(k for k, _ in out) == sorted(k for k, _ in inputs), "a message was skipped"

    messages = [r.getMessage() for r in caplog.records if r.name == "services.common.runtime"]
    assert messages.count("handler failed, retrying") == 1
    assert messages.count("handler still failing, retrying") >= len(inputs)
    assert messages.count("handler recovered") == 1


def test_sigkill_mid_stream_loses_nothing(toy_kafka: KafkaSettings) -> None:
    inputs = [permit_json(i) for i in range(3_000)]
    publish(toy_kafka, "permits.raw", inputs)
    worker = _worker(toy_kafka, delay_s=0.001)
    _wait_for_output(toy_kafka, 500)
    worker.kill()
    worker.wait(10)
    restarted = _worker(toy_kafka, delay_s=0)
    try:
        out = read_topic(toy_kafka, TOY_OUT, expect=len(inputs), timeout_s=90)
        keys = Counter(k for k, _ in out)
        assert set(keys) == {k for k, _ in inputs}, "an input was lost after SIGKILL"
    finally:
        restarted.terminate()
        restarted.wait(30)


def test_sigterm_stops_cleanly_and_nothing_is_processed_twice(toy_kafka: KafkaSettings) -> None:
    inputs = [permit_json(i) for i in range(3_000)]
    publish(toy_kafka, "permits.raw", inputs)
    worker = _worker(toy_kafka, delay_s=0.001)
    _wait_for_output(toy_kafka, 500)
    worker.send_signal(signal.SIGTERM)
    _, stderr = worker.communicate(timeout=60)
    assert worker.returncode == 0, stderr.decode()[-2000:]
    restarted = _worker(toy_kafka, delay_s=0)
    try:
        out = read_topic(toy_kafka, TOY_OUT, expect=len(inputs), timeout_s=90)
    finally:
        restarted.terminate()
        restarted.wait(30)
    keys = Counter(k for k, _ in out)
    assert set(keys) == {k for k, _ in inputs}
    assert [k for k, n in keys.items() if n > 1] == [], "SIGTERM caused reprocessing"


def _commit_state(settings: KafkaSettings, group: str) -> dict[int, tuple[int, int]]:
    """partition → (committed offset, high watermark) of the group on permits.raw."""
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": group})
    topic = settings.topic("permits.raw")
    try:
        tps = [TopicPartition(topic, p) for p in range(settings.partitions)]
        committed = consumer.committed(tps, timeout=10)
        return {
            tp.partition: (tp.offset, consumer.get_watermark_offsets(tp, timeout=10)[1])
            for tp in committed
        }
    finally:
        consumer.close()


def test_async_stage_overlaps_io_and_a_slow_message_holds_back_its_partitions_commit(
    toy_kafka: KafkaSettings,
) -> None:
    inputs = [permit_json(i) for i in range(2_000)]
    publish(toy_kafka, "permits.raw", inputs[:1])  # the slow one is offset 0 of its partition
    publish(toy_kafka, "permits.raw", inputs[1:])
    stage = slow_async_stage(0.1, {inputs[0][0]: 8.0})
    settings = RuntimeSettings(max_in_flight=200, commit_interval_s=0.2)
    started = time.monotonic()
    with running_stage(stage, toy_kafka, settings) as runtime:
        out = read_topic(toy_kafka, TOY_OUT, expect=len(inputs) - 1, timeout_s=30)
        fast_done = time.monotonic() - started
        time.sleep(1)  # several commit intervals
        while_slow = _commit_state(toy_kafka, runtime.group_id)
        final = read_topic(toy_kafka, TOY_OUT, expect=len(inputs), timeout_s=30)
        time.sleep(1)
        after = _commit_state(toy_kafka, runtime.group_id)
    # 2,000 × 100 ms with 200 in flight is ~1 s of ideal work; one at a time would be 200 s.
    assert len({k for k, _ in out}) == len(inputs) - 1
    assert fast_done < 10, f"2,000 messages took {fast_done:.1f} s"
    held_back = {p: c for p, (c, high) in while_slow.items() if c != high}
    assert len(held_back) == 1, while_slow
    assert next(iter(held_back.values())) in (0, -1001), "committed past the unfinished message"
    assert {k for k, _ in final} == {k for k, _ in inputs}
    assert all(c == high for c, high in after.values()), after


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.slow
def test_a_full_async_stage_stays_in_its_group_longer_than_max_poll_interval(
    toy_kafka: KafkaSettings, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An LLM outage holds every slot far longer than max.poll.interval.ms (5 min in
    production, 6 s here); the stage must not be evicted, which would rebalance the group."""

    def short_poll_interval(*args: Any) -> dict[str, Any]:
        fast = {"session.timeout.ms": 6_000, "max.poll.interval.ms": 6_000}
        return {**consumer_config(*args), **fast}

    monkeypatch.setattr(confluent, "consumer_config", short_poll_interval)
    inputs = [permit_json(i) for i in range(4)]
    publish(toy_kafka, "permits.raw", inputs)
    stage = slow_async_stage(9.0, {})  # two rounds of two slots, each past the interval
    settings = RuntimeSettings(max_in_flight=2, commit_interval_s=0.2)
    with caplog.at_level(logging.INFO), running_stage(stage, toy_kafka, settings):
        out = read_topic(toy_kafka, TOY_OUT, expect=len(inputs), timeout_s=60)
    assert sorted(k for k, _ in out) == sorted(k for k, _ in inputs)
    messages = [r.getMessage() for r in caplog.records if r.name == "services.common.runtime"]
    assert messages.count("partitions assigned") == 1, "the group rebalanced mid-run"
    assert "partitions lost" not in messages


def test_a_service_serves_health_and_metrics_and_logs_json_with_the_permit_key(
    toy_kafka: KafkaSettings,
) -> None:
    publish(toy_kafka, "permits.raw", [permit_json(i) for i in range(10)])
    publish(toy_kafka, "permits.raw", [permit_json(99, prefix="BAD")])
    port = _free_port()
    worker = _worker(toy_kafka, delay_s=0, metrics_port=port)
    try:
        read_topic(toy_kafka, TOY_OUT, expect=10)
        deadline = time.monotonic() + 30
        while _get(port, "/readyz")[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _get(port, "/healthz")[0] == 200
        assert _get(port, "/readyz")[0] == 200
        status, body = _get(port, "/metrics")
        assert status == 200
        consumed = 'leadstream_messages_consumed_total{stage="toy",topic="permits.raw"} 11.0'
        assert consumed in body
        assert 'leadstream_dlq_total{source_topic="permits.raw",stage="toy"} 1.0' in body
        assert 'leadstream_messages_produced_total{stage="toy",topic="toy.out"} 10.0' in body
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=60)
    records = [json.loads(line) for line in stderr.decode().splitlines() if line.startswith("{")]
    rejected = [r for r in records if r["msg"] == "rejected to DLQ"]
    assert [r["permit_key"] for r in rejected] == ["toy_tx:BAD-000099"]
    assert all(r["service"] == "toy" for r in records)
