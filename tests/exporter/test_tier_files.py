"""Tier files written from PostgreSQL match the database; publishing is all-or-nothing."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath

import pytest
from sqlalchemy import Engine, select, update

from schemas import Category, TradeGroup
from schemas.leads import REVIEW_FLAG
from services.exporter.atomic_csv import AtomicCsvSet
from services.exporter.queries import leads
from services.exporter.records import CSV_HEADER, FLAGGED_FILE, RETRY_FILE
from services.exporter.tier_files import export_tier_files
from services.store.writer import BatchWriter
from tests.exporter.factories import SCORED_AT, insert_lead, scored_lead

NOW = datetime(2026, 5, 10, 8, 0, tzinfo=UTC)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == CSV_HEADER
        return list(reader)


def published(out: Path) -> dict[PurePosixPath, list[dict[str, str]]]:
    return {
        PurePosixPath(path.relative_to(out).as_posix()): read_csv(path)
        for path in sorted(out.rglob("*.csv"))
    }


@pytest.mark.postgres
def test_files_match_what_the_store_wrote(engine: Engine, tmp_path: Path) -> None:
    mix = [
        (95, Category.POOL, TradeGroup.LUXURY_OUTDOOR, ()),
        (81, Category.POOL, TradeGroup.LUXURY_OUTDOOR, ()),
        (65, Category.POOL, TradeGroup.LUXURY_OUTDOOR, ()),
        (90, Category.ROOF, TradeGroup.HOME_EXTERIOR, ()),
        (45, Category.ROOF, TradeGroup.HOME_EXTERIOR, ()),
        (22, Category.ROOF, TradeGroup.HOME_EXTERIOR, (REVIEW_FLAG,)),
        (70, Category.HVAC, TradeGroup.HOME_SYSTEMS, (REVIEW_FLAG,)),
        (-1, Category.FENCE, TradeGroup.LUXURY_OUTDOOR, ("scoring failed: timeout",)),
        (-1, Category.HVAC, TradeGroup.HOME_SYSTEMS, ("scoring failed: 429",)),
    ]
    messages = [
        scored_lead(n, score=score, category=category, trade_group=group, flags=flags)
        for n, (score, category, group, flags) in enumerate(mix)
    ]
    assert all(outcome == "created" for outcome in BatchWriter(engine).write(messages))

    report = export_tier_files(engine, tmp_path, max_buyers_per_lead=1, now=NOW)

    files = published(tmp_path)
    assert {path: len(rows) for path, rows in files.items()} == report.files
    with engine.connect() as conn:
        db = conn.execute(select(leads)).all()
    expected = Counter(
        PurePosixPath(lead.trade_group, lead.category, f"tier_{lead.tier.lower()}.csv")
        for lead in db
        if lead.tier != "RETRY"
    )
    expected[RETRY_FILE] = 2
    expected[FLAGGED_FILE] = 2
    assert report.files == dict(expected)
    # Every lead is in its own file with the values the database holds.
    for lead in db:
        path = (
            RETRY_FILE
            if lead.tier == "RETRY"
            else PurePosixPath(lead.trade_group, lead.category, f"tier_{lead.tier.lower()}.csv")
        )
        (row,) = [r for r in files[path] if r["lead_id"] == str(lead.id)]
        assert row["permit_id"] == lead.permit_number
        assert (row["score"], row["tier"], row["county"]) == (str(lead.score), lead.tier, "Tarrant")
        assert (row["owner_name"], row["market_value"]) == ("Pat Owner", "640000.00")
        assert row["is_absentee"] == str(lead.is_absentee).lower()
        assert row["days_old"] == "12"  # issued 2026-04-28, exported 2026-05-10
        assert row["flags"] == "; ".join(lead.flags)
    # Files are sorted like the API: best score first.
    pool_a = [int(r["score"]) for r in files[PurePosixPath("luxury_outdoor/pool/tier_a.csv")]]
    assert pool_a == [95, 81]


@pytest.mark.postgres
def test_export_moves_new_leads_to_exported_once(engine: Engine, tmp_path: Path) -> None:
    fresh = insert_lead(engine)
    sold = insert_lead(engine, status="sold", sold_count=1)
    already = insert_lead(engine, status="exported", exported_at=SCORED_AT)

    first = export_tier_files(engine, tmp_path, max_buyers_per_lead=1, now=NOW)
    again = export_tier_files(engine, tmp_path, max_buyers_per_lead=1, now=NOW + timedelta(1))

    assert (first.marked_exported, again.marked_exported) == (1, 0)
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(leads))}
    assert (rows[fresh].status, rows[fresh].exported_at) == ("exported", NOW)
    assert rows[already].exported_at == SCORED_AT
    assert rows[sold].status == "sold"
    # Sold out: not for sale any more, so not in the files.
    written = [r["lead_id"] for rows_ in published(tmp_path).values() for r in rows_]
    assert sorted(written) == sorted([str(fresh), str(already)])


@pytest.mark.postgres
def test_the_directory_mirrors_what_is_for_sale_now(engine: Engine, tmp_path: Path) -> None:
    lead_id = insert_lead(engine, category="roof", trade_group="home_exterior")
    unrelated = tmp_path / "home_exterior" / "notes.txt"
    export_tier_files(engine, tmp_path, max_buyers_per_lead=1, now=NOW)
    roof_a = tmp_path / "home_exterior/roof/tier_a.csv"
    assert roof_a.is_file()
    unrelated.write_text("operator notes")

    with engine.begin() as conn:
        conn.execute(update(leads).where(leads.c.id == lead_id).values(sold_count=1))
    report = export_tier_files(engine, tmp_path, max_buyers_per_lead=1, now=NOW)

    assert report.removed == [PurePosixPath("home_exterior/roof/tier_a.csv")]
    assert not roof_a.exists()
    assert unrelated.read_text() == "operator notes"
    assert read_csv(tmp_path / FLAGGED_FILE) == [] and read_csv(tmp_path / RETRY_FILE) == []
    assert not list(tmp_path.rglob("*.tmp"))


@pytest.mark.postgres
def test_since_limits_the_export_to_recent_leads(engine: Engine, tmp_path: Path) -> None:
    recent = insert_lead(engine, scored_at=NOW - timedelta(hours=1))
    insert_lead(engine, scored_at=NOW - timedelta(days=3))
    report = export_tier_files(
        engine, tmp_path, max_buyers_per_lead=1, now=NOW, since=NOW - timedelta(days=1)
    )
    assert report.marked_exported == 1
    rows = read_csv(tmp_path / "luxury_outdoor/pool/tier_a.csv")
    assert [r["lead_id"] for r in rows] == [str(recent)]


def test_a_failed_export_leaves_the_published_files_untouched(tmp_path: Path) -> None:
    path = PurePosixPath("luxury_outdoor/pool/tier_a.csv")
    with AtomicCsvSet(tmp_path, CSV_HEADER) as files:
        files.write(path, ["old"] * len(CSV_HEADER))
        files.publish()
    before = (tmp_path / path).read_bytes()

    with pytest.raises(RuntimeError), AtomicCsvSet(tmp_path, CSV_HEADER) as files:
        files.write(path, ["new"] * len(CSV_HEADER))
        files.write(PurePosixPath("structural/addition/tier_b.csv"), ["new"] * len(CSV_HEADER))
        raise RuntimeError("database went away mid-export")

    assert (tmp_path / path).read_bytes() == before
    assert not (tmp_path / "structural/addition/tier_b.csv").exists()
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["tier_a.csv"]
    assert (tmp_path / path).stat().st_mode & 0o777 == 0o644
