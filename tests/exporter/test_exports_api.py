"""Downloading tier files through the API: only within entitlements, never sold-out leads."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from services.exporter.queries import leads
from services.exporter.records import CSV_HEADER
from services.exporter.settings import ExporterSettings
from services.exporter.tier_files import export_tier_files
from tests.exporter.conftest import ADMIN, MakeBuyer
from tests.exporter.factories import insert_lead

pytestmark = pytest.mark.postgres
POOL_A = "/v1/exports/luxury_outdoor/pool/tier_a.csv"


def lead_ids(text: str) -> list[int]:
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == CSV_HEADER
    return [int(row["lead_id"]) for row in reader]


def export(engine: Engine, settings: ExporterSettings) -> None:
    assert settings.export_dir is not None
    export_tier_files(engine, settings.export_dir, max_buyers_per_lead=1, now=datetime.now(UTC))


def test_buyer_downloads_their_tier_file(
    client: TestClient, engine: Engine, settings: ExporterSettings, make_buyer: MakeBuyer
) -> None:
    travis = insert_lead(engine, score=92)
    dallas = insert_lead(engine, score=85, county="Dallas")
    export(engine, settings)

    response = client.get(POOL_A, headers=make_buyer("all"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert lead_ids(response.text) == [travis, dallas]
    only_travis = make_buyer("travis", counties=("Travis",))
    assert lead_ids(client.get(POOL_A, headers=only_travis).text) == [travis]
    assert lead_ids(client.get(POOL_A, headers=ADMIN).text) == [travis, dallas]


def test_a_lead_sold_after_the_file_was_written_is_not_served_to_others(
    client: TestClient, engine: Engine, settings: ExporterSettings, make_buyer: MakeBuyer
) -> None:
    lead_id = insert_lead(engine)
    export(engine, settings)
    winner, other = make_buyer("winner"), make_buyer("other")
    assert (
        client.post(f"/v1/leads/{lead_id}/purchase", json={"price": 9}, headers=winner).status_code
        == 201
    )
    assert lead_ids(client.get(POOL_A, headers=other).text) == []
    assert lead_ids(client.get(POOL_A, headers=winner).text) == [lead_id]


def test_files_outside_entitlements_are_not_found(
    client: TestClient, engine: Engine, settings: ExporterSettings, make_buyer: MakeBuyer
) -> None:
    insert_lead(engine, score=90, category="roof", trade_group="home_exterior")
    insert_lead(engine, score=60)
    export(engine, settings)
    buyer = make_buyer("pools-a", tiers=("A",))
    for path in (
        "/v1/exports/home_exterior/roof/tier_a.csv",
        "/v1/exports/luxury_outdoor/pool/tier_b.csv",
    ):
        response = client.get(path, headers=buyer)
        assert response.status_code == 404
        assert response.json() == {"detail": "file not found"}


def test_an_entitled_file_with_no_leads_is_an_empty_csv(
    client: TestClient, make_buyer: MakeBuyer
) -> None:
    response = client.get("/v1/exports/luxury_outdoor/fence/tier_c.csv", headers=make_buyer("b"))
    assert response.status_code == 200
    assert lead_ids(response.text) == []


def test_no_export_directory_means_no_files(
    settings: ExporterSettings, make_buyer: MakeBuyer
) -> None:
    from services.exporter.api import create_app

    key = make_buyer("b")
    with TestClient(create_app(settings.model_copy(update={"export_dir": None}))) as client:
        assert client.get(POOL_A, headers=key).status_code == 404


def rescore(engine: Engine, lead_id: int, **values: object) -> None:
    """What the store does when a lead is scored or categorised again (tier follows score)."""
    with engine.begin() as conn:
        conn.execute(update(leads).where(leads.c.id == lead_id).values(**values))


def test_a_lead_rescored_to_another_tier_leaves_the_old_file(
    client: TestClient, engine: Engine, settings: ExporterSettings, make_buyer: MakeBuyer
) -> None:
    stays, moves = insert_lead(engine, score=95), insert_lead(engine, score=90)
    export(engine, settings)
    rescore(engine, moves, score=40, tier="C")

    only_a = make_buyer("only-a", tiers=("A",))
    all_tiers = make_buyer("all-tiers")
    # A tier-A buyer must not receive what is now tier C; nobody gets it in the A file with
    # the old score (it belongs in tier_c.csv from the next export on).
    assert lead_ids(client.get(POOL_A, headers=only_a).text) == [stays]
    assert lead_ids(client.get(POOL_A, headers=all_tiers).text) == [stays]


def test_a_lead_recategorised_after_the_file_was_written_leaves_it(
    client: TestClient, engine: Engine, settings: ExporterSettings, make_buyer: MakeBuyer
) -> None:
    stays, moves = insert_lead(engine, score=95), insert_lead(engine, score=90)
    export(engine, settings)
    rescore(engine, moves, category="roof", trade_group="home_exterior")

    pools = make_buyer("pools")
    both = make_buyer("both", trade_groups=("luxury_outdoor", "home_exterior"))
    assert lead_ids(client.get(POOL_A, headers=pools).text) == [stays]
    assert lead_ids(client.get(POOL_A, headers=both).text) == [stays]


def test_a_lead_moved_out_of_the_buyers_counties_leaves_the_file(
    client: TestClient, engine: Engine, settings: ExporterSettings, make_buyer: MakeBuyer
) -> None:
    moves = insert_lead(engine, score=90)
    export(engine, settings)
    rescore(engine, moves, county="Dallas")
    travis = make_buyer("travis", counties=("Travis",))
    assert lead_ids(client.get(POOL_A, headers=travis).text) == []


def test_a_lead_sold_exclusively_and_then_rescored_is_not_served_to_others(
    client: TestClient, engine: Engine, settings: ExporterSettings, make_buyer: MakeBuyer
) -> None:
    to_b, within_a = insert_lead(engine, score=95), insert_lead(engine, score=92)
    export(engine, settings)
    owner, other = make_buyer("owner"), make_buyer("other")
    for lead_id in (to_b, within_a):
        bought = client.post(f"/v1/leads/{lead_id}/purchase", json={"price": 9}, headers=owner)
        assert bought.status_code == 201
    rescore(engine, to_b, score=70, tier="B")  # sold, then re-scored into another tier
    rescore(engine, within_a, score=88)  # re-scored, still tier A

    # Buyer Y never gets a lead sold exclusively to X, whatever its tier is now.
    assert lead_ids(client.get(POOL_A, headers=other).text) == []
    assert (
        lead_ids(client.get("/v1/exports/luxury_outdoor/pool/tier_b.csv", headers=other).text) == []
    )
    # X keeps what they own in the file while it is still a tier-A lead.
    assert lead_ids(client.get(POOL_A, headers=owner).text) == [within_a]
    assert client.get(f"/v1/leads/{to_b}", headers=owner).status_code == 200
