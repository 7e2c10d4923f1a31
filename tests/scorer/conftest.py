"""The local LLM server, shared by a module's tests and reset between them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localinfra.fake_llm import FakeLLM, FakeLLMConfig


@pytest.fixture(scope="module")
def _fake_llm_server() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


@pytest.fixture
def fake_llm(_fake_llm_server: FakeLLM) -> FakeLLM:
    """A running server with no latency and no faults, its counters at zero."""
    _fake_llm_server.configure(**FakeLLMConfig().model_dump())
    _fake_llm_server.reset()
    return _fake_llm_server
