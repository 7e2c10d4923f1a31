"""The HTTP client against a local OpenAI-compatible server, over a real socket."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from localinfra.fake_llm import FakeLLM
from services.scorer.llm import (
    ChatClient,
    Completion,
    SystemicCallError,
    TransientCallError,
    Usage,
    parse_completion,
    parse_retry_after,
)
from services.scorer.prompt import build_messages
from services.scorer.settings import Thinking
from tests.scorer.factories import enriched_lead, llm_settings

MESSAGES = build_messages(enriched_lead(1))


def _complete(url: str, **settings: Any) -> Completion:
    async def call() -> Completion:
        client = ChatClient(llm_settings(url, **settings))
        try:
            return await client.complete(MESSAGES)
        finally:
            await client.aclose()

    return asyncio.run(call())


@pytest.mark.parametrize(
    ("thinking", "sent"),
    [
        (Thinking.ON, {"type": "enabled"}),
        (Thinking.OFF, {"type": "disabled"}),
        (Thinking.OMIT, None),
    ],
)
def test_the_request_asks_for_json_and_sets_thinking_only_when_configured(
    fake_llm: FakeLLM, thinking: Thinking, sent: dict[str, str] | None
) -> None:
    _complete(fake_llm.url, llm_thinking=thinking, llm_model="deepseek-v4-pro")
    body = fake_llm.stats()["last_request"]
    assert body["model"] == "deepseek-v4-pro"
    assert body["messages"] == MESSAGES
    assert body["response_format"] == {"type": "json_object"}
    assert body.get("thinking") == sent


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_thinking_comes_back_under_either_name(fake_llm: FakeLLM, field: str) -> None:
    fake_llm.configure(reasoning_field=field)
    assert _complete(fake_llm.url).reasoning == "Fake thinking: looked at the owner, value and age."
    fake_llm.configure(reasoning_field="none")
    assert _complete(fake_llm.url).reasoning is None


@pytest.mark.parametrize("style", ["deepseek", "openai"])
def test_cached_prompt_tokens_are_read_from_either_usage_shape(
    fake_llm: FakeLLM, style: str
) -> None:
    fake_llm.configure(usage_style=style)
    usage = _complete(fake_llm.url).usage
    assert usage.prompt_tokens and usage.completion_tokens
    assert usage.cached_prompt_tokens and 0 < usage.cached_prompt_tokens <= usage.prompt_tokens


def test_a_request_held_open_with_keep_alive_lines_ends_at_the_total_deadline(
    fake_llm: FakeLLM,
) -> None:
    fake_llm.configure(hang=1.0)
    started = time.monotonic()
    with pytest.raises(TransientCallError) as failure:
        _complete(fake_llm.url, llm_deadline_s=0.8)
    assert failure.value.kind == "timeout"
    assert 0.7 < time.monotonic() - started < 3


def test_rate_limits_and_server_errors_are_transient(fake_llm: FakeLLM) -> None:
    fake_llm.configure(rate_limited=1.0, retry_after_s=7)
    with pytest.raises(TransientCallError) as limited:
        _complete(fake_llm.url)
    assert (limited.value.kind, limited.value.retry_after_s) == ("rate_limited", 7.0)
    fake_llm.configure(rate_limited=0.0, server_error=1.0)
    with pytest.raises(TransientCallError, match="HTTP 500"):
        _complete(fake_llm.url)


@pytest.mark.parametrize(
    ("status", "kind"), [(401, "auth"), (403, "auth"), (402, "balance"), (400, "rejected"),
                         (422, "rejected"), (404, "misconfigured")],
)  # fmt: skip
def test_auth_balance_and_rejected_requests_are_systemic(
    fake_llm: FakeLLM, status: int, kind: str
) -> None:
    fake_llm.configure(status=status)
    with pytest.raises(SystemicCallError) as failure:
        _complete(fake_llm.url)
    assert failure.value.kind == kind and f"HTTP {status}" in str(failure.value)


def test_a_refused_connection_is_transient() -> None:
    with pytest.raises(TransientCallError) as failure:
        _complete("http://127.0.0.1:9")
    assert failure.value.kind == "connection"


def test_blank_content_is_returned_for_the_caller_to_judge(fake_llm: FakeLLM) -> None:
    fake_llm.configure(empty=1.0)
    assert _complete(fake_llm.url).content == ""


def test_nul_characters_in_the_models_words_are_dropped_so_the_lead_can_be_stored() -> None:
    message = {"content": '{"reasoning": "Roof\u0000 job"}', "reasoning": "th\u0000ink"}
    completion = parse_completion(httpx.Response(200, json={"choices": [{"message": message}]}))
    assert completion.content == '{"reasoning": "Roof job"}'
    assert completion.reasoning == "think"


def test_retry_after_is_read_as_seconds_or_as_an_http_date() -> None:
    now = datetime(2026, 5, 4, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("2.5") == 2.5
    assert parse_retry_after("Mon, 04 May 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize(
    "body",
    [
        b'{"choices": [{"message": {"content": "{}"}}], "usage": {"prompt_tokens": '
        + b"9" * 5000
        + b"}}",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"choices": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_000 + b"}",
    ],
    ids=["5000-digit token count", "nested arrays", "nested objects"],
)
def test_a_hostile_response_body_is_a_malformed_completion_and_never_another_error(
    body: bytes,
) -> None:
    with pytest.raises(TransientCallError) as failure:
        parse_completion(httpx.Response(200, content=body))
    assert failure.value.kind == "malformed"


@pytest.mark.parametrize("count", [10**40, 2**31, -1, 1e308, True, "1000"])
def test_an_implausible_token_count_is_not_counted(count: Any) -> None:
    """A count past the store's integer column (or the cost metric's float) is no count."""
    message = {"content": "{}"}
    usage = {"prompt_tokens": count, "completion_tokens": count, "prompt_cache_hit_tokens": count}
    body = {"choices": [{"message": message}], "usage": usage}
    completion = parse_completion(httpx.Response(200, json=body))
    assert completion.usage == Usage()


def test_a_lone_surrogate_in_the_thinking_becomes_a_replacement_character() -> None:
    body = b'{"choices": [{"message": {"content": "{}", "reasoning_content": "a\\ud800b"}}]}'
    completion = parse_completion(httpx.Response(200, content=body))
    assert completion.reasoning == "a\ufffdb"


@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "1e999"])
def test_a_retry_after_that_is_not_a_finite_number_is_ignored(value: str) -> None:
    assert parse_retry_after(value) is None
