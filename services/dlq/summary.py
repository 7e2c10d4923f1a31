"""``leadstream dlq summary``: dead letters not replayed yet, one line per kind of failure.

A kind is (stage, source topic, the error's first clause with its numbers masked), so 500
permits rejected for "valuation: Input should be a valid number" are one line, and so are
messages that are not UTF-8 at different byte positions.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from services.common.times import as_utc

# The runtime joins the problems of one message with "; " (describe_validation_error).
_CLAUSE_END = re.compile(r"[;\n]")
# "(Key (permit_key)=(x:1) already exists)": the database's detail names the row.
_TRAILING_DETAIL = re.compile(r"\s+\([^()]*(?:\([^()]*\)[^()]*)*\)$")
# Sizes, offsets, positions; not the digits in names like "UTF-8" or "0xff".
_NUMBER = re.compile(r"(?<![\w-])\d[\d,]*\b")
ERROR_WIDTH = 100


@dataclass(frozen=True)
class ErrorCount:
    """Rows sharing one exact error text (a SQL ``GROUP BY`` result)."""

    stage: str
    source_topic: str
    error: str
    count: int
    newest_failure: datetime


@dataclass(frozen=True)
class FailureKind:
    """One line of the summary."""

    stage: str
    source_topic: str
    error_class: str
    count: int
    newest_failure: datetime


def error_class(error: str) -> str:
    """The error's first clause, without row-specific detail: what the line of a kind says."""
    clause = _CLAUSE_END.split(error, maxsplit=1)[0].strip()
    clause = _TRAILING_DETAIL.sub("", clause)
    return _NUMBER.sub("N", clause) or "(no error text)"


def group_failures(counts: Iterable[ErrorCount]) -> list[FailureKind]:
    """One FailureKind per (stage, source topic, error class); most dead letters first."""
    totals: Counter[tuple[str, str, str]] = Counter()
    newest: dict[tuple[str, str, str], datetime] = {}
    for item in counts:
        kind = (item.stage, item.source_topic, error_class(item.error))
        totals[kind] += item.count
        newest[kind] = max(item.newest_failure, newest.get(kind, item.newest_failure))
    kinds = [
        FailureKind(stage, topic, error, count=total, newest_failure=newest[stage, topic, error])
        for (stage, topic, error), total in totals.items()
    ]
    return sorted(kinds, key=lambda k: (-k.count, k.stage, k.source_topic, k.error_class))


def format_summary(kinds: list[FailureKind], replayed: int, failed_since: datetime | None) -> str:
    """A plain table: count, newest failure, stage, source topic, error; then the totals."""
    window = f"failed since {_time(failed_since)}" if failed_since else "all time"
    waiting = sum(kind.count for kind in kinds)
    if not kinds:
        return f"No dead letters waiting for replay ({window}); {replayed:,} already replayed."
    header = ("count", "newest failure (UTC)", "stage", "source topic", "error (first clause)")
    rows = [
        (
            f"{kind.count:,}",
            _time(kind.newest_failure),
            kind.stage,
            kind.source_topic,
            _shorten(kind.error_class),
        )
        for kind in kinds
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    lines = [f"Dead letters waiting for replay ({window}):", ""]
    for row in [header, *rows]:
        count, *middle, error = row
        cells = [count.rjust(widths[0])]
        cells += [cell.ljust(width) for cell, width in zip(middle, widths[1:], strict=True)]
        lines.append("  ".join([*cells, error]))
    lines += ["", f"{waiting:,} waiting in {len(kinds):,} kinds; {replayed:,} already replayed."]
    return "\n".join(lines)


def _time(moment: datetime) -> str:
    """In UTC; a naive time (SQLite keeps no offset) is already UTC, as the store wrote it."""
    return as_utc(moment).strftime("%Y-%m-%d %H:%M:%S")


def _shorten(text: str) -> str:
    return text if len(text) <= ERROR_WIDTH else text[: ERROR_WIDTH - 1] + "…"
