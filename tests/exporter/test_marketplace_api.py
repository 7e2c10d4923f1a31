"""Marketplace buyers see previews on every surface until they buy; then the lead in full.

Every check is on the bytes a buyer receives: the owner's, applicant's and contractor's
names, the street address, the permit numbers and the coordinates must not be in them.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from schemas.stored import LeadStored
from services.common.db.tables.marketplace import BuyerRow, ledger_entries
from services.common.db.tables.notifier import webhook_deliveries
from services.exporter.prices import set_price
from services.exporter.queries import leads, purchases
from services.exporter.records import CSV_HEADER
from services.exporter.settings import ExporterSettings
from services.exporter.tier_files import export_tier_files
from services.notifier.matcher import Matcher
from tests.exporter.conftest import ADMIN, MakeBuyer
from tests.exporter.factories import insert_lead
from tests.notifier.seeds import add_subscription

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 5, 10, tzinfo=UTC)
OWNER, APPLICANT, CONTRACTOR = "Margaret Whitfield", "Desmond Okafor", "Azure Lagoon Pools LLC"
ADDRESS, PERMIT, RELATED = "4512 Shoal Creek Blvd", "BP-2026-004471", "EL-2026-998811"
SECRETS = (
    OWNER,
    "Whitfield",
    APPLICANT,
    "Okafor",
    CONTRACTOR,
    "Azure Lagoon",
    ADDRESS,
    "Shoal Creek",
    PERMIT,
    RELATED,
    "In-ground gunite pool",
    "30.3391",
    "-97.7602",
    "820000",
)
POOL_A = "/v1/exports/luxury_outdoor/pool/tier_a.csv"


def the_lead(engine: Engine) -> int:
    return insert_lead(
        engine,
        score=92,
        permit_number=PERMIT,
        property_address=ADDRESS,
        owner_name=OWNER,
        project_description="In-ground gunite pool with spa for the Whitfield residence",
        market_value=820000,
        reasoning=f"{OWNER} pulled the permit herself at {ADDRESS}; {CONTRACTOR} is listed.",
        flags=[f"applicant {APPLICANT} differs from the owner", f"see also {RELATED}"],
        ideal_contractor="Premium pool builder",
        related_permits=[
            {
                "permit_id": RELATED,
                "permit_type": "Electrical",
                "category": "electrical",
                "issued_date": "2026-04-25",
                "valuation": 4000,
            }
        ],
        zip_code="78731",
        latitude=30.3391,
        longitude=-97.7602,
        location_approximate=False,
        lead={"permit": {"applicant_name": APPLICANT, "contractor_name": CONTRACTOR}},
    )


def assert_hidden(body: str) -> None:
    for secret in SECRETS:
        assert secret.lower() not in body.lower(), secret


def assert_shown(body: str) -> None:
    for secret in (OWNER, ADDRESS, PERMIT, RELATED):
        assert secret in body, secret


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def buyer_id(engine: Engine, name: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(BuyerRow.id).where(BuyerRow.name == name)).scalar_one())


def webhook_data(engine: Engine, subscription_id: str, lead_id: int) -> str:
    with engine.connect() as conn:
        bodies = conn.execute(
            select(webhook_deliveries.c.body)
            .where(webhook_deliveries.c.subscription_id == subscription_id)
            .order_by(webhook_deliveries.c.created_at.desc())
        ).scalars()
        body = next(iter(bodies))
    data = json.loads(body)["data"]
    assert data["id"] == lead_id
    return json.dumps(data)


def test_previews_hide_the_contact_on_every_surface_until_bought(
    client: TestClient, engine: Engine, settings: ExporterSettings, make_buyer: MakeBuyer
) -> None:
    lead_id = the_lead(engine)
    set_price(engine, trade_group="luxury_outdoor", tier="A", price=Decimal("45"), now=NOW)
    assert settings.export_dir is not None
    export_tier_files(engine, settings.export_dir, max_buyers_per_lead=1, now=NOW)
    market = make_buyer("market", plan="marketplace")
    subscription, _ = add_subscription(engine, buyer_id(engine, "market"), "https://x.test/h")
    matcher = Matcher(engine, max_buyers_per_lead=1)

    def event(number: int) -> LeadStored:
        permit_key = f"austin_tx:{PERMIT}"
        return LeadStored(
            event_id=number, type="lead.created", lead_id=lead_id, permit_key=permit_key,
            occurred_at=NOW,
        )  # fmt: skip

    # Before the purchase: a preview everywhere.
    listed = client.get("/v1/leads", headers=market)
    one = client.get(f"/v1/leads/{lead_id}", headers=market)
    download = client.get("/v1/leads.csv", headers=market)
    tier_file = client.get(POOL_A, headers=market)
    matcher.handle_batch([event(1)])
    hook = webhook_data(engine, subscription, lead_id)
    for body in (listed.text, one.text, download.text, tier_file.text, hook):
        assert_hidden(body)
    preview = one.json()
    assert listed.json()["items"] == [preview] and json.loads(hook) == preview
    assert preview["revealed"] is False and preview["price"] == 45.0
    assert preview["market_value_band"] == "$700k–$1M"
    assert preview["permit_id"] is None and preview["owner_name"] is None
    assert preview["latitude"] is None and preview["related_permits"] == []
    assert "[redacted] pulled the permit herself at [redacted]" in preview["reasoning"]
    assert (preview["city"], preview["zip_code"], preview["score"]) == ("Austin", "78731", 92)
    for text in (download.text, tier_file.text):
        (row,) = csv_rows(text)
        assert (row["revealed"], row["price"], row["owner_name"]) == ("false", "45.00", "")
        assert row["market_value_band"] == "$700k–$1M" and row["zip_code"] == "78731"

    bought = client.post(f"/v1/leads/{lead_id}/purchase", json={"max_price": 50}, headers=market)
    assert bought.status_code == 201 and bought.json()["price"] == 45.0

    # After: the lead in full, on every surface.
    full = client.get(f"/v1/leads/{lead_id}", headers=market)
    matcher.handle_batch([event(2)])
    for body in (
        client.get("/v1/leads", headers=market).text,
        full.text,
        client.get("/v1/leads.csv", headers=market).text,
        client.get(POOL_A, headers=market).text,
        webhook_data(engine, subscription, lead_id),
    ):
        assert_shown(body)
    assert full.json()["revealed"] is True and full.json()["owner_name"] == OWNER
    assert full.json()["purchase_price"] == 45.0
    (row,) = csv_rows(client.get(POOL_A, headers=market).text)
    assert (row["revealed"], row["owner_name"], row["permit_id"]) == ("true", OWNER, PERMIT)


def test_subscription_buyers_and_operators_see_everything_in_full(
    client: TestClient, engine: Engine, settings: ExporterSettings, make_buyer: MakeBuyer
) -> None:
    lead_id = the_lead(engine)
    assert settings.export_dir is not None
    export_tier_files(engine, settings.export_dir, max_buyers_per_lead=1, now=NOW)
    for key in (make_buyer("subscriber", plan="subscription"), ADMIN):
        one = client.get(f"/v1/leads/{lead_id}", headers=key)
        assert one.json()["revealed"] is True and one.json()["price"] is None
        assert one.json()["latitude"] == 30.3391
        for body in (
            one.text,
            client.get("/v1/leads", headers=key).text,
            client.get("/v1/leads.csv", headers=key).text,
            client.get(POOL_A, headers=key).text,
        ):
            assert_shown(body)


def test_a_marketplace_buyer_cannot_search_by_exact_location(
    client: TestClient, engine: Engine, make_buyer: MakeBuyer
) -> None:
    the_lead(engine)
    market = make_buyer("market", plan="marketplace")
    subscriber = make_buyer("subscriber")
    near = {"near": "30.3391,-97.7602,0.1"}
    for path in ("/v1/leads", "/v1/leads.csv"):
        refused = client.get(path, params=near, headers=market)
        assert refused.status_code == 422
        assert "marketplace buyers filter by zip_code" in refused.text
        assert client.get(path, params=near, headers=subscriber).status_code == 200
    assert (
        len(client.get("/v1/leads", params={"zip_code": "78731"}, headers=market).json()["items"])
        == 1
    )
    saved = client.post(
        "/v1/subscriptions",
        json={"name": "close by", "filters": {"near": {"lat": 30.3, "lon": -97.7, "miles": 1}}},
        headers=market,
    )
    assert saved.status_code == 422 and "zip_code" in saved.text


def test_purchase_charges_the_book_price_within_max_price(
    client: TestClient, engine: Engine, make_buyer: MakeBuyer
) -> None:
    priced, alias = the_lead(engine), insert_lead(engine)
    unpriced = insert_lead(engine, score=70)  # tier B: not in the book
    set_price(engine, trade_group="luxury_outdoor", tier="A", price=Decimal("45"), now=NOW)
    set_price(
        engine, trade_group="luxury_outdoor", tier="A", county="travis", category="pool",
        price=Decimal("60"), now=NOW,
    )  # fmt: skip
    buyer = make_buyer("market", plan="marketplace")

    def buy(lead_id: int, body: object) -> tuple[int, dict[str, object]]:
        response = client.post(f"/v1/leads/{lead_id}/purchase", json=body, headers=buyer)
        return response.status_code, response.json()

    assert buy(priced, {"max_price": 59.99}) == (
        409,
        {"detail": "the price is now 60.00, above your max_price 59.99"},
    )
    for body in ({}, {"max_price": None}, {"max_price": 60, "price": 70}, {"max_price": -1}):
        assert buy(priced, body)[0] == 422
    status, bought = buy(priced, {"max_price": 100})
    assert (status, bought["price"]) == (201, 60.0)
    # The book covers the other two as well: the old body is max_price by another name.
    assert buy(alias, {"price": 50})[0] == 409
    assert buy(alias, {"price": 60})[1]["price"] == 60.0
    assert buy(unpriced, {"max_price": 12.5})[1]["price"] == 12.5
    assert buy(insert_lead(engine, score=70), {})[0] == 422

    with engine.connect() as conn:
        rows = conn.execute(
            select(leads.c.id, leads.c.sold_price).where(leads.c.id.in_([priced, alias]))
        )
        sold = {lead_id: price for lead_id, price in rows}
        charged = conn.execute(
            select(purchases.c.id, purchases.c.lead_id, purchases.c.price).order_by(purchases.c.id)
        ).all()
        ledger = conn.execute(
            select(
                ledger_entries.c.kind,
                ledger_entries.c.amount,
                ledger_entries.c.lead_id,
                ledger_entries.c.purchase_id,
            ).order_by(ledger_entries.c.id)
        ).all()
    assert sold == {priced: Decimal("60.00"), alias: Decimal("60.00")}
    assert [(lead, price) for _, lead, price in charged] == [
        (priced, Decimal("60.00")),
        (alias, Decimal("60.00")),
        (unpriced, Decimal("12.50")),
    ]
    assert ledger == [
        ("purchase", price, lead, purchase_id) for purchase_id, lead, price in charged
    ]


def test_a_tier_file_written_before_the_marketplace_columns_is_served_as_previews(
    client: TestClient, engine: Engine, settings: ExporterSettings, make_buyer: MakeBuyer
) -> None:
    lead_id = the_lead(engine)
    set_price(engine, trade_group="luxury_outdoor", tier="A", price=Decimal("45"), now=NOW)
    assert settings.export_dir is not None
    export_tier_files(engine, settings.export_dir, max_buyers_per_lead=1, now=NOW)
    path = settings.export_dir / "luxury_outdoor/pool/tier_a.csv"
    old_columns = CSV_HEADER.index("price")
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(row[:old_columns] for row in rows)

    response = client.get(POOL_A, headers=make_buyer("market", plan="marketplace"))
    assert_hidden(response.text)
    (row,) = csv_rows(response.text)
    assert (row["lead_id"], row["price"], row["revealed"]) == (str(lead_id), "45.00", "false")
    assert row["market_value_band"] == "$700k–$1M"
