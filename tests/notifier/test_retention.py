"""Pruning keeps what is due or recent, and drops old published events and finished deliveries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select

from services.common.db.tables.notifier import lead_events, webhook_deliveries
from services.notifier.retention import prune
from tests.notifier.seeds import add_buyer, add_subscription

pytestmark = pytest.mark.postgres
NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=40)


def test_old_published_events_and_finished_deliveries_go_pending_and_recent_stay(
    engine: Engine,
) -> None:
    sub, _ = add_subscription(engine, add_buyer(engine, "Keep Co", ["pool"]), "https://x.example/")
    with engine.begin() as conn:
        conn.execute(
            insert(lead_events),
            [
                {"lead_id": 1, "permit_key": "a:1", "type": "lead.created", "published_at": OLD},
                {"lead_id": 2, "permit_key": "a:2", "type": "lead.created", "published_at": None},
                {"lead_id": 3, "permit_key": "a:3", "type": "lead.created", "published_at": NOW},
            ],
        )
        conn.execute(
            insert(webhook_deliveries),
            [
                {
                    "id": f"msg_{n}",
                    "subscription_id": sub,
                    "type": "ping",
                    "body": "{}",
                    "status": status,
                    "created_at": created,
                }
                for n, (status, created) in enumerate(
                    [("delivered", OLD), ("failed", OLD), ("pending", OLD), ("delivered", NOW)]
                )
            ],
        )

    assert prune(engine, NOW) == (1, 2)

    with engine.connect() as conn:
        assert sorted(conn.execute(select(lead_events.c.permit_key)).scalars()) == ["a:2", "a:3"]
        assert sorted(conn.execute(select(webhook_deliveries.c.id)).scalars()) == ["msg_2", "msg_3"]
