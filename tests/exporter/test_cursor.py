"""Pagination cursors are opaque, round-trip exactly and reject anything else."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from services.exporter.cursor import Cursor, InvalidCursor, decode_cursor, encode_cursor


def test_round_trip_keeps_microseconds_and_zone() -> None:
    cursor = Cursor(87, datetime(2026, 5, 2, 12, 0, 0, 123456, tzinfo=UTC), 42)
    assert decode_cursor(encode_cursor(cursor)) == cursor


def _forge(payload: str) -> str:
    return base64.urlsafe_b64encode(payload.encode()).decode()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not base64!",
        _forge("{}"),
        _forge('[87, "2026-05-02T12:00:00", 1]'),  # no zone
        _forge('[101, "2026-05-02T12:00:00+00:00", 1]'),  # score out of range
        _forge('[87, "2026-05-02T12:00:00+00:00", 9223372036854775808]'),  # beyond BIGINT
        _forge('["87", "2026-05-02T12:00:00+00:00", 1]'),  # a string where a number goes
        _forge('[87, "x\' OR 1=1 --", 1]'),
    ],
)
def test_anything_not_issued_by_the_api_is_rejected(text: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(text)


def test_a_cursor_time_is_taken_to_utc_whatever_its_offset() -> None:
    # Python accepts offsets up to ±23:59, PostgreSQL only ±15:59: the cursor must not pass
    # the offset on (it was a 500 from the database).
    cursor = decode_cursor(_forge('[87, "2026-05-02T12:00:00+23:59", 1]'))
    assert cursor.scored_at == datetime(2026, 5, 1, 12, 1, tzinfo=UTC)
    assert cursor.scored_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-23:59"])
def test_a_cursor_time_that_leaves_the_calendar_in_utc_is_rejected(moment: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(_forge(f'[87, "{moment}", 1]'))
