"""The contract between leadstream services: one pydantic model per Kafka topic.

Scrapers in any language publish to ``permits.raw`` against the JSON Schema files in
``schemas/json/``, generated from these models by ``python -m schemas.generate``.
"""

from schemas.base import SCHEMA_VERSION, permit_key
from schemas.discards import DiscardedPermit
from schemas.dlq import DeadLetter
from schemas.leads import LeadScore, RetryRequest, ScoredLead
from schemas.permits import (
    Categorization,
    CategorizedPermit,
    EnrichedPermit,
    PropertyMatch,
    RawPermit,
)
from schemas.stored import LeadStored
from schemas.taxonomy import Category, ContactPriority, MatchKind, ScoringMethod, Tier, TradeGroup
from schemas.topics import TOPIC_MODELS, Topic

__all__ = [
    "SCHEMA_VERSION",
    "TOPIC_MODELS",
    "Categorization",
    "CategorizedPermit",
    "Category",
    "ContactPriority",
    "DeadLetter",
    "DiscardedPermit",
    "EnrichedPermit",
    "LeadScore",
    "LeadStored",
    "MatchKind",
    "PropertyMatch",
    "RawPermit",
    "RetryRequest",
    "ScoredLead",
    "ScoringMethod",
    "Tier",
    "Topic",
    "TradeGroup",
    "permit_key",
]
