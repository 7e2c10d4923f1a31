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

metadata = Base.metadata

__all__ = [
    "Base",
    "builder_registry",
    "dlq",
    "marketplace",
    "metadata",
    "notifier",
    "pipeline",
    "scoring_cache",
]
