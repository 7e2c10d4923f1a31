"""A stage's handler failures: when to retry, when a message is poison, when the stage is stuck.

A handler error is first taken for an outage (a database restarting) and retried with
backoff. A message its handler keeps failing on while the stage's dependencies answer is the
message's fault: it goes to the DLQ with the error instead of stalling the partition.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from services.common import metrics
from services.common.messages import BadInput

log = logging.getLogger("services.common.runtime")

_PROBE_INTERVAL_S = 0.2


@dataclass
class PoisonWatch:
    """One message's failures in a row that each happened while the stage's dependencies
    answered. Any failure seen with them down starts the count again: when a database comes
    back, every message that failed during the outage fails once more "with it up" (its last
    error and the first good probe cross), and that must not add up to a verdict."""

    limit: int
    count: int = 0

    def failed(self, dependencies_up: bool) -> bool:
        self.count = self.count + 1 if dependencies_up else 0
        return self.count >= self.limit


class HandlerFailures:
    """Failures since the stage's last success, over every message in flight."""

    def __init__(self, stage: str, probe: Callable[[], bool] | None, poison_attempts: int) -> None:
        self.stage = stage
        self._probe = probe
        self._poison_attempts = poison_attempts
        self._streak = 0
        self.failing_since: float | None = None
        self._probed_at, self._probed_up = -_PROBE_INTERVAL_S, False
        self._errors = metrics.HANDLER_ERRORS.labels(stage)
        self._poisoned = metrics.HANDLER_POISONED.labels(stage)

    def watch(self, never_poison: bool) -> PoisonWatch:
        # A DLQ record dead-lettered again would come straight back to the store, for ever:
        # one that keeps failing waits instead (and /healthz says the stage is stuck).
        return PoisonWatch(sys.maxsize if never_poison else self._poison_attempts)

    def dependencies_up(self) -> bool:
        """The stage's probe, asked at most every 0.2 s: 200 messages failing at once through
        an outage must not become 200 probes of the database that is down."""
        if self._probe is None:
            return False
        now = time.monotonic()
        if now - self._probed_at < _PROBE_INTERVAL_S:
            return self._probed_up
        try:
            up = bool(self._probe())
        except Exception:
            up = False
        self._probed_at, self._probed_up = time.monotonic(), up
        return up

    def failed(self, exc: Exception, attempt: int, delay: float, permit_key: str | None) -> None:
        """The first failure since the stage's last success with its traceback, every other one
        in a line: an outage with 200 messages in flight must not bury the log in tracebacks."""
        self._errors.inc()
        extra = {"permit_key": permit_key, "attempt": attempt, "retry_in_s": round(delay, 2)}
        if self._streak == 0:
            self.failing_since = time.monotonic()
            log.error("handler failed, retrying", exc_info=exc, extra=extra)
        else:
            log.warning("handler still failing, retrying", extra={**extra, "error": one_line(exc)})
        self._streak += 1

    def succeeded(self, permit_key: str | None) -> None:
        if self._streak:
            log.info(
                "handler recovered",
                extra={"permit_key": permit_key, "failed_attempts": self._streak},
            )
            self._streak = 0
        self.failing_since = None

    def poisoned(self, exc: Exception, failures: int, permit_key: str | None) -> BadInput:
        log.error(
            "handler keeps failing on one message while its dependencies are up: DLQ",
            extra={"permit_key": permit_key, "attempts": failures, "error": one_line(exc)},
        )
        self._poisoned.inc()
        self._streak, self.failing_since = 0, None  # the stage moves on: progress
        return BadInput(
            f"the {self.stage} stage failed on this message {failures} times while its "
            f"dependencies were up: {one_line(exc)}"
        )

    def stuck(self, timeout_s: float) -> bool:
        """Failing for longer than ``timeout_s`` while the dependencies answer: stuck on
        something a restart may clear. While they do not answer it is an outage, which a
        restart cannot fix."""
        since = self.failing_since
        if since is None or time.monotonic() - since < timeout_s:
            return False
        return self.dependencies_up()


def one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def key_of(value: object) -> str | None:
    """The permit key of a decoded message, for logs (every topic model has ``key``)."""
    key = getattr(value, "key", None)
    return key if isinstance(key, str) else None
