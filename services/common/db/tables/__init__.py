"""Every table of leadstream, one module per area, all on one metadata (``Base.metadata``).

Import a table from its area's module (``services.common.db.tables.marketplace`` …). Importing
any of them runs this file first, which loads every area: foreign keys between areas resolve,
and alembic compares the whole schema.
"""

from __future__ import annotations

from services.common.db.tables import (
    builder_registry,
    dlq,
    marketplace,
    notifier,
    pipeline,
    scoring_cache,
)
from services.common.db.tables.base import Base

# Still imported from here by services/store/ and tests/store/, which another change is
# rewriting; they move to the area modules after it lands, and these names go.
from services.common.db.tables.dlq import DeadLetterRow, dead_letters
from services.common.db.tables.notifier import lead_events
from services.common.db.tables.pipeline import (
    DiscardedPermitRow,
    PermitRow,
    PropertyRow,
    ScoredLeadRow,
    discarded_permits,
    permits,
    properties,
    scored_leads,
)

metadata = Base.metadata

__all__ = [
    "Base",
    "DeadLetterRow",
    "DiscardedPermitRow",
    "PermitRow",
    "PropertyRow",
    "ScoredLeadRow",
    "builder_registry",
    "dead_letters",
    "discarded_permits",
    "dlq",
    "lead_events",
    "marketplace",
    "metadata",
    "notifier",
    "permits",
    "pipeline",
    "properties",
    "scored_leads",
    "scoring_cache",
]
