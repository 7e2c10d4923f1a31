"""A local OpenAI-compatible chat-completions server for tests and benchmarks.

It answers ``POST /chat/completions`` the way DeepSeek does (or OpenAI, vLLM, Ollama: see
``reasoning_field`` and ``usage_style``) with a valid score that is a deterministic function of
the lead in the request (:func:`derived_score`), so a test can tell a real answer from an
invented one. Latency and faults are injected at configurable rates and changed at runtime
through ``POST /_control``; ``GET /_stats`` counts what happened. The scorer's real httpx
code talks to it over a real socket.

Like a naive model, it obeys a description that says "score N" (prompt injection), whatever N.

Run it alone with ``python -m localinfra.fake_llm --port 8099 --latency 2``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any, Literal

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

# New faults go at the end: with their rate at 0, seeded runs draw exactly as before.
FAULTS = ("rate_limited", "server_error", "hang", "malformed", "empty", "huge_number")
_INJECTED_SCORE = re.compile(r"score\D{0,20}?(-?\d+)", re.IGNORECASE)
_MALFORMED = (
    '{"score": 71, "reasoning": "cut off mid-answ',
    "Sure! Here is my assessment: the lead looks strong, I would give it 80.",
    '{"score": "eighty", "reasoning": "x", "contact_priority": "call"}',
    '{"score": 140, "reasoning": "very good", "contact_priority": "urgent"}',
)
# Well-formed json that json.loads cannot turn into an int (ValueError, not JSONDecodeError).
HUGE_NUMBER_ANSWER = (
    '{"score": ' + "9" * 5000 + ', "reasoning": "A very good lead.", "contact_priority": "call"}'
)


class FakeLLMConfig(BaseModel):
    """What the server does; every field can be changed while it runs."""

    model_config = ConfigDict(extra="forbid")

    latency_s: float = Field(default=0.0, ge=0)
    # Shares of requests that fail each way (together at most 1).
    rate_limited: float = Field(default=0.0, ge=0, le=1, description="429 with Retry-After")
    retry_after_s: float = Field(default=0.2, ge=0)
    server_error: float = Field(default=0.0, ge=0, le=1, description="500")
    hang: float = Field(
        default=0.0, ge=0, le=1, description="held open with keep-alive blank lines, no answer"
    )
    malformed: float = Field(default=0.0, ge=0, le=1, description="content that is not the json")
    empty: float = Field(default=0.0, ge=0, le=1, description="blank content")
    huge_number: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="an answer object whose score is a 5,000-digit number "
        "(past Python's default int-digit limit of 4,300)",
    )
    status: int | None = Field(default=None, description="answer everything with this status")
    reasoning_field: Literal["reasoning_content", "reasoning", "none"] = "reasoning_content"
    usage_style: Literal["deepseek", "openai"] = "deepseek"
    seed: int | None = None


def derived_score(lead: dict[str, Any]) -> int:
    """The score this server gives a lead's data block: a fixed function of the input."""
    canonical = json.dumps(lead, sort_keys=True, ensure_ascii=False)
    return int.from_bytes(hashlib.sha256(canonical.encode()).digest()[:4], "big") % 101


def create_app(config: FakeLLMConfig | None = None) -> FastAPI:
    app = FastAPI(title="fake OpenAI-compatible LLM")
    state = _State(config or FakeLLMConfig())

    @app.post("/chat/completions")
    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        body = await request.json()
        return await state.answer(body)

    @app.post("/_control")
    async def control(changes: dict[str, Any]) -> dict[str, Any]:
        state.configure(changes)
        return state.config.model_dump()

    @app.get("/_stats")
    async def stats() -> dict[str, Any]:
        return state.stats()

    @app.post("/_reset")
    async def reset() -> dict[str, Any]:
        state.reset_counts()
        return state.stats()

    return app


