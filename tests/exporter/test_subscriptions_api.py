"""Subscriptions through the buyer API on real PostgreSQL: CRUD, entitlements, ownership,
secrets, rotation and the webhook_url guard."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from services.common.db.tables.notifier import subscriptions
from services.exporter.api import create_app
from services.exporter.settings import ExporterSettings
from tests.exporter.conftest import ADMIN, MakeBuyer

pytestmark = pytest.mark.postgres

PUBLIC_URL = "https://93.184.215.14/hooks/leads"  # an IP literal: checked without DNS


def create(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    response = client.post("/v1/subscriptions", headers=headers, json={"name": "s", **body})
    assert response.status_code == 201, response.text
    return response.json()


def detail(response: Any) -> str:
    """The message of a 422 (FastAPI's list format) or of any other error."""
    body = response.json()["detail"]
    return " ".join(item["msg"] for item in body) if isinstance(body, list) else body


def test_create_read_list_update_delete(client: TestClient, make_buyer: MakeBuyer) -> None:
    buyer = make_buyer("pools", trade_groups=("luxury_outdoor", "home_exterior"))
    made = create(
        client,
        buyer,
        name="Pools in South Austin",
        filters={
            "trade_groups": ["luxury_outdoor"],
            "categories": ["pool"],
            "counties": ["Travis"],
            "zip_codes": ["78704", "78745"],
            "min_score": 70,
            "near": {"lat": 30.2417, "lon": -97.7696, "miles": 10},
        },
        webhook_url=PUBLIC_URL,
    )
    sub_id = made["id"]
    assert sub_id.startswith("sub_") and len(sub_id) == 28
    assert made["name"] == "Pools in South Austin" and made["active"] is True
    assert made["webhook_url"] == PUBLIC_URL
    assert made["filters"]["counties"] == ["travis"]  # compared case-insensitively
    assert made["filters"]["near"] == {"lat": 30.2417, "lon": -97.7696, "miles": 10.0}

    read = client.get(f"/v1/subscriptions/{sub_id}", headers=buyer).json()
    assert read == {k: v for k, v in made.items() if k != "secret"}
    assert [s["id"] for s in client.get("/v1/subscriptions", headers=buyer).json()] == [sub_id]

    patched = client.patch(
        f"/v1/subscriptions/{sub_id}",
        headers=buyer,
        json={"name": "Roofs", "filters": {"categories": ["roof"]}, "webhook_url": None},
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["name"] == "Roofs" and body["webhook_url"] is None  # now a saved search
    assert body["filters"]["categories"] == ["roof"] and body["filters"]["zip_codes"] is None
    assert body["updated_at"] >= made["updated_at"]
    # Only the keys sent change.
    renamed = client.patch(f"/v1/subscriptions/{sub_id}", headers=buyer, json={"name": "R"})
    assert renamed.json()["filters"]["categories"] == ["roof"]

    assert client.delete(f"/v1/subscriptions/{sub_id}", headers=buyer).status_code == 204
    assert client.get(f"/v1/subscriptions/{sub_id}", headers=buyer).status_code == 404
    assert client.delete(f"/v1/subscriptions/{sub_id}", headers=buyer).status_code == 404
    assert client.get("/v1/subscriptions", headers=buyer).json() == []


def test_a_saved_search_needs_no_webhook_and_no_filters(
    client: TestClient, make_buyer: MakeBuyer
) -> None:
    made = create(client, make_buyer("all"))
    assert made["webhook_url"] is None
    assert set(v for v in made["filters"].values()) == {None}  # all the buyer may see


@pytest.mark.parametrize(
    ("filters", "named"),
    [
        ({"trade_groups": ["luxury_outdoor", "home_systems"]}, "trade group home_systems"),
        ({"categories": ["pool", "hvac"]}, "category hvac"),
        ({"tiers": ["A", "C"]}, "tier C"),
        ({"counties": ["Travis", "Dallas"]}, "county dallas"),
    ],
)
def test_filters_may_narrow_the_entitlements_never_widen_them(
    client: TestClient, make_buyer: MakeBuyer, filters: dict[str, Any], named: str
) -> None:
    buyer = make_buyer("narrow", tiers=("A", "B"), counties=("Travis", "Williamson"))
    response = client.post(
        "/v1/subscriptions", headers=buyer, json={"name": "too wide", "filters": filters}
    )
    assert response.status_code == 422
    assert named in detail(response) and "entitlements" in detail(response)
    assert client.get("/v1/subscriptions", headers=buyer).json() == []
    # Within them, the same buyer may subscribe; and a PATCH may not widen either.
    made = create(
        client, buyer, filters={"tiers": ["A"], "counties": ["williamson"], "categories": ["pool"]}
    )
    widened = client.patch(
        f"/v1/subscriptions/{made['id']}", headers=buyer, json={"filters": filters}
    )
    assert widened.status_code == 422 and named in detail(widened)
    kept = client.get(f"/v1/subscriptions/{made['id']}", headers=buyer).json()
    assert kept["filters"]["tiers"] == ["A"]


def test_another_buyers_subscription_is_not_found(
    client: TestClient, make_buyer: MakeBuyer
) -> None:
    owner, other = make_buyer("owner"), make_buyer("other")
    sub_id = create(client, owner)["id"]
    for method, path in [
        ("GET", f"/v1/subscriptions/{sub_id}"),
        ("PATCH", f"/v1/subscriptions/{sub_id}"),
        ("DELETE", f"/v1/subscriptions/{sub_id}"),
        ("POST", f"/v1/subscriptions/{sub_id}/rotate-secret"),
    ]:
        response = client.request(method, path, headers=other, json={"name": "mine now"})
        assert response.status_code == 404, (method, response.text)
        nobody = "sub_000000000000000000000000"
        unknown = client.request(method, path.replace(sub_id, nobody), headers=other, json={})
        # The same answer as for an id that does not exist: nothing says it does.
        assert unknown.status_code == 404
        assert unknown.json() == {"detail": f"subscription {nobody} not found"}
        assert response.json()["detail"] == f"subscription {sub_id} not found"
    assert client.get("/v1/subscriptions", headers=other).json() == []
    assert client.get(f"/v1/subscriptions/{sub_id}", headers=owner).json()["name"] == "s"


def test_subscriptions_need_a_buyers_key(client: TestClient) -> None:
    assert client.get("/v1/subscriptions").status_code == 401
    assert client.get("/v1/subscriptions", headers=ADMIN).status_code == 403
    assert client.post("/v1/subscriptions", headers=ADMIN, json={"name": "x"}).status_code == 403


def test_the_secret_is_standard_webhooks_and_shown_once(
    client: TestClient, engine: Engine, make_buyer: MakeBuyer
) -> None:
    buyer = make_buyer("secretive")
    made = create(client, buyer, webhook_url=PUBLIC_URL)
    secret = made["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert create(client, buyer)["secret"] != secret
    for response in (
        client.get(f"/v1/subscriptions/{made['id']}", headers=buyer),
        client.get("/v1/subscriptions", headers=buyer),
        client.patch(f"/v1/subscriptions/{made['id']}", headers=buyer, json={"name": "n"}),
    ):
        assert "secret" not in response.text.replace("previous_secret_until", "")
        assert secret.removeprefix("whsec_") not in response.text
    with engine.connect() as conn:  # kept for signing
        stored = conn.execute(
            select(subscriptions.c.secret).where(subscriptions.c.id == made["id"])
        ).scalar_one()
    assert stored == secret


def test_rotating_keeps_the_previous_secret_for_24_hours(
    client: TestClient, engine: Engine, make_buyer: MakeBuyer
) -> None:
    buyer = make_buyer("rotator")
    made = create(client, buyer, webhook_url=PUBLIC_URL)
    assert made["previous_secret_until"] is None
    before = datetime.now(UTC)
    response = client.post(f"/v1/subscriptions/{made['id']}/rotate-secret", headers=buyer)
    assert response.status_code == 200, response.text
    rotated = response.json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != made["secret"]
    until = datetime.fromisoformat(rotated["previous_secret_until"])
    assert before + timedelta(hours=24) <= until <= datetime.now(UTC) + timedelta(hours=24)
    with engine.connect() as conn:
        row = conn.execute(select(subscriptions).where(subscriptions.c.id == made["id"])).one()
    assert (row.secret, row.previous_secret) == (rotated["secret"], made["secret"])
    assert row.previous_secret_until == until
    shown = client.get(f"/v1/subscriptions/{made['id']}", headers=buyer).json()
    assert shown["previous_secret_until"] == rotated["previous_secret_until"]
    assert "secret" not in shown


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://93.184.215.14/hook", "must be https"),
        ("https:///hook", "must have a host"),
        ("ftp://93.184.215.14/hook", "must be https"),
        ("https://127.0.0.1/hook", "loopback"),
        ("https://localhost:8443/hook", "loopback"),
        ("https://[::1]/hook", "loopback"),
        ("https://10.0.0.5/hook", "private"),
        ("https://192.168.1.20/hook", "private"),
        ("https://[::ffff:172.16.0.1]/hook", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://0.0.0.0/hook", "unspecified"),
        ("https://user:pw@93.184.215.14/hook", "user name or password"),
        ("https://no-such-host.invalid/hook", "does not resolve"),
        ("https://93.184.215.14/a b", "spaces or control characters"),
        ("https://93.184.215.14/\x00", "spaces or control characters"),
    ],
)
def test_a_webhook_url_must_be_https_to_a_public_address(
    client: TestClient, make_buyer: MakeBuyer, url: str, reason: str
) -> None:
    buyer = make_buyer("ssrf")
    response = client.post(
        "/v1/subscriptions", headers=buyer, json={"name": "hook", "webhook_url": url}
    )
    assert response.status_code == 422, response.text
    assert reason in detail(response) and "webhook_url" in detail(response)
    saved = create(client, buyer)
    patched = client.patch(
        f"/v1/subscriptions/{saved['id']}", headers=buyer, json={"webhook_url": url}
    )
    assert patched.status_code == 422 and reason in detail(patched)


@pytest.fixture
def private_client(
    settings: ExporterSettings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """The API as local development runs it: LEADSTREAM_WEBHOOK_ALLOW_PRIVATE=1."""
    monkeypatch.setenv("LEADSTREAM_WEBHOOK_ALLOW_PRIVATE", "1")
    local = ExporterSettings(**settings.model_dump(exclude={"webhook_allow_private"}))
    assert local.webhook_allow_private
    with TestClient(create_app(local)) as client:
        yield client


def test_local_development_may_use_http_and_loopback(
    private_client: TestClient, make_buyer: MakeBuyer
) -> None:
    buyer = make_buyer("dev")
    for url in ("http://127.0.0.1:9999/hook", "https://localhost/hook", "http://10.0.0.5/x"):
        assert create(private_client, buyer, webhook_url=url)["webhook_url"] == url
    refused = private_client.post(
        "/v1/subscriptions", headers=buyer, json={"name": "x", "webhook_url": "ftp://127.0.0.1/"}
    )
    assert refused.status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "x", "filters": {"zip_codes": ["787"]}},
        {"name": "x", "filters": {"near": {"lat": 30.2, "lon": -97.7, "miles": 500}}},
        {"name": "x", "filters": {"tiers": ["RETRY"]}},
        {"name": "x", "filters": {"colour": "red"}},
        {"name": "x", "secret": "whsec_mine"},
        # Blank once stripped: it was stored as "" and then failed its own re-validation (500).
        {"name": "x", "filters": {"cities": [" "]}},
        {"name": "x", "filters": {"counties": ["\t"]}},
    ],
)
def test_malformed_bodies_are_422(client: TestClient, make_buyer: MakeBuyer, body: Any) -> None:
    response = client.post("/v1/subscriptions", headers=make_buyer("bad"), json=body)
    assert response.status_code == 422


def test_a_disabled_subscription_is_shown_why_and_re_enabled_by_patch(
    client: TestClient, engine: Engine, make_buyer: MakeBuyer
) -> None:
    from sqlalchemy import update

    buyer = make_buyer("flaky")
    made = create(client, buyer, webhook_url=PUBLIC_URL)
    with engine.begin() as conn:  # as the notifier leaves it after 24 h of failures
        conn.execute(
            update(subscriptions)
            .where(subscriptions.c.id == made["id"])
            .values(
                active=False,
                disabled_reason="the endpoint failed for 24 h",
                disabled_at=datetime.now(UTC),
            )
        )
    shown = client.get(f"/v1/subscriptions/{made['id']}", headers=buyer).json()
    assert shown["active"] is False and shown["disabled_reason"] == "the endpoint failed for 24 h"
    enabled = client.patch(f"/v1/subscriptions/{made['id']}", headers=buyer, json={"active": True})
    assert enabled.json()["active"] is True
    assert enabled.json()["disabled_reason"] is None and enabled.json()["disabled_at"] is None
