"""The export formats ``leadstream publish`` reads, and reading a whole file into permits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from schemas.permits import RawPermit
from services.common.runtime import describe_validation_error
from services.ingest import austin, cary, fortworth, jsonl, nashville
from services.ingest.values import RowRejected

RowT = TypeVar("RowT")


@dataclass(frozen=True)
class PortalFormat(Generic[RowT]):
    """How to read one kind of export (rows) and map one row to a permit."""

    read_rows: Callable[[Path], Iterator[RowT]]
    to_raw_permit: Callable[[RowT, datetime], RawPermit]


FORMATS: dict[str, PortalFormat[Any]] = {
    "austin": PortalFormat(austin.read_rows, austin.to_raw_permit),
    "fortworth": PortalFormat(fortworth.read_rows, fortworth.to_raw_permit),
    "nashville": PortalFormat(nashville.read_rows, nashville.to_raw_permit),
    "cary": PortalFormat(cary.read_rows, cary.to_raw_permit),
    "jsonl": PortalFormat(jsonl.read_rows, jsonl.to_raw_permit),
}


@dataclass(frozen=True)
class RejectedRow:
    """A row that is not a valid permit: its 1-based position in the file and why."""

    row_number: int
    reason: str


def map_file(
    path: Path, format_name: str, scraped_at: datetime, *, limit: int | None = None
) -> Iterator[RawPermit | RejectedRow]:
    """Every row of an export as a permit or a rejection, in file order."""
    portal = FORMATS[format_name]
    rows = islice(portal.read_rows(path), limit)
    for row_number, row in enumerate(rows, start=1):
        try:
            yield portal.to_raw_permit(row, scraped_at)
        except ValidationError as exc:
            yield RejectedRow(row_number, describe_validation_error(exc))
        except RowRejected as exc:
            yield RejectedRow(row_number, str(exc))


def read_permits(path: Path, format_name: str, scraped_at: datetime) -> Iterator[RawPermit]:
    """Only the valid permits of an export (the evaluation and the benchmarks use this)."""
    for item in map_file(path, format_name, scraped_at):
        if isinstance(item, RawPermit):
            yield item


def count_rows(path: Path, format_name: str, limit: int | None = None) -> int:
    return sum(1 for _ in islice(FORMATS[format_name].read_rows(path), limit))
