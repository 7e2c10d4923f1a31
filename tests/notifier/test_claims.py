"""Claiming due deliveries: bounded in all and per endpoint, shared between workers, leased."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert, select

from services.common.db.tables.notifier import webhook_deliveries
from services.notifier.deliveries import claim
from services.notifier.matcher import new_webhook_id
from tests.notifier.seeds import add_buyer, add_subscription

pytestmark = pytest.mark.postgres


def dead_endpoints(
    engine: Engine, endpoints: int, each: int, url: str = "https://dead{n}.example/"
) -> list[str]:
    """``endpoints`` subscriptions with ``each`` due deliveries apiece."""
    buyer = add_buyer(engine, "Many Endpoints Co", ["home_systems"])
    subs = [add_subscription(engine, buyer, url.format(n=n))[0] for n in range(endpoints)]
    now = datetime.now(UTC)
    rows = [
        {
            "id": new_webhook_id(),
            "event_id": i,
            "subscription_id": sub,
            "type": "lead.created",
            "lead_id": i,
            "body": "{}",
            "status": "pending",
            "next_attempt_at": now,
        }
        for n, sub in enumerate(subs)
        for i in range(n * each + 1, n * each + each + 1)
    ]
    with engine.begin() as conn:
        conn.execute(insert(webhook_deliveries), rows)
    return subs


def test_a_claim_takes_only_free_slots_at_most_per_endpoint_and_skips_busy_endpoints(
    engine: Engine,
) -> None:
    subs = dead_endpoints(engine, 1_000, 3)  # 3,000 due deliveries on 1,000 endpoints

    first = claim(engine, wanted=50, busy=subs[:500], per_endpoint=2, lease_s=60)

    assert len(first) == 50  # never more than the worker's free slots in memory
    per_endpoint = Counter(delivery.subscription_id for delivery in first)
    assert max(per_endpoint.values()) <= 2
    assert not set(per_endpoint) & set(subs[:500])


def test_a_claimed_delivery_is_leased_not_claimed_twice(engine: Engine) -> None:
    dead_endpoints(engine, 10, 2)
    first = claim(engine, wanted=100, busy=[], per_endpoint=5, lease_s=60)
    second = claim(engine, wanted=100, busy=[], per_endpoint=5, lease_s=60)

    assert len(first) == 20 and second == []
    with engine.connect() as conn:
        leased = conn.execute(select(webhook_deliveries.c.next_attempt_at)).scalars().all()
    assert all((due - datetime.now(UTC)).total_seconds() > 50 for due in leased)
