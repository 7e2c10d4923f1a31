"""The whole chain on real Kafka + PostgreSQL with real Austin permits.

Conservation: every published permit ends as exactly one stored lead, one discarded permit
with a reason, or one DLQ record; and the tier files say what the database says.
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select

from localinfra.fake_llm import FakeLLM
from schemas import RawPermit, Topic
from services.categorizer.rule_book import load_rules
from services.categorizer.service import build_stage as categorizer_stage
from services.common.config import KafkaSettings, RuntimeSettings
from services.common.db.tables.dlq import DeadLetterRow
from services.common.db.tables.pipeline import DiscardedPermitRow, ScoredLeadRow
from services.enricher.service import build_stage as enricher_stage
from services.exporter.tier_files import export_tier_files
from services.ingest.formats import read_permits
from services.scorer.service import build_stage as scorer_stage
from services.scorer.settings import ScorerSettings
from services.store.service import build_stage as store_stage
from tests.support.kafka import publish, running_stage

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

PERMITS = 2_000
# The first rows of the export are January 2015: replay them as scraped in mid-February.
SCRAPED_AT = datetime(2015, 2, 15, 6, tzinfo=UTC)
GARBAGE = [b"\xff\xfe not a permit", b'{"jurisdiction": "austin_tx"}', b"[1, 2, 3]"]


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


def _outcomes(engine: Engine) -> Counter[str]:
    """permit key → how many outcome rows it has, over the three outcome tables."""
    counts: Counter[str] = Counter()
    with engine.connect() as conn:
        for column in (ScoredLeadRow.permit_key, DiscardedPermitRow.permit_key):
            counts.update(conn.execute(select(column)).scalars())
        counts.update(k or "" for k in conn.execute(select(DeadLetterRow.key)).scalars())
    return counts


def _wait_for(engine: Engine, total: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if sum(_outcomes(engine).values()) >= total:
            return
        time.sleep(0.5)


def test_real_permits_end_exactly_once_and_tier_files_match_the_database(
    kafka_settings: KafkaSettings,
    database_url: str,
    shared_data: Path,
    fake_llm: FakeLLM,
    tmp_path: Path,
) -> None:
    austin = shared_data / "austin_permits_2015-01_to_2016-04.csv"
    # The daily scrapes repeat a permit when it changes: every version is published, as a
    # scraper would, until PERMITS distinct permits are out.
    permits: list[RawPermit] = []
    keys: set[str] = set()
    for permit in read_permits(austin, "austin", SCRAPED_AT):
        if len(keys) == PERMITS and permit.key not in keys:
            break
        keys.add(permit.key)
        permits.append(permit)
    publish(
        kafka_settings, Topic.RAW.value, [(p.key, p.model_dump_json().encode()) for p in permits]
    )
    publish(kafka_settings, Topic.RAW.value, [(f"garbage:{i}", g) for i, g in enumerate(GARBAGE)])

    scorer = ScorerSettings(llm_base_url=fake_llm.url, llm_api_key="test-key")
    runtime = RuntimeSettings(commit_interval_s=0.2)
    engine = create_engine(database_url)
    with ExitStack() as stages:
        for stage in (
            categorizer_stage(load_rules()),
            enricher_stage(database_url),
            scorer_stage(scorer),
            store_stage(database_url),
        ):
            stages.enter_context(running_stage(stage, kafka_settings, runtime))
        _wait_for(engine, len(keys) + len(GARBAGE), timeout_s=240)
        time.sleep(2)  # anything beyond the expected count (a duplicate) would show up now

    outcomes = _outcomes(engine)
    missing = keys - set(outcomes)
    assert not missing, f"{len(missing)} permits have no outcome, e.g. {sorted(missing)[:3]}"
    assert [k for k, n in outcomes.items() if n > 1] == [], "a permit has two outcomes"
    assert sorted(k for k in outcomes if k.startswith("garbage:")) == [
        f"garbage:{i}" for i in range(len(GARBAGE))
    ]

    with engine.connect() as conn:
        leads = conn.execute(select(func.count()).select_from(ScoredLeadRow)).scalar_one()
        reasons = set(conn.execute(select(DiscardedPermitRow.reason).distinct()).scalars())
        methods = set(conn.execute(select(ScoredLeadRow.scoring_method).distinct()).scalars())
    assert leads > 0 and reasons, "real permits produce both leads and discards"
    assert methods <= {"llm", "pending_retry"}

    report = export_tier_files(engine, tmp_path, max_buyers_per_lead=1, now=datetime.now(UTC))
    with engine.connect() as conn:
        by_tier_file = Counter(
            f"{g}/{c}/tier_{t.lower()}.csv"
            for g, c, t in conn.execute(
                select(ScoredLeadRow.trade_group, ScoredLeadRow.category, ScoredLeadRow.tier)
            )
            if t != "RETRY"
        )
    written = {str(path): rows for path, rows in report.files.items() if "/tier_" in str(path)}
    assert written == dict(by_tier_file)
    for path, rows in written.items():
        with (tmp_path / path).open(newline="") as handle:
            assert sum(1 for _ in csv.DictReader(handle)) == rows
