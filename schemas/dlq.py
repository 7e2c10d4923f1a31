"""``permits.dlq``: input a stage could not use, kept whole so nothing is lost."""

from __future__ import annotations

import base64

from pydantic import Field

from schemas.base import BoundedTime, Message


class DeadLetter(Message):
    error: str = Field(max_length=4000, description="Why the message was rejected, readable.")
    stage: str
    source_topic: str
    source_partition: int
    source_offset: int
    key: str | None = Field(default=None, description="The original message key, if UTF-8.")
    original_b64: str = Field(description="The original message value, base64.")
    original_truncated: bool = Field(
        default=False, description="True when original_b64 holds only the first bytes."
    )
    failed_at: BoundedTime

    @property
    def original(self) -> bytes:
        return base64.b64decode(self.original_b64)
