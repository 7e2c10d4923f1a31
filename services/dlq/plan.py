"""What replaying one dead letter means: pure decisions, no Kafka, no database.

A replay re-publishes the original message, byte for byte, with its original key, to the
topic it was first read from; the stage that rejected it (fixed meanwhile) reads it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.topics import Topic

PIPELINE_TOPICS = frozenset(topic.value for topic in Topic)

SKIP_TRUNCATED = "the DLQ kept only the first bytes of the original: re-publish it from its source"
SKIP_EMPTY = "the original message had no value: nothing to re-publish"


@dataclass(frozen=True)
class StoredDeadLetter:
    """One ``dead_letters`` row not replayed yet."""

    id: int
    stage: str
    source_topic: str  # logical name, without the deployment's topic prefix
    key: str | None
    error: str
    original: bytes
    original_truncated: bool
    failed_at: datetime


@dataclass(frozen=True)
class Republish:
    """Produce ``value`` with ``key`` to the logical ``topic``, then mark ``letter_id``."""

    letter_id: int
    topic: str
    key: str | None
    value: bytes


@dataclass(frozen=True)
class Skip:
    """A dead letter that cannot be replayed, and why; it stays not replayed."""

    letter_id: int
    reason: str


def plan_replay(letter: StoredDeadLetter) -> Republish | Skip:
    # Half a message would only be rejected again, as something else: the permit must be
    # scraped again instead.
    if letter.original_truncated:
        return Skip(letter.id, SKIP_TRUNCATED)
    if letter.source_topic not in PIPELINE_TOPICS:
        return Skip(letter.id, f"source topic {letter.source_topic!r} is not a pipeline topic")
    if not letter.original:
        return Skip(letter.id, SKIP_EMPTY)
    return Republish(letter.id, letter.source_topic, letter.key, letter.original)
