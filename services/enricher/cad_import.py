"""Load CAD records into ``properties``: validated, batched, idempotent.

Each batch costs two statements: one reads the stored content hashes of the batch's accounts
(which tells inserted / updated / unchanged apart), one upserts only the new and changed rows
(``INSERT … ON CONFLICT (county, account_id) DO UPDATE``). Re-importing an unchanged file
therefore writes nothing. The same code runs on PostgreSQL and on the demo's SQLite.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import (
    Connection,
    Engine,
    and_,
    case,
    column,
    func,
    null,
    or_,
    select,
    table,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from services.common.db.tables.pipeline import PropertyRow
from services.common.db.tables.pipeline import properties as _PROPERTIES
from services.common.messages import describe_problems
from services.enricher.cad_formats import SourceRecord
from services.enricher.properties import CadRecord, county_key, property_row

DEFAULT_BATCH_SIZE = 2_000
# A percentile or median is given for a county or ZIP only when at least this many of its
# parcels have a market value: below it one sale moves the median by several percent and a
# parcel's rank by more than 3 points (docs/enricher.md, "Against the local market").
MIN_PARCELS_FOR_PERCENTILE = 30
EXAMPLES_PER_REASON = 3
DUPLICATE_IN_BATCH = "account_id repeated in the file (the later record is kept)"

_KEY = ("county", "account_id")
_LOAD_TABLE = "properties_load"
_UpsertInsert = TypeVar("_UpsertInsert", postgresql.Insert, sqlite.Insert)


@dataclass
class ImportReport:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def read(self) -> int:
        return self.inserted + self.updated + self.unchanged + self.rejected.total()

    def reject(self, position: str, reason: str) -> None:
        self.rejected[reason] += 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < EXAMPLES_PER_REASON:
            shown.append(position)


def rejection_reason(exc: ValidationError) -> str:
    """Stable text per kind of problem (values go in the examples), so reasons group."""
    errors = exc.errors(include_url=False)
    return describe_problems(
        ({**error, "msg": "missing"} if error["input"] is None else error for error in errors),
        whole="record",
    )


def import_records(
    engine: Engine,
    county: str,
    records: Iterable[SourceRecord],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_batch: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    """Validate and upsert ``records`` for ``county``; one transaction per batch."""
    county = county_key(county)
    report = ImportReport()
    batch: dict[str, tuple[str, dict[str, Any]]] = {}
    for record in records:
        row = _validated_row(county, record, report)
        if row is None:
            continue
        previous = batch.pop(row["account_id"], None)
        if previous is not None:
            report.reject(previous[0], DUPLICATE_IN_BATCH)
        batch[row["account_id"]] = (record.position, row)
        if len(batch) >= batch_size:
            _write_batch(engine, county, [row for _, row in batch.values()], report)
            batch.clear()
            if on_batch is not None:
                on_batch(report)
    if batch:
        _write_batch(engine, county, [row for _, row in batch.values()], report)
    with engine.begin() as conn:
        if report.inserted or report.updated:
            refresh_units_at_situs(conn, county)
        # Always, not only after a change: it also fills the columns for a county imported
        # before they existed. Only rows whose figures change are written.
        refresh_market_percentiles(conn, county)
    if on_batch is not None:
        on_batch(report)
    return report


def _validated_row(
    county: str, record: SourceRecord, report: ImportReport
) -> dict[str, Any] | None:
    if record.problem is not None:
        report.reject(record.position, record.problem)
        return None
    try:
        return property_row(county, CadRecord.model_validate(record.fields))
    except ValidationError as exc:
        report.reject(record.position, rejection_reason(exc))
        return None


def _write_batch(
    engine: Engine, county: str, rows: list[dict[str, Any]], report: ImportReport
) -> None:
    with engine.begin() as conn:
        stored_hashes = conn.execute(
            select(PropertyRow.account_id, PropertyRow.content_hash).where(
                PropertyRow.county == county,
                PropertyRow.account_id.in_([row["account_id"] for row in rows]),
            )
        )
        stored = {account_id: stored_hash for account_id, stored_hash in stored_hashes}
        changed = [row for row in rows if stored.get(row["account_id"]) != row["content_hash"]]
        report.unchanged += len(rows) - len(changed)
        report.updated += sum(1 for row in changed if row["account_id"] in stored)
        report.inserted += sum(1 for row in changed if row["account_id"] not in stored)
        if changed:
            upsert_properties(conn, changed)


def upsert_properties(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert or replace rows built by ``property_row``, keyed by county + account.

    On PostgreSQL the rows are COPYed into a temporary table and merged with one statement
    (several times faster than multi-row INSERTs); other databases (the demo's SQLite) get an
    executemany. ``imported_at`` keeps the first import's time; ``units_at_situs`` is left to
    the recount.
    """
    columns = list(rows[0])
    if conn.dialect.name != "postgresql":
        conn.execute(_replacing(sqlite.insert(_PROPERTIES), columns), rows)
        return
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {_LOAD_TABLE} ON COMMIT DROP AS "
        f"SELECT {', '.join(columns)} FROM properties WITH NO DATA"
    )
    cursor = conn.connection.cursor()
    cursor.copy_expert(
        f"COPY {_LOAD_TABLE} ({', '.join(columns)}) FROM STDIN", _copy_text(rows, columns)
    )
    loaded = table(_LOAD_TABLE, *[column(name) for name in columns]).select()
    conn.execute(_replacing(postgresql.insert(_PROPERTIES).from_select(columns, loaded), columns))


