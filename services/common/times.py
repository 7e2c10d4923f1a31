"""Moments from outside (query parameters, cursors, the command line, messages) in UTC."""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime, timedelta

_RELATIVE = re.compile(r"^(\d+)([hd])$")


def as_utc(moment: datetime) -> datetime:
    """The moment in UTC, a time without zone taken as UTC.

    PostgreSQL refuses offsets beyond ±15:59 that Python accepts, so bounds are sent in UTC.
    Raises ValueError for moments that leave the calendar in UTC (year 1 at +05:00).
    """
    try:
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except OverflowError as exc:
        raise ValueError(f"{moment.isoformat()} is out of range") from exc


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``2026-05-01``, ``2026-05-01T12:00:00+02:00``, or relative: ``24h``, ``7d``."""
    relative = _RELATIVE.match(text.strip())
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        delta = timedelta(hours=amount) if unit == "h" else timedelta(days=amount)
        return (now or datetime.now(UTC)) - delta
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither an ISO date/time nor a duration like 24h or 7d"
        ) from exc
    try:
        return as_utc(moment)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
