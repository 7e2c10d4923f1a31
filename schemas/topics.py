"""Topic names and the model each one carries."""

from __future__ import annotations

from enum import StrEnum

from schemas.base import Message
from schemas.discards import DiscardedPermit
from schemas.dlq import DeadLetter
from schemas.leads import RetryRequest, ScoredLead
from schemas.permits import CategorizedPermit, EnrichedPermit, RawPermit
from schemas.stored import LeadStored


class Topic(StrEnum):
    RAW = "permits.raw"
    CATEGORIZED = "permits.categorized"
    DISCARDED = "permits.discarded"
    ENRICHED = "permits.enriched"
    SCORED = "leads.scored"
    RETRY = "leads.retry"
    DLQ = "permits.dlq"
    STORED = "leads.stored"


TOPIC_MODELS: dict[Topic, type[Message]] = {
    Topic.RAW: RawPermit,
    Topic.CATEGORIZED: CategorizedPermit,
    Topic.DISCARDED: DiscardedPermit,
    Topic.ENRICHED: EnrichedPermit,
    Topic.SCORED: ScoredLead,
    Topic.RETRY: RetryRequest,
    Topic.DLQ: DeadLetter,
    Topic.STORED: LeadStored,
}
