"""``python -m bench notifier``: how fast a stored lead reaches a buyer's webhook, and what
matching costs.

1. Matching: 10,000 random subscriptions in the notifier's index (45 % by ZIP codes, 40 % by
   counties, 10 % by category, 5 % by trade group alone; 20 % with a radius, a third with a
   minimum score; half the buyers limited to 4 of 250 counties); the time per lead to find
   every match, against checking all 10,000 (the baseline). Aim: < 1 ms per lead.
2. End to end: real Austin permits published to ``permits.raw`` at 50/s through categorizer,
   enricher, scorer (LLM test server answering instantly), store and notifier, each its own
   ``leadstream run`` process on the real broker and PostgreSQL; one subscription with no
   filters receives every sellable lead on a loopback receiver. Latency = webhook received −
   permit published, per lead. Aim: p99 < 3 s.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import Producer
from sqlalchemy import Engine

from bench.infra import infrastructure, record
from bench.passthrough import fresh_settings
from localinfra.fake_llm import FakeLLM
from localinfra.webhook_receiver import WebhookReceiver
from schemas import Category, Topic, TradeGroup
from services.common.config import KafkaSettings
from services.common.db.engine import make_engine
from services.exporter.buyers import Buyer, Entitlements
from services.ingest.formats import read_permits
from services.notifier.index import ActiveSubscription, SubscriptionIndex, entitled
from services.subscriptions.filters import LeadFacts, SubscriptionFilters, matches
from tests.notifier.seeds import add_buyer, add_subscription
from tests.support.databases import migrated_database
from tests.support.kafka import delete_prefixed_topics

REPO = Path(__file__).resolve().parents[1]
AUSTIN = REPO.parent / "shared" / "data" / "austin_permits_2015-01_to_2016-04.csv"
SCRAPED_AT = datetime(2015, 2, 15, 6, tzinfo=UTC)
RATE = 50.0  # permits per second
PERMITS = int(os.environ.get("BENCH_NOTIFIER_PERMITS", "1500"))
SUBSCRIPTIONS = 10_000
CATEGORIES = [c for c in Category if c.value not in ("other", "unknown")]
GROUP_OF = {
    Category.POOL: TradeGroup.LUXURY_OUTDOOR,
    Category.ROOF: TradeGroup.HOME_EXTERIOR,
    Category.HVAC: TradeGroup.HOME_SYSTEMS,
    Category.SOLAR: TradeGroup.HOME_SYSTEMS,
    Category.REMODEL: TradeGroup.STRUCTURAL,
    Category.FOUNDATION: TradeGroup.STRUCTURAL,
    Category.OUTDOOR_LIVING: TradeGroup.LUXURY_OUTDOOR,
}
COUNTIES = [f"county{n}" for n in range(250)]  # Texas has 254
ZIPS = [f"{75000 + n}" for n in range(2000)]


def main() -> None:
    matching_cost()
    outbox_cost()
    endpoints_down()
    end_to_end()


# ---------------------------------------------------------------------- 3. endpoints down


def endpoints_down(endpoints: int = 1_000, leads: int = 60, samples: int = 10) -> None:
    """The notifier's RSS while every delivery to ``endpoints`` dead endpoints is retried."""
    from sqlalchemy import func, select

    from services.common.db.tables.notifier import webhook_attempts
    from tests.notifier.seeds import store
    from tests.store.factories import scored_lead

    bootstrap, server_url = infrastructure()
    kafka = fresh_settings(bootstrap)
    try:
        with migrated_database(server_url) as url:
            engine = make_engine(url)
            buyer = add_buyer(engine, "Down Co", [g.value for g in TradeGroup])
            for n in range(endpoints):  # port 9 on loopback: connection refused
                add_subscription(engine, buyer, f"http://127.0.0.{1 + n % 200}:9/hook{n}")
            env = {
                **os.environ,
                **kafka.environment(),
                "DATABASE_URL": url,
                "PYTHONPATH": str(REPO),
                "LEADSTREAM_WEBHOOK_ALLOW_PRIVATE": "1",
                "LEADSTREAM_WEBHOOK_RETRY_SCHEDULE_S": "[0.2, 0.5, 1]",
                "LEADSTREAM_WEBHOOK_RETRY_EVERY_S": "1",
                "LEADSTREAM_LOG_LEVEL": "WARNING",
            }
            proc = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "run", "notifier"], cwd=REPO, env=env
            )
            rss: list[int] = []
            try:
                time.sleep(8)
                store(engine, [scored_lead(i) for i in range(leads)])
                time.sleep(10)  # matched and queued
                for _ in range(samples):
                    time.sleep(4)
                    status = Path(f"/proc/{proc.pid}/status").read_text()
                    rss.append(int(status.split("VmRSS:")[1].split()[0]) // 1024)
                with engine.connect() as conn:
                    attempts = conn.execute(
                        select(func.count()).select_from(webhook_attempts)
                    ).scalar_one()
            finally:
                proc.terminate()
                proc.wait(30)
                engine.dispose()
    finally:
        delete_prefixed_topics(kafka)
    print(
        f"{endpoints:,} dead endpoints, {endpoints * leads:,} deliveries: notifier RSS "
        f"{min(rss)}–{max(rss)} MB over {4 * samples} s, {attempts:,} attempts"
    )
    record("notifier_endpoints_down", rss_min_mb=min(rss), rss_max_mb=max(rss), attempts=attempts)


# ---------------------------------------------------------------------- 0. the store's outbox


def outbox_cost(rounds: int = 6, leads: int = 4_000) -> None:
    """The store writer with and without its outbox insert, alternating on one database."""
    from services.store.writer import BatchWriter
    from tests.store.factories import scored_lead

    rates: dict[str, list[float]] = {"with": [], "without": []}
    _, server_url = infrastructure()
    with migrated_database(server_url) as url:
        engine = make_engine(url)
        first = 0
        for _ in range(rounds):
            for mode in rates:
                writer = BatchWriter(engine)
                if mode == "without":
                    writer._write_lead_events = lambda conn, announced: None  # type: ignore[method-assign]
                messages = [scored_lead(i) for i in range(first, first + leads)]
                first += leads
                started = time.perf_counter()
                for batch in range(0, leads, 500):
                    writer.write(messages[batch : batch + 500])
                rates[mode].append(leads / (time.perf_counter() - started))
        engine.dispose()
    with_outbox, without = (statistics.median(rates[mode]) for mode in ("with", "without"))
    print(
        f"store writer, {rounds} × {leads:,} new leads in batches of 500: {with_outbox:,.0f} "
        f"leads/s with the outbox, {without:,.0f} without (ratio {with_outbox / without:.2f})"
    )
    record("notifier_outbox", with_outbox=round(with_outbox), without=round(without))


# ---------------------------------------------------------------------- 1. matching


def _subscriptions(rng: random.Random) -> list[ActiveSubscription]:
    subs = []
    groups = sorted({g.value for g in GROUP_OF.values()})
    for i in range(SUBSCRIPTIONS):
        counties = rng.sample(COUNTIES, 4) if rng.random() < 0.5 else None
        buyer = Buyer(i, f"b{i}", Entitlements.of(rng.sample(groups, 2), ["A", "B", "C"], counties))
        filters: dict[str, object] = {"min_score": rng.choice([None, 60, 80])}
        shape = rng.random()
        if shape < 0.45:
            filters["zip_codes"] = rng.sample(ZIPS, 8)
        elif shape < 0.85:
            filters["counties"] = rng.sample(COUNTIES, 2)
        elif shape < 0.95:
            filters["categories"] = [rng.choice(list(GROUP_OF)).value]
        if rng.random() < 0.2:
            filters["near"] = {"lat": 30 + rng.random(), "lon": -98 + rng.random(), "miles": 25}
        subs.append(
            ActiveSubscription(f"sub_{i}", buyer, SubscriptionFilters.model_validate(filters), "")
        )
    return subs


def _lead(rng: random.Random) -> LeadFacts:
    category = rng.choice(list(GROUP_OF))
    return LeadFacts(
        trade_group=GROUP_OF[category].value,
        category=category.value,
        tier=rng.choice(["A", "B", "C"]),
        county=rng.choice(COUNTIES),
        city="austin",
        zip_code=rng.choice(ZIPS),
        score=rng.randint(30, 100),
        latitude=30 + rng.random(),
        longitude=-98 + rng.random(),
    )


def matching_cost() -> None:
    rng = random.Random(14)
    subs = _subscriptions(rng)
    started = time.perf_counter()
    index = SubscriptionIndex(subs)
    build_s = time.perf_counter() - started
    leads = [_lead(rng) for _ in range(20_000)]
    started = time.perf_counter()
    matched = sum(len(index.matching(lead)) for lead in leads)
    indexed_us = (time.perf_counter() - started) / len(leads) * 1e6
    candidates = statistics.mean(len(index.candidates(lead)) for lead in leads[:2000])
    sample = leads[:300]
    started = time.perf_counter()
    for lead in sample:
        [s for s in subs if entitled(s.buyer.entitlements, lead) and matches(s.filters, lead)]
    scan_us = (time.perf_counter() - started) / len(sample) * 1e6
    print(
        f"matching, {SUBSCRIPTIONS:,} subscriptions: index {indexed_us:.1f} µs per lead "
        f"({candidates:.0f} candidates checked, {matched / len(leads):.2f} matches per lead; "
        f"built in {build_s * 1000:.0f} ms); full scan {scan_us:.0f} µs per lead "
        f"(ratio {scan_us / indexed_us:.0f}x)"
    )
    record(
        "notifier_matching",
        subscriptions=SUBSCRIPTIONS,
        index_us_per_lead=round(indexed_us, 1),
        scan_us_per_lead=round(scan_us, 1),
        candidates=round(candidates, 1),
    )


# ---------------------------------------------------------------------- 2. end to end


def _permits() -> list[tuple[str, bytes]]:
    seen: set[str] = set()
    out = []
    for permit in read_permits(AUSTIN, "austin", SCRAPED_AT):
        if permit.key in seen:
            continue
        seen.add(permit.key)
        out.append((permit.key, permit.model_dump_json().encode()))
        if len(out) == PERMITS:
            break
    return out


def end_to_end() -> None:
    bootstrap, server_url = infrastructure()
    kafka = fresh_settings(bootstrap)
    permits = _permits()
    try:
        with migrated_database(server_url) as url, FakeLLM() as llm:
            engine = make_engine(url)
            receiver = WebhookReceiver()
            try:
                _measure(engine, url, kafka, llm, receiver, permits)
            finally:
                receiver.stop()
                engine.dispose()
    finally:
        delete_prefixed_topics(kafka)


def _measure(
    engine: Engine,
    url: str,
    kafka: KafkaSettings,
    llm: FakeLLM,
    receiver: WebhookReceiver,
    permits: list[tuple[str, bytes]],
) -> None:
    buyer = add_buyer(engine, "Everything Co", [g.value for g in TradeGroup])
    add_subscription(engine, buyer, receiver.url("/all"))
    env = {
        **os.environ,
        **kafka.environment(),
        "DATABASE_URL": url,
        "PYTHONPATH": str(REPO),
        "LEADSTREAM_LLM_BASE_URL": llm.url,
        "LEADSTREAM_LLM_API_KEY": "bench-key",
        "LEADSTREAM_WEBHOOK_ALLOW_PRIVATE": "1",
        "LEADSTREAM_LOG_LEVEL": "WARNING",
    }
    services = ["categorizer", "enricher", "scorer", "store", "notifier"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "services.cli", "run", name],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name in services
    ]
    try:
        time.sleep(12)  # every consumer joined its group
        producer = Producer({"bootstrap.servers": kafka.bootstrap_servers, "linger.ms": 0})
        published: dict[str, float] = {}
        started = time.monotonic()
        for n, (key, value) in enumerate(permits):
            due = started + n / RATE
            time.sleep(max(0.0, due - time.monotonic()))
            producer.produce(kafka.topic(Topic.RAW.value), value, key.encode())
            producer.poll(0)
            published[key] = time.time()
        producer.flush(30)
        time.sleep(15)  # the last permits through the pipeline (and any retry)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
    first: dict[str, float] = {}
    for received in receiver.on("/all"):
        data = json.loads(received.body)["data"]
        key = f"{data['jurisdiction']}:{data['permit_id']}"
        first.setdefault(key, received.at)
    latencies = sorted(first[key] - published[key] for key in first if key in published)
    if not latencies:
        print("end to end: no webhook arrived")
        return
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"end to end at {RATE:.0f} permits/s, {len(permits):,} permits → {len(latencies):,} "
        f"webhooks: publish → received p50 {p50:.2f} s, p99 {p99:.2f} s, max {latencies[-1]:.2f} s"
    )
    record(
        "notifier_end_to_end",
        permits=len(permits),
        webhooks=len(latencies),
        p50_s=round(p50, 3),
        p99_s=round(p99, 3),
        max_s=round(latencies[-1], 3),
    )
