"""Tier files: the export directory mirrors the leads that are for sale right now.

The layout and its rules are in docs/exporter.md, "Tier files".

Every run rewrites the whole tree from the database: a lead is in the files while it can still
be sold (``sold_count`` below the per-lead maximum), tier files that no longer have any lead
are removed, and the review list and retry queue are always written (possibly header-only).
Leads written for the first time move from status ``new`` to ``exported``.
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import TextIO

from sqlalchemy import Connection, Engine, or_, select, update

from schemas.taxonomy import Category, TradeGroup
from services.exporter.atomic_csv import AtomicCsvSet
from services.exporter.buyers import Buyer
from services.exporter.previews import preview_record
from services.exporter.prices import quoted_price
from services.exporter.queries import (
    CELL_COLUMNS,
    LEAD_ORDER,
    LeadStatus,
    bought_by,
    entitled,
    leads,
    offer_columns,
    stream_rows,
)
from services.exporter.records import (
    CSV_HEADER,
    FLAGGED_FILE,
    RETRY_FILE,
    SELLABLE_TIERS,
    LeadCells,
    Offer,
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
    stmt = select(*CELL_COLUMNS, quoted_price().label("price"), leads.c.status).where(
        leads.c.sold_count < max_buyers_per_lead
    )
    if since is not None:
        stmt = stmt.where(leads.c.scored_at >= since)
    today = now.date()
    newly_exported: list[int] = []
    with AtomicCsvSet(out_dir, CSV_HEADER) as files:
        files.open(FLAGGED_FILE)
        files.open(RETRY_FILE)
        with engine.connect() as conn:
            for row in stream_rows(conn, stmt.order_by(*LEAD_ORDER), _STREAM_BATCH):
                lead = LeadCells._make(row[:-2])
                # In full, priced as of now: serving re-prices each lead and previews it for
                # the marketplace buyers who have not bought it (``offered_record``).
                record = csv_record(lead, today, Offer(row.price, revealed=True))
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


def published_records(
    handle: TextIO, servable: Mapping[int, ServedOffer] | None
) -> Iterator[list[str]]:
    """The records of an open tier file whose lead is in ``servable`` (None: every record,
    as published), each as the viewer is offered it now: price, revealed, or a preview.

    Who may be served which lead is decided per lead id against the database
    (``servable_ids``), never from the file's cells, which may be out of date. Records are
    given in ``CSV_HEADER`` order even from a file written with fewer columns.
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
            cells = _in_current_columns(record, header)
            if servable is None:
                yield cells
            elif (offer := servable.get(int(record[id_at]))) is not None:
                yield offered_record(cells, offer)


def offered_record(cells: list[str], offer: ServedOffer) -> list[str]:
    """A published record as one viewer is offered it: today's price, and a preview unless
    the lead is revealed to that viewer."""
    cells[_PRICE_AT] = "" if offer.price is None else str(offer.price)
    cells[_REVEALED_AT] = str(offer.revealed).lower()
    return cells if offer.revealed else preview_record(cells, offer.extra_names)


_PRICE_AT, _REVEALED_AT = CSV_HEADER.index("price"), CSV_HEADER.index("revealed")


def _in_current_columns(record: list[str], header: list[str]) -> list[str]:
    if len(header) == len(CSV_HEADER) and tuple(header) == CSV_HEADER:
        return record
    by_name = dict(zip(header, record, strict=False))
    return [by_name.get(name, "") for name in CSV_HEADER]


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


def servable_ids(
    conn: Connection,
    buyer: Buyer,
    trade_group: str,
    category: str,
    tier: str,
    lead_ids: Sequence[int],
    max_buyers_per_lead: int,
) -> dict[int, ServedOffer]:
    """Which of a tier file's leads the buyer may be served from it, decided per id, now,
    each with what the buyer is offered of it now (price, revealed or a preview).

    A lead qualifies when it still belongs to this file (its trade group, category and tier
    have not changed since the file was written) and the buyer may see it now: within their
    entitlements (trade group, tier, county as stored now) and still for sale or bought by
    them. Anything else (re-scored, re-categorised, moved county, sold to another buyer,
    deleted) is left out, whatever the file says about it.
    """
    servable: dict[int, ServedOffer] = {}
    for start in range(0, len(lead_ids), _IDS_PER_QUERY):
        stmt = select(leads.c.id, *offer_columns(buyer)).where(
            leads.c.id.in_(lead_ids[start : start + _IDS_PER_QUERY]),
            leads.c.trade_group == trade_group,
            leads.c.category == category,
            leads.c.tier == tier,
            entitled(buyer.entitlements),
            or_(leads.c.sold_count < max_buyers_per_lead, bought_by(buyer)),
        )
        for row in conn.execute(stmt):
            servable[row.id] = ServedOffer(
                row.price, row.revealed, (row.applicant_name, row.contractor_name)
            )
    return servable


@dataclass(frozen=True)
class ServedOffer:
    """What a viewer is offered of one lead now, and the names its preview must redact."""

    price: Decimal | None
    revealed: bool
    extra_names: tuple[str | None, str | None]


_IDS_PER_QUERY = 5_000
