"""The scorer at LLM latency: one process, a local LLM server answering in 2 s.

LLM latency, not CPU, bounds a scorer, so the yardstick is the ideal a perfect overlap of
requests would give: in-flight / latency (400 in flight at 2 s = 200 leads/s). Each run starts
one real scorer process (``python -m services.scorer.service``) on a backlog of leads in
``permits.enriched``, with its PostgreSQL scoring cache, and measures:

- leads/s on ``leads.scored`` between the first and last output (broker timestamps), and its
  ratio to the ideal;
- the process's RSS once warm (a third of the leads out) and at the end: flat memory means
  nothing is kept per lead;
- its CPU time per lead, which says how far one core would carry it with a faster LLM.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from confluent_kafka import Consumer

from bench.infra import infrastructure, record
from bench.passthrough import fresh_settings, load
from localinfra.fake_llm import FakeLLM, FakeLLMConfig
from schemas import Topic
from services.common.config import KafkaSettings
from tests.scorer.factories import enriched_lead
from tests.support.databases import copy_of, migrated_database

LEADS = int(os.environ.get("BENCH_SCORER_LEADS", "12000"))
IN_FLIGHT = int(os.environ.get("BENCH_SCORER_IN_FLIGHT", "400"))
LATENCY_S = 2.0
RUNS = 3
REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Run:
    leads_per_s: float
    rss_warm_mb: float
    rss_end_mb: float
    rss_peak_mb: float
    cpu_ms_per_lead: float


def main() -> None:
    bootstrap, server_url = infrastructure()
    records = [
        (lead.key, lead.model_dump_json().encode()) for lead in map(enriched_lead, range(LEADS))
    ]
    llm_config = FakeLLMConfig(latency_s=LATENCY_S)
    with migrated_database(server_url) as template, FakeLLM(llm_config) as llm:
        runs = [_one_run(bootstrap, server_url, template, records, llm.url) for _ in range(RUNS)]
    _report(runs)


def _one_run(
    bootstrap: str, server_url: str, template: str, records: list[tuple[str, bytes]], llm_url: str
) -> Run:
    kafka = fresh_settings(bootstrap)
    load(kafka, Topic.ENRICHED.value, records)
    with copy_of(server_url, template) as database_url:
        scorer = _start_scorer(kafka, database_url, llm_url)
        try:
            return _follow(kafka, scorer, len(records))
        finally:
            scorer.terminate()
            scorer.wait(60)


def _start_scorer(kafka: KafkaSettings, database_url: str, llm_url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        **kafka.environment(),
        "DATABASE_URL": database_url,
        "LEADSTREAM_LLM_BASE_URL": llm_url,
        "LEADSTREAM_LLM_API_KEY": "bench",
        "LEADSTREAM_MAX_IN_FLIGHT": str(IN_FLIGHT),
        "LEADSTREAM_LLM_MAX_IN_FLIGHT": str(IN_FLIGHT),
        "LEADSTREAM_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen([sys.executable, "-m", "services.scorer.service"], cwd=REPO, env=env)


def _follow(kafka: KafkaSettings, scorer: subprocess.Popen[bytes], expect: int) -> Run:
    """Read the scored leads while sampling the scorer's memory, until all have arrived."""
    consumer = Consumer(
        {
            "bootstrap.servers": kafka.bootstrap_servers,
            "group.id": f"bench-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([kafka.topic(Topic.SCORED.value)])
    stamps: list[int] = []
    rss: list[float] = []
    cpu_warm_s = 0.0
    deadline = time.monotonic() + 30 + 5 * expect * LATENCY_S / IN_FLIGHT
    try:
        while len(stamps) < expect:
            if time.monotonic() > deadline or scorer.poll() is not None:
                raise RuntimeError(f"only {len(stamps)} of {expect} leads were scored")
            stamps.extend(m.timestamp()[1] for m in consumer.consume(1000, 1.0) if not m.error())
            if len(stamps) >= expect // 3:  # warm: every connection open, every buffer grown
                if not rss:
                    cpu_warm_s, warm_count = _cpu_s(scorer.pid), len(stamps)
                rss.append(_rss_mb(scorer.pid))
    finally:
        consumer.close()
    span_s = max(max(stamps) - min(stamps), 1) / 1000
    return Run(
        leads_per_s=len(stamps) / span_s,
        rss_warm_mb=rss[0],
        rss_end_mb=rss[-1],
        rss_peak_mb=max(rss),
        cpu_ms_per_lead=(_cpu_s(scorer.pid) - cpu_warm_s) * 1000 / (len(stamps) - warm_count),
    )


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds the process has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def _report(runs: list[Run]) -> None:
    ideal = IN_FLIGHT / LATENCY_S
    print(
        f"{LEADS:,} leads, {IN_FLIGHT} in flight, LLM latency {LATENCY_S:g} s: ideal {ideal:.0f}/s"
    )
    header = [("leads/s", 9), ("of ideal", 10), ("RSS warm MB", 13), ("RSS end MB", 12)]
    header += [("peak MB", 9), ("CPU ms/lead", 13)]
    print(f"{'run':<5}" + "".join(f"{name:>{width}}" for name, width in header))
    for i, run in enumerate(runs, 1):
        print(
            f"{i:<5}{run.leads_per_s:>9.1f}{run.leads_per_s / ideal:>10.2f}"
            f"{run.rss_warm_mb:>13.0f}{run.rss_end_mb:>12.0f}{run.rss_peak_mb:>9.0f}"
            f"{run.cpu_ms_per_lead:>13.2f}"
        )
    rate = statistics.median(r.leads_per_s for r in runs)
    growth = statistics.median(r.rss_end_mb - r.rss_warm_mb for r in runs)
    print(f"median {rate:.1f} leads/s = {rate / ideal:.2f} of ideal; RSS growth {growth:+.0f} MB")
    record(
        "scorer",
        leads=LEADS,
        in_flight=IN_FLIGHT,
        latency_s=LATENCY_S,
        ideal_leads_per_s=ideal,
        median_leads_per_s=round(rate, 1),
        median_ratio_to_ideal=round(rate / ideal, 3),
        median_rss_growth_mb=round(growth, 1),
        runs=[asdict(run) for run in runs],
    )


if __name__ == "__main__":
    main()
