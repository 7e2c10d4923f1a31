"""The operator's side of the API through real PostgreSQL: stats, statement timeout, probes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert

from services.common.db.tables.dlq import DeadLetterRow
from services.common.db.tables.pipeline import DiscardedPermitRow
from services.exporter.settings import ExporterSettings
from tests.exporter.conftest import ADMIN, MakeBuyer
from tests.exporter.factories import SCORED_AT, insert_leads, lead_values

pytestmark = pytest.mark.postgres


def test_stats_count_outcomes_in_a_window(
    client: TestClient, engine: Engine, make_buyer: MakeBuyer
) -> None:
    old = SCORED_AT - timedelta(days=30)
    insert_leads(
        engine,
        lead_values(score=90),
        lead_values(score=60, category="fence"),
        lead_values(score=20, flags=["REVIEW: low score but passed filters"]),
        lead_values(score=-1),
        lead_values(score=95, category="roof", trade_group="home_exterior", scored_at=old),
    )
    discard = {
        "permit_id": None,
        "detail": "d",
        "stage": "categorizer",
        "discarded_at": SCORED_AT,
        "content_hash": "h",
    }
    with engine.begin() as conn:
        conn.execute(
            insert(DiscardedPermitRow),
            [
                {**discard, "permit_key": "x:1", "reason": "junk:shed", "reason_group": "junk"},
                {**discard, "permit_key": "x:2", "reason": "junk:shed", "reason_group": "junk"},
                {**discard, "permit_key": "x:3", "reason": "stale", "reason_group": "stale"},
            ],
        )
        dead_letter = {
            "source_topic": "permits.raw",
            "source_partition": 0,
            "stage": "categorizer",
            "error": "bad json",
            "original": b"{",
            "original_truncated": False,
            "failed_at": SCORED_AT,
        }
        # The replayed one is not an outcome: its permit ended wherever the replay did.
        conn.execute(
            insert(DeadLetterRow),
            [
                {**dead_letter, "source_offset": 7, "replayed_at": None},
                {**dead_letter, "source_offset": 8, "replayed_at": SCORED_AT},
            ],
        )
    since = (SCORED_AT - timedelta(days=1)).isoformat()
    response = client.get("/v1/stats", params={"since": since}, headers=ADMIN)
    assert response.status_code == 200
    stats = response.json()
    assert stats["input"] == 4 + 3 + 1
    assert stats["discarded_by_reason"] == {"junk:shed": 2, "stale": 1}
    assert (stats["scored"], stats["pending_retry"], stats["flagged"], stats["dlq"]) == (3, 1, 1, 1)
    assert stats["tiers"] == {"A": 1, "B": 1, "C": 1}
    assert stats["by_category"] == {"fence": 1, "pool": 3}
    assert stats["by_trade_group"] == {"luxury_outdoor": 4}
    everything = client.get("/v1/stats", headers=ADMIN).json()
    assert everything["by_trade_group"] == {"home_exterior": 1, "luxury_outdoor": 4}
    assert client.get("/v1/stats", headers=make_buyer("b")).status_code == 403


def test_no_request_can_hold_the_database_longer_than_the_statement_timeout(
    settings: ExporterSettings,
) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from services.exporter.api import create_app

    app = create_app(settings.model_copy(update={"api_statement_timeout_s": 0.2}))
    engine = app.state.context.engine
    for _ in range(2):  # every pooled connection, not just the first
        with engine.connect() as conn, pytest.raises(OperationalError, match="statement timeout"):
            conn.execute(text("SELECT pg_sleep(2)"))
    engine.dispose()


def test_probes_are_served_without_a_key_and_metrics_not_on_the_api_port(
    client: TestClient,
) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").json() == {"status": "ready"}
    # Metrics are for the operators' scraper, on LEADSTREAM_METRICS_PORT (test_service.py),
    # not for whoever reaches the buyer API.
    assert client.get("/metrics").status_code == 404
