"""The store: sustained leads/s from ``leads.scored`` into PostgreSQL, next to a raw ``COPY``.

Each run loads the same leads into three fresh databases on the same server, cloned from one
migrated template (so every contender pays for the same indexes and foreign keys):

- stage: the store service reading the leads from Kafka (decode, map, upsert, commit offsets);
  its rate runs from the first committed batch to the last, so start-up is not counted;
- writer: the same upserts fed the decoded messages directly, without Kafka;
- COPY: psycopg2 ``copy_expert`` of exactly the rows the store writes (``permits`` and
  ``scored_leads``), prepared in memory beforehand: the database's own ingest ceiling,
  measured before and after the other two (their mean is the baseline of the run).

This shared 2-core machine is too noisy for absolute numbers to mean much, so the result that
counts is stage/COPY, measured in the same run.

``BENCH_STORE_PROFILE=1`` instead profiles the stage's batch handler (cProfile) over the same
batches, decoded from JSON as the runtime decodes them, and prints where the time goes, with
the wall time of each SQL statement.
"""

from __future__ import annotations

import cProfile
import csv
import io
import json
import os
import pstats
import statistics
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from prometheus_client import REGISTRY
from sqlalchemy import Engine, event

from bench.infra import infrastructure, record
from bench.passthrough import fresh_settings, load
from schemas import ScoredLead
from services.common.config import KafkaSettings, RuntimeSettings
from services.common.db.engine import make_engine
from services.common.runtime import StreamRuntime
from services.store.rows import LeadRows, lead_rows
from services.store.service import build_stage
from services.store.writer import BatchWriter
from tests.store.factories import encoded, scored_lead
from tests.support.databases import copy_of, migrated_database

LEADS = int(os.environ.get("BENCH_STORE_LEADS", "10000"))
RUNS = 5
BATCH = RuntimeSettings().batch_size


@dataclass(frozen=True)
class Run:
    stage: float  # leads/s
    writer: float
    copy: float


def main() -> None:
    if os.environ.get("BENCH_STORE_PROFILE"):
        _profile()
        return
    bootstrap, server_url = infrastructure()
    leads = [scored_lead(i) for i in range(LEADS)]
    with migrated_database(server_url) as template:
        runs = [_one_run(bootstrap, server_url, template, leads) for _ in range(RUNS)]
    _report(runs)


def _one_run(bootstrap: str, server_url: str, template: str, leads: list[ScoredLead]) -> Run:
    """COPY runs before and after the store; their mean is the baseline (load drifts)."""
    settings = fresh_settings(bootstrap)
    load(settings, "leads.scored", (encoded(lead) for lead in leads))
    rows = [lead_rows(lead) for lead in leads]
    with copy_of(server_url, template) as url:
        copy_before = _copy_rate(url, rows)
    with copy_of(server_url, template) as url:
        stage = _stage_rate(url, settings, len(leads))
    with copy_of(server_url, template) as url:
        writer = _writer_rate(url, leads)
    with copy_of(server_url, template) as url:
        copy_after = _copy_rate(url, rows)
    return Run(stage=stage, writer=writer, copy=(copy_before + copy_after) / 2)


def _created() -> float:
    labels = {"topic": "leads.scored", "outcome": "created"}
    return REGISTRY.get_sample_value("leadstream_store_writes_total", labels) or 0.0


def _stage_rate(url: str, settings: KafkaSettings, expect: int, timeout_s: float = 600) -> float:
    """Leads/s between the first and the last committed batch of the store stage."""
    runtime = StreamRuntime(build_stage(url), settings, RuntimeSettings())
    thread = threading.Thread(target=runtime.run, daemon=True)
    baseline = _created()
    thread.start()
    first_at, first_count = 0.0, 0.0
    deadline = time.monotonic() + timeout_s
    try:
        while (done := _created() - baseline) < expect:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the store wrote {done:.0f} of {expect} leads in time")
            if done and not first_at:
                first_at, first_count = time.perf_counter(), done
            time.sleep(0.01)
        return (expect - first_count) / (time.perf_counter() - first_at)
    finally:
        runtime.request_stop()
        thread.join(60)


