"""A set of CSV files that appear complete or not at all: nobody downloads half a file.

Each file is written to a temporary file in its own directory (same filesystem, so the final
``os.replace`` is an atomic rename) and only replaces the published file on ``publish()``.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import IO, Any

PUBLISHED_MODE = 0o644  # mkstemp creates 0600; whatever serves the files must read them


class _PendingFile:
    def __init__(self, target: Path, header: Sequence[str]) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        self.target = target
        self.temp = Path(name)
        self.handle: IO[str] = os.fdopen(fd, "w", newline="", encoding="utf-8")
        self.writer: Any = csv.writer(self.handle)
        self.writer.writerow(header)
        self.rows = 0

    def publish(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        os.chmod(self.temp, PUBLISHED_MODE)
        os.replace(self.temp, self.target)

    def discard(self) -> None:
        self.handle.close()
        self.temp.unlink(missing_ok=True)


class AtomicCsvSet:
    """CSV files under ``root`` keyed by relative path, published together at the end."""

    def __init__(self, root: Path, header: Sequence[str]) -> None:
        self.root = root
        self.header = header
        self._files: dict[PurePosixPath, _PendingFile] = {}

    def open(self, path: PurePosixPath) -> None:
        """Make sure ``path`` is published even if it gets no rows (a header-only file)."""
        if path not in self._files:
            self._files[path] = _PendingFile(self.root / path, self.header)

    def write(self, path: PurePosixPath, record: Sequence[str]) -> None:
        self.open(path)
        pending = self._files[path]
        pending.writer.writerow(record)
        pending.rows += 1

    def publish(self) -> dict[PurePosixPath, int]:
        """Replace every published file; returns path → data rows."""
        for pending in self._files.values():
            pending.publish()
        counts = {path: pending.rows for path, pending in self._files.items()}
        self._files.clear()
        return counts

    def __enter__(self) -> AtomicCsvSet:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Whatever was not published (an error mid-way) leaves no trace and no half file.
        for pending in self._files.values():
            pending.discard()
        self._files.clear()
