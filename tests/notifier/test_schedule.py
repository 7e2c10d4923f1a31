"""When failed deliveries are tried again, and when a subscription is given up on."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from services.notifier.schedule import (
    AttemptResult,
    Verdict,
    decide,
    parse_retry_after,
    retry_delay_s,
)
from services.notifier.settings import DEFAULT_RETRY_SCHEDULE_S

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
DAY = 86_400.0


def after(result: AttemptResult, attempt: int = 1, failing_for_s: float = 0.0):  # type: ignore[no-untyped-def]
    return decide(
        result,
        attempt=attempt,
        first_failed_at=NOW - timedelta(seconds=failing_for_s) if failing_for_s else None,
        now=NOW,
        schedule=DEFAULT_RETRY_SCHEDULE_S,
        every_s=3600,
        give_up_after_s=DAY,
        rng=random.Random(7),
    )


def failed(code: int | None = 500, retry_after: str | None = None) -> AttemptResult:
    return AttemptResult(code, "x", 0.1, retry_after)


@pytest.mark.parametrize("code", [200, 201, 204, 299])
def test_any_2xx_is_delivered(code: int) -> None:
    assert after(AttemptResult(code, None, 0.1)).verdict is Verdict.DELIVERED


@pytest.mark.parametrize("code", [None, 301, 302, 400, 404, 500, 502])
def test_anything_else_is_retried(code: int | None) -> None:
    decision = after(failed(code))
    assert decision.verdict is Verdict.RETRY
    assert decision.next_attempt_at is not None and decision.next_attempt_at > NOW


def test_the_documented_schedule_with_jitter_then_hourly() -> None:
    rng = random.Random(1)
    delays = [retry_delay_s(n, DEFAULT_RETRY_SCHEDULE_S, 3600, rng) for n in range(1, 10)]
    for delay, base in zip(delays, [5, 30, 120, 600, 1800, 3600, 3600, 3600, 3600], strict=True):
        assert base * 0.8 <= delay <= base * 1.2
    assert len({round(d, 6) for d in delays[5:]}) == 4  # jittered, not in lockstep


def test_410_gone_disables_at_once() -> None:
    assert after(failed(410)).verdict is Verdict.GONE


def test_failing_for_24_hours_gives_up() -> None:
    assert after(failed(), attempt=30, failing_for_s=DAY - 600).verdict is Verdict.GAVE_UP
    assert after(failed(), attempt=20, failing_for_s=DAY - 7200).verdict is Verdict.RETRY


@pytest.mark.parametrize("code", [429, 503])
def test_429_and_503_honour_retry_after(code: int) -> None:
    decision = after(failed(code, "120"))
    assert decision.next_attempt_at == NOW + timedelta(seconds=120)
    http_date = after(failed(code, "Fri, 04 Dec 2026 12:10:00 GMT"))
    assert http_date.next_attempt_at == NOW + timedelta(minutes=10)


def test_an_unreadable_retry_after_falls_back_to_the_schedule() -> None:
    assert parse_retry_after("soon", NOW) is None
    decision = after(failed(503, "soon"))
    assert decision.next_attempt_at is not None
    assert 4 <= (decision.next_attempt_at - NOW).total_seconds() <= 6
