"""Metro Nashville building permit applications (CSV)."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from schemas.permits import RawPermit
from services.ingest.values import (
    parse_date,
    parse_epoch_ms_date,
    parse_float,
    parse_money,
    us_zip,
)

JURISDICTION = "nashville_tn"
LOCAL_TIME = ZoneInfo("America/Chicago")
# The portal's city when it has none.
UNKNOWN_CITY = "UNKNOWN"


def read_rows(path: Path, encoding: str = "utf-8") -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding=encoding) as handle:
        yield from csv.DictReader(handle)


def to_raw_permit(row: Mapping[str, str], scraped_at: datetime) -> RawPermit:
    city = row.get("City")
    return RawPermit(
        jurisdiction=JURISDICTION,
        permit_number=row.get("Permit__") or "",
        city=None if city == UNKNOWN_CITY else city,
        state=row.get("State"),
        zip_code=us_zip(row.get("ZIP"), "ZIP"),
        county="Davidson",  # Metro Nashville is Davidson County
        property_address=row.get("Address"),
        parcel_id=row.get("Parcel"),
        permit_type=row.get("Permit_Type_Description"),
        permit_class=row.get("Permit_Subtype_Description"),
        work_description=row.get("Purpose"),
        valuation=parse_money("Const_Cost", row.get("Const_Cost")),
        contractor_name=row.get("Contact"),
        applied_date=parse_epoch_ms_date("Date_Entered", row.get("Date_Entered"), LOCAL_TIME),
        # Always empty in the published export; read it should the city start filling it.
        issued_date=parse_date("Date_Issued", row.get("Date_Issued"), "%m/%d/%Y", "%Y-%m-%d"),
        latitude=parse_float("Lat", row.get("Lat")),
        longitude=parse_float("Lon", row.get("Lon")),
        scraped_at=scraped_at,
    )
