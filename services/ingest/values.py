"""Parsers for the value shapes portals use; each keeps "missing" as None, never 0 or "".

A value no parser can read raises RowRejected naming the field, never another exception: one
hostile value (an epoch beyond the calendar, a list where a ZIP code belongs) rejects its own
row, and ``leadstream publish`` goes on with the next.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter, ValidationError

from schemas.base import ScrapeTime
from services.common.messages import describe_problems

_MONEY = re.compile(r"^\$?\s*(-?[\d,]*\.?\d+)$")


class RowRejected(ValueError):
    """A portal row whose values cannot be read; the message says which value and why."""


def blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None


def kind_of(value: object) -> str:
    """How a JSON value is called in a rejection: 'a number', 'a list'…"""
    if isinstance(value, str):
        return "text"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def text_value(field: str, value: Any) -> str | None:
    """A JSON export's text value, stripped; blank → None; any other JSON type is rejected."""
    if value is None or isinstance(value, str):
        return blank_to_none(value)
    raise RowRejected(f"{field}: expected text, got {kind_of(value)}")


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
    text = text_value(field, value)
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
    text = text_value(field, value)
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text).date()
    except ValueError as exc:
        raise RowRejected(f"{field}: {text!r} is not an ISO date") from exc


def parse_epoch_ms_date(field: str, value: str | None, zone: ZoneInfo) -> date | None:
    """Epoch milliseconds (portals store local midnight) → the local calendar date."""
    text = text_value(field, value)
    if text is None:
        return None
    try:
        millis = int(text)
    except ValueError as exc:
        raise RowRejected(f"{field}: {text!r} is not epoch milliseconds") from exc
    try:
        return datetime.fromtimestamp(millis / 1000, UTC).astimezone(zone).date()
    except (OverflowError, OSError, ValueError) as exc:  # which one depends on the platform
        raise RowRejected(f"{field}: {text!r} is out of range for epoch milliseconds") from exc


def parse_float(field: str, value: str | float | None) -> float | None:
    if value is None or (isinstance(value, float | int) and not isinstance(value, bool)):
        return None if value is None else float(value)
    text = text_value(field, value)
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


def us_zip(value: str | int | float | None, field: str = "zip_code") -> str | None:
    """``"78703 4828"`` → ``"78703-4828"``; ``76131`` (or ``76131.0``) → ``"76131"``."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 999_999_999:
        # JSON exports store ZIPs as numbers and so drop leading zeros.
        digits = f"{value:05d}"
    elif isinstance(value, str):
        digits = re.sub(r"\D", "", value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        raise RowRejected(f"{field}: {value!r} is not a ZIP code")
    else:
        raise RowRejected(f"{field}: expected text or a number, got {kind_of(value)}")
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


_SCRAPE_TIME: TypeAdapter[datetime] = TypeAdapter(ScrapeTime)


def parse_scrape_time(text: str) -> datetime:
    """:func:`parse_instant`, held to the contract's bounds on ``scraped_at`` (no earlier than
    1900, no later than a day from now), so a wrong clock is refused once, not on every row."""
    instant = parse_instant(text)
    try:
        return _SCRAPE_TIME.validate_python(instant)
    except ValidationError as exc:
        raise ValueError(describe_problems(exc.errors(include_url=False), whole=None)) from exc
