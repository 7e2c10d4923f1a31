"""`zip_code` and `near` on GET /v1/leads and /v1/leads.csv, and where leads are, on real
PostgreSQL."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.exporter.conftest import MakeBuyer
from tests.exporter.factories import insert_lead

pytestmark = pytest.mark.postgres

CAPITOL = (30.2747, -97.7404)  # downtown Austin
NEAR = "30.2747,-97.7404,5"


@pytest.fixture
def located(engine: Engine) -> dict[str, int]:
    """Leads at known distances from the Capitol, one with only a ZIP, one with nothing."""
    return {
        # about 1.9 miles south, the portal's point
        "south_congress": insert_lead(
            engine, zip_code="78704", latitude=30.2480, longitude=-97.7500,
            location_approximate=False, score=90,
        ),
        # about 16.5 miles north: outside 5 miles, inside 20
        "round_rock": insert_lead(
            engine, zip_code="78664", latitude=30.5083, longitude=-97.6789,
            location_approximate=True, score=80,
        ),
        # about 4.9 miles: inside the box and the circle
        "east": insert_lead(
            engine, zip_code="78702", latitude=30.2747, longitude=-97.6580,
            location_approximate=False, score=70,
        ),
        # inside the bounding box's corner, outside the circle (about 6.6 miles)
        "corner": insert_lead(
            engine, zip_code="78741", latitude=30.2747 - 0.068, longitude=-97.7404 + 0.078,
            location_approximate=False, score=60,
        ),
        "no_location": insert_lead(engine, zip_code="78704", score=95),
        "nothing": insert_lead(engine, score=85),
    }  # fmt: skip


def listed(client: TestClient, buyer: dict[str, str], query: str) -> set[int]:
    response = client.get(f"/v1/leads?{query}", headers=buyer)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


def downloaded(client: TestClient, buyer: dict[str, str], query: str) -> set[int]:
    response = client.get(f"/v1/leads.csv?{query}", headers=buyer)
    assert response.status_code == 200, response.text
    return {int(row["lead_id"]) for row in csv.DictReader(io.StringIO(response.text))}


@pytest.mark.parametrize("fetch", [listed, downloaded], ids=["list", "csv"])
def test_zip_code_is_repeatable(
    client: TestClient, make_buyer: MakeBuyer, located: dict[str, int], fetch: Any
) -> None:
    buyer = make_buyer("zips")
    assert fetch(client, buyer, "zip_code=78704") == {
        located["south_congress"],
        located["no_location"],
    }
    assert fetch(client, buyer, "zip_code=78704&zip_code=78664") == {
        located["south_congress"],
        located["no_location"],
        located["round_rock"],
    }
    assert fetch(client, buyer, "zip_code=90210") == set()


@pytest.mark.parametrize("fetch", [listed, downloaded], ids=["list", "csv"])
def test_near_is_the_exact_distance_and_never_a_lead_without_coordinates(
    client: TestClient, make_buyer: MakeBuyer, located: dict[str, int], fetch: Any
) -> None:
    buyer = make_buyer("radius")
    # Not the corner lead: in the bounding box, but farther than 5 miles.
    assert fetch(client, buyer, f"near={NEAR}") == {located["south_congress"], located["east"]}
    assert fetch(client, buyer, "near=30.2747,-97.7404,20") == {
        located["south_congress"],
        located["east"],
        located["corner"],
        located["round_rock"],
    }
    # A lead with a ZIP but no coordinates, or nothing at all, never matches, at any radius.
    everywhere = fetch(client, buyer, "near=30.2747,-97.7404,250")
    assert located["no_location"] not in everywhere and located["nothing"] not in everywhere
    # Combined with the other filters.
    assert fetch(client, buyer, f"near={NEAR}&zip_code=78702") == {located["east"]}
    assert fetch(client, buyer, f"near={NEAR}&min_score=80") == {located["south_congress"]}


def test_a_lead_shows_where_it_is(
    client: TestClient, make_buyer: MakeBuyer, located: dict[str, int]
) -> None:
    buyer = make_buyer("where")
    one = client.get(f"/v1/leads/{located['round_rock']}", headers=buyer).json()
    assert (one["zip_code"], one["latitude"], one["longitude"]) == ("78664", 30.5083, -97.6789)
    assert one["location_approximate"] is True
    nothing = client.get(f"/v1/leads/{located['nothing']}", headers=buyer).json()
    assert [nothing[k] for k in ("zip_code", "latitude", "longitude", "location_approximate")] == [
        None
    ] * 4
    rows = {
        int(row["lead_id"]): row
        for row in csv.DictReader(io.StringIO(client.get("/v1/leads.csv", headers=buyer).text))
    }
    south = rows[located["south_congress"]]
    assert (south["zip_code"], south["latitude"], south["longitude"]) == (
        "78704",
        "30.248",
        "-97.75",
    )
    assert south["location_approximate"] == "false"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("near=30.27,-97.74", "near must be lat,lon,miles"),
        ("near=30.27,-97.74,5,1", "near must be lat,lon,miles"),
        ("near=austin", "near must be lat,lon,miles"),
        ("near=91,-97.74,5", "lat: Input should be less than or equal to 90"),
        ("near=30.27,-197,5", "lon: "),
        ("near=30.27,-97.74,0", "miles: Input should be greater than 0"),
        ("near=30.27,-97.74,251", "miles: "),
        ("near=30.27,-97.74,nan", "finite number"),
        ("near=", "near must be lat,lon,miles"),
        ("zip_code=7870", "zip_code must be 5 digits"),
        ("zip_code=78704-1234", "zip_code must be 5 digits"),
        ("zip_code=７８７０４", "zip_code must be 5 digits"),
    ],
)
@pytest.mark.parametrize("path", ["/v1/leads", "/v1/leads.csv"])
def test_a_malformed_value_is_a_422_that_says_what_is_wrong(
    client: TestClient, make_buyer: MakeBuyer, path: str, query: str, message: str
) -> None:
    response = client.get(f"{path}?{query}", headers=make_buyer("typo"))
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"][0] == "query" and message in error["msg"]


def test_near_across_the_antimeridian(
    client: TestClient, engine: Engine, make_buyer: MakeBuyer
) -> None:
    """A circle around Fiji reaches past 180°: the box wraps, and both sides match."""
    east = insert_lead(engine, latitude=-17.0, longitude=179.95, location_approximate=False)
    west = insert_lead(engine, latitude=-17.0, longitude=-179.95, location_approximate=False)
    insert_lead(engine, latitude=-17.0, longitude=178.0, location_approximate=False)
    assert listed(client, make_buyer("fiji"), "near=-17.0,179.99,10") == {east, west}


def test_a_lead_the_store_gave_a_zip_centroid_is_found_near_it(
    client: TestClient, engine: Engine, make_buyer: MakeBuyer
) -> None:
    """Through the store: a permit with only a ZIP is placed at the ZIP's centroid, shown as
    approximate, and found by a radius search around it."""
    from services.store.writer import BatchWriter
    from services.subscriptions.location import zip_centroid
    from tests.store.factories import scored_lead

    message = scored_lead(4, zip_code="78704")
    BatchWriter(engine).write([message])
    buyer = make_buyer("everything", trade_groups=(message.categorization.trade_group.value,))
    centre = zip_centroid("78704")
    assert centre is not None
    (lead,) = client.get(f"/v1/leads?near={centre[0]},{centre[1]},1", headers=buyer).json()["items"]
    assert lead["permit_id"] == message.permit.permit_number
    assert lead["location_approximate"] is True and lead["zip_code"] == "78704"
    assert client.get("/v1/leads?near=32.75,-97.33,50", headers=buyer).json()["items"] == []
