"""The price book: the most specific entry wins, in Python and in SQL alike; the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from services.cli import main
from services.exporter.prices import BookEntry, list_prices, quote, quoted_price, set_price
from services.exporter.queries import leads
from tests.exporter.conftest import MakeBuyer
from tests.exporter.factories import insert_lead

NOW = datetime(2026, 5, 10, tzinfo=UTC)


@dataclass(frozen=True)
class Lead:
    trade_group: str = "luxury_outdoor"
    tier: str = "A"
    category: str = "pool"
    county: str | None = "Travis"


BOOK = [
    BookEntry("luxury_outdoor", "A", None, None, Decimal("40")),
    BookEntry("luxury_outdoor", "A", None, "travis", Decimal("50")),
    BookEntry("luxury_outdoor", "A", "pool", None, Decimal("60")),
    BookEntry("luxury_outdoor", "A", "pool", "travis", Decimal("70")),
    BookEntry("luxury_outdoor", "B", None, None, Decimal("20")),
]


@pytest.mark.parametrize(
    ("lead", "price"),
    [
        (Lead(), Decimal("70")),  # category + county
        (Lead(county="Dallas"), Decimal("60")),  # category
        (Lead(category="outdoor_kitchen"), Decimal("50")),  # county (case-insensitive)
        (Lead(category="outdoor_kitchen", county=None), Decimal("40")),  # group and tier
        (Lead(tier="B"), Decimal("20")),
        (Lead(tier="C"), None),  # nothing for that tier
        (Lead(trade_group="home_exterior"), None),
    ],
)
def test_quote_takes_the_most_specific_matching_entry(lead: Lead, price: Decimal | None) -> None:
    assert quote(BOOK, lead) == price
    assert quote(reversed(BOOK), lead) == price  # order of the book does not matter


@pytest.mark.postgres
def test_sql_quotes_what_python_quotes(engine: Engine) -> None:
    for entry in BOOK:
        set_price(
            engine,
            trade_group=entry.trade_group,
            tier=entry.tier,
            category=entry.category,
            county=entry.county,
            price=entry.price,
            now=NOW,
        )
    cases = [
        Lead(),
        Lead(county="Dallas"),
        Lead(category="outdoor_kitchen"),
        Lead(category="outdoor_kitchen", county=None),
        Lead(tier="C"),
    ]
    ids = [
        insert_lead(
            engine,
            tier=case.tier,
            score={"A": 90, "B": 70, "C": 50}[case.tier],
            category=case.category,
            county=case.county,
        )
        for case in cases
    ]
    with engine.connect() as conn:
        rows = conn.execute(select(leads.c.id, quoted_price()).where(leads.c.id.in_(ids)))
        quoted = {lead_id: price for lead_id, price in rows}
    assert [quoted[i] for i in ids] == [quote(BOOK, case) for case in cases]


@pytest.mark.postgres
def test_prices_set_list_delete_end_to_end(
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    engine: Engine,
    client: TestClient,
    make_buyer: MakeBuyer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    lead_id = insert_lead(engine, score=92, county="Travis")
    buyer = make_buyer("acme", plan="marketplace")

    def price() -> float | None:
        response = client.get(f"/v1/leads/{lead_id}", headers=buyer)
        assert response.status_code == 200
        value: float | None = response.json()["price"]
        return value

    assert price() is None
    base = ["prices", "set", "--trade-group", "luxury_outdoor", "--tier", "a"]
    assert main([*base, "--price", "35"]) == 0
    assert price() == 35.0
    assert main([*base, "--price", "55.50", "--county", "TRAVIS"]) == 0
    assert price() == 55.5
    assert main([*base, "--price", "60", "--county", "travis"]) == 0  # an upsert, not a 2nd row
    assert price() == 60.0
    assert len(list_prices(engine)) == 2
    capsys.readouterr()
    assert main(["prices", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed == [
        "trade_group=luxury_outdoor\ttier=A\tcategory=*\tcounty=*\tprice=35.00",
        "trade_group=luxury_outdoor\ttier=A\tcategory=*\tcounty=travis\tprice=60.00",
    ]
    delete = ["prices", "delete", "--trade-group", "luxury_outdoor", "--tier", "A"]
    assert main([*delete, "--county", "Travis"]) == 0
    assert price() == 35.0
    assert main([*delete, "--category", "pool"]) == 1
    assert "no price" in capsys.readouterr().err
    for bad in (["--price", "-1"], ["--price", "1.234"], ["--price", "free"]):
        with pytest.raises(SystemExit):
            main([*base, *bad])
    with pytest.raises(SystemExit):
        main(["prices", "set", "--trade-group", "pools", "--tier", "A", "--price", "5"])
    with pytest.raises(SystemExit):
        main(
            ["prices", "set", "--trade-group", "luxury_outdoor", "--tier", "RETRY", "--price", "5"]
        )
