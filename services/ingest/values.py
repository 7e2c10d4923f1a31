"""Parsers for the value shapes portals use; each keeps "missing" as None, never 0 or ""."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

_MONEY = re.compile(r"^\$?\s*(-?[\d,]*\.?\d+)$")


class RowRejected(ValueError):
    """A portal row whose values cannot be read; the message says which value and why."""


def blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None


def parse_money(field: str, value: str | None) -> float | None:
    """``"$29,750.00"`` → 29750.0; blank → None."""
    text = blank_to_none(value)
    if text is None:
        return None
    match = _MONEY.match(text)
    if match is None:
        raise RowRejected(f"{field}: {text!r} is not an amount of money")
    return float(match.group(1).replace(",", ""))


def parse_date(field: str, value: str | None, *formats: str) -> date | None:
    """The first of ``formats`` (strptime) that reads ``value``; blank → None."""
    text = blank_to_none(value)
    if text is None:
        return None
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise RowRejected(f"{field}: {text!r} is not a date ({' or '.join(formats)})")


def parse_iso_date(field: str, value: str | None) -> date | None:
    """The calendar date of an ISO-8601 date or timestamp, as the portal wrote it."""
    text = blank_to_none(value)
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text).date()
    except ValueError as exc:
        raise RowRejected(f"{field}: {text!r} is not an ISO date") from exc


def parse_epoch_ms_date(field: str, value: str | None, zone: ZoneInfo) -> date | None:
    """Epoch milliseconds (portals store local midnight) → the local calendar date."""
    text = blank_to_none(value)
    if text is None:
        return None
    try:
        millis = int(text)
    except ValueError as exc:
        raise RowRejected(f"{field}: {text!r} is not epoch milliseconds") from exc
    return datetime.fromtimestamp(millis / 1000, UTC).astimezone(zone).date()


def parse_float(field: str, value: str | float | None) -> float | None:
    if value is None or isinstance(value, float | int):
        return None if value is None else float(value)
    text = blank_to_none(value)
    if text is None:
        return None
    try:
        return float(text)
    except ValueError as exc:
        raise RowRejected(f"{field}: {text!r} is not a number") from exc


def join_words(*parts: str | None, sep: str = " ") -> str | None:
    """Join the non-blank parts; None when all are blank."""
    kept = [p.strip() for p in parts if p is not None and p.strip()]
    return sep.join(kept) or None


def collapse_spaces(value: str | None) -> str | None:
    text = blank_to_none(value)
    return None if text is None else " ".join(text.split())


def us_zip(value: str | int | None) -> str | None:
    """``"78703 4828"`` → ``"78703-4828"``; ``76131`` → ``"76131"``."""
    if value is None:
        return None
    # JSON exports store ZIPs as numbers and so drop leading zeros.
    digits = f"{value:05d}" if isinstance(value, int) else re.sub(r"\D", "", value)
    if len(digits) == 9:
        return f"{digits[:5]}-{digits[5:]}"
    return digits[:5] or None


def parse_instant(text: str) -> datetime:
    """A command-line clock: ``2016-05-01`` (midnight UTC) or an ISO timestamp (UTC if naive)."""
    try:
        instant = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not an ISO date or timestamp (e.g. 2016-05-01)") from exc
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)
