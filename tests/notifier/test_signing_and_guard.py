"""Signatures (standardwebhooks), secret rotation, and the SSRF guard."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from services.notifier.deliveries import signing_secrets
from services.notifier.signing import signed_headers
from services.notifier.ssrf import Refused, is_public, resolve_target
from tests.notifier.seeds import new_secret

BODY = '{"type":"lead.created","timestamp":"2026-12-04T12:00:00+00:00","data":{"id":1}}'


def test_headers_verify_with_the_standardwebhooks_package() -> None:
    secret = new_secret()
    headers = signed_headers("msg_1", datetime.now(UTC), BODY, [secret])
    assert Webhook(secret).verify(BODY, headers) == {
        "type": "lead.created",
        "timestamp": "2026-12-04T12:00:00+00:00",
        "data": {"id": 1},
    }
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace("1}", "2}"), headers)


def test_after_a_rotation_both_secrets_verify_for_24_hours_then_only_the_new_one() -> None:
    old, new = new_secret(), new_secret()
    now = datetime.now(UTC)
    during = signing_secrets(new, old, now + timedelta(hours=23), now)
    headers = signed_headers("msg_2", now, BODY, during)
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(BODY, headers)
    Webhook(new).verify(BODY, headers)
    assert signing_secrets(new, old, now - timedelta(seconds=1), now) == (new,)


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.1.2.3", "192.168.0.1", "169.254.169.254", "::1", "fd00::1"]
)
def test_private_loopback_and_metadata_addresses_are_not_public(address: str) -> None:
    assert not is_public(address)


def test_public_addresses_are() -> None:
    assert is_public("93.184.216.34") and is_public("2606:2800:220:1:248:1893:25c8:1946")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://example.com/hook", "must be https"),
        ("https://127.0.0.1/hook", "non-public address"),
        ("https://localhost:8443/hook", "non-public address"),
        ("https://user:pw@example.com/", "credentials"),
    ],
)
def test_the_guard_refuses(url: str, reason: str) -> None:
    with pytest.raises(Refused, match=reason):
        asyncio.run(resolve_target(url, allow_private=False))


def test_allow_private_lets_local_http_through_and_connects_to_the_checked_address() -> None:
    target = asyncio.run(resolve_target("http://localhost:8080/hooks?x=1", allow_private=True))
    assert target.connect_url in ("http://127.0.0.1:8080/hooks?x=1", "http://[::1]:8080/hooks?x=1")
    assert target.host_header == "localhost:8080"
