"""Moments from outside (query parameters, cursors, the command line, messages) in UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(moment: datetime) -> datetime:
    """The moment in UTC, a time without zone taken as UTC.

    PostgreSQL refuses offsets beyond ±15:59 that Python accepts, so bounds are sent in UTC.
    Raises ValueError for moments that leave the calendar in UTC (year 1 at +05:00).
    """
    try:
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except OverflowError as exc:
        raise ValueError(f"{moment.isoformat()} is out of range") from exc
