"""Whether a ``webhook_url`` may be called: the SSRF guard at the API.

A buyer's URL must not make leadstream call into its own network: it must be ``https`` with a
host, and every address the host resolves to must be a public one (not private, loopback,
link-local, shared, multicast, reserved or unspecified). DNS can change after this check, so
the notifier checks the address again when it sends. ``LEADSTREAM_WEBHOOK_ALLOW_PRIVATE=1``
(local development, tests) also allows ``http`` and any address.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048

Resolver = Callable[[str, int], Iterable[str]]


class UnsafeWebhookUrl(ValueError):
    """The URL may not be called (a 422, with why)."""


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (an IP literal resolves to itself, without DNS)."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError, ValueError) as exc:
        raise UnsafeWebhookUrl(f"webhook_url: host {host!r} does not resolve ({exc})") from None
    return sorted({str(info[4][0]) for info in infos})


def refused_address(address: str) -> str | None:
    """What kind of address a webhook may not be sent to this IP is ("loopback",
    "private"…); None for a public address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind, refused in (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("non-public", not ip.is_global),
    ):
        if refused:
            return kind
    return None


def check_webhook_url(url: str, *, allow_private: bool, resolver: Resolver = resolve) -> str:
    """The URL, if a webhook may be sent to it; raises UnsafeWebhookUrl saying why not."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeWebhookUrl(f"webhook_url: longer than {MAX_URL_LENGTH} characters")
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in url):
        raise UnsafeWebhookUrl("webhook_url: must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeWebhookUrl(f"webhook_url: not a URL ({exc})") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme.lower() not in schemes:
        raise UnsafeWebhookUrl(
            "webhook_url: must be https"
            + ("" if allow_private else " (http only with LEADSTREAM_WEBHOOK_ALLOW_PRIVATE=1)")
        )
    host = parts.hostname
    if not host:
        raise UnsafeWebhookUrl("webhook_url: must have a host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeWebhookUrl("webhook_url: must not carry a user name or password")
    if parts.fragment:
        raise UnsafeWebhookUrl("webhook_url: must not have a #fragment")
    if allow_private:
        return url
    default_port = 443 if parts.scheme.lower() == "https" else 80
    for address in resolver(host, port or default_port):
        kind = refused_address(address)
        if kind is not None:
            raise UnsafeWebhookUrl(
                f"webhook_url: {host} resolves to {address}, a {kind} address; "
                "webhooks go to public addresses only"
            )
    return url
