"""Pagination cursors are opaque, round-trip exactly and reject anything else."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

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
