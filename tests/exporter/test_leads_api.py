"""The buyer API through real PostgreSQL: keys, entitlements, paging, filters and CSV."""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from services.exporter.records import CSV_HEADER
from tests.exporter.conftest import ADMIN, MakeBuyer, ids
from tests.exporter.factories import SCORED_AT, insert_lead, insert_leads, lead_values

pytestmark = pytest.mark.postgres


def test_every_route_needs_a_valid_key(client: TestClient, engine: Engine) -> None:
    lead_id = insert_lead(engine)
    routes = [
        ("GET", "/v1/leads"),
        ("GET", "/v1/leads.csv"),
        ("GET", f"/v1/leads/{lead_id}"),
        ("POST", f"/v1/leads/{lead_id}/purchase"),
        ("POST", f"/v1/leads/{lead_id}/conversion"),
        ("GET", "/v1/exports/luxury_outdoor/pool/tier_a.csv"),
        ("GET", "/v1/stats"),
    ]
    for method, path in routes:
        for headers in ({}, {"X-API-Key": "not-a-key"}, {"X-API-Key": ""}):
            response = client.request(method, path, headers=headers, json={"price": 1})
            assert response.status_code == 401, (method, path, headers)
            assert isinstance(response.json()["detail"], str)


def test_a_deactivated_buyer_is_refused(
    client: TestClient, engine: Engine, make_buyer: MakeBuyer
) -> None:
    from services.exporter.buyers import deactivate_buyer

    key = make_buyer("gone")
    assert client.get("/v1/leads", headers=key).status_code == 200
    deactivate_buyer(engine, "gone")
    assert client.get("/v1/leads", headers=key).status_code == 401


def test_buyer_sees_only_their_trade_groups_tiers_and_counties(
    client: TestClient, engine: Engine, make_buyer: MakeBuyer
) -> None:
    pool_a = insert_lead(engine, score=90)
    pool_c = insert_lead(engine, score=40)
    roof_a = insert_lead(engine, score=90, category="roof", trade_group="home_exterior")
    dallas = insert_lead(engine, score=88, county="Dallas", city="Dallas")
    retry = insert_lead(engine, score=-1)
    buyer = make_buyer("pools", tiers=("A",), counties=("travis",))

    assert ids(client.get("/v1/leads", headers=buyer).json()) == [pool_a]
    for hidden in (pool_c, roof_a, dallas, retry):
        response = client.get(f"/v1/leads/{hidden}", headers=buyer)
        assert response.status_code == 404
        assert response.json() == {"detail": f"lead {hidden} not found"}
    # Asking for what one may not see returns nothing rather than something else.
    assert client.get("/v1/leads?trade_group=home_exterior", headers=buyer).json()["items"] == []
    assert client.get("/v1/leads?county=Dallas", headers=buyer).json()["items"] == []
    # The operator sees everything.
    assert sorted(ids(client.get("/v1/leads", headers=ADMIN).json())) == sorted(
        [pool_a, pool_c, roof_a, dallas, retry]
    )


def test_items_carry_the_lead_and_not_internal_fields(
    client: TestClient, engine: Engine, make_buyer: MakeBuyer
) -> None:
    lead_id = insert_lead(engine, score=91, issued_date=datetime.now(UTC).date() - timedelta(3))
    item = client.get(f"/v1/leads/{lead_id}", headers=make_buyer("b")).json()
    assert item["id"] == lead_id
    assert item["score"] == 91 and item["tier"] == "A" and item["status"] == "new"
    assert item["days_old"] == 3
    assert item["purchased_at"] is None
    assert "chain_of_thought" not in item and "lead" not in item and "sold_to" not in item


