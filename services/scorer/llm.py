"""An async client for one OpenAI-compatible ``/chat/completions`` endpoint.

It knows HTTP and the response shape, not leads: it sends messages, and returns the content,
the reasoning and the token usage, or raises a :class:`CallFailed` that says whether trying
again can help (:class:`TransientCallError`) or the configuration/account is at fault
(:class:`SystemicCallError`). DeepSeek, OpenAI, vLLM, Ollama, llama.cpp and LM Studio differ
only in the fields read by :func:`parse_completion`.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from services.scorer.answer import model_text
from services.scorer.prompt import Messages
from services.scorer.settings import ScorerSettings, Thinking

_ERROR_BODY_LIMIT = 300
# No model takes a prompt of 100 million tokens; a larger count is a broken or hostile server,
# and summed over a pass it would overflow the store's integer column and the cost metric.
_MAX_TOKENS_PER_CALL = 100_000_000
# httpcore's pool does work per pooled connection (a poll() of every idle socket among it) on
# each request start and finish (encode/httpx#3215), so one pool of hundreds of connections
# spends more CPU on bookkeeping than on requests. Small pools side by side keep it flat.
POOL_SIZE = 10
# Statuses that mean "try again later" although they are 4xx.
_TRANSIENT_CLIENT_STATUSES = {408, 409, 425, 429}
# Other 4xx (a wrong URL or model name: 404) are "misconfigured".
_SYSTEMIC_KINDS = {400: "rejected", 422: "rejected", 401: "auth", 403: "auth", 402: "balance"}


class CallFailed(Exception):
    """A call that produced no completion. ``kind`` names the failure in metrics."""

    def __init__(self, kind: str, detail: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail
        self.retry_after_s = retry_after_s


class TransientCallError(CallFailed):
    """Timeouts, dropped connections, 429, 5xx, unusable answers: worth another try."""


class SystemicCallError(CallFailed):
    """Auth, balance, rejected request: no lead can be scored until someone fixes it."""

    @property
    def may_be_the_leads(self) -> bool:
        """A rejected request (400/422) could be caused by one lead's content; auth cannot."""
        return self.kind == "rejected"


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_prompt_tokens: int | None = None


@dataclass(frozen=True)
class Completion:
    content: str  # may be blank: deciding what that means is the caller's business
    reasoning: str | None
    usage: Usage


class ChatClient:
    """Pooled HTTP clients; at most ``llm_max_in_flight`` requests are open at once."""

    def __init__(
        self, settings: ScorerSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._settings = settings
        headers = {"Accept": "application/json"}
        if settings.llm_api_key is not None:
            headers["Authorization"] = f"Bearer {settings.llm_api_key.get_secret_value()}"
        pools = math.ceil(settings.llm_max_in_flight / POOL_SIZE)
        size = math.ceil(settings.llm_max_in_flight / pools)
        tls = httpx.create_ssl_context()  # loading the CA bundle once, not once per pool
        self._pools = [
            httpx.AsyncClient(
                base_url=settings.llm_base_url,
                headers=headers,
                verify=tls,
                timeout=httpx.Timeout(
                    settings.llm_deadline_s, connect=settings.llm_connect_timeout_s
                ),
                limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
                transport=transport,
            )
            for _ in range(pools)
        ]
        self._busy = [0] * pools
        # Waiting for a free slot happens here, outside the per-request deadline; the least
        # busy pool then always has a free connection.
        self._slots = asyncio.Semaphore(settings.llm_max_in_flight)

    async def complete(self, messages: Messages) -> Completion:
        body = request_body(self._settings, messages)
        deadline = self._settings.llm_deadline_s
        async with self._slots:
            pool = self._busy.index(min(self._busy))
            self._busy[pool] += 1
            try:
                # A read timeout alone never fires while a server trickles keep-alive blank
                # lines into a queued request; this deadline covers the whole exchange.
                async with asyncio.timeout(deadline):
                    response = await self._pools[pool].post("/chat/completions", json=body)
            except (TimeoutError, httpx.TimeoutException) as exc:
                raise TransientCallError("timeout", f"no answer within {deadline:g} s") from exc
            except httpx.TransportError as exc:
                raise TransientCallError("connection", f"{type(exc).__name__}: {exc}") from exc
            finally:
                self._busy[pool] -= 1
        raise_for_status(response)
        return parse_completion(response)

    async def aclose(self) -> None:
        for client in self._pools:
            await client.aclose()


def request_body(settings: ScorerSettings, messages: Messages) -> dict[str, Any]:
    body: dict[str, Any] = {"model": settings.llm_model, "messages": messages, "stream": False}
    if settings.llm_json_mode:
        body["response_format"] = {"type": "json_object"}
    if settings.llm_thinking is not Thinking.OMIT:
        kind = "enabled" if settings.llm_thinking is Thinking.ON else "disabled"
        body["thinking"] = {"type": kind}
    if settings.llm_max_tokens is not None:
        body["max_tokens"] = settings.llm_max_tokens
    return body


def raise_for_status(response: httpx.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = f"HTTP {status}: {response.text[:_ERROR_BODY_LIMIT].strip()}"
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        raise TransientCallError("rate_limited", detail, retry_after_s=retry_after)
    if status >= 500 or status in _TRANSIENT_CLIENT_STATUSES:
        raise TransientCallError("server_error", detail)
    raise SystemicCallError(_SYSTEMIC_KINDS.get(status, "misconfigured"), detail)


def parse_completion(response: httpx.Response) -> Completion:
    try:
        body = response.json()
        message = body["choices"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError, RecursionError) as exc:
        snippet = response.text[:_ERROR_BODY_LIMIT].strip()
        raise TransientCallError("malformed", f"not a chat completion: {snippet!r}") from exc
    if not isinstance(message, dict):
        raise TransientCallError("malformed", "choices[0].message is not an object")
    content = message.get("content")
    # DeepSeek calls the thinking reasoning_content; vLLM, Ollama and others call it reasoning.
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    usage = body.get("usage") if isinstance(body, dict) else None
    return Completion(
        content=_without_nul(content) if isinstance(content, str) else "",
        # The chain of thought is kept as it is, so it must be storable: see model_text().
        reasoning=(
            model_text(reasoning) if isinstance(reasoning, str) and reasoning.strip() else None
        ),
        usage=parse_usage(usage if isinstance(usage, dict) else {}),
    )


def _without_nul(text: str) -> str:
    # A NUL in a model's words means nothing, yet PostgreSQL would refuse the whole lead.
    return text.replace("\x00", "")


def parse_usage(usage: dict[str, Any]) -> Usage:
    details = usage.get("prompt_tokens_details")
    cached = usage.get("prompt_cache_hit_tokens")  # DeepSeek
    if cached is None and isinstance(details, dict):
        cached = details.get("cached_tokens")  # OpenAI
    return Usage(
        prompt_tokens=_count(usage.get("prompt_tokens")),
        completion_tokens=_count(usage.get("completion_tokens")),
        cached_prompt_tokens=_count(cached),
    )


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _count(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value <= _MAX_TOKENS_PER_CALL else None
    return None
