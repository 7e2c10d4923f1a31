"""The start-up gate every database-backed service passes."""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from services.common.db.engine import (
    DatabaseUnreachable,
    SchemaOutOfDate,
    head_revision,
    make_engine,
    require_current_schema,
)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_database_that_stays_down_is_waited_for_then_named_in_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = _closed_port()
    engine = make_engine(f"postgresql+psycopg2://leadstream:s3cret@127.0.0.1:{port}/leadstream")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING), pytest.raises(DatabaseUnreachable) as failure:
        require_current_schema(engine, wait_s=2)
    waited = time.monotonic() - started

    message = str(failure.value)
    assert f"127.0.0.1:{port}/leadstream not reachable after 2 s" in message
    assert "s3cret" not in message and "\n" not in message
    assert 1.0 <= waited < 10
    waits = [r for r in caplog.records if r.getMessage() == "database not reachable yet, waiting"]
    assert len(waits) >= 2, "it gave up without retrying"


def test_a_command_does_not_wait_for_the_database() -> None:
    engine = make_engine(f"postgresql+psycopg2://postgres@127.0.0.1:{_closed_port()}/leadstream")
    started = time.monotonic()
    with pytest.raises(DatabaseUnreachable):
        require_current_schema(engine, wait_s=0)
    assert time.monotonic() - started < 5


def _stamped(tmp_path: Path, revision: str | None) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    if revision is not None:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            conn.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": revision})
    return engine


def test_a_database_behind_the_code_is_refused_with_what_to_run(tmp_path: Path) -> None:
    head = head_revision()
    assert head != "0001", "test the oldest revision against a newer head"
    with pytest.raises(SchemaOutOfDate, match=f"at revision 0001, this code needs {head}: run"):
        require_current_schema(_stamped(tmp_path, "0001"))


def test_a_database_the_next_release_migrated_is_accepted_mid_rollout(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        require_current_schema(_stamped(tmp_path, "from-a-newer-release"))
    assert [r.getMessage() for r in caplog.records] == [
        "database schema is newer than this code; running on it"
    ]
