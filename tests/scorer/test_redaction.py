"""Credentials in the LLM's base URL (userinfo, a query string) never reach a log or a message."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest

from localinfra.fake_llm import FakeLLM
from services.cli import main as cli
from services.common.logs import JsonFormatter
from services.scorer.llm import (
    CallFailed,
    ChatClient,
    Completion,
    TransientCallError,
    redact,
)
from services.scorer.prompt import build_messages
from services.scorer.service import log_start
from tests.scorer.factories import enriched_lead, llm_settings

PASSWORD = "pw-hunter2-secret"
QUERY_KEY = "qs-key-7f3a9b2c"
SECRETS = (PASSWORD, QUERY_KEY, "sk-live-test-key")
MESSAGES = build_messages(enriched_lead(1))


def _with_credentials(url: str, path: str = "/v1") -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://operator:{PASSWORD}@{rest}{path}?api_key={QUERY_KEY}"


def _assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def _complete(base_url: str, transport: Any = None) -> Completion:
    async def call() -> Completion:
        settings = llm_settings(base_url, llm_api_key="sk-live-test-key")
        client = ChatClient(settings, transport=transport)
        try:
            return await client.complete(MESSAGES)
        finally:
            await client.aclose()

    return asyncio.run(call())


def _lines(caplog: pytest.LogCaptureFixture) -> str:
    formatter = JsonFormatter("scorer")
    return "\n".join(formatter.format(record) for record in caplog.records)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://user:secret@host/v1", "https://***@host/v1"),
        ("http://host:8080/v1?api_key=abc&x=1", "http://host:8080/v1?***"),
        ("see https://u:p/w@h.example/v1#token then", "see https://***@h.example/v1#*** then"),
        ("http://127.0.0.1:8099/v1", "http://127.0.0.1:8099/v1"),
        ("no url at all", "no url at all"),
    ],
)
def test_urls_in_text_lose_their_userinfo_query_and_fragment(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_the_startup_log_line_shows_the_base_url_without_its_credentials(
    caplog: pytest.LogCaptureFixture,
) -> None:
    base_url = _with_credentials("https://llm.example.com")
    with caplog.at_level(logging.INFO, logger="services.scorer"):
        log_start(llm_settings(base_url))
    [record] = [r for r in caplog.records if r.getMessage() == "scorer starting"]
    assert vars(record)["base_url"] == "https://***@llm.example.com/v1?***"
    _assert_no_secret(_lines(caplog))


def test_a_base_url_with_credentials_works_and_httpx_request_logs_do_not_show_them(
    fake_llm: FakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    """The query string stays after /chat/completions (httpx's base_url join put the path
    inside it), and httpx's own request log line (shown at DEBUG) is redacted."""
    with caplog.at_level(logging.INFO, logger="httpx"):
        completion = _complete(_with_credentials(fake_llm.url))
    assert completion.content
    assert any("HTTP Request" in r.getMessage() for r in caplog.records)
    _assert_no_secret(_lines(caplog))


def test_a_failed_connection_says_nothing_of_the_credentials_and_carries_no_httpx_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(TransientCallError) as failure:
        _complete(_with_credentials("http://127.0.0.1:9"))
    assert failure.value.kind == "connection"
    _assert_no_secret(str(failure.value))
    chained = failure.value.__cause__ or failure.value.__context__
    assert chained is None, "an httpx exception holds the request and its full URL"


@pytest.mark.parametrize("status", [404, 500, 401])
def test_an_error_body_that_echoes_the_request_url_or_key_is_redacted(status: int) -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        said = f"no route for {request.url} ({request.url.raw_path.decode()}), key {QUERY_KEY}"
        said += f" bearer {request.headers['authorization']}"
        return httpx.Response(status, json={"error": {"message": said}})

    with pytest.raises(CallFailed) as failure:
        _complete(_with_credentials("https://llm.example.com"), httpx.MockTransport(echo))
    assert f"HTTP {status}" in str(failure.value)
    _assert_no_secret(str(failure.value))
    _assert_no_secret(failure.value.detail)


def test_a_body_that_is_not_a_completion_is_quoted_redacted() -> None:
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, text=f"<html>proxy: {request.url}</html>")
    )
    with pytest.raises(TransientCallError) as failure:
        _complete(_with_credentials("https://llm.example.com"), transport)
    assert failure.value.kind == "malformed"
    _assert_no_secret(str(failure.value))


def test_a_body_its_content_encoding_cannot_decode_is_malformed_not_an_escaping_error() -> None:
    transport = httpx.MockTransport(
        lambda _: httpx.Response(200, content=b"not gzip", headers={"Content-Encoding": "gzip"})
    )
    with pytest.raises(TransientCallError) as failure:
        _complete(_with_credentials("https://llm.example.com"), transport)
    assert failure.value.kind == "malformed"


def test_scorer_check_prints_the_endpoint_without_credentials(
    monkeypatch: pytest.MonkeyPatch, fake_llm: FakeLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LEADSTREAM_LLM_BASE_URL", _with_credentials(fake_llm.url))
    monkeypatch.setenv("LEADSTREAM_LLM_API_KEY", "sk-live-test-key")
    monkeypatch.delenv("LEADSTREAM_SCORER_BACKEND", raising=False)
    assert cli(["scorer", "check"]) == 0
    out = capsys.readouterr().out
    assert f"{fake_llm.url.split('://')[1]}/v1/chat/completions?***" in out
    _assert_no_secret(out)
