"""Where a webhook may go: https to a public address only, checked when it is sent.

The URL's host is resolved once and the request goes to the address that was checked (the
``Host`` header and TLS SNI/certificate still name the host), so DNS cannot answer a public
address to the check and a private one to the connection. ``allow_private`` (local
development, tests) also allows ``http`` and loopback/private addresses.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit


class Refused(Exception):
    """The URL may not be called; the message says why."""


@dataclass(frozen=True)
class Target:
    """A checked destination: the URL to connect to (host replaced by the checked address),
    and the host name for ``Host`` and TLS."""

    connect_url: str
    host: str
    host_header: str


def check_url(url: str, allow_private: bool) -> tuple[str, str, int, str]:
    """(scheme, host, port, rest) of a URL a webhook may be sent to, or Refused."""
    parts = urlsplit(url)
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise Refused(f"webhook_url must be https (got {parts.scheme or 'no scheme'})")
    if not parts.hostname:
        raise Refused("webhook_url has no host")
    if parts.username or parts.password:
        raise Refused("webhook_url must not carry credentials")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, parts.hostname, port, parts.path or "/"


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def resolve_target(url: str, allow_private: bool) -> Target:
    """The checked target of ``url``: every address the host resolves to must be public
    (one private answer refuses it: a rebinding name may hand it out next time)."""
    scheme, host, port, _ = check_url(url, allow_private)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise Refused(f"cannot resolve {host}: {exc.strerror}") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise Refused(f"{host} resolves to no address")
    if not allow_private:
        private = [a for a in addresses if not is_public(a)]
        if private:
            raise Refused(f"{host} resolves to a non-public address ({private[0]})")
    address = addresses[0]
    parts = urlsplit(url)
    netloc_host = f"[{address}]" if ":" in address else address
    connect = urlunsplit((scheme, f"{netloc_host}:{port}", parts.path or "/", parts.query, ""))
    default_port = (scheme == "https" and port == 443) or (scheme == "http" and port == 80)
    host_header = host if default_port else f"{host}:{port}"
    return Target(connect_url=connect, host=host, host_header=host_header)
