"""The scorer's configuration, by the environment variable names operators use."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.scorer.settings import DEEPSEEK_BASE_URL, ScorerBackend, ScorerSettings, Thinking


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "LEADSTREAM_LLM_API_KEY",
        "DEEPSEEK_API_KEY",
        "LEADSTREAM_LLM_BASE_URL",
        "LEADSTREAM_LLM_MODEL",
        "LEADSTREAM_LLM_THINKING",
        "LEADSTREAM_SCORER_BACKEND",
    ):
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_deepseek_flash_with_thinking_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADSTREAM_LLM_API_KEY", "sk-test")
    settings = ScorerSettings()
    assert settings.llm_base_url == DEEPSEEK_BASE_URL
    assert settings.llm_model == "deepseek-flash"
    assert settings.llm_thinking is Thinking.OFF
    assert settings.scorer_backend is ScorerBackend.LLM


def test_the_deepseek_key_is_the_fallback_and_an_empty_variable_does_not_hide_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEADSTREAM_LLM_API_KEY", "")  # what compose passes when unset
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-deepseek")
    key = ScorerSettings().llm_api_key
    assert key is not None and key.get_secret_value() == "sk-deepseek"
    monkeypatch.setenv("LEADSTREAM_LLM_API_KEY", "sk-leadstream")
    key = ScorerSettings().llm_api_key
    assert key is not None and key.get_secret_value() == "sk-leadstream"


@pytest.mark.parametrize(
    ("value", "thinking"),
    [("on", Thinking.ON), ("OFF", Thinking.OFF), ("true", Thinking.ON), ("omit", Thinking.OMIT)],
)
def test_thinking_is_switched_by_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, thinking: Thinking
) -> None:
    monkeypatch.setenv("LEADSTREAM_LLM_BASE_URL", "http://127.0.0.1:11434/v1/")
    monkeypatch.setenv("LEADSTREAM_LLM_THINKING", value)
    settings = ScorerSettings()
    assert settings.llm_thinking is thinking
    assert settings.llm_base_url == "http://127.0.0.1:11434/v1"


def test_deepseek_without_a_key_is_refused_with_what_to_do() -> None:
    with pytest.raises(ValidationError, match="LEADSTREAM_LLM_API_KEY"):
        ScorerSettings()


def test_the_rules_backend_needs_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADSTREAM_SCORER_BACKEND", "rules")
    assert ScorerSettings().scorer_backend is ScorerBackend.RULES
