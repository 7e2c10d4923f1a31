"""Rows no portal should send but some do: each is rejected with its reason, the rest go on."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from schemas.permits import RawPermit
from services.cli import main as leadstream
from services.ingest import jsonl
from services.ingest.formats import FORMATS, PortalFormat, RejectedRow, detect_encoding, map_file

SCRAPED_AT = datetime(2016, 5, 1, tzinfo=UTC)

NASHVILLE_HEADER = ["Permit__", "Address", "Purpose", "Date_Entered", "Date_Issued", "ZIP"]
AUSTIN_HEADER = ["permit_number", "permit_location", "work_description", "date_issued"]


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str) -> Path:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(text.getvalue().encode(encoding))
    return path


def mapped(path: Path, fmt: str, encoding: str | None = None) -> dict[int, RawPermit | RejectedRow]:
    return dict(enumerate(map_file(path, fmt, SCRAPED_AT, encoding=encoding), start=1))


def reason(item: RawPermit | RejectedRow) -> str:
    assert isinstance(item, RejectedRow), item
    return item.reason


def test_an_epoch_beyond_any_calendar_rejects_only_its_row(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "nashville.csv",
        NASHVILLE_HEADER,
        [
            ["1", "1 Main St", "Deck", "1681189200000", "", "37212"],
            ["2", "2 Main St", "Deck", "99999999999999999999", "", "37212"],  # OverflowError
            ["3", "3 Main St", "Deck", "-99999999999999", "", "37212"],  # year < 1
            ["4", "4 Main St", "Deck", "253402300800000", "", "37212"],  # year 10000
            ["5", "5 Main St", "Deck", "-2208988800001", "", "37212"],  # 1899-12-31
            ["6", "6 Main St", "Deck", "", "12/31/9999", "37212"],
            ["7", "7 Main St", "Deck", "1681189200000", "", "37212"],
        ],
        "utf-8",
    )
    items = mapped(path, "nashville")
    assert isinstance(items[1], RawPermit) and items[1].applied_date == date(2023, 4, 11)
    for row in (2, 3, 4):
        assert reason(items[row]).startswith("Date_Entered: ")
        assert "out of range" in reason(items[row])
    assert reason(items[5]).startswith("invalid message: applied_date: 1899-12-31 is outside")
    assert reason(items[6]).startswith("invalid message: issued_date: 9999-12-31 is outside")
    assert isinstance(items[7], RawPermit)


def fort_worth_row(number: str, **changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "permit_no": number,
        "permit_type": "Plumbing",
        "address": "10032 CHRYSALIS DR",
        "zip_code": 76131,
        "file_date": "2026-04-09T00:00:00.993000+00:00",
        "current_status": "Issued",
        "status_date": "2026-04-09T00:00:00+00:00",
        "coordinates": {"lat": 32.9, "lon": -97.3},
    }
    return {**row, **changes}


def test_fort_worth_values_of_an_unexpected_shape_reject_only_their_row(tmp_path: Path) -> None:
    rows: list[object] = [
        fort_worth_row("PP-1"),
        fort_worth_row("PP-2", coordinates=[]),
        fort_worth_row("PP-3", coordinates=[32.9, -97.3]),
        fort_worth_row("PP-4", zip_code=76131.0),
        fort_worth_row("PP-5", zip_code=["76131"]),
        fort_worth_row("PP-6", current_status=7),
        fort_worth_row("PP-7", file_date=1681189200000),
        fort_worth_row("PP-8", file_date="0001-01-01T00:00:00+05:00"),
        fort_worth_row("PP-9", status_date="9999-12-31T23:59:59-23:59"),
        "not an object",
        fort_worth_row("PP-11", coordinates={"lat": "north", "lon": -97.3}),
        fort_worth_row("PP-12"),
    ]
    path = tmp_path / "fortworth.json"
    path.write_text(json.dumps({"meta": {}, "permits": rows}))
    items = mapped(path, "fortworth")
    assert [n for n, item in items.items() if isinstance(item, RawPermit)] == [1, 2, 4, 12]
    assert isinstance(items[2], RawPermit) and items[2].latitude is None  # [] = no point
    assert isinstance(items[4], RawPermit) and items[4].zip_code == "76131"
    assert reason(items[3]) == "coordinates: expected an object with lat and lon, got a list"
    assert reason(items[5]) == "zip_code: expected text or a number, got a list"
    assert reason(items[6]) == "current_status: expected text, got a number"
    assert reason(items[7]) == "file_date: expected text, got a number"
    assert reason(items[8]).startswith("invalid message: applied_date: 0001-01-01 is outside")
    assert reason(items[9]).startswith("invalid message: issued_date: 9999-12-31 is outside")
    assert reason(items[10]) == "row: expected an object, got text"
    assert reason(items[11]) == "coordinates.lat: 'north' is not a number"


def test_a_windows_1252_export_is_read_as_such(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "austin.csv",
        AUSTIN_HEADER,
        [
            ["2015-1 BP", "1 Main St", "Caf\u00e9 remodel \u2013 new d\u00e9cor", "01/05/2015"],
            ["2015-2 BP", "2 Main St", "Pool", "01/01/0001"],
            ["2015-3 BP", "3 Main St", "Pool", "12/31/9999"],
            ["2015-4 BP", "4 Main St", "Pool", "01/06/2015"],
        ],
        "cp1252",
    )
    assert detect_encoding(path) == "cp1252"
    items = mapped(path, "austin")
    first = items[1]
    assert isinstance(first, RawPermit)
    assert first.work_description == "Caf\u00e9 remodel \u2013 new d\u00e9cor"
    assert reason(items[2]).startswith("invalid message: issued_date: 0001-01-01 is outside")
    assert reason(items[3]).startswith("invalid message: issued_date: 9999-12-31 is outside")
    assert isinstance(items[4], RawPermit)


def test_encoding_detection_prefers_utf8_and_honours_a_byte_order_mark(tmp_path: Path) -> None:
    plain = write_csv(tmp_path / "a.csv", AUSTIN_HEADER, [["1 BP", "x", "Caf\u00e9", ""]], "utf-8")
    bom = write_csv(
        tmp_path / "b.csv", AUSTIN_HEADER, [["2 BP", "x", "Caf\u00e9", ""]], "utf-8-sig"
    )
    ascii_only = write_csv(tmp_path / "c.csv", AUSTIN_HEADER, [["3 BP", "x", "Cafe", ""]], "ascii")
    odd = tmp_path / "d.jsonl"  # 0x81 is undefined in Windows-1252: read as Latin-1
    odd.write_bytes(b'{"jurisdiction": "cary_nc", "permit_number": "\x81"}\n')
    assert [detect_encoding(p) for p in (plain, bom, ascii_only, odd)] == [
        "utf-8",
        "utf-8-sig",
        "utf-8",
        "latin-1",
    ]
    permit = mapped(bom, "austin")[1]
    assert isinstance(permit, RawPermit) and permit.permit_number == "2 BP"  # header not "\ufeff…"
    # An explicit encoding is used as given.
    forced = mapped(plain, "austin", encoding="cp1252")[1]
    assert isinstance(forced, RawPermit) and forced.work_description == "Caf\u00c3\u00a9"


def test_json_lines_refuse_a_scrape_time_in_the_future_or_out_of_the_calendar(
    tmp_path: Path,
) -> None:
    future = datetime.now(UTC) + timedelta(days=2)
    lines = [
        {"jurisdiction": "cary_nc", "permit_number": "1", "scraped_at": "2090-01-01T00:00:00Z"},
        {"jurisdiction": "cary_nc", "permit_number": "2", "scraped_at": future.isoformat()},
        {
            "jurisdiction": "cary_nc",
            "permit_number": "3",
            "scraped_at": "0001-01-01T00:00:00+05:00",
        },
        {
            "jurisdiction": "cary_nc",
            "permit_number": "4",
            "scraped_at": "9999-12-31T23:59:59-23:59",
        },
        {
            "jurisdiction": "cary_nc",
            "permit_number": "5",
            "scraped_at": "2016-04-30T23:00:00-23:59",
        },
        {"jurisdiction": "cary_nc", "permit_number": "6", "zip_code": 27511},
    ]
    path = tmp_path / "scraper.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    items = mapped(path, "jsonl")
    assert "in the future" in reason(items[1]) and "in the future" in reason(items[2])
    assert reason(items[3]).startswith("invalid message: scraped_at: 0001-01-01T00:00:00+05:00")
    assert reason(items[4]).startswith("invalid message: scraped_at: 9999-12-31T23:59:59-23:59")
    assert isinstance(items[5], RawPermit)
    assert reason(items[6]) == "invalid message: zip_code: Input should be a valid string"


def test_the_callers_clock_given_to_json_lines_is_checked_too(tmp_path: Path) -> None:
    path = tmp_path / "scraper.jsonl"
    path.write_text('{"jurisdiction": "cary_nc", "permit_number": "1"}\n')
    far = datetime(2090, 1, 1, tzinfo=UTC)
    (item,) = map_file(path, "jsonl", far)
    assert "in the future" in reason(item)


@pytest.mark.parametrize("clock", ["2090-01-01", "0001-01-01T00:00:00+05:00", "9999-12-31"])
def test_publish_refuses_an_impossible_scraped_at_before_reading_the_file(
    tmp_path: Path, clock: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "scraper.jsonl"
    path.write_text('{"jurisdiction": "cary_nc", "permit_number": "1"}\n')
    with pytest.raises(SystemExit) as exit_:
        leadstream(["publish", str(path), "--format", "jsonl", "--scraped-at", clock])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--scraped-at" in err and ("in the future" in err or "outside" in err)


def test_whatever_a_mapper_trips_over_rejects_that_row_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The general rule, for values no parser anticipated yet: the row, not the file."""

    def fragile(line: str, scraped_at: datetime) -> RawPermit:
        if "overflow" in line:
            raise OverflowError("date value out of range")
        if "os" in line:
            raise OSError(22, "Invalid argument")
        if "type" in line:
            raise TypeError("'NoneType' object is not subscriptable")
        return jsonl.to_raw_permit(line, scraped_at)

    monkeypatch.setitem(FORMATS, "fragile", PortalFormat(jsonl.read_rows, fragile))
    path = tmp_path / "rows.jsonl"
    good = '{"jurisdiction": "cary_nc", "permit_number": "1"}'
    path.write_text("\n".join([good, "overflow", "os", "type", good]) + "\n")
    items = mapped(path, "fragile")
    assert isinstance(items[1], RawPermit) and isinstance(items[5], RawPermit)
    assert reason(items[2]) == "unreadable row: OverflowError: date value out of range"
    assert reason(items[3]) == "unreadable row: OSError: [Errno 22] Invalid argument"
    assert reason(items[4]).startswith("unreadable row: TypeError: ")
