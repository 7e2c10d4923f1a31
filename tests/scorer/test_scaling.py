"""Three scorer processes in one consumer group: shared partitions, and a kill loses nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from localinfra.fake_llm import FakeLLM
from schemas import Tier, Topic
from services.common.config import KafkaSettings
from tests.scorer.factories import enriched_lead
from tests.scorer.feed import LeadFeed, publish_leads

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
LEADS = 900


def _scorer_process(
    kafka: KafkaSettings, database_url: str, llm_url: str, log: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        **kafka.environment(),
        "DATABASE_URL": database_url,
        "LEADSTREAM_LLM_BASE_URL": llm_url,
        "LEADSTREAM_LLM_API_KEY": "test-key",
        "LEADSTREAM_MAX_IN_FLIGHT": "20",
        "LEADSTREAM_COMMIT_INTERVAL_S": "0.2",
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "services.scorer.service"], cwd=REPO, env=env, stderr=out
        )


def _assignments(kafka: KafkaSettings) -> list[int]:
    """Partitions of permits.enriched held by each member of the scorer's group."""
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
    group = f"{kafka.group_prefix}.scorer"
    description = admin.describe_consumer_groups([group])[group].result(timeout=10)
    topic = kafka.topic(Topic.ENRICHED.value)
    return sorted(
        sum(1 for tp in member.assignment.topic_partitions if tp.topic == topic)
        for member in description.members
    )


@pytest.fixture
def slow_llm(fake_llm: FakeLLM) -> Iterator[FakeLLM]:
    fake_llm.configure(latency_s=0.5)
    yield fake_llm


def test_three_processes_share_the_partitions_and_a_killed_one_loses_nothing(
    slow_llm: FakeLLM, kafka_settings: KafkaSettings, database_url: str, tmp_path: Path
) -> None:
    processes = [
        _scorer_process(kafka_settings, database_url, slow_llm.url, tmp_path / f"scorer-{i}.log")
        for i in range(3)
    ]
    try:
        deadline = time.monotonic() + 60
        while _assignments(kafka_settings) != [1, 1, 2]:  # 4 partitions over 3 members
            assert time.monotonic() < deadline, "the three scorers did not share the partitions"
            assert all(p.poll() is None for p in processes), "a scorer process exited"
            time.sleep(0.5)
        leads = [enriched_lead(i) for i in range(LEADS)]
        publish_leads(kafka_settings, leads)
        with LeadFeed(kafka_settings) as feed:
            feed.wait_for(lambda f: len(f.latest) >= LEADS // 5, "scoring under way")
            processes[0].kill()  # mid-run, with leads in flight and offsets uncommitted
            feed.wait_for(lambda f: len(f.latest) >= LEADS, "every lead after the kill", 120)
        assert set(feed.latest) == {lead.key for lead in leads}
        assert all(lead.score.tier is not Tier.RETRY for lead in feed.every)
        assert _assignments(kafka_settings) in ([2, 2], [1, 3])
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)
