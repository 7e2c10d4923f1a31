"""The DLQ commands run in-process against a real database (and broker, for replays)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, select

from schemas import DeadLetter
from services.cli import main
from services.common.db.tables.dlq import DeadLetterRow
from services.store.writer import BatchWriter

RunDlq = Callable[..., tuple[int, str]]


@pytest.fixture
def run_dlq(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> RunDlq:
    """``leadstream dlq ARGS…`` → (exit status, stdout + stderr)."""
    monkeypatch.setenv("DATABASE_URL", database_url)

    def run(*args: str) -> tuple[int, str]:
        status = main(["dlq", *args])
        printed = capsys.readouterr()
        return status, printed.out + printed.err

    return run


def store(engine: Engine, *letters: DeadLetter) -> None:
    """Dead letters into the database the way production gets them: through the store."""
    BatchWriter(engine).write(list(letters))


def replayed_offsets(engine: Engine) -> set[int]:
    """Source offsets (the factories' ids) of the dead letters marked replayed."""
    query = select(DeadLetterRow.source_offset).where(DeadLetterRow.replayed_at.is_not(None))
    with engine.connect() as conn:
        return set(conn.execute(query).scalars())
