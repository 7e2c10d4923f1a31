"""Sales through the buyer API and real PostgreSQL: purchases, who may buy, conversions."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from services.common.db.tables.marketplace import LeadPurchaseRow
from services.exporter.queries import leads
from services.exporter.settings import ExporterSettings
from tests.exporter.conftest import ADMIN, MakeBuyer, ids
from tests.exporter.factories import insert_lead

pytestmark = pytest.mark.postgres


def test_purchase_records_the_sale_and_then_it_is_sold_out(
    client: TestClient, engine: Engine, make_buyer: MakeBuyer
) -> None:
    lead_id = insert_lead(engine)
    first, second = make_buyer("first"), make_buyer("second")

    response = client.post(f"/v1/leads/{lead_id}/purchase", json={"price": 25.0}, headers=first)
    assert response.status_code == 201, response.text
    assert response.json()["price"] == 25.0

    with engine.connect() as conn:
        row = conn.execute(select(leads).where(leads.c.id == lead_id)).one()
    assert (row.status, row.sold_to, float(row.sold_price), row.sold_count) == (
        "sold",
        "first",
        25.0,
        1,
    )
    assert row.sold_at is not None

    again = client.post(f"/v1/leads/{lead_id}/purchase", json={"price": 25}, headers=first)
    assert again.status_code == 409
    assert again.json() == {"detail": "you have already purchased this lead"}
    late = client.post(f"/v1/leads/{lead_id}/purchase", json={"price": 30}, headers=second)
    assert late.status_code == 409
    assert late.json() == {"detail": "this lead is sold out"}
    # Sold exclusively to "first": invisible to "second", still visible to its buyer.
    assert client.get(f"/v1/leads/{lead_id}", headers=second).status_code == 404
    assert ids(client.get("/v1/leads", headers=second).json()) == []
    mine = client.get(f"/v1/leads/{lead_id}", headers=first).json()
    assert mine["purchase_price"] == 25.0 and mine["status"] == "sold"


def test_entitlements_bound_even_bought_leads_but_the_purchase_stays_the_buyers(
    client: TestClient, engine: Engine, make_buyer: MakeBuyer
) -> None:
    from services.common.db.tables.marketplace import BuyerRow

    lead_id = insert_lead(engine)
    buyer = make_buyer("b")
    assert (
        client.post(f"/v1/leads/{lead_id}/purchase", json={"price": 5}, headers=buyer).status_code
        == 201
    )
    with engine.begin() as conn:
        conn.execute(update(BuyerRow).values(trade_groups=["home_systems"]))
    assert ids(client.get("/v1/leads", headers=buyer).json()) == []
    assert client.post(f"/v1/leads/{lead_id}/conversion", headers=buyer).status_code == 200


def test_non_exclusive_leads_sell_to_at_most_the_configured_buyers(
    settings: ExporterSettings, engine: Engine, make_buyer: MakeBuyer
) -> None:
    from services.exporter.api import create_app

    lead_id = insert_lead(engine)
    buyers = [make_buyer(f"b{i}") for i in range(3)]
    shared = settings.model_copy(update={"max_buyers_per_lead": 2})
    with TestClient(create_app(shared)) as client:
        statuses = [
            client.post(f"/v1/leads/{lead_id}/purchase", json={"price": 10}, headers=b).status_code
            for b in buyers
        ]
        assert statuses == [201, 201, 409]
        # Still visible to the first two, gone for the third.
        assert [client.get(f"/v1/leads/{lead_id}", headers=b).status_code for b in buyers] == [
            200,
            200,
            404,
        ]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(LeadPurchaseRow)).scalar() == 2


def test_what_cannot_be_bought(client: TestClient, engine: Engine, make_buyer: MakeBuyer) -> None:
    retry = insert_lead(engine, score=-1, flags=["scoring failed: timeout"])
    roof = insert_lead(engine, category="roof", trade_group="home_exterior")
    buyer = make_buyer("b", tiers=("A", "B", "C", "RETRY"))
    response = client.post(f"/v1/leads/{retry}/purchase", json={"price": 5}, headers=buyer)
    assert response.status_code == 409
    assert "RETRY" in response.json()["detail"]
    for lead_id in (roof, 999_999):
        response = client.post(f"/v1/leads/{lead_id}/purchase", json={"price": 5}, headers=buyer)
        assert response.status_code == 404
    assert (
        client.post(f"/v1/leads/{roof}/purchase", json={"price": 5}, headers=ADMIN).status_code
        == 403
    )
    for body in ({}, {"price": -1}, {"price": "free"}, {"price": 1.234}, {"price": 5, "x": 1}):
        assert (
            client.post(f"/v1/leads/{roof}/purchase", json=body, headers=buyer).status_code == 422
        )
    with engine.connect() as conn:
        assert conn.execute(select(func.sum(leads.c.sold_count))).scalar() == 0


def test_conversion_is_for_the_buyer_who_bought(
    client: TestClient, engine: Engine, make_buyer: MakeBuyer
) -> None:
    lead_id = insert_lead(engine)
    unsold = insert_lead(engine)
    buyer, other = make_buyer("buyer"), make_buyer("other")
    assert (
        client.post(f"/v1/leads/{lead_id}/purchase", json={"price": 40}, headers=buyer).status_code
        == 201
    )

    assert client.post(f"/v1/leads/{lead_id}/conversion", headers=other).status_code == 404
    not_bought = client.post(f"/v1/leads/{unsold}/conversion", headers=buyer)
    assert not_bought.status_code == 409

    first = client.post(f"/v1/leads/{lead_id}/conversion", headers=buyer)
    assert first.status_code == 200
    repeat = client.post(f"/v1/leads/{lead_id}/conversion", headers=buyer)
    assert repeat.json()["converted_at"] == first.json()["converted_at"]
    with engine.connect() as conn:
        row = conn.execute(select(leads).where(leads.c.id == lead_id)).one()
    assert row.status == "converted" and row.converted_at is not None
