"""``leadstream disputes list|approve|deny``: the operator's queue, and credits paid once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from services.cli import main
from services.common.db.tables.marketplace import ledger_entries
from services.exporter.dispute_commands import format_age
from tests.exporter.conftest import MakeBuyer
from tests.exporter.factories import insert_lead


def test_ages_read_as_days_hours_or_minutes() -> None:
    assert format_age(timedelta(days=3, hours=4, minutes=5)) == "3d 4h"
    assert format_age(timedelta(hours=5, minutes=12)) == "5h 12m"
    assert format_age(timedelta(minutes=12, seconds=59)) == "12m"
    assert format_age(timedelta(seconds=-3)) == "0m"


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)


def _open_dispute(
    client: TestClient, engine: Engine, key: dict[str, str], price: float, reason: str
) -> int:
    lead_id = insert_lead(engine, issued_date=datetime.now(UTC).date() - timedelta(days=2))
    bought = client.post(f"/v1/leads/{lead_id}/purchase", json={"price": price}, headers=key)
    assert bought.status_code == 201
    response = client.post(f"/v1/leads/{lead_id}/dispute", json={"reason": reason}, headers=key)
    assert response.status_code == 201 and response.json()["status"] == "open"
    dispute_id: int = response.json()["id"]
    return dispute_id


def _credits(engine: Engine) -> list[tuple[int, float]]:
    c = ledger_entries.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(c.dispute_id, c.amount).where(c.kind == "credit").order_by(c.id)
        ).all()
    return [(dispute_id, float(amount)) for dispute_id, amount in rows]


@pytest.mark.postgres
def test_an_operator_approves_once_and_the_credit_is_paid_once(
    cli_env: None,
    engine: Engine,
    client: TestClient,
    make_buyer: MakeBuyer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    buyer = make_buyer("Acme Pools")
    dispute_id = _open_dispute(client, engine, buyer, 37.5, "wrong_contact")

    assert main(["disputes", "approve", str(dispute_id), "--note", "number is dead"]) == 0
    assert capsys.readouterr().out == (
        f"dispute {dispute_id} approved: 37.50 credited to 'Acme Pools' (lead 1)\n"
    )
    assert _credits(engine) == [(dispute_id, -37.5)]

    assert main(["disputes", "approve", str(dispute_id)]) == 1
    assert "already approved by operator" in capsys.readouterr().err
    assert main(["disputes", "deny", str(dispute_id), "--note", "changed my mind"]) == 1
    assert _credits(engine) == [(dispute_id, -37.5)]

    mine = client.get("/v1/disputes", headers=buyer).json()["items"]
    assert [(d["status"], d["decided_by"], d["decision_note"]) for d in mine] == [
        ("approved", "operator", "number is dead")
    ]
    assert client.get("/v1/account", headers=buyer).json()["credited"] == 37.5


@pytest.mark.postgres
def test_a_denial_needs_a_note_and_credits_nothing(
    cli_env: None,
    engine: Engine,
    client: TestClient,
    make_buyer: MakeBuyer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dispute_id = _open_dispute(client, engine, make_buyer("Acme Pools"), 20, "not_a_project")
    with pytest.raises(SystemExit) as exit_info:
        main(["disputes", "deny", str(dispute_id)])
    assert exit_info.value.code == 2
    assert "--note" in capsys.readouterr().err
    assert main(["disputes", "deny", str(dispute_id), "--note", "   "]) == 1
    assert "a denial needs a note" in capsys.readouterr().err

    assert main(["disputes", "deny", str(dispute_id), "--note", "the owner confirmed"]) == 0
    assert capsys.readouterr().out.startswith(f"dispute {dispute_id} denied")
    assert main(["disputes", "approve", str(dispute_id)]) == 1
    assert "already denied" in capsys.readouterr().err
    assert _credits(engine) == []
    assert main(["disputes", "approve", "999"]) == 1
    assert "dispute 999 not found" in capsys.readouterr().err


@pytest.mark.postgres
def test_the_queue_lists_open_disputes_with_buyer_reason_age_and_price(
    cli_env: None,
    engine: Engine,
    client: TestClient,
    make_buyer: MakeBuyer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = _open_dispute(client, engine, make_buyer("Acme Pools"), 20, "wrong_contact")
    second = _open_dispute(client, engine, make_buyer("Bravo Decks"), 12.5, "other")
    assert main(["disputes", "deny", str(first), "--note", "reachable"]) == 0
    capsys.readouterr()

    assert main(["disputes", "list", "--status", "open"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["id", "buyer", "lead", "reason", "status", "age", "price"]
    assert lines[1].split() == [str(second), "Bravo", "Decks", "2", "other", "open", "0m", "12.50"]
    assert lines[2:] == ["1 dispute(s)"]

    assert main(["disputes", "list"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in table[1:-1]] == [str(first), str(second)]
    assert "denied" in table[1]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ledger_entries)).scalar() == 2
