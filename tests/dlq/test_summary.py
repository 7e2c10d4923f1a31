from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.dlq.summary import (
    ErrorCount,
    FailureKind,
    error_class,
    format_summary,
    group_failures,
)

NOW = datetime(2026, 5, 1, 3, 12, 44, tzinfo=UTC)
VALUATION = "invalid message: valuation: Input should be a valid number, unable to parse string"


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (f"{VALUATION}; permit_number: Field required", VALUATION),
        (
            "message is 5,242,880 bytes, over the 1,048,576 byte limit",
            "message is N bytes, over the N byte limit",
        ),
        (
            "not UTF-8: 'utf-8' codec can't decode byte 0xff in position 12: invalid start byte",
            "not UTF-8: 'utf-8' codec can't decode byte 0xff in position N: invalid start byte",
        ),
        (
            "rejected by the database: scored_leads: duplicate key value violates unique "
            'constraint "uq_x" (Key (permit_key)=(austin_tx:BP-1) already exists)',
            "rejected by the database: scored_leads: duplicate key value violates unique "
            'constraint "uq_x"',
        ),
        (
            "rejected by the database: scored_leads: value too long for type character "
            "varying(120)",
            "rejected by the database: scored_leads: value too long for type character varying(N)",
        ),
        ("", "(no error text)"),
    ],
)
def test_an_error_s_kind_is_its_first_clause_without_what_differs_per_message(
    error: str, kind: str
) -> None:
    assert error_class(error) == kind


def test_errors_of_one_kind_are_one_line_and_the_biggest_kind_comes_first() -> None:
    older = NOW - timedelta(hours=5)
    counts = [
        ErrorCount("categorizer", "permits.raw", f"{VALUATION}; city: Field required", 200, older),
        ErrorCount("categorizer", "permits.raw", VALUATION, 300, NOW),
        ErrorCount("categorizer", "permits.raw", "not UTF-8: … in position 3", 1, older),
        ErrorCount("categorizer", "permits.raw", "not UTF-8: … in position 9", 1, NOW),
        ErrorCount("enricher", "permits.raw", VALUATION, 4, older),
    ]
    assert group_failures(counts) == [
        FailureKind("categorizer", "permits.raw", VALUATION, 500, NOW),
        FailureKind("enricher", "permits.raw", VALUATION, 4, older),
        FailureKind("categorizer", "permits.raw", "not UTF-8: … in position N", 2, NOW),
    ]


def test_the_summary_is_a_table_with_totals() -> None:
    kinds = [
        FailureKind("categorizer", "permits.raw", VALUATION, 1_500, NOW),
        FailureKind("store", "leads.scored", "x" * 300, 3, NOW - timedelta(days=1)),
    ]
    lines = format_summary(kinds, replayed=120, failed_since=NOW - timedelta(days=7)).splitlines()
    assert lines[0] == "Dead letters waiting for replay (failed since 2026-04-24 03:12:44):"
    assert lines[2].split("  ")[0] == "count"
    assert lines[3] == f"1,500  2026-05-01 03:12:44   categorizer  permits.raw   {VALUATION}"
    assert lines[4].startswith("    3  2026-04-30 03:12:44   store        leads.scored  xxx")
    assert lines[4].endswith("x…") and len(lines[4]) < 160
    assert lines[-1] == "1,503 waiting in 2 kinds; 120 already replayed."


def test_the_summary_says_so_when_nothing_waits() -> None:
    assert format_summary([], replayed=4, failed_since=None) == (
        "No dead letters waiting for replay (all time); 4 already replayed."
    )
