"""Downloading tier files through the API: only within entitlements, never sold-out leads."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

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
