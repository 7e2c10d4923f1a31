"""The export formats ``leadstream publish`` reads, and reading a whole file into permits."""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from schemas.permits import RawPermit
from services.common.messages import describe_validation_error
from services.ingest import austin, cary, fortworth, jsonl, nashville
from services.ingest.values import RowRejected

RowT = TypeVar("RowT")


@dataclass(frozen=True)
class PortalFormat(Generic[RowT]):
    """How to read one kind of export (rows) and map one row to a permit."""

    read_rows: Callable[[Path, str], Iterator[RowT]]
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


# Errors a row's values can cause in a mapper; anything of these rejects that row only.
_ROW_ERRORS = (ValueError, TypeError, AttributeError, LookupError, ArithmeticError, OSError)

# The encodings detect_encoding chooses from, in order.
UTF8, UTF8_BOM, WINDOWS_1252, LATIN_1 = "utf-8", "utf-8-sig", "cp1252", "latin-1"


def detect_encoding(path: Path, chunk_size: int = 1 << 20) -> str:
    """UTF-8 when the whole file decodes as UTF-8 (``utf-8-sig`` when it starts with a byte
    order mark, which is then not part of the first column's name); otherwise Windows-1252,
    which US portals and Excel export; otherwise Latin-1 (a cp1252 file that uses one of its
    five undefined bytes), which reads any byte. Reads the file once, in chunks."""
    with path.open("rb") as handle:
        if handle.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8:
            return UTF8_BOM
    for encoding in (UTF8, WINDOWS_1252):
        if _decodes(path, encoding, chunk_size):
            return encoding
    return LATIN_1


def _decodes(path: Path, encoding: str, chunk_size: int) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(chunk_size):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def map_file(
    path: Path,
    format_name: str,
    scraped_at: datetime,
    *,
    limit: int | None = None,
    encoding: str | None = None,
) -> Iterator[RawPermit | RejectedRow]:
    """Every row of an export as a permit or a rejection, in file order.

    A row is rejected, with the reason, for anything its values cause: the contract refusing
    it, a value no parser reads, or a value of a shape the mapper did not expect. Only what
    stops reading the file itself (not the format, or not the encoding) raises.
    ``encoding`` None detects it (:func:`detect_encoding`).
    """
    portal = FORMATS[format_name]
    rows = islice(portal.read_rows(path, encoding or detect_encoding(path)), limit)
    for row_number, row in enumerate(rows, start=1):
        try:
            yield portal.to_raw_permit(row, scraped_at)
        except ValidationError as exc:
            yield RejectedRow(row_number, describe_validation_error(exc))
        except RowRejected as exc:
            yield RejectedRow(row_number, str(exc))
        except _ROW_ERRORS as exc:
            yield RejectedRow(row_number, f"unreadable row: {type(exc).__name__}: {exc}")


def read_permits(
    path: Path, format_name: str, scraped_at: datetime, *, encoding: str | None = None
) -> Iterator[RawPermit]:
    """Only the valid permits of an export (the evaluation and the benchmarks use this)."""
    for item in map_file(path, format_name, scraped_at, encoding=encoding):
        if isinstance(item, RawPermit):
            yield item


def count_rows(
    path: Path, format_name: str, limit: int | None = None, *, encoding: str | None = None
) -> int:
    rows = FORMATS[format_name].read_rows(path, encoding or detect_encoding(path))
    return sum(1 for _ in islice(rows, limit))
