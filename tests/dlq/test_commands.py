"""The replay command's guard rails, which must hold before any database is touched."""

from __future__ import annotations

import pytest

from services.cli import main

# Nothing listens here: a command that tried to connect would fail with "not reachable".
NO_DATABASE = "postgresql+psycopg2://nobody@127.0.0.1:1/none"


def test_replay_without_a_filter_or_all_is_refused_before_anything_happens(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", NO_DATABASE)
    assert main(["dlq", "replay"]) == 2
    assert main(["dlq", "replay", "--limit", "10"]) == 2  # a limit bounds, it does not choose
    refusal = capsys.readouterr().err
    assert "refusing to replay the whole DLQ without --all" in refusal
    assert "--stage" in refusal and "--dry-run" in refusal


@pytest.mark.parametrize(
    "args",
    [
        ["--since", "2026-05-01", "--hours", "3"],
        ["--hours", "0"],
        ["--limit", "-1"],
        ["--since", "yesterday"],
    ],
)
def test_a_window_or_limit_that_means_nothing_is_a_usage_error(args: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["dlq", "replay", "--all", *args])
    assert exit_.value.code == 2