def _writer_rate(url: str, leads: Sequence[ScoredLead]) -> float:
    engine = make_engine(url)
    writer = BatchWriter(engine)
    started = time.perf_counter()
    for start in range(0, len(leads), BATCH):
        writer.write(leads[start : start + BATCH])
    elapsed = time.perf_counter() - started
    engine.dispose()
    return len(leads) / elapsed


def _copy_rate(url: str, rows: Sequence[LeadRows]) -> float:
    """Leads/s of a raw COPY of the same permits and leads rows, in one transaction."""
    permit_columns = ["id", *rows[0].permit]
    lead_columns = ["permit_id", *rows[0].lead]
    permits = _csv([{"id": i, **r.permit} for i, r in enumerate(rows, 1)], permit_columns)
    leads = _csv([{"permit_id": i, **r.lead} for i, r in enumerate(rows, 1)], lead_columns)
    engine = make_engine(url)
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        started = time.perf_counter()
        for table, columns, data in (
            ("permits", permit_columns, permits),
            ("scored_leads", lead_columns, leads),
        ):
            sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"
            cursor.copy_expert(sql, data)
        connection.commit()
        elapsed = time.perf_counter() - started
    finally:
        connection.close()
        engine.dispose()
    return len(rows) / elapsed


def _csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> io.StringIO:
    """CSV for COPY: NULL as an unquoted empty field, lists as JSON."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(json.dumps(row[c]) if isinstance(row[c], list) else row[c] for c in columns)
    buffer.seek(0)
    return buffer


def _profile() -> None:
    """cProfile of ``write_batch`` over the bench's batches, then seconds per SQL statement."""
    _, server_url = infrastructure()
    payloads = [encoded(scored_lead(i))[1] for i in range(LEADS)]
    with migrated_database(server_url) as template, copy_of(server_url, template) as url:
        engine = make_engine(url)
        statements = _time_statements(engine)
        writer, profile = BatchWriter(engine), cProfile.Profile()
        started = time.perf_counter()
        for start in range(0, LEADS, BATCH):
            with profile:
                batch = [ScoredLead.model_validate_json(p) for p in payloads[start : start + BATCH]]
                writer.write_batch(batch)
        elapsed = time.perf_counter() - started
        engine.dispose()
    print(f"{LEADS:,} leads in {elapsed:.2f} s under cProfile ({LEADS / elapsed:,.0f}/s)")
    pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
    for statement, seconds in statements.most_common():
        print(f"{seconds:8.3f} s  {statement}")


def _time_statements(engine: Engine) -> Counter[str]:
    """Wall seconds spent executing each statement (by its first 80 characters)."""
    seconds: Counter[str] = Counter()

    @event.listens_for(engine, "before_cursor_execute")
    def started(conn: Any, *_: Any) -> None:
        conn.info["started"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def finished(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seconds[" ".join(statement.split())[:80]] += time.perf_counter() - conn.info["started"]

    return seconds


def _report(runs: Sequence[Run]) -> None:
    print(f"{LEADS:,} leads per run, batches of {BATCH}, {len(runs)} runs")
    print(
        f"{'run':<5}{'stage leads/s':>15}{'writer leads/s':>16}{'COPY leads/s':>14}"
        f"{'stage/COPY':>12}"
    )
    for i, run in enumerate(runs, 1):
        print(
            f"{i:<5}{run.stage:>15,.0f}{run.writer:>16,.0f}{run.copy:>14,.0f}"
            f"{run.stage / run.copy:>12.0%}"
        )
    median = Run(
        stage=statistics.median(r.stage for r in runs),
        writer=statistics.median(r.writer for r in runs),
        copy=statistics.median(r.copy for r in runs),
    )
    ratio = statistics.median(r.stage / r.copy for r in runs)
    print(
        f"{'med':<5}{median.stage:>15,.0f}{median.writer:>16,.0f}{median.copy:>14,.0f}"
        f"{ratio:>12.0%}"
    )
    record(
        "store",
        leads=LEADS,
        batch_size=BATCH,
        median_leads_per_s=asdict(median),
        median_stage_to_copy=round(ratio, 3),
        runs=[asdict(run) for run in runs],
    )


if __name__ == "__main__":
    main()
