"""Each portal mapper on its real export (../shared/data): row counts and the known quirks."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from schemas.permits import RawPermit
from services.ingest import austin, fortworth
from services.ingest.formats import RejectedRow, map_file

SCRAPED_AT = datetime(2016, 5, 1, tzinfo=UTC)
FILES = {
    "austin": "austin_permits_2015-01_to_2016-04.csv",
    "fortworth": "fortworth_permits_2026-04.json",
    "nashville": "nashville_permits_2021-2024.csv",
    "cary": "cary_nc_permits_fy2012-2015.csv",
}


@pytest.fixture(scope="module")
def mapped(shared_data: Path) -> dict[str, list[RawPermit | RejectedRow]]:
    return {fmt: list(map_file(shared_data / name, fmt, SCRAPED_AT)) for fmt, name in FILES.items()}


def permits(items: list[RawPermit | RejectedRow]) -> dict[str, RawPermit]:
    """By permit number; the first scrape of a permit wins."""
    found: dict[str, RawPermit] = {}
    for item in items:
        if isinstance(item, RawPermit):
            found.setdefault(item.permit_number, item)
    return found


@pytest.mark.parametrize(
    ("fmt", "rows", "rejected", "jurisdiction"),
    [
        ("austin", 84_802, 4, "austin_tx"),
        ("fortworth", 1_258, 0, "fort_worth_tx"),
        ("nashville", 5_996, 0, "nashville_tn"),
        ("cary", 20_231, 0, "cary_nc"),
    ],
)
def test_every_row_becomes_a_permit_or_a_counted_rejection(
    mapped: dict[str, list[RawPermit | RejectedRow]],
    fmt: str,
    rows: int,
    rejected: int,
    jurisdiction: str,
) -> None:
    items = mapped[fmt]
    assert len(items) == rows
    assert sum(isinstance(item, RejectedRow) for item in items) == rejected
    good = [item for item in items if isinstance(item, RawPermit)]
    assert {p.jurisdiction for p in good} == {jurisdiction}
    assert {p.scraped_at for p in good} == {SCRAPED_AT}


def test_austin_rows_broken_by_the_scraper_are_rejected_with_the_reason(
    mapped: dict[str, list[RawPermit | RejectedRow]],
) -> None:
    # A few daily files escaped quotes with backslashes, shifting text into the status column.
    rejections = [item for item in mapped["austin"] if isinstance(item, RejectedRow)]
    assert {r.reason for r in rejections} == {
        "invalid message: status: String should have at most 64 characters"
    }
    assert rejections[0].row_number > 1


def test_austin_permit_fields(mapped: dict[str, list[RawPermit | RejectedRow]]) -> None:
    found = permits(mapped["austin"])
    remodel = found["2014-025626 MP"]
    assert remodel.permit_type == "Mechanical Permit (MP)"
    assert remodel.permit_class == "R- 434 Addition & Alterations"
    assert remodel.applicant_name == "John Eschberger"
    assert remodel.contractor_name == "4 Seasons Heat & Cool"
    assert remodel.owner_name == "BODLE GERALD W"
    assert remodel.owner_mailing_zip == "78703-4828"
    assert remodel.issued_date == date(2015, 1, 2)
    assert remodel.valuation is None  # blank in the report: unknown, not $0
    assert remodel.work_description is not None
    assert remodel.work_description.endswith("new kitchen cabinets and flooring.")
    new_home = found["2015-013234 BP"]
    assert new_home.contractor_name == "Standard Pacific Homes Of Texas, Inc. Austin Division"
    assert new_home.applicant_name is None
    assert new_home.valuation == 268_275


@pytest.mark.parametrize(
    ("folder_owner", "person", "company"),
    [
        ("William Duhon, Duhon Electric", "William Duhon", "Duhon Electric"),
        ("Pacesetter Homes, llc", None, "Pacesetter Homes, llc"),
        (
            "Ula Franklin Jackson, Jr., Jackson Electric, Inc.",
            "Ula Franklin Jackson, Jr.",
            "Jackson Electric, Inc.",
        ),
        ("Viva Rogers, ", "Viva Rogers", None),
        ("Oliver Custom Homes", None, "Oliver Custom Homes"),
        ("", None, None),
    ],
)
def test_austin_folder_owner_is_split_into_person_and_company(
    folder_owner: str, person: str | None, company: str | None
) -> None:
    assert austin.split_folder_owner(folder_owner) == (person, company)


def test_fort_worth_quirks(mapped: dict[str, list[RawPermit | RejectedRow]]) -> None:
    found = [item for item in mapped["fortworth"] if isinstance(item, RawPermit)]
    assert not any(p.work_description == fortworth.DESCRIPTION_PLACEHOLDER for p in found)
    assert sum(p.work_description is None for p in found) == 969
    located = [p for p in found if p.latitude is not None]
    assert located
    assert all(32 < p.latitude < 34 and -98.5 < p.longitude < -96.5 for p in located)  # type: ignore[operator]
    assert all(p.issued_date is not None for p in found if p.status == "Issued")
    assert all(p.issued_date is None for p in found if p.status != "Issued")


def test_fort_worth_swapped_coordinates_are_put_back() -> None:
    row = {"coordinates": {"lat": -97.37402411657014, "lon": 32.913145972117746}}
    assert fortworth.coordinates(row) == (32.913145972117746, -97.37402411657014)


def test_nashville_quirks(mapped: dict[str, list[RawPermit | RejectedRow]]) -> None:
    found = permits(mapped["nashville"])
    first = found["2023023374"]
    assert first.applied_date == date(2023, 4, 11)  # 1681189200000 ms: local midnight
    assert first.issued_date is None
    assert first.parcel_id == "10412024600"
    assert first.city == "NASHVILLE"
    assert all(p.issued_date is None for p in found.values())


def test_cary_quirks(mapped: dict[str, list[RawPermit | RejectedRow]]) -> None:
    found = permits(mapped["cary"])
    assert len(found) == 20_231  # the application number is unique across fiscal years
    pool = found["12 - 30"]
    assert pool.valuation == 29_750.0
    assert pool.permit_type == "RESIDENTIAL POOL/SPA"
    assert pool.applied_date == date(2011, 7, 5)
    assert found["15 - 5162"].applied_date == date(2015, 2, 23)  # the 2015 file's MM/DD/YY
    assert found["15 - 5162"].valuation == 2_500.0


def test_json_lines_keep_the_scrapers_clock_and_reject_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "permits.jsonl"
    path.write_text(
        '{"jurisdiction": "austin_tx", "permit_number": "2016-1 BP", "property_address": "1 St"}\n'
        '{"jurisdiction": "austin_tx", "permit_number": "2016-2 BP",'
        ' "scraped_at": "2016-04-30T08:00:00Z"}\n'
        "\n"
        '{"jurisdiction": "austin_tx"}\n'
        "not json\n"
    )
    items = list(map_file(path, "jsonl", SCRAPED_AT))
    first, second, missing, garbage = items
    assert isinstance(first, RawPermit) and first.scraped_at == SCRAPED_AT
    assert isinstance(second, RawPermit)
    assert second.scraped_at == datetime(2016, 4, 30, 8, tzinfo=UTC)
    assert isinstance(missing, RejectedRow) and "permit_number: Field required" in missing.reason
    assert isinstance(garbage, RejectedRow) and garbage.row_number == 4
    assert "Invalid JSON" in garbage.reason
