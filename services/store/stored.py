"""What the database holds for one batch's keys, as the store's decisions see it (plan.py).

The writer reads it inside the batch's transaction, while holding the locks that keep it
true until the transaction ends: the permits' row locks and the projects' advisory locks.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from services.store.precedence import Rank, discard_rank, lead_rank
from services.store.projects import ProjectLead

Position = tuple[str, int, int]  # a dead letter's source topic, partition and offset


@dataclass(frozen=True)
class StoredLead:
    content_hash: str
    tier: str
    version_at: datetime | None
    scored_at: datetime

    @property
    def rank(self) -> Rank:
        return lead_rank(self.tier, self.version_at, self.scored_at)


@dataclass(frozen=True)
class StoredDiscard:
    content_hash: str
    version_at: datetime | None
    discarded_at: datetime
    duplicate_of: str | None = None  # a ``duplicate`` of this lead's permit

    @property
    def rank(self) -> Rank:
        return discard_rank(self.version_at, self.discarded_at)


@dataclass(frozen=True)
class StoredPermit:
    """What the database holds for one permit key (read while holding the permit's lock)."""

    permit_id: int
    lead: StoredLead | None = None
    discard: StoredDiscard | None = None


@dataclass(frozen=True)
class Stored:
    """What the database holds for one batch: every permit key of the batch (their permits
    are written by then), the leads of the projects locked, the dead letters already stored."""

    permits: Mapping[str, StoredPermit]
    project_leads: Sequence[ProjectLead] = ()
    dead_letters: Collection[Position] = frozenset()
