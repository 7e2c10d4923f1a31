"""The main job in one process: permits → categorizer → enricher → scorer → store → tier files.

The stages are the services' own (``build_stage``), each on the production stream runtime over
the in-memory broker (``services.common.embedded``), with
SQLite standing in for PostgreSQL through the same SQLAlchemy code (the categorizer's builder
registry included). Without an LLM key the
scorer runs the explicitly labelled ``rules`` backend; with one, it calls the LLM.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import Engine

from schemas import RawPermit, Topic
from services.categorizer.builders import BuilderSettings
from services.categorizer.rule_book import load_rules
from services.categorizer.service import build_registry
from services.categorizer.service import build_stage as categorizer_stage
from services.common.config import RuntimeSettings
from services.common.db.engine import make_engine, upgrade
from services.common.embedded import EmbeddedPipeline
from services.common.messages import BadInput, Outputs
from services.common.stage import BatchStage
from services.demo.generator import GeneratedProperty
from services.enricher.cad_formats import SourceRecord
from services.enricher.cad_import import import_records
from services.enricher.service import build_stage as enricher_stage
from services.exporter.stats import RunStats, run_stats
from services.exporter.tier_files import ExportReport, export_tier_files
from services.scorer.service import build_stage as scorer_stage
from services.scorer.settings import ScorerBackend, ScorerSettings
from services.store.service import build_stage as store_stage
from services.store.writer import BatchWriter, Outcome

STORE_OUTCOMES = ("created", "updated", "skipped", "error")


@dataclass(frozen=True)
class DemoResult:
    stats: RunStats
    store: dict[str, int]
    export: ExportReport
    scoring: str
    properties_loaded: int


def run_demo(
    permits: Iterable[RawPermit],
    properties: Iterable[GeneratedProperty],
    *,
    workdir: Path,
    out_dir: Path,
    scorer: ScorerSettings,
    builders: BuilderSettings,
) -> DemoResult:
    """``scorer``: the LLM when a key is configured, else the labelled rules backend (the
    command decides)."""
    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / "leadstream.db"
    database.unlink(missing_ok=True)
    url = f"sqlite:///{database}"
    upgrade(url)
    engine = make_engine(url)
    loaded = load_properties(engine, properties)

    settings = scorer
    store = _counting(store_stage(url), BatchWriter(engine))
    pipeline = EmbeddedPipeline(
        [
            categorizer_stage(load_rules(), registry=build_registry(url, builders)),
            enricher_stage(url),
            scorer_stage(settings),
            store.stage,
        ],
        # Commit at every turn: the run ends when every stage has committed all it read.
        RuntimeSettings(commit_interval_s=0.001),
    )
    for permit in permits:
        pipeline.publish(Topic.RAW.value, permit.key, permit)
    # RETRY leads are stored and visible; their re-scoring waits for the real services.
    pipeline.run_until_idle()

    report = export_tier_files(engine, out_dir, max_buyers_per_lead=1, now=datetime.now(UTC))
    with engine.connect() as conn:
        stats = run_stats(conn, None, None)
    scoring = (
        f"llm ({settings.llm_model})"
        if settings.scorer_backend is ScorerBackend.LLM
        else "rules (no LLM key set: LEADSTREAM_LLM_API_KEY or DEEPSEEK_API_KEY)"
    )
    return DemoResult(
        stats=stats,
        store={outcome: store.outcomes[outcome] for outcome in STORE_OUTCOMES},
        export=report,
        scoring=scoring,
        properties_loaded=loaded,
    )


def load_properties(engine: Engine, properties: Iterable[GeneratedProperty]) -> int:
    """The generated appraisal records, through the CAD importer (as an operator would)."""
    by_county: dict[str, list[SourceRecord]] = defaultdict(list)
    for i, prop in enumerate(properties):
        by_county[prop.county].append(
            SourceRecord(
                position=f"generated[{i}]",
                fields={
                    "account_id": prop.account,
                    "situs_address": prop.situs,
                    "situs_city": prop.city,
                    "situs_zip": prop.zip_code,
                    "owner_name": prop.owner,
                    "owner_mailing_address": prop.mailing,
                    "owner_mailing_city": prop.mailing_city,
                    "owner_mailing_state": "TX",
                    "owner_mailing_zip": prop.mailing_zip,
                    "market_value": prop.market_value,
                    "homestead": prop.homestead,
                    "year_built": prop.year_built,
                    "living_area": prop.living_area,
                    "land_use": "residential",
                },
            )
        )
    loaded = 0
    for county, records in by_county.items():
        report = import_records(engine, county, records)
        loaded += report.inserted + report.updated + report.unchanged
    return loaded


@dataclass(frozen=True)
class _CountingStore:
    stage: BatchStage[BaseModel]
    outcomes: Counter[str]


def _counting(stage: BatchStage[BaseModel], writer: BatchWriter) -> _CountingStore:
    """The store's stage, writing through ``writer`` and counting each message's outcome."""
    outcomes: Counter[str] = Counter()

    def write_batch(messages: Sequence[BaseModel]) -> list[Outputs | BadInput]:
        results = writer.write(messages)
        outcomes.update(r.value if isinstance(r, Outcome) else Outcome.ERROR.value for r in results)
        return [[] if isinstance(r, Outcome) else r for r in results]

    return _CountingStore(replace(stage, handle_batch=write_batch), outcomes)


def format_summary(result: DemoResult, out_dir: Path) -> str:
    s = result.stats
    lines = [
        "",
        "leadstream demo — run summary",
        f"  scoring backend      {result.scoring}",
        f"  CAD properties       {result.properties_loaded:,}",
        f"  input                {s.input:,}",
        f"  discarded            {s.discarded:,}",
        *(f"    {reason:<22}{n:>6,}" for reason, n in sorted(s.discarded_by_reason.items())),
        f"  invalid (DLQ)        {s.dlq:,}",
        f"  scored               {s.scored:,}",
        *(f"    tier {tier:<17}{n:>6,}" for tier, n in s.tiers.items()),
        f"  pending retry        {s.pending_retry:,}",
        f"  flagged for review   {s.flagged:,}",
        "  by category",
        *(
            f"    {category:<22}{n:>6,}"
            for category, n in sorted(s.by_category.items(), key=lambda kv: (-kv[1], kv[0]))
        ),
        "  database             " + ", ".join(f"{k} {v:,}" for k, v in result.store.items()),
        f"  tier files in {out_dir}/",
        *(
            f"    {path}  {n:,} {'row' if n == 1 else 'rows'}"
            for path, n in sorted(result.export.files.items())
        ),
    ]
    return "\n".join(lines)