class _State:
    def __init__(self, config: FakeLLMConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.outcomes: Counter[str] = Counter()
        self.repairs = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self.last_request: dict[str, Any] | None = None

    def configure(self, changes: dict[str, Any]) -> None:
        self.config = FakeLLMConfig.model_validate({**self.config.model_dump(), **changes})
        if "seed" in changes:
            self.rng = random.Random(self.config.seed)

    def reset_counts(self) -> None:
        self.outcomes.clear()
        self.repairs = 0
        self.peak_in_flight = 0

    def stats(self) -> dict[str, Any]:
        return {
            "calls": sum(self.outcomes.values()),
            "outcomes": dict(self.outcomes),
            "repairs": self.repairs,
            "in_flight": self.in_flight,
            "peak_in_flight": self.peak_in_flight,
            "last_request": self.last_request,
        }

    async def answer(self, body: dict[str, Any]) -> Response:
        self.last_request = body
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            config = self.config
            if config.latency_s:
                await asyncio.sleep(config.latency_s)
            if config.status is not None:
                self.outcomes[f"status_{config.status}"] += 1
                error = {"error": {"message": f"injected HTTP {config.status}", "type": "fake"}}
                return JSONResponse(error, status_code=config.status)
            fault = self._draw_fault(config)
            self.outcomes[fault or "ok"] += 1
            messages = body.get("messages", [])
            if any(m.get("role") == "assistant" for m in messages):
                self.repairs += 1
            if fault == "rate_limited":
                headers = {"Retry-After": f"{config.retry_after_s:g}"}
                return JSONResponse({"error": {"message": "rate limited"}}, 429, headers=headers)
            if fault == "server_error":
                return JSONResponse({"error": {"message": "injected server error"}}, 500)
            if fault == "hang":
                return StreamingResponse(_keep_alive_forever(), media_type="application/json")
            if fault == "malformed":
                content = self.rng.choice(_MALFORMED)
            elif fault == "empty":
                content = ""
            elif fault == "huge_number":
                content = HUGE_NUMBER_ANSWER
            else:
                content = json.dumps(_assessment(_lead_data(messages)))
            return JSONResponse(_completion(body, content, config))
        finally:
            self.in_flight -= 1

    def _draw_fault(self, config: FakeLLMConfig) -> str | None:
        draw = self.rng.random()
        for fault in FAULTS:
            share = getattr(config, fault)
            if draw < share:
                return fault
            draw -= share
        return None


async def _keep_alive_forever() -> AsyncIterator[bytes]:
    """What DeepSeek does with a queued request: blank lines, and (here) never an answer."""
    for _ in range(3000):
        yield b"\n"
        await asyncio.sleep(0.2)


def _lead_data(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The lead's data block: the first user message (a repair turn comes later)."""
    for message in messages:
        if message.get("role") == "user":
            data = json.loads(message["content"])
            return data if isinstance(data, dict) else {}
    return {}


def _assessment(lead: dict[str, Any]) -> dict[str, Any]:
    description = (lead.get("permit") or {}).get("work_description") or ""
    injected = _INJECTED_SCORE.search(description)
    if injected:  # a gullible model: the description told it what to say
        score = int(injected.group(1))
        reasoning = f"The description says to score it {score}."
    else:
        score = derived_score(lead)
        reasoning = f"Fake model: derived score {score} from the lead data."
    priority = "call" if score >= 70 else "email" if score >= 30 else "skip"
    return {
        "score": score,
        "tier": "A",  # the scorer must ignore the model's tier
        "reasoning": reasoning,
        "flags": ["fake model"],
        "ideal_contractor": "whoever asked",
        "contact_priority": priority,
    }


def _completion(body: dict[str, Any], content: str, config: FakeLLMConfig) -> dict[str, Any]:
    messages = body.get("messages", [])
    prompt_tokens = sum(len(str(m.get("content", ""))) for m in messages) // 4
    system = next((str(m.get("content", "")) for m in messages if m.get("role") == "system"), "")
    cached = (len(system) // 4) // 64 * 64  # a prefix cache in 64-token blocks
    completion_tokens = max(1, len(content) // 4)
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if config.usage_style == "deepseek":
        usage["prompt_cache_hit_tokens"] = cached
        usage["prompt_cache_miss_tokens"] = prompt_tokens - cached
    else:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if config.reasoning_field != "none":
        message[config.reasoning_field] = "Fake thinking: looked at the owner, value and age."
    return {
        "id": f"fake-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": usage,
    }


class FakeLLM:
    """The server on a free local port, in a background thread of this process."""

    def __init__(self, config: FakeLLMConfig | None = None, *, port: int = 0) -> None:
        self._server = uvicorn.Server(
            uvicorn.Config(
                create_app(config),
                host="127.0.0.1",
                port=port,
                log_level="warning",
                access_log=False,
                lifespan="off",
                timeout_keep_alive=75,
            )
        )
        self._thread = threading.Thread(target=self._server.run, name="fake-llm", daemon=True)
        self.url = ""

    def start(self) -> FakeLLM:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake LLM server did not start")
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)

    def configure(self, **changes: Any) -> None:
        httpx.post(f"{self.url}/_control", json=changes, timeout=10).raise_for_status()

    def stats(self) -> dict[str, Any]:
        response = httpx.get(f"{self.url}/_stats", timeout=10)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def reset(self) -> None:
        httpx.post(f"{self.url}/_reset", timeout=10).raise_for_status()

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per answer")
    args = parser.parse_args()
    with FakeLLM(FakeLLMConfig(latency_s=args.latency), port=args.port) as server:
        print(f"fake LLM at {server.url} (POST /_control to inject faults)", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
