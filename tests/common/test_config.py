"""Settings handed to a service process through its environment arrive whole."""

from __future__ import annotations

import pytest

from services.common.config import KafkaSettings


def test_a_process_given_the_environment_of_kafka_settings_reads_the_same_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = KafkaSettings(
        bootstrap_servers="broker-1:9092,broker-2:9092",
        topic_prefix="staging.",
        partitions=6,
        replication_factor=3,
        group_prefix="leadstream-staging",
    )
    for name, value in settings.environment().items():
        monkeypatch.setenv(name, value)
    assert KafkaSettings() == settings
