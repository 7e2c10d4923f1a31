"""The post-mortem of a chaos run's missing permits reads every topic on a real broker."""

from __future__ import annotations

import json

import pytest

from localinfra.chaos_trace import describe, trace_keys
from schemas import Topic
from services.common.config import KafkaSettings
from tests.support.kafka import publish


@pytest.mark.kafka
def test_each_missing_key_is_traced_to_the_last_topic_that_saw_it(
    kafka_settings: KafkaSettings,
) -> None:
    publish(kafka_settings, Topic.RAW.value, [("a", b"{}"), ("b", b"{}"), ("c", b"{}")])
    publish(kafka_settings, Topic.CATEGORIZED.value, [("a", b"{}"), ("b", b"{}")])
    dlq = {"source_topic": "permits.categorized", "error": "too large"}
    publish(kafka_settings, Topic.DLQ.value, [("b", json.dumps(dlq).encode())])

    trace = trace_keys(kafka_settings, ["a", "b", "never"])

    assert [step.split("[")[0] for step in trace["a"]] == ["permits.raw", "permits.categorized"]
    assert trace["b"][-1].startswith("permits.dlq[")
    assert trace["b"][-1].endswith("from permits.categorized: too large")
    assert trace["never"] == []
    assert "never: on no topic at all" in describe(trace)
