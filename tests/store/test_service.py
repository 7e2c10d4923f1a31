"""Start-up of the store service."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.common.db.engine import SchemaOutOfDate
from services.store.service import build_stage

REPO = Path(__file__).resolve().parents[2]


def test_build_stage_refuses_a_database_without_the_latest_schema(tmp_path: Path) -> None:
    with pytest.raises(SchemaOutOfDate, match="run `leadstream db upgrade` first"):
        build_stage(f"sqlite:///{tmp_path / 'empty.db'}")


def test_the_service_exits_with_a_clear_message_against_an_old_schema(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    result = subprocess.run(
        [sys.executable, "-m", "services.store.service"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "store: refusing to start: database schema is at revision none" in result.stderr
    assert "leadstream db upgrade" in result.stderr
    assert "Traceback" not in result.stderr


def test_build_stage_reads_the_three_topics_the_store_owns(store_url: str) -> None:
    stage = build_stage(store_url)
    assert set(stage.inputs) == {"leads.scored", "permits.discarded", "permits.dlq"}
    assert stage.handle_batch is not None