def _replacing(statement: _UpsertInsert, columns: list[str]) -> _UpsertInsert:
    replace = {name: statement.excluded[name] for name in columns if name not in _KEY}
    return statement.on_conflict_do_update(
        index_elements=list(_KEY), set_={**replace, "updated_at": func.now()}
    )


def _copy_text(rows: list[dict[str, Any]], columns: list[str]) -> io.StringIO:
    """Rows in COPY's text format: tab-separated, \\N for NULL, backslash escapes."""
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(_copy_value(row[name]) for name in columns))
        buffer.write("\n")
    buffer.seek(0)
    return buffer


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value).translate(_COPY_ESCAPES)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def refresh_units_at_situs(conn: Connection, county: str) -> None:
    """Recount the accounts at each situs street line of ``county``.

    The enricher ignores a unit only for a parcel that is alone at its street address, so the
    count must follow every import (an account that moved leaves its old street too).
    """
    if conn.dialect.name == "postgresql":
        # Statistics from before a bulk load make the planner join the recount by nested loop.
        conn.exec_driver_sql("ANALYZE properties")
    counts = (
        select(PropertyRow.situs_street, func.count().label("accounts"))
        .where(PropertyRow.county == county, PropertyRow.situs_street.is_not(None))
        .group_by(PropertyRow.situs_street)
        .subquery()
    )
    conn.execute(
        update(PropertyRow)
        .where(
            PropertyRow.county == county,
            PropertyRow.situs_street == counts.c.situs_street,
            PropertyRow.units_at_situs != counts.c.accounts,
        )
        .values(units_at_situs=counts.c.accounts)
    )


def refresh_market_percentiles(
    conn: Connection, county: str, *, min_parcels: int = MIN_PARCELS_FOR_PERCENTILE
) -> None:
    """Rank every parcel of ``county`` by market value within the county and its situs ZIP.

    ``percent_rank()`` over the parcels with a market value above zero: the share of the
    others worth less (the cheapest 0, the most valuable 1; ties share the lower rank). The
    medians come from ``row_number()`` and the partition's size, which works on SQLite (the
    demo) as on PostgreSQL. A county or ZIP with fewer than ``min_parcels`` valued parcels gets
    no percentile and no median; so does a parcel without a value or without a ZIP (for the ZIP
    figures). Only rows whose figures change are written.
    """
    p = PropertyRow
    valued = and_(p.county == county, p.market_value > 0)
    county_part, zip_part = [p.county], [p.county, p.situs_zip]
    ranked = (
        select(
            p.id,
            p.situs_zip,
            p.market_value,
            func.percent_rank()
            .over(partition_by=county_part, order_by=p.market_value)
            .label("pct_county"),
            func.row_number()
            .over(partition_by=county_part, order_by=p.market_value)
            .label("rn_county"),
            func.count().over(partition_by=county_part).label("n_county"),
            func.percent_rank()
            .over(partition_by=zip_part, order_by=p.market_value)
            .label("pct_zip"),
            func.row_number().over(partition_by=zip_part, order_by=p.market_value).label("rn_zip"),
            func.count().over(partition_by=zip_part).label("n_zip"),
        )
        .where(valued)
        .cte("ranked")
    )

    def is_middle(rn: Any, n: Any) -> Any:
        # The middle row (n odd) or the two middle rows (n even): n <= 2·rn <= n + 2.
        return and_(rn * 2 >= n, rn * 2 <= n + 2)

    county_median = (
        select(func.round(func.avg(ranked.c.market_value), 2))
        .where(is_middle(ranked.c.rn_county, ranked.c.n_county))
        .correlate(None)
        .scalar_subquery()
    )
    zip_medians = (
        select(
            ranked.c.situs_zip,
            func.round(func.avg(ranked.c.market_value), 2).label("median"),
        )
        .where(ranked.c.situs_zip.is_not(None), is_middle(ranked.c.rn_zip, ranked.c.n_zip))
        .group_by(ranked.c.situs_zip)
        .subquery("zip_medians")
    )
    county_known = ranked.c.n_county >= min_parcels
    zip_known = and_(ranked.c.situs_zip.is_not(None), ranked.c.n_zip >= min_parcels)
    figures = (
        select(
            ranked.c.id,
            case((county_known, ranked.c.pct_county), else_=null()).label("pct_county"),
            case((zip_known, ranked.c.pct_zip), else_=null()).label("pct_zip"),
            case((county_known, county_median), else_=null()).label("median_county"),
            case((zip_known, zip_medians.c.median), else_=null()).label("median_zip"),
        )
        .select_from(ranked.outerjoin(zip_medians, zip_medians.c.situs_zip == ranked.c.situs_zip))
        .subquery("figures")
    )
    targets = {
        "market_value_percentile_county": figures.c.pct_county,
        "market_value_percentile_zip": figures.c.pct_zip,
        "county_median_market_value": figures.c.median_county,
        "zip_median_market_value": figures.c.median_zip,
    }
    conn.execute(
        update(p)
        .where(
            p.id == figures.c.id,
            or_(*[getattr(p, name).is_distinct_from(value) for name, value in targets.items()]),
        )
        .values(targets)
    )
    # Parcels that lost their value (or never had one) carry no figures.
    conn.execute(
        update(p)
        .where(
            p.county == county,
            or_(p.market_value.is_(None), p.market_value <= 0),
            or_(*[getattr(p, name).is_not(None) for name in targets]),
        )
        .values(dict.fromkeys(targets))
    )
