"""The portal and admin pages over HTTP on real PostgreSQL: sessions, CSRF, cookie flags,
previews that reveal only after purchase, and HTML error pages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, insert, select

from services.common.db.tables.marketplace import lead_purchases
from services.exporter.api import create_app
from services.exporter.buyers import deactivate_buyer
from services.exporter.prices import set_price
from services.exporter.queries import leads
from services.exporter.settings import ExporterSettings
from tests.exporter.conftest import ADMIN_KEY, MakeBuyer
from tests.exporter.factories import lead_values
from tests.exporter.portal.conftest import csrf_of, sign_in

pytestmark = pytest.mark.postgres
OWNER = "Olivia Privateowner"
ADDRESS = "4711 Hidden Hollow Ln"
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def portal(settings: ExporterSettings) -> Iterator[TestClient]:
    """The app as deployed: Secure cookies (the test client speaks https to it)."""
    assert settings.portal_secure_cookies
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        yield client


def _lead(engine: Engine, **values: Any) -> int:
    with engine.begin() as conn:
        lead_id: int = conn.execute(
            insert(leads)
            .values(lead_values(owner_name=OWNER, property_address=ADDRESS, **values))
            .returning(leads.c.id)
        ).scalar_one()
    return lead_id


def _sold(engine: Engine, lead_id: int) -> int:
    with engine.connect() as conn:
        count: int = conn.execute(
            select(func.count()).where(lead_purchases.c.lead_id == lead_id)
        ).scalar_one()
    return count


def test_the_session_cookie_is_http_only_same_site_strict_and_secure(
    portal: TestClient, make_buyer: MakeBuyer
) -> None:
    key = make_buyer("acme")["X-API-Key"]
    signed_in = sign_in(portal, key)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/portal/leads"
    cookie = signed_in.headers["set-cookie"]
    assert cookie.startswith("leadstream_portal=")
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=strict", "path=/portal"} <= flags
    assert key not in cookie
    page = portal.get("/portal/leads")
    assert page.status_code == 200 and "acme" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_without_secure_cookies_the_flag_is_left_out(
    settings: ExporterSettings, make_buyer: MakeBuyer
) -> None:
    local = settings.model_copy(update={"portal_secure_cookies": False})
    with TestClient(create_app(local)) as client:
        cookie = sign_in(client, make_buyer("acme")["X-API-Key"]).headers["set-cookie"]
    assert "secure" not in cookie.lower() and "httponly" in cookie.lower()


def test_a_post_without_or_with_a_wrong_csrf_token_is_refused_and_buys_nothing(
    portal: TestClient, make_buyer: MakeBuyer, engine: Engine
) -> None:
    lead_id = _lead(engine)
    sign_in(portal, make_buyer("acme")["X-API-Key"])
    confirm = portal.get(f"/portal/leads/{lead_id}/buy")
    token = csrf_of(confirm)
    for data in ({"max_price": "40"}, {"max_price": "40", "csrf_token": token[::-1]}):
        refused = portal.post(f"/portal/leads/{lead_id}/buy", data=data)
        assert refused.status_code == 403
        assert "Request refused" in refused.text and "security token" in refused.text
    assert _sold(engine, lead_id) == 0
    bought = portal.post(
        f"/portal/leads/{lead_id}/buy", data={"max_price": "40", "csrf_token": token}
    )
    assert bought.status_code == 200 and OWNER in bought.text
    assert _sold(engine, lead_id) == 1


def test_another_sessions_token_does_not_pass(
    settings: ExporterSettings, make_buyer: MakeBuyer, engine: Engine
) -> None:
    lead_id = _lead(engine)
    app = create_app(settings.model_copy(update={"portal_secure_cookies": False}))
    with TestClient(app) as victim, TestClient(app) as attacker:
        sign_in(victim, make_buyer("victim")["X-API-Key"])
        sign_in(attacker, make_buyer("attacker")["X-API-Key"])
        attackers_token = csrf_of(attacker.get(f"/portal/leads/{lead_id}/buy"))
        forged = victim.post(
            f"/portal/leads/{lead_id}/buy",
            data={"max_price": "1", "csrf_token": attackers_token},
        )
    assert forged.status_code == 403 and _sold(engine, lead_id) == 0


def test_contact_details_appear_only_after_buying(
    portal: TestClient, make_buyer: MakeBuyer, engine: Engine
) -> None:
    lead_id = _lead(engine, permit_number="BP-SECRET-1")
    sign_in(portal, make_buyer("acme", plan="marketplace")["X-API-Key"])
    for url in ("/portal/leads", f"/portal/leads/{lead_id}", f"/portal/leads/{lead_id}/buy"):
        page = portal.get(url).text
        assert OWNER not in page and ADDRESS not in page and "BP-SECRET-1" not in page, url
    token = csrf_of(portal.get(f"/portal/leads/{lead_id}/buy"))
    portal.post(f"/portal/leads/{lead_id}/buy", data={"max_price": "25", "csrf_token": token})
    for url in (f"/portal/leads/{lead_id}", "/portal/mine"):
        assert OWNER in portal.get(url).text, url
    csv = portal.get("/portal/mine.csv")
    assert csv.headers["content-type"].startswith("text/csv") and OWNER in csv.text


def test_a_subscription_buyer_sees_contact_details_without_buying(
    portal: TestClient, make_buyer: MakeBuyer, engine: Engine
) -> None:
    lead_id = _lead(engine)
    sign_in(portal, make_buyer("subscriber", plan="subscription")["X-API-Key"])
    assert OWNER in portal.get(f"/portal/leads/{lead_id}").text


def test_the_confirmation_shows_the_book_price_and_a_raise_after_it_buys_nothing(
    portal: TestClient, make_buyer: MakeBuyer, engine: Engine
) -> None:
    lead_id = _lead(engine, score=90)
    set_price(engine, trade_group="luxury_outdoor", tier="A", price=Decimal("30"), now=NOW)
    sign_in(portal, make_buyer("acme", plan="marketplace")["X-API-Key"])
    confirm = portal.get(f"/portal/leads/{lead_id}/buy")
    assert 'id="price">$30.00<' in confirm.text
    assert 'name="max_price" value="30.00"' in confirm.text
    set_price(engine, trade_group="luxury_outdoor", tier="A", price=Decimal("31"), now=NOW)
    refused = portal.post(
        f"/portal/leads/{lead_id}/buy", data={"max_price": "30.00", "csrf_token": csrf_of(confirm)}
    )
    assert refused.status_code == 409 and "above your max_price" in refused.text
    assert _sold(engine, lead_id) == 0
    again = portal.get(f"/portal/leads/{lead_id}/buy")
    assert 'id="price">$31.00<' in again.text
    bought = portal.post(
        f"/portal/leads/{lead_id}/buy", data={"max_price": "31.00", "csrf_token": csrf_of(again)}
    )
    assert bought.status_code == 200 and "for $31.00" in bought.text and OWNER in bought.text


def test_signed_out_or_deactivated_buyers_are_sent_to_sign_in(
    portal: TestClient, make_buyer: MakeBuyer, engine: Engine
) -> None:
    assert portal.get("/portal/leads", follow_redirects=False).headers["location"] == (
        "/portal/signin"
    )
    sign_in(portal, make_buyer("acme")["X-API-Key"])
    token = csrf_of(portal.get("/portal/leads"))
    out = portal.post("/portal/signout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303 and 'leadstream_portal=""' in out.headers["set-cookie"]
    assert portal.get("/portal/mine", follow_redirects=False).status_code == 303
    sign_in(portal, make_buyer("gone")["X-API-Key"])
    assert portal.get("/portal/mine", follow_redirects=False).status_code == 200
    deactivate_buyer(engine, "gone")
    assert portal.get("/portal/mine", follow_redirects=False).status_code == 303


def test_a_wrong_key_is_a_401_page_and_a_buyer_session_is_not_an_admin_one(
    portal: TestClient, make_buyer: MakeBuyer
) -> None:
    wrong = sign_in(portal, "not-a-key")
    assert wrong.status_code == 401 and "not valid" in wrong.text
    sign_in(portal, make_buyer("acme")["X-API-Key"])
    assert portal.get("/admin/", follow_redirects=False).headers["location"] == "/admin/signin"
    assert sign_in(portal, "x" * 40, area="admin").status_code == 401
    assert sign_in(portal, ADMIN_KEY, area="admin").status_code == 303
    stats = portal.get("/admin/")
    assert stats.status_code == 200 and "<svg" in stats.text and "Dead letters" in stats.text


def test_bad_filters_get_an_html_page_and_the_api_keeps_its_json(
    portal: TestClient, make_buyer: MakeBuyer
) -> None:
    headers = make_buyer("acme")
    sign_in(portal, headers["X-API-Key"])
    blank = portal.get("/portal/leads?trade_group=&tier=&min_score=&zip_code=")
    assert blank.status_code == 200  # an empty form field means "any"
    for query, says in (("tier=Z", "tier"), ("zip_code=123", "5 digits"), ("near=1,2", "near")):
        page = portal.get(f"/portal/leads?{query}")
        assert page.status_code == 422 and "text/html" in page.headers["content-type"], query
        assert says in page.text, query
    api = portal.get("/v1/leads?tier=Z", headers=headers)
    assert api.status_code == 422 and api.json()["detail"][0]["loc"] == ["query", "tier"]


def test_a_marketplace_buyer_cannot_search_by_exact_location(
    portal: TestClient, make_buyer: MakeBuyer
) -> None:
    sign_in(portal, make_buyer("acme", plan="marketplace")["X-API-Key"])
    assert 'name="near"' not in portal.get("/portal/leads").text
    page = portal.get("/portal/leads?near=30.27,-97.74,10")
    assert page.status_code == 422 and "zip_code, city or county" in page.text


def test_a_buyer_saves_and_deletes_a_search_on_the_subscriptions_page(
    portal: TestClient, make_buyer: MakeBuyer
) -> None:
    sign_in(portal, make_buyer("acme")["X-API-Key"])
    page = portal.get("/portal/subscriptions")
    token = csrf_of(page)
    beyond = portal.post(
        "/portal/subscriptions",
        data={"name": "roofs", "trade_group": "home_exterior", "csrf_token": token},
    )
    assert beyond.status_code == 422 and "not in your entitlements" in beyond.text
    saved = portal.post(
        "/portal/subscriptions",
        data={"name": "big pools", "tier": ["A", "B"], "min_score": "70", "csrf_token": token},
    )
    assert saved.status_code == 201 and "Saved “big pools”" in saved.text
    assert "tiers: A, B" in saved.text and "min score: 70" in saved.text
    subscription_id = saved.text.split("/portal/subscriptions/")[1].split("/delete")[0]
    deleted = portal.post(
        f"/portal/subscriptions/{subscription_id}/delete", data={"csrf_token": token}
    )
    assert deleted.status_code == 200 and "big pools" not in deleted.text


def test_an_operator_must_give_a_note_to_deny_and_sees_the_buyers(
    portal: TestClient, make_buyer: MakeBuyer, engine: Engine
) -> None:
    lead_id = _lead(engine)
    sign_in(portal, make_buyer("acme", plan="marketplace")["X-API-Key"])
    token = csrf_of(portal.get(f"/portal/leads/{lead_id}/buy"))
    portal.post(f"/portal/leads/{lead_id}/buy", data={"max_price": "20", "csrf_token": token})
    opened = portal.post(
        "/portal/disputes",
        data={"lead_id": str(lead_id), "reason": "not_a_project", "csrf_token": token},
    )
    assert f"of lead {lead_id} is open" in opened.text
    sign_in(portal, ADMIN_KEY, area="admin")
    queue = portal.get("/admin/disputes")
    dispute_id = queue.text.split("/admin/disputes/")[1].split("/decide")[0]
    admin_token = csrf_of(queue)
    no_note = portal.post(
        f"/admin/disputes/{dispute_id}/decide",
        data={"decision": "deny", "csrf_token": admin_token},
    )
    assert no_note.status_code == 422 and "needs a note" in no_note.text
    denied = portal.post(
        f"/admin/disputes/{dispute_id}/decide",
        data={"decision": "deny", "note": "A real pool permit.", "csrf_token": admin_token},
    )
    assert denied.status_code == 200 and "No disputes here." in denied.text
    mine = portal.get("/portal/disputes").text
    assert "denied" in mine and "A real pool permit." in mine
    buyers = portal.get("/admin/buyers").text
    assert "acme" in buyers and "marketplace" in buyers and "luxury_outdoor" in buyers


def test_text_from_permits_is_escaped_not_rendered(
    portal: TestClient, make_buyer: MakeBuyer, engine: Engine
) -> None:
    with engine.begin() as conn:
        lead_id = conn.execute(
            insert(leads)
            .values(lead_values(owner_name='<script>alert("x")</script>', city="<b>Austin</b>"))
            .returning(leads.c.id)
        ).scalar_one()
    sign_in(portal, make_buyer("acme")["X-API-Key"])
    page = portal.get(f"/portal/leads/{lead_id}").text
    assert "<script>alert" not in page and "<b>Austin" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


def test_a_webhook_subscriptions_deliveries_and_a_test_ping(
    settings: ExporterSettings, make_buyer: MakeBuyer
) -> None:
    local = settings.model_copy(update={"webhook_allow_private": True})
    with TestClient(create_app(local), base_url="https://testserver") as portal:
        sign_in(portal, make_buyer("acme")["X-API-Key"])
        token = csrf_of(portal.get("/portal/subscriptions"))
        saved = portal.post(
            "/portal/subscriptions",
            data={"name": "crm", "webhook_url": "http://127.0.0.1:9/hook", "csrf_token": token},
        )
        assert saved.status_code == 201 and 'id="secret">whsec_' in saved.text
        subscription_id = saved.text.split("/portal/subscriptions/")[1].split("/")[0]
        assert (
            "No deliveries yet."
            in portal.get(f"/portal/subscriptions/{subscription_id}/deliveries").text
        )
        pinged = portal.post(
            f"/portal/subscriptions/{subscription_id}/test", data={"csrf_token": token}
        )
        assert pinged.status_code == 200 and "Test ping msg_" in pinged.text
        assert "<td>ping</td>" in pinged.text and "<td>pending</td>" in pinged.text
        other = portal.get("/portal/subscriptions/sub_000000000000000000000000/deliveries")
        assert other.status_code == 404
