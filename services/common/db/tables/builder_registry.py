"""The categorizer's production-builder registry: the permits' evidence and the operators'
overrides."""

from __future__ import annotations

from datetime import date, datetime
from typing import cast

from sqlalchemy import CheckConstraint, Date, DateTime, Index, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.common.db.tables.base import Base, server_now
from services.common.db.types import BigId


class BuilderObservationRow(Base):
    """One new-construction permit naming one builder: the registry's evidence.

    ``name`` is the normalised applicant or contractor name (``services/categorizer/
    builders.py``); a permit that names the same builder twice is one row. Unique on
    (permit_key, name), so a replayed or re-scraped permit adds nothing: the registry's counts
    are ``count(*)`` over a date window, never a stored counter.
    """

    __tablename__ = "builder_observations"
    __table_args__ = (
        UniqueConstraint("permit_key", "name"),
        Index(
            "ix_builder_observations_jurisdiction_name_observed_on",
            "jurisdiction",
            "name",
            "observed_on",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(256))
    jurisdiction: Mapped[str] = mapped_column(String(64))
    permit_key: Mapped[str] = mapped_column(String(140))
    observed_on: Mapped[date] = mapped_column(
        Date, comment="The permit's date the rolling window counts (docs/categorizer.md)."
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=server_now()
    )


class BuilderOverrideRow(Base):
    """An operator's word on one normalised name, in every jurisdiction: ``builder``
    (`leadstream builders add`) or ``allowed`` (`leadstream builders allow`: a custom builder
    the counts or the built-in list wrongly flag). It wins over the counts and the list."""

    __tablename__ = "builder_overrides"
    __table_args__ = (CheckConstraint("verdict IN ('builder','allowed')", name="verdict_enum"),)

    name: Mapped[str] = mapped_column(String(256), primary_key=True)
    verdict: Mapped[str] = mapped_column(String(16))
    entered_as: Mapped[str] = mapped_column(
        String(256), comment="The name as the operator typed it."
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=server_now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=server_now()
    )


# Core handles for code that reads and writes rows, not ORM objects (the declarative
# ``__table__`` attribute is typed as a FromClause).
builder_observations = cast(Table, BuilderObservationRow.__table__)
builder_overrides = cast(Table, BuilderOverrideRow.__table__)
