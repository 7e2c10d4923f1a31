"""The circuit breaker: a systemic failure pauses all scoring instead of failing every lead.

Closed, calls flow and their outcomes fill a window. A systemic failure (auth, balance, a
rejected request) or a window of mostly failed calls opens it. Open, callers wait in
:meth:`CircuitBreaker.admit`, so the stage's in-flight slots fill, the runtime stops fetching
and the consumer lag grows where operators see it. Every ``probe_interval_s`` one waiting
caller is let through as the probe: if it succeeds the circuit closes and everyone resumes.
Everything runs on one event loop, so no locks are needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from enum import Enum

from services.scorer import metrics

log = logging.getLogger(__name__)


class Admission(Enum):
    NORMAL = "normal"
    PROBE = "probe"  # the one call let through an open circuit


class Outcome(Enum):
    SUCCESS = "success"
    FAILURE = "failure"  # transient: counts towards the window
    SYSTEMIC = "systemic"  # opens the circuit at once
    ABANDONED = "abandoned"  # cancelled before it had an outcome


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        window: int,
        failure_ratio: float,
        probe_interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._recent: deque[bool] = deque(maxlen=window)  # True = failed
        self._failure_ratio = failure_ratio
        self._probe_interval_s = probe_interval_s
        self._clock = clock
        self._closed = asyncio.Event()
        self._closed.set()
        self._probing = False
        self._next_probe_at = 0.0
        self.recoveries = 0  # how often it closed again after opening
        metrics.CIRCUIT_OPEN.labels(name).set(0)

    @property
    def is_open(self) -> bool:
        return not self._closed.is_set()

    async def admit(self) -> Admission:
        """Return when a call may be made: at once while closed, else as a probe or on closing."""
        while self.is_open:
            now = self._clock()
            if not self._probing and now >= self._next_probe_at:
                self._probing = True
                return Admission.PROBE
            # While a probe is out, check back within one interval in case it is abandoned.
            wait = self._probe_interval_s if self._probing else self._next_probe_at - now
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), timeout=max(wait, 0.001))
        return Admission.NORMAL

    def record(self, admission: Admission, outcome: Outcome, detail: str = "") -> None:
        if admission is Admission.PROBE:
            self._probing = False
            if outcome is Outcome.SUCCESS:
                self._close()
            elif outcome is not Outcome.ABANDONED:
                self._next_probe_at = self._clock() + self._probe_interval_s
                log.info("circuit probe failed", extra={"circuit": self.name, "error": detail})
            return
        if outcome is Outcome.SYSTEMIC:
            self._open(detail)
        elif outcome is not Outcome.ABANDONED and not self.is_open:
            # Results of calls admitted before the circuit opened do not decide it; probes do.
            self._recent.append(outcome is Outcome.FAILURE)
            if len(self._recent) == self._recent.maxlen and self._failure_share() >= (
                self._failure_ratio
            ):
                self._open(f"{self._failure_share():.0%} of the last {len(self._recent)} failed")

    def _failure_share(self) -> float:
        return sum(self._recent) / len(self._recent)

    def _open(self, reason: str) -> None:
        if self.is_open:
            return
        self._closed.clear()
        self._recent.clear()
        self._next_probe_at = self._clock() + self._probe_interval_s
        metrics.CIRCUIT_OPEN.labels(self.name).set(1)
        log.warning(
            "circuit opened: scoring paused until a probe succeeds",
            extra={"circuit": self.name, "reason": reason, "probe_every_s": self._probe_interval_s},
        )

    def _close(self) -> None:
        self._recent.clear()
        self.recoveries += 1
        self._closed.set()
        metrics.CIRCUIT_OPEN.labels(self.name).set(0)
        log.info("circuit closed: scoring resumed", extra={"circuit": self.name})
