"""Concurrent purchases over real HTTP cannot oversell a lead (the database decides)."""

from __future__ import annotations

import threading
from collections import Counter

import httpx
import pytest
from sqlalchemy import Engine, func, select

from services.common.db.tables.marketplace import LeadPurchaseRow
from services.exporter.api import create_app
from services.exporter.queries import leads
from services.exporter.settings import ExporterSettings
from tests.exporter.conftest import MakeBuyer
from tests.exporter.factories import insert_lead
from tests.exporter.live import serving

pytestmark = pytest.mark.postgres
BUYERS = 50


@pytest.mark.parametrize("max_buyers", [1, 3])
def test_fifty_concurrent_purchases_sell_at_most_max_buyers(
    engine: Engine, settings: ExporterSettings, make_buyer: MakeBuyer, max_buyers: int
) -> None:
    lead_id = insert_lead(engine)
    keys = [make_buyer(f"buyer-{i}") for i in range(BUYERS)]
    app = create_app(
        settings.model_copy(update={"max_buyers_per_lead": max_buyers, "db_pool_size": BUYERS})
    )
    statuses: list[int] = []
    start = threading.Barrier(BUYERS)

    def buy(key: dict[str, str], base_url: str) -> None:
        with httpx.Client(base_url=base_url, timeout=30) as http:  # its own connection
            start.wait()
            response = http.post(f"/v1/leads/{lead_id}/purchase", json={"price": 20}, headers=key)
            statuses.append(response.status_code)

    with serving(app) as base_url:
        threads = [threading.Thread(target=buy, args=(key, base_url)) for key in keys]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert Counter(statuses) == {201: max_buyers, 409: BUYERS - max_buyers}
    with engine.connect() as conn:
        assert (
            conn.execute(select(leads.c.sold_count).where(leads.c.id == lead_id)).scalar()
            == max_buyers
        )
        assert (
            conn.execute(select(func.count()).select_from(LeadPurchaseRow)).scalar() == max_buyers
        )
