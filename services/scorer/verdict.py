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


@dataclass(frozen=True)
class ScoringFailure:
    """The per-lead budget was spent without a usable answer; ``error`` is the last reason."""

    error: str
    model: str
    prompt_version: str | None


ScoringResult = Verdict | ScoringFailure
