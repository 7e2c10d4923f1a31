"""Town of Cary NC permits (CSV): no free text, but detailed application types."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path

from schemas.permits import RawPermit
from services.ingest.values import parse_date, parse_money

JURISDICTION = "cary_nc"
# The portal's "no type chosen" value.
TYPE_PLACEHOLDER = "[[SELECT APPLICATION TYPE]]"


def read_rows(path: Path, encoding: str = "utf-8") -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding=encoding) as handle:
        yield from csv.DictReader(handle)


def to_raw_permit(row: Mapping[str, str], scraped_at: datetime) -> RawPermit:
    application_type = row.get("application_type")
    return RawPermit(
        jurisdiction=JURISDICTION,
        # permit_number restarts every fiscal year; the application number ("12 - 345") is
        # the town's unique id.
        permit_number=row.get("application_number") or "",
        state="NC",
        property_address=row.get("address"),
        permit_type=None if application_type == TYPE_PLACEHOLDER else application_type,
        valuation=parse_money("valuation", row.get("valuation")),
        contractor_name=row.get("general_contractor"),
        owner_name=row.get("owner"),
        applied_date=parse_date(
            "application_date", row.get("application_date"), "%Y-%m-%d", "%m/%d/%y"
        ),
        status=row.get("application_status"),
        scraped_at=scraped_at,
    )
