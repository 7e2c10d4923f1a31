"""`make demo`: generated permits through every stage in one process, into SQLite and tier files."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from services.categorizer.builders import BuilderSettings
from services.common.db.tables.pipeline import ScoredLeadRow
from services.demo.generator import generate
from services.demo.pipeline import run_demo
from services.scorer.settings import ScorerBackend, ScorerSettings

AS_OF = date(2026, 11, 2)


@pytest.fixture
def no_llm_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LEADSTREAM_SCORER_BACKEND", "LEADSTREAM_LLM_API_KEY", "DEEPSEEK_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_generator_is_deterministic_and_covers_what_the_pipeline_must_handle() -> None:
    first, second = generate(400, seed=3, as_of=AS_OF), generate(400, seed=3, as_of=AS_OF)
    assert first == second
    permits = first.permits
    assert any(p.property_address is None for p in permits)  # unusable → invalid
    assert any(p.issued_date is None for p in permits)  # age unknown
    assert any("Homes" in (p.applicant_name or "") for p in permits)  # production builders
    assert any("Commercial" in (p.permit_type or "") for p in permits)
    assert len({p.key for p in permits}) == len(permits)


def test_demo_accounts_for_every_permit_and_tier_files_match_the_database(
    tmp_path: Path, no_llm_key: None
) -> None:
    sample = generate(300, seed=11, as_of=AS_OF)
    out = tmp_path / "exports"
    result = run_demo(
        sample.permits,
        sample.properties,
        workdir=tmp_path,
        out_dir=out,
        scorer=ScorerSettings(scorer_backend=ScorerBackend.RULES),
        builders=BuilderSettings(),
    )

    stats = result.stats
    assert stats.input == 300, "every permit ends as a lead, a discard or a DLQ record"
    assert stats.scored > 0 and stats.discarded > 0
    assert {"production_builder", "stale", "invalid"} <= set(stats.discarded_by_reason)
    assert result.store["created"] == 300 and result.scoring.startswith("rules")

    engine = create_engine(f"sqlite:///{tmp_path / 'leadstream.db'}")
    with engine.connect() as conn:
        methods = set(conn.execute(select(ScoredLeadRow.scoring_method).distinct()).scalars())
        path = (
            ScoredLeadRow.trade_group
            + "/"
            + ScoredLeadRow.category
            + "/tier_"
            + func.lower(ScoredLeadRow.tier)
            + ".csv"
        )
        per_file = dict(
            conn.execute(
                select(path, func.count()).where(ScoredLeadRow.tier != "RETRY").group_by(path)
            ).all()
        )
    assert methods == {"rules"}, "the non-LLM scorer is labelled on every lead"
    assert per_file
    for file, count in per_file.items():
        with (out / file).open(newline="") as handle:
            assert len(list(csv.DictReader(handle))) == count, file
    assert (out / "flagged" / "needs_review.csv").exists()
    assert (out / "pending_retry" / "retry_queue.csv").exists()
