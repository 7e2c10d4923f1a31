"""``permits.discarded``: a permit that will not become a lead, and why."""

from __future__ import annotations

from pydantic import Field

from schemas.base import BoundedTime, Message
from schemas.permits import Categorization, PropertyMatch, RawPermit


class DiscardedPermit(Message):
    permit: RawPermit
    reason: str = Field(
        pattern=r"^(production_builder|stale|invalid|no_data|duplicate|junk:[a-z_]+)$",
        description="Reason code: production_builder, junk:<kind>, stale, invalid, no_data, or "
        "duplicate (the store: another permit of the same project is the lead; the detail "
        "names it).",
        examples=["junk:shed"],
    )
    detail: str = Field(max_length=1000, description="Human-readable explanation.")
    stage: str = Field(description="The service that discarded it.", examples=["categorizer"])
    rules_version: str | None = None
    categorization: Categorization | None = None
    cad: PropertyMatch | None = None
    discarded_at: BoundedTime

    @property
    def key(self) -> str:
        return self.permit.key

    @property
    def reason_group(self) -> str:
        """``junk:shed`` → ``junk``: the level operators count by."""
        return self.reason.split(":", 1)[0]
