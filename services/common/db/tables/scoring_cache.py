"""The scorer's shared cache of LLM results."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.common.db.tables.base import Base, server_now
from services.common.db.types import Json


class ScoringCacheRow(Base):
    """LLM results keyed by a hash of the exact scoring input (prompt version included).

    Shared by every scorer replica, so a re-published unchanged permit costs no second call.
    """

    __tablename__ = "scoring_cache"

    input_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    prompt_version: Mapped[str] = mapped_column(String(40))
    model: Mapped[str] = mapped_column(String(120))
    result: Mapped[dict[str, Any]] = mapped_column(Json)
    hits: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=server_now()
    )
    last_hit_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
