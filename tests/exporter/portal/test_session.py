"""The portal's signed session cookie: what it carries, and what it refuses."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

from services.exporter.portal.csrf import CsrfRejected, check_csrf
from services.exporter.portal.session import SessionSigner

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
SIGNER = SessionSigner(b"s" * 32, timedelta(hours=12))


def test_a_session_round_trips_until_it_expires() -> None:
    session = SIGNER.new("buyer", NOW, buyer_id=7, key_fingerprint=SIGNER.fingerprint("hash"))
    token = SIGNER.dump(session)
    assert SIGNER.load(token, NOW + timedelta(hours=11, minutes=59)) == session
    assert SIGNER.load(token, NOW + timedelta(hours=12)) is None


def test_an_altered_or_foreign_cookie_is_refused() -> None:
    token = SIGNER.dump(SIGNER.new("buyer", NOW, buyer_id=7, key_fingerprint="f"))
    payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["buyer_id"] = 8  # someone else's account
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert SIGNER.load(f"{forged}.{signature}", NOW) is None
    other = SessionSigner(b"t" * 32, timedelta(hours=12))
    assert other.load(token, NOW) is None
    for junk in ("", "abc", "a.b.c", "!!!.???", f"{payload}."):
        assert SIGNER.load(junk, NOW) is None


def test_the_cookie_never_holds_the_api_key() -> None:
    key = "the-buyers-secret-api-key-0123456789"
    token = SIGNER.dump(
        SIGNER.new("buyer", NOW, buyer_id=1, key_fingerprint=SIGNER.fingerprint(key))
    )
    decoded = base64.urlsafe_b64decode(token.split(".")[0] + "==").decode()
    assert key not in decoded and key not in token


def test_every_session_has_its_own_csrf_token_and_a_mismatch_is_refused() -> None:
    first, second = SIGNER.new("anon", NOW), SIGNER.new("anon", NOW)
    assert first.csrf != second.csrf and len(first.csrf) >= 32
    check_csrf(first, first.csrf)
    for submitted in (None, "", second.csrf, first.csrf[:-1]):
        try:
            check_csrf(first, submitted)
        except CsrfRejected:
            continue
        raise AssertionError(f"{submitted!r} was accepted")
    try:
        check_csrf(None, first.csrf)
    except CsrfRejected:
        pass
    else:
        raise AssertionError("a POST without a session was accepted")
