"""The store's one write statement: a multi-row upsert by permit key, newer and changed only.

``INSERT … ON CONFLICT (permit_key) DO UPDATE SET … WHERE <newer> AND <changed> RETURNING
permit_key`` for all the rows of a batch at once. Where the rows come from depends on the
database:

- PostgreSQL: ``SELECT … FROM jsonb_populate_recordset(NULL::<table>, :rows)``, the whole batch
  as one JSON parameter. A ``VALUES`` list of 500 rows × 45 columns is 23,000 literals that
  PostgreSQL must lex, parse and plan on every batch; that took twice as long as this (see
  docs/store.md), and the batch still arrives in one statement.
- SQLite (the embedded demo): a plain multi-row ``VALUES`` list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from pydantic_core import to_json
from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    Text,
    and_,
    bindparam,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.dml import ReturningInsert

from services.store.precedence import Columns

Supersedes = Callable[[Columns, Columns], ColumnElement[bool]]
DialectInsert = postgresql.Insert | sqlite.Insert

# JSON columns whose values the row functions hand over already serialized: pydantic writes
# JSON several times faster than json.dumps of the same data as a dict.
SERIALIZED_JSON = frozenset({"raw", "lead"})


def insert_for(conn: Connection, table: Table) -> DialectInsert:
    """The dialect's INSERT, which has the ``ON CONFLICT`` clauses."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def upsert_newer(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    supersedes: Supersedes,
    touched: str,
) -> set[str]:
    """Insert the rows, or update the stored ones they supersede and differ from (by
    ``content_hash``); ``touched`` is set to now() on update. Returns the keys written."""
    dialect = conn.dialect.name
    statement = _upsert_statement(dialect, table, tuple(rows[0]), supersedes, touched)
    if dialect == "postgresql":
        params: Any = {"rows": _json_array(rows)}
    else:
        params = rows
    return set(conn.execute(statement, params).scalars())


@cache  # statements are immutable; building one costs more than executing a small batch
def _upsert_statement(
    dialect: str, table: Table, columns: tuple[str, ...], supersedes: Supersedes, touched: str
) -> ReturningInsert[str]:
    statement: DialectInsert
    if dialect == "postgresql":
        statement = postgresql.insert(table).from_select(columns, _json_recordset(table, columns))
    else:
        statement = sqlite.insert(table).values(
            {name: bindparam(name, type_=Text()) for name in SERIALIZED_JSON.intersection(columns)}
        )
    new = statement.excluded
    changes: dict[str, Any] = {name: new[name] for name in columns if name != "permit_key"}
    changes[touched] = func.now()
    return statement.on_conflict_do_update(
        index_elements=[table.c.permit_key],
        set_=changes,
        where=and_(supersedes(new, table.c), new.content_hash != table.c.content_hash),
    ).returning(table.c.permit_key)


def _json_recordset(table: Table, columns: Sequence[str]) -> Any:
    """``SELECT <columns> FROM jsonb_populate_recordset(NULL::<table>, :rows)``."""
    records = func.jsonb_populate_recordset(
        literal_column(f"NULL::{table.name}"), cast(bindparam("rows", type_=Text()), JSONB)
    ).table_valued(*columns)
    return select(*(records.c[name] for name in columns))


def _json_array(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as one JSON array, pre-serialized JSON values spliced in as they are (encoding
    them again as JSON strings would escape every quote, and PostgreSQL parse them twice).

    pydantic-core's encoder writes dates and times itself and is several times faster than
    ``json.dumps`` with a ``default`` hook; NaN and infinities stay the JSON-less constants
    they always were, so PostgreSQL rejects such a row as before (the DLQ takes it)."""
    spliced_names = [name for name in SERIALIZED_JSON if name in rows[0]] if rows else []
    objects = []
    for row in rows:
        plain = row.copy()
        for name in spliced_names:
            del plain[name]
        spliced = "".join(f',"{name}":{row[name]}' for name in spliced_names)
        encoded = to_json(plain, inf_nan_mode="constants").decode()
        objects.append(encoded[:-1] + spliced + "}")
    return "[" + ",".join(objects) + "]"
