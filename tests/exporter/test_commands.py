"""``leadstream export`` and ``leadstream buyers``: what an operator types and sees."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from services.cli import main
from services.common.db.tables.marketplace import BuyerRow
from services.common.times import parse_since
from services.exporter.queries import leads
from tests.exporter.factories import insert_lead

NOW = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)


def test_since_accepts_dates_times_and_durations() -> None:
    assert parse_since("2026-05-01", NOW) == datetime(2026, 5, 1, tzinfo=UTC)
    assert parse_since("2026-05-01T02:00:00+02:00", NOW) == datetime(2026, 5, 1, tzinfo=UTC)
    assert parse_since("24h", NOW) == datetime(2026, 5, 9, 12, 0, tzinfo=UTC)
    assert parse_since("7d", NOW) == datetime(2026, 5, 3, 12, 0, tzinfo=UTC)
    for bad in ("yesterday", "7w", "0001-01-01T00:00:00+05:00"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_since(bad, NOW)


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)


@pytest.mark.postgres
def test_buyers_add_prints_the_key_once_and_stores_only_its_hash(
    cli_env: None, engine: Engine, client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "buyers",
        "add",
        "Acme Pools",
        "--trade-groups",
        "luxury_outdoor,home_exterior",
        "--tiers",
        "a",
        "B",
        "--counties",
        "Travis",
    ]
    assert main(argv) == 0
    key = capsys.readouterr().out.rstrip("\n").splitlines()[-1]
    assert len(key) >= 43 and " " not in key

    with engine.connect() as conn:
        row = conn.execute(select(BuyerRow)).one()
    assert key not in (row.key_hash, *row.trade_groups, *row.tiers)
    assert (row.trade_groups, row.tiers, row.counties) == (
        ["home_exterior", "luxury_outdoor"],
        ["A", "B"],
        ["Travis"],
    )
    assert client.get("/v1/leads", headers={"X-API-Key": key}).status_code == 200

    assert main(argv) == 1
    assert "already exists" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["buyers", "add", "x", "--trade-groups", "pools", "--tiers", "A"])

    assert main(["buyers", "deactivate", "Acme Pools"]) == 0
    assert client.get("/v1/leads", headers={"X-API-Key": key}).status_code == 401


@pytest.mark.postgres
def test_export_prints_each_file_with_its_row_count(
    cli_env: None, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for score in (95, 90, 60):
        insert_lead(engine, score=score)
    assert main(["export", "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"{tmp_path}/luxury_outdoor/pool/tier_a.csv\t2" in lines
    assert f"{tmp_path}/luxury_outdoor/pool/tier_b.csv\t1" in lines
    assert f"{tmp_path}/flagged/needs_review.csv\t0" in lines
    assert f"{tmp_path}/pending_retry/retry_queue.csv\t0" in lines
    assert lines[-1] == "3 rows in 4 files; 3 leads moved from new to exported"
    with engine.connect() as conn:
        assert set(conn.execute(select(leads.c.status)).scalars()) == {"exported"}


@pytest.mark.postgres
def test_buyers_get_a_plan_marketplace_unless_told(
    cli_env: None, engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--trade-groups", "luxury_outdoor", "--tiers", "A"]
    assert main(["buyers", "add", "Market Pools", *base]) == 0
    assert main(["buyers", "add", "Sub Pools", *base, "--plan", "subscription"]) == 0
    assert "plan: subscription" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["buyers", "add", "Other", *base, "--plan", "free"])
    with engine.connect() as conn:
        plans = dict(conn.execute(select(BuyerRow.name, BuyerRow.plan)).tuples().all())
    assert plans == {"Market Pools": "marketplace", "Sub Pools": "subscription"}
    capsys.readouterr()
    assert main(["buyers", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] + " " + line.split("\t")[-1] for line in listed] == [
        "Market Pools plan=marketplace",
        "Sub Pools plan=subscription",
    ]
