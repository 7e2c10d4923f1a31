"""The store service through a real Kafka broker into a real PostgreSQL (docs/store.md)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url

from schemas import DeadLetter, DiscardedPermit, ScoredLead
from services.common.config import KafkaSettings, RuntimeSettings
from services.common.db.engine import make_engine
from services.common.db.tables.dlq import DeadLetterRow
from services.common.db.tables.pipeline import DiscardedPermitRow, PermitRow, ScoredLeadRow
from services.store.rows import lead_rows
from services.store.service import build_stage
from tests.store.factories import (
    SCRAPED_AT,
    dead_letter,
    discarded_permit,
    encoded,
    scored_lead,
    unvalidated,
    with_nul_in_reasoning,
)
from tests.store.tables import count, snapshot
from tests.support.kafka import publish, read_topic, running_stage

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
REPO = Path(__file__).resolve().parents[2]
NEWER = SCRAPED_AT + timedelta(days=3)
StoreMessage = ScoredLead | DiscardedPermit | DeadLetter


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.25)


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def writes(topic: str, outcome: str) -> float:
    return metric("leadstream_store_writes_total", topic=topic, outcome=outcome)


def publish_all(
    kafka: KafkaSettings, messages: list[ScoredLead | DiscardedPermit | DeadLetter]
) -> None:
    for topic, model in (
        ("leads.scored", ScoredLead),
        ("permits.discarded", DiscardedPermit),
        ("permits.dlq", DeadLetter),
    ):
        publish(kafka, topic, [encoded(m) for m in messages if isinstance(m, model)])


def _outcome_totals() -> dict[str, float]:
    topics = ("leads.scored", "permits.discarded", "permits.dlq")
    outcomes = ("created", "updated", "skipped", "error")
    return {o: sum(writes(t, o) for t in topics) for o in outcomes}


@pytest.mark.slow
def test_ten_thousand_messages_consumed_twice_leave_identical_tables(
    kafka_settings: KafkaSettings, database_url: str, db: Engine
) -> None:
    messages: list[StoreMessage] = [
        *(scored_lead(i, retry=i % 10 == 0) for i in range(8_500)),
        *(discarded_permit(i) for i in range(8_500, 9_500)),
        *(dead_letter(i) for i in range(500)),
    ]
    publish_all(kafka_settings, messages)
    before = _outcome_totals()
    with running_stage(build_stage(database_url), kafka_settings):
        wait_until(lambda: count(db, ScoredLeadRow) == 8_500, 120, "8,500 leads")
        wait_until(lambda: count(db, DiscardedPermitRow) == 1_000, 30, "1,000 discards")
        wait_until(lambda: count(db, DeadLetterRow) == 500, 30, "500 dead letters")
    first_pass = snapshot(db)
    created = _outcome_totals()
    assert created["created"] - before["created"] == 10_000

    # A new consumer group reads every message again: the replay must change nothing.
    replay = kafka_settings.model_copy(update={"group_prefix": kafka_settings.group_prefix + "r"})
    with running_stage(build_stage(database_url), replay):
        wait_until(
            lambda: _outcome_totals()["skipped"] - created["skipped"] >= 10_000,
            120,
            "the replay to be reported as skipped",
        )
    after = _outcome_totals()
    assert {o: after[o] - created[o] for o in after} == {
        "created": 0,
        "updated": 0,
        "skipped": 10_000,
        "error": 0,
    }
    assert snapshot(db) == first_pass
    assert count(db, PermitRow) == 9_500


def test_rejected_rows_reach_the_dlq_topic_and_come_back_as_dead_letters(
    kafka_settings: KafkaSettings, database_url: str, db: Engine
) -> None:
    leads = [scored_lead(i) for i in range(50)]
    leads[10] = unvalidated(leads[10], valuation=9.9e13)  # refused by the contract
    leads[20] = with_nul_in_reasoning(leads[20])  # refused by the store's own check
    publish(kafka_settings, "leads.scored", [encoded(m) for m in leads])
    with running_stage(build_stage(database_url), kafka_settings):
        dlq = read_topic(kafka_settings, "permits.dlq", expect=2)
        # The store reads permits.dlq too, so every permit is accounted for in SQL.
        wait_until(lambda: count(db, DeadLetterRow) == 2, 30, "the store's own dead letters")
    letters = {d.key: d for d in (DeadLetter.model_validate_json(v) for _, v in dlq)}
    assert set(letters) == {leads[10].key, leads[20].key}
    assert "permit.valuation" in letters[leads[10].key].error
    assert "score.reasoning contains a NUL" in letters[leads[20].key].error
    assert letters[leads[20].key].original == encoded(leads[20])[1]
    assert all(d.stage == "store" and d.source_topic == "leads.scored" for d in letters.values())
    assert count(db, ScoredLeadRow) == 48
    assert count(db, ScoredLeadRow) + count(db, DeadLetterRow) == len(leads)


def _store_process(kafka: KafkaSettings, database_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        **kafka.environment(),
        "DATABASE_URL": database_url,
        "LEADSTREAM_COMMIT_INTERVAL_S": "0.2",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "services.store.service"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=out,
        )


@pytest.mark.slow
def test_kill_9_mid_batch_and_restart_loses_no_lead_and_duplicates_none(
    kafka_settings: KafkaSettings, database_url: str, db: Engine, tmp_path: Path
) -> None:
    first_versions = [scored_lead(i) for i in range(12_000)]
    newer_versions = [scored_lead(i, scraped_at=NEWER) for i in range(0, 12_000, 3)]
    publish(kafka_settings, "leads.scored", [encoded(m) for m in first_versions + newer_versions])
    log = tmp_path / "store.log"
    store = _store_process(kafka_settings, database_url, log)
    try:
        wait_until(lambda: count(db, ScoredLeadRow) >= 3_000, 120, "the store to be mid-run")
        store.kill()
        store.wait(10)
        stored_at_kill = count(db, ScoredLeadRow)
        assert stored_at_kill < 12_000, "the store finished before it could be killed"
        store = _store_process(kafka_settings, database_url, log)
        wait_until(
            lambda: count(db, ScoredLeadRow, ScoredLeadRow.version_at == NEWER) == 4_000,
            180,
            f"every newest version after the restart (log: {log})",
        )
    finally:
        store.terminate()
        store.wait(30)
    assert store.returncode == 0, log.read_text()[-3000:]
    newest = {m.key: m for m in first_versions} | {m.key: m for m in newer_versions}
    with db.connect() as conn:
        query = select(ScoredLeadRow.permit_key, ScoredLeadRow.content_hash)
        hashes = {key: content_hash for key, content_hash in conn.execute(query)}
    assert count(db, ScoredLeadRow) == len(hashes) == 12_000
    assert hashes == {key: lead_rows(m).lead["content_hash"] for key, m in newest.items()}
    assert count(db, PermitRow) == 12_000


def _skip_unless_we_control(postgres_url: str) -> Any:
    from localinfra import postgres
    from localinfra.postgres_paths import HOST, pg_port

    url = make_url(postgres_url)
    if (url.host, url.port) != (HOST, pg_port()) or not (postgres.postgres_running()):
        pytest.skip(
            f"DATABASE_URL points to {url.host}:{url.port}, not the local cluster this test "
            "may stop and restart (localinfra); it never stops a server it does not own"
        )
    return postgres


@pytest.mark.slow
def test_postgres_down_for_30_s_mid_run_pauses_the_store_which_then_catches_up(
    kafka_settings: KafkaSettings, postgres_url: str, database_url: str, db: Engine
) -> None:
    postgres = _skip_unless_we_control(postgres_url)
    leads = [scored_lead(i) for i in range(6_000)]
    publish(kafka_settings, "leads.scored", [encoded(m) for m in leads[:3_000]])
    retries_before = metric("leadstream_handler_errors_total", stage="store")
    # Liveness at 10 s: an outage three times as long must not look like a hung process.
    settings = RuntimeSettings(
        commit_interval_s=0.2, retry_backoff_max_s=2.0, liveness_timeout_s=10.0
    )
    with running_stage(build_stage(database_url), kafka_settings, settings) as runtime:
        wait_until(lambda: count(db, ScoredLeadRow) >= 500, 60, "the store to be mid-run")
        postgres.stop_postgres(mode="fast")
        try:
            publish(kafka_settings, "leads.scored", [encoded(m) for m in leads[3_000:]])
            time.sleep(30)
            assert metric("leadstream_paused", stage="store") == 1, "still fetching while down"
            assert runtime.healthy(), "the store stopped polling while the database was down"
        finally:
            postgres.start_postgres()
        wait_until(lambda: count(db, ScoredLeadRow) == 6_000, 120, "the store to catch up")
    retries = metric("leadstream_handler_errors_total", stage="store") - retries_before
    assert retries >= 5, "the store did not retry while the database was down"
    assert count(db, PermitRow) == count(db, ScoredLeadRow) == 6_000
