"""JSON logs an operator can read: one line per event, no per-request chatter by default."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from services.common.logs import configure_logging


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    httpx_level = logging.getLogger("httpx").level
    yield
    root.handlers[:], root.level = handlers, level
    logging.getLogger("httpx").setLevel(httpx_level)


def test_a_record_is_one_json_line_with_the_service_and_the_permit_key(
    restored_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("store", "INFO")
    logging.getLogger("services.store").warning(
        "rejected to DLQ", extra={"permit_key": "austin_tx:1", "reason": "bad"}
    )
    line = capsys.readouterr().err.strip()
    record = json.loads(line)
    assert record["service"] == "store" and record["level"] == "warning"
    assert (record["msg"], record["permit_key"], record["reason"]) == (
        "rejected to DLQ",
        "austin_tx:1",
        "bad",
    )


def test_each_llm_http_request_is_logged_only_at_debug(
    restored_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("scorer", "INFO")
    logging.getLogger("httpx").info("HTTP Request: POST http://llm/v1/chat/completions")
    assert capsys.readouterr().err == ""
    configure_logging("scorer", "DEBUG")
    logging.getLogger("httpx").info("HTTP Request: POST http://llm/v1/chat/completions")
    assert "HTTP Request" in capsys.readouterr().err
