"""JSON lines: one ``permits.raw`` object per line, the format any scraper can write."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from schemas.permits import RawPermit


def read_rows(path: Path, encoding: str = "utf-8") -> Iterator[str]:
    with path.open(encoding=encoding) as handle:
        for line in handle:
            if line.strip():
                yield line


def to_raw_permit(line: str, scraped_at: datetime) -> RawPermit:
    """The scraper's own ``scraped_at`` wins; a line without one gets the caller's clock.

    Either is held to the contract (validated, never copied in unchecked): a clock ahead of
    ours rejects the line here rather than at the categorizer.
    """
    permit = RawPermit.model_validate_json(line)
    if permit.scraped_at is None:
        return RawPermit.model_validate({**permit.model_dump(), "scraped_at": scraped_at})
    return permit
