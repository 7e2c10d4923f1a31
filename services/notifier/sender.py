"""One webhook attempt over HTTP: the SSRF guard, the signed POST, at most 64 KiB read back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx

from services.notifier.schedule import AttemptResult
from services.notifier.signing import signed_headers
from services.notifier.ssrf import Refused, resolve_target

MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "leadstream-webhooks/1"


def make_client(max_connections: int) -> httpx.AsyncClient:
    """Redirects are never followed (a 3xx is a failure). No connection is kept alive: the
    request connects to a checked address with the host's name for TLS, and a pooled
    connection (keyed by address) could otherwise serve another host on the same address."""
    return httpx.AsyncClient(
        follow_redirects=False,
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=0),
        trust_env=False,
    )


async def attempt(
    client: httpx.AsyncClient,
    url: str,
    webhook_id: str,
    body: str,
    secrets: Sequence[str],
    *,
    timeout_s: float,
    allow_private: bool,
) -> AttemptResult:
    started = time.perf_counter()

    def result(
        code: int | None, error: str | None, retry_after: str | None = None
    ) -> AttemptResult:
        return AttemptResult(code, error, time.perf_counter() - started, retry_after)

    try:
        async with asyncio.timeout(timeout_s):
            target = await resolve_target(url, allow_private)
            headers = signed_headers(webhook_id, datetime.now(UTC), body, secrets)
            headers.update(
                {
                    "content-type": "application/json",
                    "user-agent": USER_AGENT,
                    "host": target.host_header,
                }
            )
            request = client.build_request(
                "POST",
                target.connect_url,
                content=body.encode(),
                headers=headers,
                extensions={"sni_hostname": target.host},
            )
            response = await client.send(request, stream=True)
            try:
                await _read_at_most(response, MAX_RESPONSE_BYTES)
            finally:
                await response.aclose()
    except Refused as exc:
        return result(None, f"refused by the SSRF guard: {exc}")
    except TimeoutError:
        return result(None, f"timed out after {timeout_s:g} s")
    except httpx.ConnectError as exc:
        return result(None, f"connection failed: {exc or type(exc).__name__}")
    except httpx.HTTPError as exc:
        return result(None, f"{type(exc).__name__}: {exc}"[:500])
    code = response.status_code
    if 300 <= code < 400:
        location = response.headers.get("location", "")
        return result(code, f"redirect to {location[:200]!r} not followed")
    error = None if 200 <= code < 300 else f"HTTP {code}"
    return result(code, error, response.headers.get("retry-after"))


async def _read_at_most(response: httpx.Response, limit: int) -> bytes:
    """The first ``limit`` bytes of the body; the rest is never read."""
    chunks, size = [], 0
    async for chunk in response.aiter_raw():
        chunks.append(chunk[: limit - size])
        size += len(chunks[-1])
        if size >= limit:
            break
    return b"".join(chunks)
