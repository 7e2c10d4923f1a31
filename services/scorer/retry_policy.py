"""When to try again: backoff between attempts inside a pass, and when RETRY leads are re-scored.

Pure functions of the attempt number, the clock and a random source, so the schedule is
testable without waiting for it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from schemas import EnrichedPermit, RetryRequest
from services.common.retry import Backoff
from services.scorer.settings import ScorerSettings


def backoff_delay(attempt: int, base_s: float, max_s: float, rng: random.Random) -> float:
    """Wait after failed attempt number ``attempt`` (1-based) of one scoring pass, jittered so
    leads that failed together spread out."""
    return Backoff(base_s, max_s, jitter=rng).delay(attempt)


@dataclass(frozen=True)
class RescorePolicy:
    """How RETRY leads come back: growing delays, then a final give-up."""

    first_delay_s: float
    backoff: float
    max_delay_s: float
    max_attempts: int

    @classmethod
    def from_settings(cls, settings: ScorerSettings) -> RescorePolicy:
        return cls(
            first_delay_s=settings.rescore_delay_s,
            backoff=settings.rescore_backoff,
            max_delay_s=settings.rescore_max_delay_s,
            max_attempts=settings.rescore_max_attempts,
        )

    def delay_after(self, attempt: int, rng: random.Random | None = None) -> float:
        """Wait after failed pass number ``attempt`` (1-based): nominal, or jittered by ``rng``."""
        return Backoff(self.first_delay_s, self.max_delay_s, self.backoff, rng).delay(attempt)

    def next_request(
        self,
        lead: EnrichedPermit,
        attempt: int,
        error: str,
        now: datetime,
        rng: random.Random,
    ) -> RetryRequest | None:
        """The request that brings the lead back after failed pass ``attempt``; None = give up."""
        if attempt >= self.max_attempts:
            return None
        due_at = now + timedelta(seconds=self.delay_after(attempt, rng))
        return RetryRequest(lead=lead, attempt=attempt, due_at=due_at, last_error=error[:2000])


def rescore_wait(due_at: datetime, now: datetime, max_wait_s: float) -> tuple[float, bool]:
    """How long to hold a re-score request, and whether it goes back to the queue afterwards.

    A request due within ``max_wait_s`` is held until due, then scored. One due later is held
    ``max_wait_s`` (so re-queueing cannot spin) and then re-queued, freeing its slot.
    """
    remaining = (due_at - now).total_seconds()
    if remaining > max_wait_s:
        return max_wait_s, True
    return max(0.0, remaining), False
