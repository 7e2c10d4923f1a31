"""City of Fort Worth development permits (ArcGIS export as JSON: ``{"meta", "permits": []}``)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from schemas.permits import RawPermit
from services.ingest.values import (
    RowRejected,
    join_words,
    kind_of,
    parse_float,
    parse_iso_date,
    text_value,
    us_zip,
)

JURISDICTION = "fort_worth_tx"

# The portal's "no description" value, sent in most rows instead of a blank.
DESCRIPTION_PLACEHOLDER = "B1_WORK_DESC"
# The portal's "not applicable" in its category columns.
NOT_APPLICABLE = "NA"


def read_rows(path: Path, encoding: str = "utf-8") -> Iterator[Any]:
    """The export's rows as they are; a row that is not an object is rejected when mapped."""
    with path.open(encoding=encoding) as handle:
        document = json.load(handle)
    rows = document.get("permits") if isinstance(document, dict) else None
    if not isinstance(rows, list):
        raise ValueError('not a Fort Worth export: expected {"permits": [...]}')
    yield from rows


def coordinates(row: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """(latitude, longitude); the source has shipped them swapped, which is undone here.

    Fort Worth lies north of the equator and west of Greenwich, so a negative "lat" with a
    positive "lon" can only be the two values in each other's place.
    """
    point = row.get("coordinates") or {}  # null, [] and {} all mean "no point"
    if not isinstance(point, Mapping):
        raise RowRejected(f"coordinates: expected an object with lat and lon, got {kind_of(point)}")
    lat = parse_float("coordinates.lat", point.get("lat"))
    lon = parse_float("coordinates.lon", point.get("lon"))
    if lat is not None and lon is not None and lat < 0 < lon:
        lat, lon = lon, lat
    return lat, lon


def _portal_value(row: Mapping[str, Any], field: str) -> str | None:
    text = text_value(field, row.get(field))
    return None if text in (NOT_APPLICABLE, DESCRIPTION_PLACEHOLDER) else text


def to_raw_permit(row: Mapping[str, Any], scraped_at: datetime) -> RawPermit:
    if not isinstance(row, Mapping):
        raise RowRejected(f"row: expected an object, got {kind_of(row)}")
    latitude, longitude = coordinates(row)
    status = text_value("current_status", row.get("current_status"))
    return RawPermit(
        jurisdiction=JURISDICTION,
        permit_number=row.get("permit_no") or "",
        state="TX",
        zip_code=us_zip(row.get("zip_code"), "zip_code"),
        property_address=row.get("address"),
        permit_type=row.get("permit_type"),
        # What is built (use) is the portal's class; new/remodel/addition is the work.
        permit_class=join_words(
            _portal_value(row, "use_type"), _portal_value(row, "specific_use"), sep="; "
        ),
        work_type=join_words(
            _portal_value(row, "permit_subtype"),
            _portal_value(row, "permit_category"),
            sep="; ",
        ),
        work_description=_portal_value(row, "work_description"),
        valuation=parse_float("job_value", row.get("job_value")),
        # The project name is whoever filed: usually the builder or the contractor.
        applicant_name=row.get("project_name"),
        owner_name=row.get("owner_name"),
        applied_date=parse_iso_date("file_date", row.get("file_date")),
        # The export has no issue date; for an issued permit the status date is that date.
        issued_date=parse_iso_date("status_date", row.get("status_date"))
        if status == "Issued"
        else None,
        status=status,
        latitude=latitude,
        longitude=longitude,
        scraped_at=scraped_at,
    )
