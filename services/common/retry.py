"""Trying again: the one backoff schedule and retry loop of the code base.

The stream runtime retries failing handlers with it, the scorer spaces its LLM attempts with
it, and services wait for their database at start-up with it.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

R = TypeVar("R")


@dataclass(frozen=True)
class Backoff:
    """Waits that grow by ``factor`` from ``first_s`` up to ``max_s``; with ``jitter`` each is
    drawn from the upper half of its nominal value, so callers that failed together spread
    out."""

    first_s: float
    max_s: float
    factor: float = 2.0
    jitter: random.Random | None = None

    def delay(self, attempt: int) -> float:
        """The wait after failed attempt number ``attempt`` (1-based)."""
        nominal = min(self.max_s, self.first_s * self.factor ** max(0, attempt - 1))
        if self.jitter is None:
            return nominal
        return self.jitter.uniform(nominal / 2, nominal)


@dataclass(frozen=True)
class GaveUp:
    """A retried call abandoned with the last error it raised."""

    error: Exception
    attempts: int


# Told of each failure (error, attempt number, the wait before the next); True = give up.
OnFailure = Callable[[Exception, int, float], bool]


def retrying(
    call: Callable[[], R],
    backoff: Backoff,
    on_failure: OnFailure,
    sleep: Callable[[float], None],
    *,
    first_error: Exception | None = None,
) -> R | GaveUp:
    """``call`` until it succeeds or ``on_failure`` gives up. ``first_error``: the call has
    already failed once with it (a caller's fast path), so start by waiting."""
    attempt, error = 0, first_error
    while True:
        if error is None:
            try:
                return call()
            except Exception as exc:
                error = exc
        attempt += 1
        delay = backoff.delay(attempt)
        if on_failure(error, attempt, delay):
            return GaveUp(error, attempt)
        sleep(delay)
        error = None


async def retrying_async(
    call: Callable[[], Awaitable[R]],
    backoff: Backoff,
    on_failure: Callable[[Exception, int, float], Awaitable[bool]],
    sleep: Callable[[float], Awaitable[None]],
) -> R | GaveUp:
    """The coroutine twin of :func:`retrying`."""
    attempt = 0
    while True:
        try:
            return await call()
        except Exception as exc:
            attempt += 1
            delay = backoff.delay(attempt)
            if await on_failure(exc, attempt, delay):
                return GaveUp(exc, attempt)
            await sleep(delay)
