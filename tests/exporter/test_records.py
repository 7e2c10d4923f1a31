"""CSV records and file routing of a lead: pure functions, no database."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any

from schemas.leads import REVIEW_FLAG
from services.exporter.records import (
    CSV_HEADER,
    FLAGGED_FILE,
    RETRY_FILE,
    LeadCells,
    csv_record,
    csv_text,
    days_old,
    destinations,
)
from tests.exporter.factories import lead_values

TODAY = date(2026, 5, 10)
SPEC_COLUMNS = (
    "permit_id",
    "city",
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
)


def lead(**overrides: Any) -> LeadCells:
    values = lead_values(id=7, **overrides)
    return LeadCells(**{name: values[name] for name in LeadCells._fields})


def record(**overrides: Any) -> dict[str, str]:
    return dict(zip(CSV_HEADER, csv_record(lead(**overrides), TODAY), strict=True))


def test_columns_include_everything_spec_section_9_lists() -> None:
    assert set(SPEC_COLUMNS) <= set(CSV_HEADER)


def test_a_record_renders_each_value_for_a_spreadsheet() -> None:
    row = record(
        permit_number="2026-0001 BP",
        market_value=Decimal("820000.00"),
        issued_date=date(2026, 4, 20),
        is_absentee=True,
        flags=["absentee owner", "no phone"],
        scored_at=datetime(2026, 5, 2, 14, 0, tzinfo=UTC),
    )
    assert row["lead_id"] == "7"
    assert row["permit_id"] == "2026-0001 BP"
    assert row["market_value"] == "820000.00"
    assert row["days_old"] == "20"
    assert row["is_absentee"] == "true"
    assert row["score"] == "85" and row["tier"] == "A"
    assert row["flags"] == "absentee owner; no phone"
    assert row["scored_at"] == "2026-05-02T14:00:00+00:00"


def test_unknown_values_are_empty_cells_not_zero() -> None:
    row = record(market_value=None, issued_date=None, is_absentee=None, owner_name=None)
    assert (row["market_value"], row["days_old"], row["is_absentee"], row["owner_name"]) == (
        "",
        "",
        "",
        "",
    )


def test_days_old_counts_from_the_issue_date() -> None:
    assert days_old(date(2026, 5, 10), TODAY) == 0
    assert days_old(date(2026, 4, 10), TODAY) == 30
    assert days_old(None, TODAY) is None


def test_permit_text_cannot_become_a_spreadsheet_formula() -> None:
    row = record(project_description='=HYPERLINK("http://evil")', owner_name="+1 555", city="@x")
    assert row["project_description"] == '\'=HYPERLINK("http://evil")'
    assert row["owner_name"] == "'+1 555"
    assert row["city"] == "'@x"


def test_routing_to_files() -> None:
    tier_a = PurePosixPath("luxury_outdoor/pool/tier_a.csv")
    assert destinations(lead(score=85)) == (tier_a,)
    assert destinations(lead(score=-1)) == (RETRY_FILE,)
    low = lead(score=20, flags=[REVIEW_FLAG], category="roof", trade_group="home_exterior")
    assert destinations(low) == (PurePosixPath("home_exterior/roof/tier_c.csv"), FLAGGED_FILE)
    # A flag set by the scorer counts even when the score itself is fine.
    assert destinations(lead(score=55, flags=[REVIEW_FLAG]))[1] == FLAGGED_FILE
    assert destinations(lead(score=29))[1] == FLAGGED_FILE
    assert destinations(lead(score=30)) == (PurePosixPath("luxury_outdoor/pool/tier_c.csv"),)


def test_csv_text_is_a_parsable_document_with_a_header() -> None:
    records = [csv_record(lead(project_description='pool, "spa"\nand deck'), TODAY)] * 5
    text = "".join(csv_text(records, rows_per_chunk=2))
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_HEADER
    assert len(rows) == 6
    assert rows[1][CSV_HEADER.index("project_description")] == 'pool, "spa"\nand deck'
    assert list(csv.reader(io.StringIO("".join(csv_text([]))))) == [list(CSV_HEADER)]


# Every column in the position it had when it was added: CRM imports read by position.
COLUMNS_BY_POSITION = (
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
    "related_permits",
    "zip_code",
    "latitude",
    "longitude",
    "location_approximate",
    "price",
    "revealed",
    "market_value_band",
)


def test_columns_keep_their_positions_new_ones_are_appended() -> None:
    assert CSV_HEADER == COLUMNS_BY_POSITION


def test_location_columns_are_empty_without_a_location() -> None:
    assert [record()[name] for name in COLUMNS_BY_POSITION[20:24]] == ["", "", "", ""]
    cells = record(
        zip_code="78704", latitude=30.2417, longitude=-97.7696, location_approximate=True
    )
    assert [cells[name] for name in COLUMNS_BY_POSITION[20:24]] == [
        "78704",
        "30.2417",
        "-97.7696",
        "true",
    ]


def test_related_permits_are_a_column_as_json() -> None:
    assert record()["related_permits"] == ""
    folded = {
        "permit_key": "austin_tx:2015-2 EP",
        "permit_id": "2015-2 EP",
        "permit_type": "R- 434 Addition & Alterations",
        "category": "pool",
        "issued_date": "2015-03-02",
        "valuation": None,
    }
    cell = record(related_permits=[folded])["related_permits"]
    assert json.loads(cell) == [{k: v for k, v in folded.items() if k != "permit_key"}]
