"""The runtime's loops on the in-memory broker: the behaviour the Kafka tests show, in
milliseconds (docs/architecture.md, "The Kafka port")."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence

from schemas import DeadLetter, RawPermit
from services.common.config import KafkaSettings, RuntimeSettings
from services.common.local_broker import LocalBroker
from services.common.messages import BadInput, Output, Outputs
from services.common.runtime import StreamRuntime
from services.common.stage import BatchStage, MessageStage, Stage
from services.common.sync_loop import SyncLoop
from tests.support.toy import TOY_OUT, echo, permit_json, toy_stage

KAFKA = KafkaSettings(group_prefix="local")
SETTINGS = RuntimeSettings(commit_interval_s=0.001, poison_attempts=3, retry_backoff_max_s=0.05)


def _publish(broker: LocalBroker, count: int, prefix: str = "P") -> list[str]:
    keys = []
    for i in range(count):
        key, value = permit_json(i, prefix)
        broker.append("permits.raw", key.encode(), value)
        keys.append(key)
    return keys


def _sync_loop(stage: Stage, broker: LocalBroker, settings: RuntimeSettings = SETTINGS) -> SyncLoop:
    runtime = StreamRuntime(stage, KAFKA, settings, broker=broker)
    runtime.open()
    loop = runtime.loop()
    assert isinstance(loop, SyncLoop)
    return loop


def _keys(broker: LocalBroker, topic: str) -> Counter[str]:
    return Counter((r.key() or b"").decode() for r in broker.records(topic))


def _letters(broker: LocalBroker) -> list[DeadLetter]:
    return [DeadLetter.model_validate_json(r.value() or b"") for r in broker.records("permits.dlq")]


def test_a_member_joining_mid_stream_loses_nothing_and_commits_only_finished_work() -> None:
    broker = LocalBroker(partitions=4)
    keys = _publish(broker, 400)
    small = SETTINGS.model_copy(update={"batch_size": 30})
    first = _sync_loop(toy_stage(), broker, small)
    first.step(timeout=0)
    first.step(timeout=0)
    second = _sync_loop(toy_stage(), broker, small)  # the group rebalances: partitions move
    for _ in range(20):
        first.step(timeout=0)
        second.step(timeout=0)
    out = _keys(broker, TOY_OUT)
    assert out.keys() == set(keys), "a permit fetched before the rebalance was lost"
    first.runtime.close()
    second.runtime.close()
    assert broker.caught_up(first.runtime.group_id, ["permits.raw"])
    assert first.runtime.tracker.unfinished == 0 and second.runtime.tracker.unfinished == 0


def test_an_output_too_large_for_its_topic_sends_its_input_whole_to_the_dlq() -> None:
    broker = LocalBroker()
    broker.topic_limits[TOY_OUT] = 2_000
    doc = json.loads(permit_json(7)[1])
    doc["work_description"] = "replace roof shingles " + "x" * 3_000
    big = json.dumps(doc).encode()
    broker.append("permits.raw", b"toy_tx:P-000007", big)
    _publish(broker, 3, prefix="S")
    loop = _sync_loop(toy_stage(), broker)
    for _ in range(3):
        loop.step(timeout=0)
    assert _keys(broker, TOY_OUT) == Counter({f"toy_tx:S-00000{i}": 1 for i in range(3)})
    [letter] = _letters(broker)
    assert letter.original == big
    assert letter.error.startswith("output to toy.out refused by the broker")
    loop.runtime.close()
    assert broker.caught_up(loop.runtime.group_id, ["permits.raw"])


def test_a_poison_message_in_a_batch_goes_to_the_dlq_and_the_rest_flow() -> None:
    def handle_batch(permits: Sequence[RawPermit]) -> list[Outputs | BadInput]:
        if any(p.permit_number == "P-000002" for p in permits):
            raise ValueError("a bug on this one permit")
        return [echo(p) for p in permits]

    stage = BatchStage(
        name="toy-batch",
        inputs={"permits.raw": RawPermit},
        handle_batch=handle_batch,
        dependencies_up=lambda: True,
    )
    broker = LocalBroker()
    keys = _publish(broker, 5)
    loop = _sync_loop(stage, broker)
    loop.step(timeout=0)
    assert set(_keys(broker, TOY_OUT)) == set(keys) - {"toy_tx:P-000002"}
    [letter] = _letters(broker)
    assert letter.key == "toy_tx:P-000002"
    assert "failed on this message 3 times while its dependencies were up" in letter.error
    assert "ValueError: a bug on this one permit" in letter.error


def test_a_handler_failing_through_an_outage_is_retried_until_it_succeeds_once() -> None:
    calls = Counter[str]()

    def flaky(permit: RawPermit) -> Sequence[Output]:
        calls[permit.key] += 1
        if calls[permit.key] <= 4:
            raise ConnectionError("database restarting")
        return echo(permit)

    stage = MessageStage(name="toy", inputs={"permits.raw": RawPermit}, handle=flaky)
    broker = LocalBroker()
    [key] = _publish(broker, 1)
    loop = _sync_loop(stage, broker)
    loop.step(timeout=0)
    assert _keys(broker, TOY_OUT) == Counter({key: 1})
    assert not _letters(broker), "an outage (dependencies unknown) is never a poison message"
    assert calls[key] == 5
