"""Where a lead is: the portal's point from the real exports, else the ZIP's centroid."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from schemas import RawPermit
from services.ingest import austin, fortworth
from services.subscriptions.geo import miles_between
from services.subscriptions.location import Location, lead_location, zip_centroid

SCRAPED = datetime(2026, 4, 10, tzinfo=UTC)
FORT_WORTH_CITY_HALL = (32.7503, -97.3300)


def permit(**fields: Any) -> RawPermit:
    return RawPermit(jurisdiction="test_tx", permit_number="P-1", **fields)


def test_the_portals_point_wins_over_the_zip() -> None:
    located = lead_location(permit(zip_code="76102", latitude=32.76, longitude=-97.33))
    assert located == Location("76102", 32.76, -97.33, approximate=False)


def test_without_a_point_the_zips_centroid_marked_approximate() -> None:
    located = lead_location(permit(zip_code="76102-4512"))
    assert located.zip_code == "76102" and located.approximate is True
    assert located.latitude is not None and located.longitude is not None
    # The centroid of downtown Fort Worth's ZIP is downtown Fort Worth.
    assert miles_between(located.latitude, located.longitude, *FORT_WORTH_CITY_HALL) < 2


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"zip_code": "00000"},  # not a ZIP
        {"zip_code": "7610"},
        {"latitude": 32.7},  # half a point is no point
        {"latitude": 0.0, "longitude": 0.0},  # a portal's "not geocoded"
    ],
)
def test_no_point_and_no_known_zip_is_no_location(fields: dict[str, Any]) -> None:
    located = lead_location(permit(**fields))
    assert (located.latitude, located.longitude, located.approximate) == (None, None, None)


def test_an_unknown_zip_has_no_centroid() -> None:
    assert zip_centroid("00000") is None and zip_centroid("99999") is None


def test_austin_permits_carry_the_portals_point(shared_data: Path) -> None:
    rows = austin.read_rows(shared_data / "austin_permits_2015-01_to_2016-04.csv", "utf-8")
    located = [lead_location(austin.to_raw_permit(next(rows), SCRAPED)) for _ in range(200)]
    with_point = [loc for loc in located if loc.approximate is False]
    assert len(with_point) > 150
    for loc in with_point:  # Austin, not the Gulf of Guinea or swapped
        assert loc.latitude is not None and loc.longitude is not None
        assert 29 < loc.latitude < 31.5 and -99 < loc.longitude < -96


def test_fort_worth_permits_without_coordinates_get_their_zips_centroid(
    shared_data: Path,
) -> None:
    document = json.loads((shared_data / "fortworth_permits_2026-04.json").read_text())
    rows = document["permits"]
    without = [r for r in rows if not r.get("coordinates") and r.get("zip_code")][:20]
    with_point = [r for r in rows if r.get("coordinates")][:20]
    assert len(without) == 20 and len(with_point) == 20
    for row in with_point:
        loc = lead_location(fortworth.to_raw_permit(row, SCRAPED))
        assert loc.approximate is False
        assert loc.latitude is not None and loc.longitude is not None
        assert miles_between(loc.latitude, loc.longitude, *FORT_WORTH_CITY_HALL) < 40
    for row in without:
        loc = lead_location(fortworth.to_raw_permit(row, SCRAPED))
        assert loc.approximate is True
        assert loc.latitude is not None and loc.longitude is not None
        assert miles_between(loc.latitude, loc.longitude, *FORT_WORTH_CITY_HALL) < 40
