"""Portal sessions: a signed, expiring cookie that names who signed in, never their key.

The cookie is ``base64url(json payload) "." base64url(HMAC-SHA256(secret, payload))``. The
payload holds the kind of session (``anon`` before sign-in, ``buyer``, ``operator``), the
buyer's id, a fingerprint of the key used (so a revoked or replaced key ends the session),
the expiry and the session's CSRF token. Nothing is stored on the server; signing out
clears the cookie, and a copied cookie stays valid until it expires (``portal_session_hours``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Literal

from starlette.responses import Response

SessionKind = Literal["anon", "buyer", "operator"]
ANON_LIFETIME = timedelta(hours=1)  # a sign-in form left open longer gets a fresh token


@dataclass(frozen=True)
class Session:
    kind: SessionKind
    csrf: str
    expires: int  # Unix seconds
    buyer_id: int | None = None
    key_fingerprint: str | None = None


@dataclass(frozen=True)
class SessionCookie:
    """How one area's cookie is named, scoped and flagged (the portal and /admin/ differ)."""

    name: str
    path: str
    secure: bool


class SessionSigner:
    def __init__(self, secret: bytes, lifetime: timedelta) -> None:
        self._secret = secret
        self.lifetime = lifetime

    def fingerprint(self, key_material: str) -> str:
        """A keyed digest of a key (or its stored hash): comparable, useless to a thief."""
        digest = hmac.new(self._secret, b"key:" + key_material.encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def new(
        self,
        kind: SessionKind,
        now: datetime,
        *,
        buyer_id: int | None = None,
        key_fingerprint: str | None = None,
    ) -> Session:
        lifetime = ANON_LIFETIME if kind == "anon" else self.lifetime
        return Session(
            kind=kind,
            csrf=secrets.token_urlsafe(32),
            expires=int((now + lifetime).timestamp()),
            buyer_id=buyer_id,
            key_fingerprint=key_fingerprint,
        )

    def dump(self, session: Session) -> str:
        payload = _b64(json.dumps(asdict(session), separators=(",", ":")).encode())
        return f"{payload}.{_b64(self._sign(payload))}"

    def load(self, token: str | None, now: datetime) -> Session | None:
        """The session in a cookie, or None when absent, forged, malformed or expired."""
        if not token or token.count(".") != 1:
            return None
        payload, signature = token.split(".")
        try:
            if not hmac.compare_digest(_unb64(signature), self._sign(payload)):
                return None
            session = Session(**json.loads(_unb64(payload)))
        except (binascii.Error, ValueError, TypeError):
            return None
        if session.expires <= now.timestamp():
            return None
        return session

    def _sign(self, payload: str) -> bytes:
        return hmac.new(self._secret, b"session:" + payload.encode(), hashlib.sha256).digest()


def set_cookie(
    response: Response, cookie: SessionCookie, signer: SessionSigner, session: Session
) -> None:
    response.set_cookie(
        cookie.name,
        signer.dump(session),
        max_age=max(0, session.expires - int(time.time())),
        path=cookie.path,
        httponly=True,
        samesite="strict",
        secure=cookie.secure,
    )


def clear_cookie(response: Response, cookie: SessionCookie) -> None:
    response.delete_cookie(
        cookie.name,
        path=cookie.path,
        httponly=True,
        samesite="strict",
        secure=cookie.secure,
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
