"""``leadstream scorer check`` tells an operator whether the configured LLM works."""

from __future__ import annotations

import pytest

from localinfra.fake_llm import FakeLLM
from services.cli import main


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch, fake_llm: FakeLLM) -> FakeLLM:
    monkeypatch.setenv("LEADSTREAM_LLM_BASE_URL", fake_llm.url)
    monkeypatch.setenv("LEADSTREAM_LLM_API_KEY", "sk-check")
    monkeypatch.delenv("LEADSTREAM_SCORER_BACKEND", raising=False)
    return fake_llm


def test_a_working_setup_shows_the_score_and_what_it_cost(
    configured: FakeLLM, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["scorer", "check"]) == 0
    out = capsys.readouterr().out
    assert f"{configured.url}/chat/completions" in out and "model: deepseek-flash" in out
    assert "ok: score" in out and "cached" in out
    assert configured.stats()["calls"] == 1


@pytest.mark.parametrize(
    ("change", "expected"),
    [({"status": 401}, "FAILED after"), ({"malformed": 1.0}, "UNUSABLE answer")],
)
def test_a_broken_setup_fails_with_the_reason(
    configured: FakeLLM,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, object],
    expected: str,
) -> None:
    configured.configure(**change)
    assert main(["scorer", "check"]) == 1
    assert expected in capsys.readouterr().out
    assert configured.stats()["calls"] == 1  # one call, no retries, no waiting on a circuit


def test_the_rules_backend_has_nothing_to_check(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LEADSTREAM_SCORER_BACKEND", "rules")
    assert main(["scorer", "check"]) == 0
    assert "no LLM to check" in capsys.readouterr().out


def test_a_missing_key_is_a_configuration_error_with_what_to_do(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("LEADSTREAM_LLM_BASE_URL", "LEADSTREAM_LLM_API_KEY", "DEEPSEEK_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("LEADSTREAM_SCORER_BACKEND", raising=False)
    assert main(["scorer", "check"]) == 2
    assert "LEADSTREAM_LLM_API_KEY" in capsys.readouterr().out
