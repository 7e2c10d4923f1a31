"""The start-up gate every database-backed service passes."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from services.common.db.engine import DatabaseUnreachable, make_engine, require_current_schema


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
