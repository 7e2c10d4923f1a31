"""Hostile input in every parameter and path: rejected or harmless, never a 500, never a leak."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from services.common.db.tables.marketplace import BuyerRow
from services.exporter.queries import leads
from services.exporter.settings import ExporterSettings
from tests.exporter.conftest import MakeBuyer
from tests.exporter.factories import insert_lead

pytestmark = pytest.mark.postgres

HOSTILE = [
    "' OR '1'='1",
    "1 OR 1=1",
    "1; DROP TABLE scored_leads; --",
    "' UNION SELECT key_hash, NULL FROM buyers --",
    '" OR ""="',
    "%' OR 1=1 --",
    "1)) OR pg_sleep(5) --",
    "../../../../etc/passwd",
    "..%2F..%2F..%2Fsecret.csv",
    "%2e%2e%2f%2e%2e%2fsecret.csv",
    "..\\..\\secret.csv",
    "....//....//secret.csv",
    "/etc/passwd",
    "tier_a.csv\x00.txt",
    "\x00",
    "😈" * 50,
    "A" * 5000,
    "-1",
    "99999999999999999999999999",
]
LIST_PARAMS = [
    "trade_group",
    "category",
    "tier",
    "min_score",
    "county",
    "city",
    "scored_since",
    "scored_until",
    "status",
    "limit",
    "cursor",
]
SECRET_PERMIT = "SECRET-PERMIT-0001"
SECRET_FILE_TEXT = "SECRET-FILE-CONTENT"


@pytest.fixture
def hostile_setup(
    engine: Engine, settings: ExporterSettings, make_buyer: MakeBuyer, tmp_path: Path
) -> dict[str, str]:
    insert_lead(engine, score=90)
    # Outside the buyer's entitlements: must never appear in any answer.
    insert_lead(
        engine, score=99, permit_number=SECRET_PERMIT, trade_group="home_exterior", category="roof"
    )
    (tmp_path / "secret.csv").write_text(SECRET_FILE_TEXT)
    assert settings.export_dir is not None
    settings.export_dir.mkdir(parents=True)
    return make_buyer("target")


def assert_safe(response_status: int, body: str) -> None:
    assert response_status < 500, body
    assert SECRET_PERMIT not in body
    assert SECRET_FILE_TEXT not in body


def test_hostile_query_parameters(
    client: TestClient, engine: Engine, hostile_setup: dict[str, str]
) -> None:
    for path in ("/v1/leads", "/v1/leads.csv"):
        for name in LIST_PARAMS:
            for value in HOSTILE:
                response = client.get(path, params={name: value}, headers=hostile_setup)
                assert_safe(response.status_code, response.text)
                assert response.status_code in (200, 422), (name, value, response.text)
    for name in ("since", "until"):
        for value in HOSTILE:
            response = client.get("/v1/stats", params={name: value}, headers=hostile_setup)
            assert response.status_code in (403, 422)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(leads)).scalar() == 2
        assert conn.execute(select(func.count()).select_from(BuyerRow)).scalar() == 1


def test_hostile_path_segments(client: TestClient, hostile_setup: dict[str, str]) -> None:
    for value in HOSTILE:
        for encoded in (quote(value, safe=""), quote(value, safe="/%")):
            paths = [
                f"/v1/leads/{encoded}",
                f"/v1/exports/{encoded}/pool/tier_a.csv",
                f"/v1/exports/luxury_outdoor/{encoded}/tier_a.csv",
                f"/v1/exports/luxury_outdoor/pool/tier_{encoded}.csv",
                f"/v1/exports/luxury_outdoor/pool/{encoded}",
            ]
            for path in paths:
                response = client.get(path, headers=hostile_setup)
                assert_safe(response.status_code, response.text)
                assert response.status_code in (404, 422), (path, response.text)
            for action in ("purchase", "conversion"):
                response = client.post(
                    f"/v1/leads/{encoded}/{action}", json={"price": 1}, headers=hostile_setup
                )
                assert response.status_code in (404, 405, 422), (encoded, response.text)


def test_hostile_keys_and_bodies(
    client: TestClient, engine: Engine, hostile_setup: dict[str, str]
) -> None:
    for value in HOSTILE:
        header = value.encode().replace(b"\x00", b"")  # raw bytes: HTTP allows no NUL
        response = client.get("/v1/leads", headers={"X-API-Key": header})
        assert response.status_code == 401
    lead_id = insert_lead(engine)
    for value in HOSTILE:
        for body in ({"price": value}, {"price": 1, value: 1}, value):
            response = client.post(
                f"/v1/leads/{lead_id}/purchase", json=body, headers=hostile_setup
            )
            assert response.status_code == 422, (body, response.text)
    with engine.connect() as conn:
        assert conn.execute(select(func.sum(leads.c.sold_count))).scalar() == 0
