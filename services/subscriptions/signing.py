"""Subscription ids and signing secrets (Standard Webhooks format)."""

from __future__ import annotations

import base64
import secrets

SECRET_PREFIX = "whsec_"
# Standard Webhooks allows 24 to 64 random bytes; 32 is what HMAC-SHA256 uses in full.
SECRET_BYTES = 32
ID_PREFIX = "sub_"


def new_subscription_id() -> str:
    return ID_PREFIX + secrets.token_hex(12)


def new_signing_secret() -> str:
    """``whsec_`` + standard base64 of 32 random bytes (what the ``standardwebhooks``
    package's ``Webhook(secret)`` takes as is)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")
