from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from services.dlq.plan import (
    SKIP_EMPTY,
    SKIP_TRUNCATED,
    Republish,
    Skip,
    StoredDeadLetter,
    plan_replay,
)

ORIGINAL = b'{"jurisdiction": "austin_tx", "permit_number": "BP-1", "valuation": "12k"}'
LETTER = StoredDeadLetter(
    id=7,
    stage="categorizer",
    source_topic="permits.raw",
    key="austin_tx:BP-1",
    error="invalid message: valuation: Input should be a valid number",
    original=ORIGINAL,
    original_truncated=False,
    failed_at=datetime(2026, 4, 9, tzinfo=UTC),
)


def test_a_dead_letter_goes_back_as_its_original_bytes_and_key_to_its_source_topic() -> None:
    assert plan_replay(LETTER) == Republish(7, "permits.raw", "austin_tx:BP-1", ORIGINAL)


def test_the_store_s_own_dead_letters_go_back_to_the_store_s_input() -> None:
    letter = replace(LETTER, stage="store", source_topic="leads.scored")
    assert plan_replay(letter) == Republish(7, "leads.scored", "austin_tx:BP-1", ORIGINAL)


def test_a_message_without_a_key_is_replayed_without_one() -> None:
    assert plan_replay(replace(LETTER, key=None)) == Republish(7, "permits.raw", None, ORIGINAL)


def test_a_truncated_original_is_skipped_because_half_a_message_is_not_the_message() -> None:
    assert plan_replay(replace(LETTER, original_truncated=True)) == Skip(7, SKIP_TRUNCATED)


def test_a_dead_letter_from_a_topic_outside_the_pipeline_is_skipped_with_its_name() -> None:
    skip = plan_replay(replace(LETTER, source_topic="staging.permits.raw"))
    assert skip == Skip(7, "source topic 'staging.permits.raw' is not a pipeline topic")


def test_an_empty_original_is_skipped() -> None:
    assert plan_replay(replace(LETTER, original=b"")) == Skip(7, SKIP_EMPTY)
