"""``leadstream demo`` (the main job, embedded) and ``leadstream demo-feed`` (generated permits
onto a real broker, for ``make feed``)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import UTC, date, datetime, time
from itertools import islice
from pathlib import Path
from typing import Any

from services.ingest.formats import FORMATS, read_permits


def register(subparsers: Any) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="the whole pipeline in one process on generated permits (no Kafka, no PostgreSQL)",
    )
    demo.add_argument("--count", type=int, default=600, help="generated permits (default 600)")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=None,
        help="the day the permits are scraped (default today)",
    )
    demo.add_argument("--input", type=Path, default=None, help="a real portal export instead")
    demo.add_argument("--format", choices=sorted(FORMATS), default=None)
    demo.add_argument("--limit", type=int, default=None, help="first N rows of --input")
    demo.add_argument("--out", type=Path, default=Path("exports"), help="tier files (./exports)")
    demo.add_argument(
        "--workdir", type=Path, default=Path(".run/demo"), help="where the SQLite database goes"
    )
    demo.set_defaults(func=_demo)

    feed = subparsers.add_parser(
        "demo-feed",
        help="load generated appraisal records and publish generated permits to permits.raw",
    )
    feed.add_argument("--count", type=int, default=2_000)
    feed.add_argument("--seed", type=int, default=7)
    feed.set_defaults(func=_feed)


def _demo(args: argparse.Namespace) -> int:
    from services.categorizer.builders import BuilderSettings
    from services.demo.generator import generate
    from services.demo.pipeline import format_summary, run_demo
    from services.scorer.settings import ScorerBackend, ScorerSettings

    if args.input is not None:
        if args.format is None:
            print("--input needs --format", file=sys.stderr)
            return 2
        scraped_at = datetime.combine(args.as_of, time(6), tzinfo=UTC) if args.as_of else None
        permits = list(
            islice(
                read_permits(args.input, args.format, scraped_at or datetime.now(UTC)), args.limit
            )
        )
        properties = []
        source = f"{len(permits):,} permits from {args.input} ({args.format})"
    else:
        sample = generate(args.count, seed=args.seed, as_of=args.as_of)
        permits, properties = sample.permits, sample.properties
        source = f"{len(permits):,} generated permits (seed {args.seed})"
    print(
        f"leadstream demo: {source} → categorizer → enricher → scorer → store → tier files",
        flush=True,
    )
    # The LLM when a key (or a backend) is configured; else the labelled rules backend.
    configured = ("LEADSTREAM_SCORER_BACKEND", "LEADSTREAM_LLM_API_KEY", "DEEPSEEK_API_KEY")
    scorer = (
        ScorerSettings()
        if any(os.environ.get(name) for name in configured)
        else ScorerSettings(scorer_backend=ScorerBackend.RULES)
    )
    result = run_demo(
        permits,
        properties,
        workdir=args.workdir,
        out_dir=args.out,
        scorer=scorer,
        builders=BuilderSettings(),
    )
    print(format_summary(result, args.out))
    return 0


def _feed(args: argparse.Namespace) -> int:
    """Generated permits go out as a JSONL export: the format any scraper can write."""
    from services.common.config import DatabaseSettings, KafkaSettings
    from services.common.db.engine import make_engine
    from services.demo.generator import generate
    from services.demo.pipeline import load_properties
    from services.ingest.publish import publish_file

    settings = KafkaSettings()
    sample = generate(args.count, seed=args.seed)
    loaded = load_properties(make_engine(DatabaseSettings().database_url), sample.properties)
    print(f"loaded {loaded:,} generated appraisal records into properties")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "generated.jsonl"
        with path.open("w") as out:
            for permit in sample.permits:
                out.write(permit.model_dump_json() + "\n")
        report = publish_file(path, "jsonl", settings, scraped_at=datetime.now(UTC))
    print(report.summary(settings.topic("permits.raw")))
    return 0
