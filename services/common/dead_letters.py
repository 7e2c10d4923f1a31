"""The DLQ record of an input that cannot be handled: the reason plus the original bytes."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from schemas.dlq import DeadLetter
from schemas.topics import Topic
from services.common import metrics
from services.common.messages import Output

# Beyond this the DLQ keeps only the first bytes of a message (and says so).
DLQ_ORIGINAL_LIMIT = 8 * 1024 * 1024


def dead_letter(
    stage: str,
    topic: str,
    partition: int,
    offset: int,
    raw_key: bytes | None,
    value: bytes | None,
    reason: str,
) -> Output:
    """The DLQ record for an input: the reason plus the original bytes, so nothing is lost."""
    original = value or b""
    try:
        key = raw_key.decode("utf-8") if raw_key is not None else None
    except UnicodeDecodeError:
        key = None
    metrics.DLQ.labels(stage, topic).inc()
    record = DeadLetter(
        error=reason[:4000],
        stage=stage,
        source_topic=topic,
        source_partition=partition,
        source_offset=offset,
        key=key,
        original_b64=base64.b64encode(original[:DLQ_ORIGINAL_LIMIT]).decode("ascii"),
        original_truncated=len(original) > DLQ_ORIGINAL_LIMIT,
        failed_at=datetime.now(UTC),
    )
    # Unkeyed input is keyed by its source position: the DLQ is an audit log, not a permit stream.
    return Output(Topic.DLQ.value, key or f"{topic}:{partition}:{offset}", record)


def halve_original(payload: bytes, broker_error: str) -> bytes:
    """A DLQ record the broker keeps refusing as too large: keep the reason and the source
    coordinates (the full original is still in the source topic), and half the bytes."""
    letter = DeadLetter.model_validate_json(payload)
    original = letter.original
    kept = original[: len(original) // 2]
    note = (
        f" [original cut to {len(kept):,} bytes: the DLQ topic refused the record: {broker_error}]"
    )
    updated = letter.model_copy(
        update={
            "original_b64": base64.b64encode(kept).decode("ascii"),
            "original_truncated": True,
            "error": letter.error.split(" [original cut to ")[0][: 4000 - len(note)] + note,
        }
    )
    return updated.model_dump_json(exclude_none=False).encode("utf-8")
