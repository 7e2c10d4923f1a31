"""``leadstream dlq replay`` through a real Kafka broker and a real PostgreSQL."""

from __future__ import annotations

import base64
import random
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from schemas import DeadLetter
from services.common.config import KafkaSettings
from tests.dlq.conftest import RunDlq, replayed_offsets, store
from tests.store.factories import dead_letter
from tests.support.kafka import read_topic

pytestmark = pytest.mark.postgres


def _with_original(letter: DeadLetter, original: bytes) -> DeadLetter:
    return letter.model_copy(update={"original_b64": base64.b64encode(original).decode()})


@pytest.mark.kafka
def test_replay_sends_the_exact_originals_back_once_and_marks_exactly_those(
    engine: Engine, run_dlq: RunDlq, kafka_env: KafkaSettings
) -> None:
    raw = [dead_letter(i) for i in range(4)]  # categorizer, from permits.raw
    unkeyed = dead_letter(4).model_copy(update={"key": None})
    truncated = dead_letter(5).model_copy(update={"original_truncated": True})
    foreign = dead_letter(6).model_copy(update={"source_topic": "legacy.permits"})
    enricher = dead_letter(7).model_copy(
        update={"stage": "enricher", "source_topic": "permits.categorized"}
    )
    store(engine, *raw, unkeyed, truncated, foreign, enricher)

    status, preview = run_dlq("replay", "--stage", "categorizer", "--dry-run")
    assert status == 0
    assert preview.splitlines()[-1] == ("dry run: 5 would be replayed, 2 skipped; nothing changed")
    size = len(raw[0].original)
    assert f"replay  #1  key austin_tx:0 → permits.raw ({size} bytes), categorizer:" in preview
    assert replayed_offsets(engine) == set()

    status, report = run_dlq("replay", "--stage", "categorizer")
    assert status == 0, report
    assert report.splitlines() == [
        "replayed 5 (re-published and marked replayed)",
        "skipped 2:",
        "       1  the DLQ kept only the first bytes of the original: re-publish it from its "
        "source",
        "       1  source topic 'legacy.permits' is not a pipeline topic",
        "failed 0",
    ]
    assert replayed_offsets(engine) == {0, 1, 2, 3, 4}

    status, again = run_dlq("replay", "--stage", "categorizer")
    assert (status, again.splitlines()[0]) == (0, "replayed 0 (re-published and marked replayed)")

    # Read after both replays and the dry run: exactly one copy of each, nothing else.
    arrived = read_topic(kafka_env, "permits.raw", expect=5, timeout_s=30)
    assert sorted(arrived, key=lambda m: m[1]) == sorted(
        [(letter.key or "", letter.original) for letter in [*raw, unkeyed]], key=lambda m: m[1]
    )


@pytest.mark.kafka
def test_a_failed_delivery_exits_non_zero_and_its_dead_letter_stays_waiting(
    engine: Engine, run_dlq: RunDlq, kafka_env: KafkaSettings
) -> None:
    # Incompressible and over the broker's 4 MB message limit, yet under the DLQ's 8 MB one.
    too_large = _with_original(dead_letter(1), random.Random(1).randbytes(5 * 1024 * 1024))
    store(engine, dead_letter(0), too_large)

    status, report = run_dlq("replay", "--all")

    assert status == 1
    assert report.splitlines()[0] == "replayed 1 (re-published and marked replayed)"
    assert "failed 1:" in report and "too large" in report.lower()
    assert replayed_offsets(engine) == {0}
    arrived = read_topic(kafka_env, "permits.raw", expect=1, timeout_s=30)
    assert arrived == [(dead_letter(0).key, dead_letter(0).original)]


def test_filters_choose_which_dead_letters_a_replay_means(engine: Engine, run_dlq: RunDlq) -> None:
    just_now = dead_letter(3).model_copy(
        update={
            "error": "invalid message: valuation: Input should be a valid number",
            "failed_at": datetime.now(UTC),
        }
    )
    store(engine, *(dead_letter(i) for i in range(3)), just_now)

    def chosen(*filters: str) -> list[str]:
        status, preview = run_dlq("replay", "--dry-run", *filters)
        assert status == 0
        return [line.split()[3] for line in preview.splitlines() if line.startswith("replay ")]

    assert chosen() == ["austin_tx:0", "austin_tx:1", "austin_tx:2", "austin_tx:3"]
    assert chosen("--key", "austin_tx:1") == ["austin_tx:1"]
    assert chosen("--error-contains", "VALUATION: input") == ["austin_tx:3"]
    assert chosen("--hours", "1") == ["austin_tx:3"]
    assert chosen("--since", "2026-04-09T14:30:00") == chosen()
    assert chosen("--stage", "enricher") == []
    assert chosen("--source-topic", "permits.raw", "--limit", "2") == ["austin_tx:0", "austin_tx:1"]
    assert replayed_offsets(engine) == set()
