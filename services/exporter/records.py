"""A lead as a buyer receives it: its CSV record, and which files of the export it belongs in.

Pure functions over ``LeadCells``, so the same code formats the tier files, the CSV download
of the API and the tests.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import PurePosixPath
from typing import Any, NamedTuple

from schemas.leads import REVIEW_BELOW_SCORE, REVIEW_FLAG
from schemas.taxonomy import Tier
from services.exporter.market_bands import market_value_band

CSV_HEADER: tuple[str, ...] = (
    "lead_id",
    "permit_id",
    "city",
    "county",
    "property_address",
    "owner_name",
    "project_description",
    "market_value",
    "days_old",
    "is_absentee",
    "score",
    "tier",
    "trade_group",
    "category",
    "reasoning",
    "ideal_contractor",
    "contact_priority",
    "flags",
    "scored_at",
    # Appended, never reordered: CRM integrations read columns by position.
    "related_permits",
    "zip_code",
    "latitude",
    "longitude",
    "location_approximate",
    # The marketplace (docs/marketplace.md): the quoted price, whether the contact fields are
    # shown (false: a preview, those cells are empty), and the band of the market value.
    "price",
    "revealed",
    "market_value_band",
)
# What a buyer sees of each permit folded into a lead (services/store/projects.py).
RELATED_PERMIT_FIELDS = ("permit_id", "permit_type", "category", "issued_date", "valuation")
SELLABLE_TIERS = frozenset({Tier.A, Tier.B, Tier.C})
FLAGGED_FILE = PurePosixPath("flagged/needs_review.csv")
RETRY_FILE = PurePosixPath("pending_retry/retry_queue.csv")
# Spreadsheet programs run a cell starting with one of these as a formula; permit text is
# untrusted, so such cells are prefixed with a quote (OWASP "CSV injection").
_FORMULA_STARTS = frozenset("=+-@\t\r")
FLAG_SEPARATOR = "; "


class LeadCells(NamedTuple):
    """The ``scored_leads`` columns a CSV record is made of; queries select exactly these.

    A tuple rather than the database row itself: attribute access on a SQLAlchemy row costs
    ten times more, and the CSV stream touches every field of every lead.
    """

    id: int
    permit_number: str
    city: str | None
    county: str | None
    property_address: str | None
    owner_name: str | None
    project_description: str | None
    market_value: Decimal | float | None
    issued_date: date | None
    is_absentee: bool | None
    score: int
    tier: str
    trade_group: str
    category: str
    reasoning: str | None
    ideal_contractor: str | None
    contact_priority: str
    flags: list[str]
    scored_at: datetime
    related_permits: list[dict[str, Any]]
    zip_code: str | None
    latitude: float | None
    longitude: float | None
    location_approximate: bool | None


class Offer(NamedTuple):
    """The marketplace cells of a record: the quoted price (None: not in the price book) and
    whether the viewer sees the lead in full."""

    price: Decimal | None
    revealed: bool


FULL_UNPRICED = Offer(None, True)


@cache  # one path object per file: building and hashing paths per lead dominated exports
def tier_file(trade_group: str, category: str, tier: str) -> PurePosixPath:
    """``luxury_outdoor/pool/tier_a.csv``: where a sellable lead of that tier is published."""
    return PurePosixPath(trade_group, category, f"tier_{tier.lower()}.csv")


def is_flagged(lead: LeadCells) -> bool:
    """A scored lead an operator should look at: the scorer's REVIEW flag, or a low score."""
    return lead.tier != Tier.RETRY and (
        lead.score < REVIEW_BELOW_SCORE or REVIEW_FLAG in lead.flags
    )


def destinations(lead: LeadCells) -> tuple[PurePosixPath, ...]:
    """The export files a lead is written to.

    A RETRY lead waits in the retry queue only. A flagged lead is still sellable (it passed
    every filter and the API sells it), so it is in its tier file *and* on the review list.
    """
    if lead.tier == Tier.RETRY:
        return (RETRY_FILE,)
    own = tier_file(lead.trade_group, lead.category, lead.tier)
    return (own, FLAGGED_FILE) if is_flagged(lead) else (own,)


def days_old(issued: date | None, today: date) -> int | None:
    return None if issued is None else (today - issued).days


def csv_record(lead: LeadCells, today: date, offer: Offer = FULL_UNPRICED) -> list[str]:
    """The lead's cells in full, in ``CSV_HEADER`` order; unknown values are empty cells.

    (A preview is made from this record by ``previews.preview_record``.)
    """
    age = days_old(lead.issued_date, today)
    return [
        str(lead.id),
        _text(lead.permit_number),
        _text(lead.city),
        _text(lead.county),
        _text(lead.property_address),
        _text(lead.owner_name),
        _text(lead.project_description),
        "" if lead.market_value is None else str(lead.market_value),
        "" if age is None else str(age),
        "" if lead.is_absentee is None else str(lead.is_absentee).lower(),
        str(lead.score),
        lead.tier,
        lead.trade_group,
        lead.category,
        _text(lead.reasoning),
        _text(lead.ideal_contractor),
        lead.contact_priority,
        _text(FLAG_SEPARATOR.join(lead.flags)),
        lead.scored_at.astimezone(UTC).isoformat(),
        related_permits_cell(lead.related_permits),
        lead.zip_code or "",
        "" if lead.latitude is None else repr(lead.latitude),
        "" if lead.longitude is None else repr(lead.longitude),
        "" if lead.location_approximate is None else str(lead.location_approximate).lower(),
        "" if offer.price is None else str(offer.price),
        str(offer.revealed).lower(),
        market_value_band(lead.market_value) or "",
    ]


def related_permits_cell(related: Sequence[dict[str, Any]]) -> str:
    """The permits folded into the lead as one JSON array (what the API shows of each), or an
    empty cell: exact for an integration to parse, and it never starts like a formula."""
    if not related:
        return ""
    shown = [{name: entry.get(name) for name in RELATED_PERMIT_FIELDS} for entry in related]
    return json.dumps(shown, ensure_ascii=False, separators=(",", ":"))


def _text(value: str | None) -> str:
    if not value:
        return ""
    return "'" + value if value[0] in _FORMULA_STARTS else value


def csv_text(records: Iterable[Sequence[str]], rows_per_chunk: int = 1_000) -> Iterator[str]:
    """A CSV document (header first) as text chunks, for streaming responses."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for count, record in enumerate(records, start=1):
        writer.writerow(record)
        if count % rows_per_chunk == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
