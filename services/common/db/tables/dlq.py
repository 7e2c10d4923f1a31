"""The dead-letter table: the records no stage could handle, kept for counting and replay."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import (
    Boolean,
    DateTime,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.common.db.tables.base import Base, server_now
from services.common.db.types import BigId


class DeadLetterRow(Base):
    """A copy of every ``permits.dlq`` record, so operators can count and replay them in SQL.

    A replayed row stays as the record of what failed; the permit's outcome is then wherever
    its replay ended, so conservation counts only rows with ``replayed_at`` null.
    """

    __tablename__ = "dead_letters"
    __table_args__ = (UniqueConstraint("source_topic", "source_partition", "source_offset"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source_topic: Mapped[str] = mapped_column(String(200))
    source_partition: Mapped[int] = mapped_column(Integer)
    source_offset: Mapped[int] = mapped_column(BigId)
    stage: Mapped[str] = mapped_column(String(32), index=True)
    key: Mapped[str | None] = mapped_column(String(300), index=True)
    error: Mapped[str] = mapped_column(Text)
    original: Mapped[bytes] = mapped_column(LargeBinary)
    original_truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=server_now()
    )
    # Indexed: the operator's summary and replay read only the rows not replayed yet.
    replayed_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True),
        index=True,
        comment="When `leadstream dlq replay` re-published the original; null = not yet.",
    )


# Core handles for code that reads and writes rows, not ORM objects (the declarative
# ``__table__`` attribute is typed as a FromClause).
dead_letters = cast(Table, DeadLetterRow.__table__)
