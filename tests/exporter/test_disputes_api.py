"""``POST /v1/leads/{id}/dispute`` and ``GET /v1/disputes`` on real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from services.common.db.tables.marketplace import disputes, lead_purchases, ledger_entries
from tests.exporter.conftest import ADMIN, MakeBuyer
from tests.exporter.factories import insert_lead

pytestmark = pytest.mark.postgres
PROJECT = "address:austin_tx:12 LAKEVIEW DR|pool"


def _recent(days: int) -> date:
    return datetime.now(UTC).date() - timedelta(days=days)


def _buy(client: TestClient, lead_id: int, key: dict[str, str], price: float) -> None:
    response = client.post(f"/v1/leads/{lead_id}/purchase", json={"price": price}, headers=key)
    assert response.status_code == 201, response.text


def _dispute(
    client: TestClient, lead_id: int, key: dict[str, str], reason: str, **extra: Any
) -> Any:
    return client.post(
        f"/v1/leads/{lead_id}/dispute", json={"reason": reason, **extra}, headers=key
    )


def _ledger(engine: Engine) -> list[tuple[str, float, int | None]]:
    c = ledger_entries.c
    with engine.connect() as conn:
        rows = conn.execute(select(c.kind, c.amount, c.dispute_id).order_by(c.id)).all()
    return [(kind, float(amount), dispute_id) for kind, amount, dispute_id in rows]


def test_a_real_duplicate_is_approved_by_the_system_and_credited(
    engine: Engine, client: TestClient, make_buyer: MakeBuyer
) -> None:
    # Two permits of one pool job, 20 days apart, stored as two leads (as before folding).
    first = insert_lead(engine, project_key=PROJECT, project_date=_recent(30))
    second = insert_lead(engine, project_key=PROJECT, project_date=_recent(10))
    buyer = make_buyer("Acme Pools")
    _buy(client, first, buyer, 30)
    _buy(client, second, buyer, 42.5)

    response = _dispute(client, second, buyer, "duplicate", detail="same pool as the other one")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "approved" and body["decided_by"] == "system"
    assert body["lead_id"] == second and body["reason"] == "duplicate"
    assert f"lead {first}" in body["decision_note"] and body["price"] == 42.5
    assert _ledger(engine) == [
        ("purchase", 30.0, None),
        ("purchase", 42.5, None),
        ("credit", -42.5, body["id"]),
    ]
    account = client.get("/v1/account", headers=buyer).json()
    assert account == {"purchases": 2, "spent": 72.5, "credited": 42.5, "adjustments": 0.0,
                       "net": 30.0}  # fmt: skip


def test_a_duplicate_the_data_does_not_prove_stays_open(
    engine: Engine, client: TestClient, make_buyer: MakeBuyer
) -> None:
    other_project = insert_lead(engine, project_key="address:austin_tx:9 ELM ST|pool")
    lead_id = insert_lead(engine, project_key=PROJECT, project_date=_recent(5))
    buyer = make_buyer("Acme Pools")
    _buy(client, other_project, buyer, 10)
    _buy(client, lead_id, buyer, 20)
    body = _dispute(client, lead_id, buyer, "duplicate").json()
    assert (body["status"], body["decided_by"]) == ("open", None)
    assert [kind for kind, _, _ in _ledger(engine)] == ["purchase", "purchase"]


def test_a_lead_stale_when_sold_is_credited_but_a_fresh_one_is_not(
    engine: Engine, client: TestClient, make_buyer: MakeBuyer
) -> None:
    stale = insert_lead(engine, issued_date=_recent(120))
    fresh = insert_lead(engine, issued_date=_recent(20))
    buyer = make_buyer("Acme Pools")
    _buy(client, stale, buyer, 15)
    _buy(client, fresh, buyer, 25)
    approved = _dispute(client, stale, buyer, "stale").json()
    assert approved["status"] == "approved" and "120 days" in approved["decision_note"]
    assert _dispute(client, fresh, buyer, "stale").json()["status"] == "open"
    assert [row for row in _ledger(engine) if row[0] == "credit"] == [
        ("credit", -15.0, approved["id"])
    ]


def test_a_buyer_disputes_only_its_own_purchases_once_within_the_window(
    engine: Engine, client: TestClient, make_buyer: MakeBuyer
) -> None:
    lead_id = insert_lead(engine, issued_date=_recent(3))
    unsold = insert_lead(engine, issued_date=_recent(3))
    not_entitled = insert_lead(engine, trade_group="home_exterior", category="roof")
    owner, other = make_buyer("Acme Pools"), make_buyer("Bravo Pools")
    _buy(client, lead_id, owner, 20)

    # Sold to someone else (exclusive) or never bought: the lead is not visible → 404.
    assert _dispute(client, lead_id, other, "other").status_code == 404
    assert _dispute(client, not_entitled, owner, "other").status_code == 404
    assert _dispute(client, 999_999, owner, "other").status_code == 404
    unbought = _dispute(client, unsold, owner, "other")
    assert unbought.status_code == 409
    assert unbought.json() == {
        "detail": "you have not bought this lead: only its buyer can dispute it"
    }
    assert _dispute(client, lead_id, owner, "other", detail="x" * 2001).status_code == 422
    assert _dispute(client, lead_id, owner, "too_expensive").status_code == 422
    assert _dispute(client, lead_id, ADMIN, "other").status_code == 403

    first = _dispute(client, lead_id, owner, "wrong_contact", detail="number disconnected")
    assert first.status_code == 201 and first.json()["status"] == "open"
    again = _dispute(client, lead_id, owner, "other")
    assert again.status_code == 409 and "already disputed" in again.json()["detail"]

    mine = client.get("/v1/disputes", headers=owner).json()["items"]
    assert [(d["lead_id"], d["reason"], d["detail"]) for d in mine] == [
        (lead_id, "wrong_contact", "number disconnected")
    ]
    assert client.get("/v1/disputes", headers=other).json() == {"items": []}


def test_the_window_closes_dispute_window_days_after_the_purchase(
    engine: Engine, client: TestClient, make_buyer: MakeBuyer
) -> None:
    lead_id = insert_lead(engine, issued_date=_recent(3))
    buyer = make_buyer("Acme Pools")
    _buy(client, lead_id, buyer, 20)
    with engine.begin() as conn:  # bought eight days ago; the default window is seven
        conn.execute(
            update(lead_purchases).values(purchased_at=datetime.now(UTC) - timedelta(days=8))
        )
    late = _dispute(client, lead_id, buyer, "stale")
    assert late.status_code == 409
    assert "within 7 days of the purchase" in late.json()["detail"]
    with engine.connect() as conn:
        assert conn.execute(select(disputes.c.id)).all() == []
