"""The retry schedule: jittered backoff inside a pass, growing re-score delays, a final stop."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from services.scorer.retry_policy import RescorePolicy, backoff_delay, rescore_wait
from tests.scorer.factories import enriched_lead

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def test_backoff_grows_per_attempt_with_jitter_and_a_cap() -> None:
    rng = random.Random(7)
    for attempt, nominal in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (6, 10.0)]:
        delays = [backoff_delay(attempt, 1.0, 10.0, rng) for _ in range(200)]
        assert all(nominal / 2 <= d <= nominal for d in delays)
        assert len(set(delays)) > 100  # spread out, so failed callers do not return together


def test_rescore_delays_grow_until_the_cap_and_the_last_attempt_gives_up() -> None:
    policy = RescorePolicy(first_delay_s=60, backoff=5, max_delay_s=6 * 3600, max_attempts=6)
    assert [policy.delay_after(a) for a in range(1, 6)] == [60, 300, 1500, 7500, 21600]
    rng = random.Random(1)
    request = policy.next_request(enriched_lead(1), 2, "boom", NOW, rng)
    assert request is not None and request.attempt == 2
    assert NOW + timedelta(seconds=150) <= request.due_at <= NOW + timedelta(seconds=300)
    assert policy.next_request(enriched_lead(1), 6, "boom", NOW, rng) is None


def test_a_request_is_held_until_due_or_requeued_when_due_much_later() -> None:
    assert rescore_wait(NOW - timedelta(seconds=5), NOW, 30) == (0.0, False)
    assert rescore_wait(NOW + timedelta(seconds=12), NOW, 30) == (12.0, False)
    assert rescore_wait(NOW + timedelta(hours=2), NOW, 30) == (30, True)
