"""Bounds on streamed CSV downloads: how many at once per key, and for how long in all.

A download is served page by page (``queries.rows_in_pages``), so a slow reader holds neither
a database connection nor a transaction; what it still holds is a place in this process
(an open HTTP response). ``DownloadSlots`` caps those per API key (429 beyond), and
``BoundedStreamingResponse`` ends a response that is not done within its deadline, which frees
the slot of a client that stopped reading.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Hashable, Iterator

import anyio
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

log = logging.getLogger(__name__)


class DownloadSlots:
    """At most ``per_key`` downloads at the same time for each key, in this process."""

    def __init__(self, per_key: int) -> None:
        self.per_key = per_key
        self._open: Counter[Hashable] = Counter()
        self._lock = threading.Lock()  # routes run on the thread pool

    def try_acquire(self, key: Hashable) -> bool:
        with self._lock:
            if self._open[key] >= self.per_key:
                return False
            self._open[key] += 1
            return True

    def release(self, key: Hashable) -> None:
        with self._lock:
            self._open[key] -= 1
            if self._open[key] <= 0:
                del self._open[key]


class BoundedStreamingResponse(StreamingResponse):
    """A streamed response that ends after ``deadline_s`` and calls ``on_close`` exactly once,
    however it ends (finished, client gone, deadline, error).

    Cut at the deadline, the response is left incomplete (no final chunk) and the server
    closes the connection, so the client sees a broken download, never a short CSV it could
    take for the whole.
    """

    def __init__(
        self,
        content: Iterator[str],
        *,
        deadline_s: float,
        on_close: Callable[[], None],
        media_type: str,
        headers: dict[str, str],
    ) -> None:
        super().__init__(content, media_type=media_type, headers=headers)
        self.deadline_s = deadline_s
        self._on_close: Callable[[], None] | None = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            with anyio.move_on_after(self.deadline_s) as deadline:
                await super().__call__(scope, receive, send)
            if deadline.cancelled_caught:
                log.warning(
                    "CSV download cut at its deadline",
                    extra={"path": scope.get("path"), "deadline_s": self.deadline_s},
                )
        finally:
            self.close()

    def close(self) -> None:
        """Give the slot back (idempotent; also for a response that is never sent)."""
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close()
