"""The ledger on real PostgreSQL: purchases and credits enter it, account totals and monthly
statements read it, and nobody can rewrite it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import DBAPIError

from schemas.taxonomy import Tier, TradeGroup
from services.common.db.tables.marketplace import lead_purchases, ledger_entries
from services.exporter.buyers import Buyer, create_buyer
from services.exporter.dispute_rules import DisputeReason
from services.exporter.disputes import Dispute, decide_dispute, open_dispute
from services.exporter.ledger import LedgerKind, append_entry
from services.exporter.sales import purchase_lead
from tests.exporter.conftest import ADMIN, MakeBuyer
from tests.exporter.factories import insert_lead

pytestmark = pytest.mark.postgres


def _buyer(engine: Engine, name: str) -> tuple[Buyer, dict[str, str]]:
    buyer, key = create_buyer(engine, name, [TradeGroup.LUXURY_OUTDOOR], [Tier.A, Tier.B])
    return buyer, {"X-API-Key": key}


def _buy(engine: Engine, buyer: Buyer, price: str, at: datetime, **lead: object) -> int:
    lead_id = insert_lead(engine, **lead)
    purchase_lead(engine, buyer, lead_id, Decimal(price), max_buyers_per_lead=1, now=at)
    return lead_id


def test_a_purchase_enters_the_ledger_in_its_own_transaction_and_a_refused_one_does_not(
    engine: Engine, client: TestClient, make_buyer: MakeBuyer
) -> None:
    lead_id = insert_lead(engine)
    first, second = make_buyer("Acme Pools"), make_buyer("Bravo Pools")
    bought = client.post(f"/v1/leads/{lead_id}/purchase", json={"price": 25}, headers=first)
    assert bought.status_code == 201
    refused = client.post(f"/v1/leads/{lead_id}/purchase", json={"price": 99}, headers=second)
    assert refused.status_code == 409  # sold out
    again = client.post(f"/v1/leads/{lead_id}/purchase", json={"price": 25}, headers=first)
    assert again.status_code == 409
    with engine.connect() as conn:
        purchase_id = conn.execute(select(lead_purchases.c.id)).scalar_one()
        c = ledger_entries.c
        rows = conn.execute(select(c.kind, c.amount, c.lead_id, c.purchase_id)).all()
    assert [tuple(row) for row in rows] == [("purchase", Decimal("25.00"), lead_id, purchase_id)]


def test_account_totals_are_the_sums_of_purchases_credits_and_adjustments(
    engine: Engine, client: TestClient
) -> None:
    buyer, key = _buyer(engine, "Acme Pools")
    other, other_key = _buyer(engine, "Bravo Pools")
    now = datetime.now(UTC)
    fresh = now.date() - timedelta(days=5)
    prices = ["19.99", "35.00", "42.50", "8.25", "120.00"]
    bought = [
        _buy(engine, buyer, price, now - timedelta(hours=len(prices) - i), issued_date=fresh)
        for i, price in enumerate(prices)
    ]
    _buy(engine, other, "500.00", now, issued_date=fresh)
    # Two credited (one by an operator, one proved stale by the system), one denied, one open.
    stale = _buy(engine, buyer, "60.00", now, issued_date=now.date() - timedelta(days=200))

    def dispute(lead_id: int, reason: DisputeReason) -> Dispute:
        return open_dispute(engine, buyer, lead_id, reason, None, window_days=7, now=now)

    credited = dispute(bought[1], DisputeReason.WRONG_CONTACT)
    decide_dispute(engine, credited.id, approve=True, note=None, now=now)
    assert dispute(stale, DisputeReason.STALE).status == "approved"
    denied = dispute(bought[2], DisputeReason.OTHER)
    decide_dispute(engine, denied.id, approve=False, note="no proof", now=now)
    assert dispute(bought[3], DisputeReason.NOT_A_PROJECT).status == "open"
    with engine.begin() as conn:
        append_entry(
            conn, buyer_id=buyer.id, kind=LedgerKind.ADJUSTMENT, amount=Decimal("-5.00"), at=now
        )

    with engine.connect() as conn:
        charged = [
            Decimal(str(price))
            for price in conn.execute(
                select(lead_purchases.c.price).where(lead_purchases.c.buyer_id == buyer.id)
            ).scalars()
        ]
    spent = sum(charged, Decimal(0))
    assert spent == Decimal("285.74")
    credits = Decimal("35.00") + Decimal("60.00")
    assert client.get("/v1/account", headers=key).json() == {
        "purchases": 6,
        "spent": float(spent),
        "credited": float(credits),
        "adjustments": -5.0,
        "net": float(spent - credits - Decimal("5.00")),
    }
    assert client.get("/v1/account", headers=other_key).json() == {
        "purchases": 1,
        "spent": 500.0,
        "credited": 0.0,
        "adjustments": 0.0,
        "net": 500.0,
    }
    assert client.get("/v1/account", headers=ADMIN).status_code == 403


def _statement(client: TestClient, key: dict[str, str], month: str) -> list[dict[str, str]]:
    response = client.get("/v1/account/statement.csv", params={"month": month}, headers=key)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_a_statement_lists_exactly_that_months_entries_with_a_running_balance(
    engine: Engine, client: TestClient
) -> None:
    buyer, key = _buyer(engine, "Acme Pools")
    other, _ = _buyer(engine, "Bravo Pools")
    may_31_late = datetime(2026, 5, 31, 23, 59, 59, tzinfo=UTC)
    june_1 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
    june_30_late = datetime(2026, 6, 30, 23, 59, 59, 999999, tzinfo=UTC)
    july_1 = datetime(2026, 7, 1, tzinfo=UTC)
    issued = date(2026, 5, 25)
    _buy(engine, buyer, "10.00", may_31_late, issued_date=issued)
    disputed = _buy(engine, buyer, "30.00", june_1, issued_date=issued)
    _buy(engine, other, "77.00", june_1 + timedelta(hours=1), issued_date=issued)
    _buy(engine, buyer, "15.50", june_30_late, issued_date=issued)
    _buy(engine, buyer, "99.00", july_1, issued_date=issued)
    dispute = open_dispute(
        engine,
        buyer,
        disputed,
        DisputeReason.OTHER,
        None,
        window_days=7,
        now=june_1 + timedelta(days=2),
    )
    decide_dispute(engine, dispute.id, approve=True, note="sorry", now=june_1 + timedelta(days=3))

    june = _statement(client, key, "2026-06")
    assert [(r["kind"], r["amount"], r["balance"]) for r in june] == [
        ("purchase", "30.00", "40.00"),  # May's 10.00 carried in
        ("credit", "-30.00", "10.00"),
        ("purchase", "15.50", "25.50"),
    ]
    assert list(june[0]) == [
        "entry_id",
        "created_at",
        "kind",
        "lead_id",
        "purchase_id",
        "dispute_id",
        "amount",
        "note",
        "balance",
    ]
    assert june[0]["created_at"] == "2026-06-01T00:00:00+00:00"
    assert june[1]["dispute_id"] == str(dispute.id) and june[1]["lead_id"] == str(disputed)
    assert june[1]["purchase_id"] == june[0]["purchase_id"] and june[0]["dispute_id"] == ""
    assert [r["amount"] for r in _statement(client, key, "2026-05")] == ["10.00"]
    assert [r["balance"] for r in _statement(client, key, "2026-07")] == ["124.50"]
    assert _statement(client, key, "2026-08") == []


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "2026-6", "26-06", "June", "0000-01", ""])
def test_a_malformed_month_is_a_422(client: TestClient, make_buyer: MakeBuyer, month: str) -> None:
    response = client.get(
        "/v1/account/statement.csv", params={"month": month}, headers=make_buyer("Acme")
    )
    assert response.status_code == 422
    assert "YYYY-MM" in str(response.json()["detail"])


def test_statements_are_for_buyers_and_need_a_month(
    client: TestClient, make_buyer: MakeBuyer
) -> None:
    assert client.get("/v1/account/statement.csv", headers=make_buyer("Acme")).status_code == 422
    forbidden = client.get("/v1/account/statement.csv?month=2026-06", headers=ADMIN)
    assert forbidden.status_code == 403
    assert client.get("/v1/account/statement.csv?month=9999-12", headers=make_buyer("B")).text == (
        "entry_id,created_at,kind,lead_id,purchase_id,dispute_id,amount,note,balance\r\n"
    )


def test_postgresql_refuses_to_update_or_delete_a_ledger_entry(engine: Engine) -> None:
    buyer, _ = _buyer(engine, "Acme Pools")
    _buy(engine, buyer, "25.00", datetime.now(UTC))
    for statement in (
        update(ledger_entries).values(amount=Decimal("0.01")),
        delete(ledger_entries),
    ):
        with (
            pytest.raises(DBAPIError, match="ledger_entries is append-only"),
            engine.begin() as conn,
        ):
            conn.execute(statement)
    with engine.connect() as conn:
        assert conn.execute(select(ledger_entries.c.amount)).scalars().all() == [Decimal("25.00")]
