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
import logging
import math
import re
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
# scheme://[userinfo@]host/path[?query][#fragment] in free text; the userinfo group runs to the
# last "@" so that a password with a "/" in it is still hidden (over-hiding is the safe side).
_URL_IN_TEXT = re.compile(
    r"\b([a-z][a-z0-9+.-]*://)([^\s?#'\"<>]*@)?([^\s?#'\"<>]*)(\?[^\s#'\"<>]*)?(#[^\s'\"<>]*)?",
    re.IGNORECASE,
)
# Shorter values are not worth hiding, and replacing them would mangle ordinary words.
_MIN_SECRET_CHARS = 8


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


class _RedactURLs(logging.Filter):
    """httpx logs every request with its full URL (at INFO, shown when DEBUG is on)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact(str(arg)) if isinstance(arg, httpx.URL) else arg for arg in record.args
            )
        return True


_HTTPX_LOG_FILTER = _RedactURLs()


class ChatClient:
    """Pooled HTTP clients; at most ``llm_max_in_flight`` requests are open at once."""

    def __init__(
        self, settings: ScorerSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._settings = settings
        httpx_log = logging.getLogger("httpx")
        if _HTTPX_LOG_FILTER not in httpx_log.filters:
            httpx_log.addFilter(_HTTPX_LOG_FILTER)
        self._endpoint = endpoint_url(settings.llm_base_url)
        # What a failure's text must never quote, even where no URL is recognisable in it.
        self._secrets = url_secrets(self._endpoint)
        headers = {"Accept": "application/json"}
        if settings.llm_api_key is not None:
            key = settings.llm_api_key.get_secret_value()
            headers["Authorization"] = f"Bearer {key}"
            self._secrets = (key, *self._secrets)
        pools = math.ceil(settings.llm_max_in_flight / POOL_SIZE)
        size = math.ceil(settings.llm_max_in_flight / pools)
        tls = httpx.create_ssl_context()  # loading the CA bundle once, not once per pool
        self._pools = [
            httpx.AsyncClient(
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
        # httpx's exceptions hold the request, whose URL may carry credentials: the failure
        # is raised after the except block, so none is attached to it, and its text redacted.
        failure: CallFailed | None = None
        async with self._slots:
            pool = self._busy.index(min(self._busy))
            self._busy[pool] += 1
            try:
                # A read timeout alone never fires while a server trickles keep-alive blank
                # lines into a queued request; this deadline covers the whole exchange.
                async with asyncio.timeout(deadline):
                    response = await self._pools[pool].post(self._endpoint, json=body)
            except (TimeoutError, httpx.TimeoutException):
                failure = TransientCallError("timeout", f"no answer within {deadline:g} s")
            except httpx.DecodingError as exc:  # a body its Content-Encoding does not decode
                failure = TransientCallError("malformed", self._describe(exc))
            except httpx.RequestError as exc:  # connection, protocol, proxy, redirects
                failure = TransientCallError("connection", self._describe(exc))
            finally:
                self._busy[pool] -= 1
        if failure is not None:
            raise failure
        raise_for_status(response, self._secrets)
        return parse_completion(response, self._secrets)

    def _describe(self, exc: Exception) -> str:
        return redact(f"{type(exc).__name__}: {exc}", self._secrets)

    async def aclose(self) -> None:
        for client in self._pools:
            await client.aclose()


def endpoint_url(base_url: str) -> httpx.URL:
    """``base_url`` + ``/chat/completions``, with a query string (``?api-version=…``) kept
    after the path, where httpx's ``base_url`` joining would have put the path inside it."""
    base = httpx.URL(base_url)
    return base.copy_with(path=base.path.rstrip("/") + "/chat/completions")


def url_secrets(url: httpx.URL) -> tuple[str, ...]:
    """The parts of ``url`` that may be credentials: the password, the query and its values."""
    query = url.query.decode("ascii", "replace")
    parts = [url.password or "", query, *url.params.values()]
    return tuple(part for part in parts if part)


def redact_url(url: str) -> str:
    """A URL fit for logs and messages: userinfo, query string and fragment hidden."""
    return redact(url)


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` with the userinfo, query string and fragment of every URL in it hidden, and
    every one of ``secrets`` (the API key) replaced: what a server says back can quote both."""
    for secret in secrets:
        if len(secret) >= _MIN_SECRET_CHARS:
            text = text.replace(secret, "***")
    return _URL_IN_TEXT.sub(_redacted_url, text)


def _redacted_url(match: re.Match[str]) -> str:
    scheme, userinfo, rest, query, fragment = match.groups()
    return (
        scheme
        + ("***@" if userinfo else "")
        + rest
        + ("?***" if query else "")
        + ("#***" if fragment else "")
    )


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


def raise_for_status(response: httpx.Response, secrets: tuple[str, ...] = ()) -> None:
    """Nothing for a 2xx; otherwise the failure, its detail quoting the body (redacted)."""
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = redact(f"HTTP {status}: {response.text[:_ERROR_BODY_LIMIT].strip()}", secrets)
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        raise TransientCallError("rate_limited", detail, retry_after_s=retry_after)
    if status >= 500 or status in _TRANSIENT_CLIENT_STATUSES:
        raise TransientCallError("server_error", detail)
    raise SystemicCallError(_SYSTEMIC_KINDS.get(status, "misconfigured"), detail)


def parse_completion(response: httpx.Response, secrets: tuple[str, ...] = ()) -> Completion:
    try:
        body = response.json()
        message = body["choices"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError, RecursionError) as exc:
        snippet = redact(response.text[:_ERROR_BODY_LIMIT].strip(), secrets)
        raise TransientCallError("malformed", f"not a chat completion: {snippet!r}") from exc
    if not isinstance(message, dict):
        raise TransientCallError("malformed", "choices[0].message is not an object")
    content = message.get("content")
    # DeepSeek calls the thinking reasoning_content; vLLM, Ollama and others call it reasoning.
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    usage = body.get("usage") if isinstance(body, dict) else None
    return Completion(
        # The content is echoed back in a repair turn: a lone surrogate (decoded from a json
        # escape) would make encoding that request fail, so model_text() cleans it too.
        content=model_text(content) if isinstance(content, str) else "",
        # The chain of thought is kept as it is, so it must be storable.
        reasoning=(
            model_text(reasoning) if isinstance(reasoning, str) and reasoning.strip() else None
        ),
        usage=parse_usage(usage if isinstance(usage, dict) else {}),
    )


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
