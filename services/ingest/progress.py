"""A dependency-free progress line on stderr: a bar on a terminal, a line every few seconds
when the output is a file or a pipe (so logs are not flooded with carriage returns)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 30


class Progress:
    def __init__(
        self,
        total: int,
        *,
        label: str,
        stream: TextIO | None = None,
        redraw_s: float = 0.1,
        log_every_s: float = 5.0,
    ) -> None:
        self.total = total
        self.label = label
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self.min_interval = redraw_s if self.interactive else log_every_s
        self.started = time.monotonic()
        self._last_drawn = 0.0

    def update(self, done: int, note: str = "", *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_drawn < self.min_interval:
            return
        self._last_drawn = now
        elapsed = max(now - self.started, 1e-9)
        share = done / self.total if self.total else 1.0
        filled = int(BAR_WIDTH * min(share, 1.0))
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        line = (
            f"{self.label} [{bar}] {done:,}/{self.total:,} {share:6.1%}"
            f" {done / elapsed:,.0f}/s {note}".rstrip()
        )
        if self.interactive:
            self.stream.write(f"\r{line}\x1b[K")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self, done: int, note: str = "") -> None:
        self.update(done, note, force=True)
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()
