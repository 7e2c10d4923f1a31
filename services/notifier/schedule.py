"""When a failed delivery is tried again, and what an attempt's response means: pure.

Exponential backoff with jitter: the schedule's delays (5 s, 30 s, 2 min, 10 min, 30 min,
1 h by default), then every hour, each ±20 % so endpoints coming back after an outage are not
hit by every delivery in the same second. 429 and 503 honour ``Retry-After`` (seconds or an
HTTP date) instead. A delivery whose first failure is older than the give-up window fails for
good, and its subscription is disabled.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum

JITTER = 0.2


class Verdict(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    GONE = "gone"  # 410: the buyer asked us to stop; the subscription is disabled
    GAVE_UP = "gave_up"  # failing past the give-up window: the subscription is disabled


@dataclass(frozen=True)
class AttemptResult:
    """One HTTP attempt as the worker saw it: a status code, or an error without one."""

    status_code: int | None
    error: str | None
    latency_s: float
    retry_after: str | None = None  # the header, as sent


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    next_attempt_at: datetime | None


def retry_delay_s(
    attempt: int, schedule: Sequence[float], every_s: float, rng: random.Random | None = None
) -> float:
    """The delay after failed attempt number ``attempt`` (1-based), with jitter."""
    base = schedule[attempt - 1] if attempt <= len(schedule) else every_s
    return base * (1 + JITTER * (2 * (rng or random).random() - 1))


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait per a ``Retry-After`` header (delta-seconds or HTTP-date); None if absent
    or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def decide(
    result: AttemptResult,
    *,
    attempt: int,
    first_failed_at: datetime | None,
    now: datetime,
    schedule: Sequence[float],
    every_s: float,
    give_up_after_s: float,
    rng: random.Random | None = None,
) -> Decision:
    """What happens after attempt number ``attempt`` of a delivery."""
    code = result.status_code
    if code is not None and 200 <= code < 300:
        return Decision(Verdict.DELIVERED, None)
    if code == 410:
        return Decision(Verdict.GONE, None)
    failing_since = first_failed_at or now
    delay = retry_delay_s(attempt, schedule, every_s, rng)
    if code in (429, 503):
        asked = parse_retry_after(result.retry_after, now)
        if asked is not None:
            delay = asked
    due = now + timedelta(seconds=delay)
    if (due - failing_since).total_seconds() > give_up_after_s:
        return Decision(Verdict.GAVE_UP, None)
    return Decision(Verdict.RETRY, due)
