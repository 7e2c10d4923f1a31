"""Reading back what the store wrote, for assertions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, Table, func, select

from services.common.db.tables.dlq import DeadLetterRow
from services.common.db.tables.pipeline import DiscardedPermitRow, PermitRow, ScoredLeadRow

STORE_TABLES: list[Any] = [PermitRow, ScoredLeadRow, DiscardedPermitRow, DeadLetterRow]


def snapshot(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every stored row of the store's tables, in a stable order."""
    with engine.connect() as conn:
        return {
            row_class.__tablename__: [
                dict(r._mapping)
                for r in conn.execute(select(row_class.__table__).order_by(row_class.id))
            ]
            for row_class in STORE_TABLES
        }


def stored(engine: Engine, row_class: Any, key: str) -> list[dict[str, Any]]:
    """The rows of one permit in one table."""
    table: Table = row_class.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(table).where(table.c.permit_key == key))
        return [dict(r._mapping) for r in rows]


def count(engine: Engine, row_class: Any, *where: Any) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(row_class).where(*where)
        return int(conn.execute(query).scalar_one())
