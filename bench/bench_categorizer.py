"""categorize() permits/s on the whole Austin export (one core), and the categorizer stage's
permits/s through the real broker next to a bare consume→produce passthrough of the same
messages in the same run: the database-free stage (the rules' builder list alone) and the
stage `leadstream run categorizer` runs, which records and reads the builder registry in
PostgreSQL once per poll batch.

The permits are the real Austin file mapped by the ingest mapper, stamped as scraped on
2016-05-01, so the mix of kept, junk, builder and stale permits is the real one.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from statistics import median

from confluent_kafka import Consumer

from bench.infra import kafka_bootstrap, postgres_server, record
from bench.passthrough import fresh_settings, load, passthrough
from schemas.permits import RawPermit
from schemas.topics import Topic
from services.categorizer.builders import BuilderSettings
from services.categorizer.categorize import categorize
from services.categorizer.rule_book import load_rules
from services.categorizer.service import build_registry, build_stage
from services.common.config import KafkaSettings, RuntimeSettings
from services.common.kafka import create_topics
from services.common.runtime import StreamRuntime
from services.ingest.formats import read_permits
from tests.support.databases import migrated_database

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
AUSTIN = SHARED_DATA / "austin_permits_2015-01_to_2016-04.csv"
SCRAPED_AT = datetime(2016, 5, 1, tzinfo=UTC)
STAGE_PERMITS = 40_000
RUNS = 3
PASSTHROUGH_SINK = "bench.passthrough"


def measure_function(permits: list[RawPermit]) -> tuple[float, float]:
    """categorize() calls per wall-clock second and per CPU second over every permit.

    The CPU figure is the one-core throughput; the wall figure also counts the time other
    processes on this shared machine took the core away.
    """
    rules = load_rules()
    started, cpu_started = time.perf_counter(), time.process_time()
    for permit in permits:
        categorize(permit, rules, SCRAPED_AT)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return len(permits) / wall, len(permits) / cpu


def outputs_rate(settings: KafkaSettings, topics: list[str], expect: int) -> float:
    """Messages/s over several output topics, first to last broker timestamp among them."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": f"rate-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([settings.topic(t) for t in topics])
    stamps: list[int] = []
    deadline = time.monotonic() + 300
    while len(stamps) < expect and time.monotonic() < deadline:
        stamps.extend(m.timestamp()[1] for m in consumer.consume(1000, 0.5) if m.error() is None)
    consumer.close()
    if len(stamps) < expect:
        raise RuntimeError(f"only {len(stamps)} of {expect} messages arrived on {topics}")
    return len(stamps) / (max(max(stamps) - min(stamps), 1) / 1000)


def measure_stage(
    bootstrap: str, messages: list[tuple[str, bytes]], database_url: str | None = None
) -> tuple[float, float]:
    """(stage permits/s, passthrough msg/s) over the same messages on the same broker; with
    ``database_url``, the stage with the builder registry on that (empty) database."""
    settings = fresh_settings(bootstrap)
    create_topics(settings, [PASSTHROUGH_SINK])
    load(settings, Topic.RAW.value, messages)
    ceiling = passthrough(settings, Topic.RAW.value, PASSTHROUGH_SINK, len(messages))
    registry = build_registry(database_url, BuilderSettings()) if database_url else None
    stage = build_stage(load_rules(), registry=registry)
    runtime = StreamRuntime(stage, settings, RuntimeSettings())
    thread = threading.Thread(target=runtime.run, daemon=True)
    thread.start()
    outputs = [Topic.CATEGORIZED.value, Topic.DISCARDED.value]
    rate = outputs_rate(settings, outputs, len(messages))
    runtime.request_stop()
    thread.join(60)
    return rate, ceiling


def main() -> None:
    bootstrap = kafka_bootstrap()
    permits = list(read_permits(AUSTIN, "austin", SCRAPED_AT))
    function_runs = [measure_function(permits) for _ in range(RUNS)]
    messages = [(p.key, p.model_dump_json().encode()) for p in permits[:STAGE_PERMITS]]
    stage_runs = [measure_stage(bootstrap, messages) for _ in range(RUNS)]
    registry_runs = []
    for _ in range(RUNS):
        with migrated_database(postgres_server()) as database_url:
            registry_runs.append(measure_stage(bootstrap, messages, database_url))

    print(f"categorize(), {len(permits):,} Austin permits, one core (wall / CPU time):")
    for wall, cpu in function_runs:
        print(f"  {wall:>10,.0f} / {cpu:>10,.0f} permits/s")
    for name, runs in (("list only", stage_runs), ("with registry", registry_runs)):
        print(f"stage, {name}:")
        print(f"{'run':<5}{'stage permits/s':>18}{'passthrough msg/s':>20}{'ratio':>8}")
        for i, (rate, ceiling) in enumerate(runs, 1):
            print(f"{i:<5}{rate:>18,.0f}{ceiling:>20,.0f}{rate / ceiling:>8.2f}")
    function_rate = median(wall for wall, _ in function_runs)
    function_cpu_rate = median(cpu for _, cpu in function_runs)
    stage_rate = median(rate for rate, _ in stage_runs)
    ratio = median(rate / ceiling for rate, ceiling in stage_runs)
    registry_rate = median(rate for rate, _ in registry_runs)
    registry_ratio = median(rate / ceiling for rate, ceiling in registry_runs)
    print(
        f"median: categorize() {function_rate:,.0f} permits/s wall, {function_cpu_rate:,.0f} per"
        f" CPU second; stage {stage_rate:,.0f} permits/s,"
        f" {ratio:.2f} of passthrough; with the registry {registry_rate:,.0f} permits/s,"
        f" {registry_ratio:.2f} of passthrough ({len(messages):,} permits)"
    )
    record(
        "categorizer",
        function_permits=len(permits),
        function_permits_per_s=round(function_rate),
        function_permits_per_cpu_s=round(function_cpu_rate),
        stage_permits=len(messages),
        stage_permits_per_s=round(stage_rate),
        passthrough_msgs_per_s=round(median(ceiling for _, ceiling in stage_runs)),
        ratio_to_passthrough=round(ratio, 3),
        registry_stage_permits_per_s=round(registry_rate),
        registry_ratio_to_passthrough=round(registry_ratio, 3),
    )


if __name__ == "__main__":
    main()