def test_pages_follow_score_then_recency_without_gaps_or_repeats(
    client: TestClient, engine: Engine, make_buyer: MakeBuyer
) -> None:
    rows = [
        lead_values(score=score, scored_at=SCORED_AT + timedelta(minutes=minute))
        for score in (95, 80, 60, 55)
        for minute in (0, 0, 5, 10)  # ties on (score, scored_at) are broken by id
    ]
    insert_leads(engine, *rows)
    buyer = make_buyer("pager")
    everything = client.get("/v1/leads?limit=500", headers=buyer).json()
    keys = [(i["score"], i["scored_at"], i["id"]) for i in everything["items"]]
    assert keys == sorted(keys, reverse=True) and len(keys) == len(rows)
    assert everything["next_cursor"] is None

    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/leads", params=params, headers=buyer).json()
        assert len(page["items"]) <= 3
        seen += ids(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids(everything)


def test_filters(client: TestClient, engine: Engine, make_buyer: MakeBuyer) -> None:
    early = SCORED_AT - timedelta(days=2)
    a = insert_lead(engine, score=90, scored_at=early)
    b = insert_lead(engine, score=70, city="Round Rock", county="Williamson")
    c = insert_lead(engine, score=45, category="fence", status="exported")
    buyer = make_buyer("f")

    def query(params: str) -> list[int]:
        response = client.get(f"/v1/leads?{params}", headers=buyer)
        assert response.status_code == 200, response.text
        return ids(response.json())

    assert query("tier=B") == [b]
    assert query("category=fence") == [c]
    assert query("min_score=70") == [a, b]
    assert query("city=round%20rock") == [b]
    assert query("county=WILLIAMSON") == [b]
    assert query("status=exported") == [c]
    assert query(f"scored_until={SCORED_AT.isoformat().replace('+', '%2B')}") == [a]
    assert query("scored_since=2026-05-01T00:00:00") == [b, c]
    assert query("trade_group=luxury_outdoor&min_score=50&tier=A") == [a]


@pytest.mark.parametrize(
    "params",
    [
        "limit=0",
        "limit=501",
        "min_score=101",
        "tier=D",
        "status=lost",
        "cursor=abc",
        "scored_since=yesterday",
        "trade_group=pools",
    ],
)
def test_bad_parameters_are_422(client: TestClient, make_buyer: MakeBuyer, params: str) -> None:
    response = client.get(f"/v1/leads?{params}", headers=make_buyer("p"))
    assert response.status_code == 422
    assert response.json()["detail"]


def _forged_cursor(scored_at: str) -> str:
    payload = f'[87, "{scored_at}", 1]'.encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def test_a_cursor_with_an_offset_postgresql_refuses_still_pages(
    client: TestClient, engine: Engine, make_buyer: MakeBuyer
) -> None:
    before = insert_lead(engine, score=80, scored_at=datetime(2026, 5, 1, 12, 0, tzinfo=UTC))
    insert_lead(engine, score=87, scored_at=datetime(2026, 5, 1, 12, 2, tzinfo=UTC))
    buyer = make_buyer("tamper")
    # 12:00+23:59 is 12:01 the day before in UTC: after the cursor come lower scores only.
    cursor = _forged_cursor("2026-05-02T12:00:00+23:59")
    response = client.get(f"/v1/leads?cursor={cursor}", headers=buyer)
    assert response.status_code == 200, response.text
    assert ids(response.json()) == [before]
    out_of_range = _forged_cursor("0001-01-01T00:00:00+05:00")
    response = client.get(f"/v1/leads?cursor={out_of_range}", headers=buyer)
    assert response.status_code == 422
    assert "invalid cursor" in response.json()["detail"][0]["msg"]


def test_csv_download_streams_the_same_query(
    client: TestClient, engine: Engine, make_buyer: MakeBuyer
) -> None:
    insert_leads(engine, *(lead_values(score=s) for s in range(30, 100, 7)))
    insert_lead(engine, score=99, category="roof", trade_group="home_exterior")
    buyer = make_buyer("csv")
    listed = client.get("/v1/leads?min_score=50&limit=500", headers=buyer).json()
    response = client.get("/v1/leads.csv?min_score=50", headers=buyer)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert tuple(rows[0].keys()) == CSV_HEADER
    assert [int(r["lead_id"]) for r in rows] == ids(listed)
    assert all(r["trade_group"] == "luxury_outdoor" for r in rows)


def test_a_buyer_sees_the_permits_folded_into_a_lead(
    client: TestClient, engine: Engine, make_buyer: MakeBuyer
) -> None:
    """Two permits of one job, stored by the store: one lead, and the other permit on it."""
    from services.store.writer import BatchWriter
    from tests.store.factories import scored_lead

    building = scored_lead(
        0, permit_number="2015-000100 BP", property_address="123 N Main St", valuation=85_000
    )
    plumbing = scored_lead(
        35,
        permit_number="2015-000101 PP",
        property_address="123 NORTH MAIN STREET",
        permit_type="R- 329 Res Structures Other Than Bldg",
        valuation=4_500,
    )
    BatchWriter(engine).write([building, plumbing])
    buyer = make_buyer("pools")
    listed = client.get("/v1/leads", headers=buyer).json()["items"]
    assert [lead["permit_id"] for lead in listed] == ["2015-000100 BP"]  # sold once
    related = [
        {
            "permit_id": "2015-000101 PP",
            "permit_type": "R- 329 Res Structures Other Than Bldg",
            "category": "pool",
            "issued_date": plumbing.permit.issued_date.isoformat(),  # type: ignore[union-attr]
            "valuation": 4500.0,
        }
    ]
    assert listed[0]["related_permits"] == related
    one = client.get(f"/v1/leads/{listed[0]['id']}", headers=buyer).json()
    assert one["related_permits"] == related
    (row,) = csv.DictReader(io.StringIO(client.get("/v1/leads.csv", headers=buyer).text))
    assert json.loads(row["related_permits"]) == related
    assert tuple(row) == CSV_HEADER and CSV_HEADER.index("related_permits") == 19
    # A lead without related permits shows an empty list.
    alone = insert_lead(engine, score=95)
    assert client.get(f"/v1/leads/{alone}", headers=buyer).json()["related_permits"] == []
