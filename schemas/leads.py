"""``leads.scored`` and ``leads.retry``: the scorer's results."""

from __future__ import annotations

from pydantic import Field, model_validator

from schemas.base import BoundedTime, Message, Part
from schemas.permits import Categorization, EnrichedPermit, PropertyMatch, RawPermit
from schemas.taxonomy import ContactPriority, ScoringMethod, Tier

REVIEW_FLAG = "REVIEW: low score but passed filters"
# Scores below this "should not have passed the filters" (docs/scorer.md, "What a score
# means"): a person looks at them.
REVIEW_BELOW_SCORE = 30


def tier_for(score: int) -> Tier:
    """Tier is ours to compute from the score; the model's opinion of it is never used."""
    if score < 0:
        return Tier.RETRY
    if score >= 80:
        return Tier.A
    if score >= 50:
        return Tier.B
    return Tier.C


class LeadScore(Part):
    score: int = Field(ge=-1, le=100, description="0–100, or -1 while pending retry.")
    tier: Tier
    reasoning: str | None = Field(default=None, max_length=2000)
    flags: list[str] = Field(default_factory=list)
    ideal_contractor: str | None = Field(default=None, max_length=300)
    contact_priority: ContactPriority
    chain_of_thought: str | None = None
    scoring_method: ScoringMethod
    model: str | None = None
    prompt_version: str | None = None
    tokens_in: int | None = Field(default=None, ge=0)
    tokens_out: int | None = Field(default=None, ge=0)
    tokens_cached: int | None = Field(default=None, ge=0)
    latency_ms: int | None = Field(default=None, ge=0)
    attempts: int = Field(default=1, ge=0, description="LLM scoring attempts so far.")
    scored_at: BoundedTime

    @model_validator(mode="after")
    def _tier_matches_score(self) -> LeadScore:
        if self.tier is not tier_for(self.score):
            raise ValueError(f"tier {self.tier} does not match score {self.score}")
        if (self.tier is Tier.RETRY) != (self.scoring_method is ScoringMethod.PENDING_RETRY):
            raise ValueError("RETRY leads, and only they, have scoring_method pending_retry")
        return self


class ScoredLead(Message):
    """``leads.scored``: a lead ready to sell (or RETRY, visibly waiting for a score)."""

    permit: RawPermit
    categorization: Categorization
    cad: PropertyMatch
    score: LeadScore

    @property
    def key(self) -> str:
        return self.permit.key


class RetryRequest(Message):
    """``leads.retry``: a lead whose scoring failed, to be re-scored when due."""

    lead: EnrichedPermit
    attempt: int = Field(ge=1, description="Scoring attempts made so far.")
    due_at: BoundedTime
    last_error: str = Field(max_length=2000)

    @property
    def key(self) -> str:
        return self.lead.key
