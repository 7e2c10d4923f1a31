"""Tier files (SPEC §9): the export directory mirrors the leads that are for sale right now.

Every run rewrites the whole tree from the database: a lead is in the files while it can still
be sold (``sold_count`` below the per-lead maximum), tier files that no longer have any lead
are removed, and the review list and retry queue are always written (possibly header-only).
Leads written for the first time move from status ``new`` to ``exported``.
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TextIO

from sqlalchemy import Engine, select, update

from schemas.taxonomy import Category, TradeGroup
from services.exporter.atomic_csv import AtomicCsvSet
from services.exporter.queries import CELL_COLUMNS, LEAD_ORDER, LeadStatus, leads, stream_rows
from services.exporter.records import (
    CSV_HEADER,
    FLAGGED_FILE,
    RETRY_FILE,
    SELLABLE_TIERS,
    LeadCells,
    csv_record,
    destinations,
    tier_file,
)

_STREAM_BATCH = 2_000
_STATUS_BATCH = 5_000


@dataclass(frozen=True)
class ExportReport:
    files: dict[PurePosixPath, int]  # published file → data rows
    removed: list[PurePosixPath]  # tier files that had no lead left
    marked_exported: int


def export_tier_files(
    engine: Engine,
    out_dir: Path,
    *,
    max_buyers_per_lead: int,
    now: datetime,
    since: datetime | None = None,
) -> ExportReport:
    """Rewrite the tier files under ``out_dir`` (only leads scored since ``since``, if given)."""
    stmt = select(*CELL_COLUMNS, leads.c.status).where(leads.c.sold_count < max_buyers_per_lead)
    if since is not None:
        stmt = stmt.where(leads.c.scored_at >= since)
    today = now.date()
    newly_exported: list[int] = []
    with AtomicCsvSet(out_dir, CSV_HEADER) as files:
        files.open(FLAGGED_FILE)
        files.open(RETRY_FILE)
        with engine.connect() as conn:
            for row in stream_rows(conn, stmt.order_by(*LEAD_ORDER), _STREAM_BATCH):
                lead = LeadCells._make(row[:-1])
                record = csv_record(lead, today)
                for path in destinations(lead):
                    files.write(path, record)
                if row.status == LeadStatus.NEW:
                    newly_exported.append(lead.id)
        counts = files.publish()
    removed = _remove_stale_tier_files(out_dir, keep=counts.keys())
    return ExportReport(counts, removed, _mark_exported(engine, newly_exported, now))


def open_published(path: Path) -> TextIO | None:
    """A published tier file opened for serving, or None when there is no such file yet.

    Serving reads the open file twice (its lead ids, then its records): both passes see the
    same file even if an export replaces it in between (the rename gives the path a new file).
    """
    try:
        return path.open(newline="", encoding="utf-8")
    except FileNotFoundError:
        return None


def published_lead_ids(handle: TextIO) -> list[int]:
    """The ids of the leads in an open tier file; the file is rewound afterwards."""
    handle.seek(0)
    reader = csv.reader(handle)
    header = next(reader, None)
    ids = [] if header is None else [int(record[header.index("lead_id")]) for record in reader]
    handle.seek(0)
    return ids


def published_records(handle: TextIO, servable: Collection[int] | None) -> Iterator[list[str]]:
    """The records of an open tier file whose lead is in ``servable`` (None: every record).

    Who may be served which lead is decided per lead id against the database
    (``queries.servable_ids``), never from the file's cells, which may be out of date.
    The file is closed when the records are exhausted or the iterator is closed.
    """
    with handle:
        handle.seek(0)
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return
        id_at = header.index("lead_id")
        for record in reader:
            if servable is None or int(record[id_at]) in servable:
                yield record


def _remove_stale_tier_files(out_dir: Path, keep: Collection[PurePosixPath]) -> list[PurePosixPath]:
    """Delete tier files of the layout that this run did not write (no lead left in them).

    Only names of the layout are candidates, so nothing else in ``out_dir`` is ever touched.
    """
    removed = []
    for trade_group in TradeGroup:
        for category in Category:
            for tier in sorted(SELLABLE_TIERS):
                path = tier_file(trade_group, category, tier)
                if path not in keep and (out_dir / path).is_file():
                    (out_dir / path).unlink()
                    removed.append(path)
    return removed


def _mark_exported(engine: Engine, lead_ids: list[int], now: datetime) -> int:
    """new → exported, in batches; a lead sold meanwhile keeps its newer status."""
    marked = 0
    with engine.begin() as conn:
        for start in range(0, len(lead_ids), _STATUS_BATCH):
            batch = lead_ids[start : start + _STATUS_BATCH]
            result = conn.execute(
                update(leads)
                .where(leads.c.id.in_(batch), leads.c.status == LeadStatus.NEW.value)
                .values(status=LeadStatus.EXPORTED.value, exported_at=now, updated_at=now)
            )
            marked += result.rowcount
    return marked
