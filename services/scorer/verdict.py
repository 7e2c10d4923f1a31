"""What one scoring pass over a lead ends in: a verdict, or a failure to retry later."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from schemas import ScoringMethod
from services.scorer.answer import Assessment


class Verdict(BaseModel):
    """A lead's assessment and what it cost; the scoring cache keeps exactly this."""

    model_config = ConfigDict(frozen=True)

    assessment: Assessment
    method: ScoringMethod
    model: str
    prompt_version: str | None = None
    chain_of_thought: str | None = None
    tokens_in: int | None = Field(default=None, ge=0)
    tokens_out: int | None = Field(default=None, ge=0)
    tokens_cached: int | None = Field(default=None, ge=0)
    latency_ms: int | None = Field(default=None, ge=0)


# What a failed call can be (``CallFailed.kind``): our own words, safe to show to buyers.
FAILURE_KINDS = frozenset(
    {
        "timeout",
        "connection",
        "rate_limited",
        "server_error",
        "malformed",
        "blank",
        "invalid",
        "rejected",
        "auth",
        "balance",
        "misconfigured",
    }
)
# Said instead of a kind we do not know.
GENERIC_FAILURE = "scoring_unavailable"


@dataclass(frozen=True)
class ScoringFailure:
    """The per-lead budget was spent without a usable answer.

    ``error`` is the last reason in full, for operators' logs only: it may quote the provider's
    error body. What leaves the scorer on a lead is :meth:`public_reason`.
    """

    error: str
    model: str
    prompt_version: str | None
    kind: str = GENERIC_FAILURE
    attempts: int | None = None  # calls' attempts within the pass, when they were counted

    def public_reason(self) -> str:
        """A short code of ours, never text from the provider: 'server_error (after 3 attempts)'."""
        code = self.kind if self.kind in FAILURE_KINDS else GENERIC_FAILURE
        return f"{code} (after {self.attempts} attempts)" if self.attempts else code


ScoringResult = Verdict | ScoringFailure
