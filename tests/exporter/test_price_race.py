"""50 concurrent purchases while `leadstream prices set` changes the book: one sale, at a book
price, never above the winner's max_price, charged once in the ledger."""

from __future__ import annotations

import re
import threading
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import Engine, select

from services.cli import main
from services.common.db.tables.marketplace import ledger_entries
from services.exporter.api import create_app
from services.exporter.queries import leads, purchases
from services.exporter.settings import ExporterSettings
from tests.exporter.conftest import MakeBuyer
from tests.exporter.factories import insert_lead
from tests.exporter.live import serving

pytestmark = pytest.mark.postgres
BUYERS = 50
BOOK_PRICES = ("40.00", "55.00", "35.00", "60.00", "45.00")
TOO_DEAR = re.compile(r"^the price is now (\d+\.\d\d), above your max_price (\d+(?:\.\d+)?)$")


def test_a_price_change_racing_fifty_purchases_sells_once_within_max_price(
    engine: Engine,
    settings: ExporterSettings,
    make_buyer: MakeBuyer,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    price_cmd = ["prices", "set", "--trade-group", "luxury_outdoor", "--tier", "A", "--price"]
    assert main([*price_cmd, BOOK_PRICES[0]]) == 0
    lead_id = insert_lead(engine, score=90)
    # Max prices from 31 to 80: some buyers accept every book price, some none, most some.
    buyers = [(make_buyer(f"buyer-{i}", plan="marketplace"), 31 + i) for i in range(BUYERS)]
    # Correctness under contention, not latency: a loaded machine must not turn a wait into a 503.
    app = create_app(
        settings.model_copy(
            update={"max_buyers_per_lead": 1, "db_pool_size": 60, "api_statement_timeout_s": 120}
        )
    )
    start = threading.Barrier(BUYERS + 1)
    results: list[tuple[int, int, dict[str, object]]] = []

    def buy(key: dict[str, str], max_price: int, base_url: str) -> None:
        with httpx.Client(base_url=base_url, timeout=60) as http:
            start.wait()
            response = http.post(
                f"/v1/leads/{lead_id}/purchase", json={"max_price": max_price}, headers=key
            )
            results.append((max_price, response.status_code, response.json()))

    def change_prices() -> None:
        start.wait()
        for price in BOOK_PRICES[1:]:
            assert main([*price_cmd, price]) == 0

    with serving(app) as base_url:
        threads = [threading.Thread(target=buy, args=(k, m, base_url)) for k, m in buyers]
        threads.append(threading.Thread(target=change_prices))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    assert len(results) == BUYERS
    sales = [(max_price, body) for max_price, status, body in results if status == 201]
    assert len(sales) == 1, results
    (winner_max, sale), *_ = sales
    charged = Decimal(str(sale["price"]))
    assert charged in {Decimal(price) for price in BOOK_PRICES}
    assert charged <= winner_max
    for max_price, status, body in results:
        if status == 201:
            continue
        assert status == 409, body
        detail = str(body["detail"])
        too_dear = TOO_DEAR.match(detail)
        assert detail == "this lead is sold out" or (
            too_dear is not None
            and Decimal(too_dear.group(1)) > Decimal(too_dear.group(2)) == max_price
        ), detail

    with engine.connect() as conn:
        sold = conn.execute(
            select(leads.c.sold_count, leads.c.sold_price).where(leads.c.id == lead_id)
        ).one()
        bought = conn.execute(select(purchases.c.id, purchases.c.price)).all()
        ledger = conn.execute(
            select(ledger_entries.c.kind, ledger_entries.c.amount, ledger_entries.c.purchase_id)
        ).all()
    assert tuple(sold) == (1, charged)
    assert [price for _, price in bought] == [charged]
    assert ledger == [("purchase", charged, bought[0].id)]
