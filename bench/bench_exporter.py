"""The buyer API over 1,000,000 leads in PostgreSQL: page latency and CSV streaming rate.

Baselines measured in the same run on the same database: the page query run directly through
SQLAlchemy (what HTTP, auth and JSON add on top), and PostgreSQL's own ``COPY … TO STDOUT
CSV`` of the same rows (the ceiling for the CSV stream). Also prints the plan of the page
query, so an index regression shows up as a sequential scan.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, text

from bench.exporter_seed import BOUGHT, SELLABLE, buy_sold_leads, fill_leads, marketplace_buyer
from bench.infra import postgres_server, record
from schemas.taxonomy import Category, Tier, TradeGroup
from services.common.db.engine import make_engine
from services.exporter.api import create_app
from services.exporter.buyers import Buyer, BuyerPlan, create_buyer
from services.exporter.queries import LeadFilters, LeadStatus, csv_query, fetch_page, lead_query
from services.exporter.settings import ExporterSettings
from services.exporter.tier_files import export_tier_files
from tests.exporter.live import free_port
from tests.support.databases import migrated_database

LEADS = int(os.environ.get("BENCH_EXPORTER_LEADS", "1000000"))
PAGE_REQUESTS = 400
PAGE_SIZE = 50
ADMIN_KEY = "bench-admin-key-0123456789abcdefghijkl"  # the exporter wants 32+ characters
# Filter sets a buyer's CRM would send; each page request uses the next one.
PAGE_FILTERS: tuple[dict[str, Any], ...] = (
    {},
    {"tier": "A"},
    {"trade_group": "home_exterior", "tier": "B"},
    {"category": "pool", "min_score": 60},
    {"category": "fence"},  # a small category: many index entries skipped per page
    {"county": "Dallas", "min_score": 70},
    {"city": "Austin", "tier": "A"},
    {"scored_since": "2026-03-01T00:00:00+00:00", "min_score": 80},
    {"trade_group": "structural", "tier": "C"},  # below every A and B lead in the index
    {"status": "sold"},  # the buyer's own purchases among 50,000 sold leads
    {"county": "Nowhere"},  # matches nothing
)
EXPLAINED = PAGE_FILTERS[4]
CSV_FILTER = {"trade_group": "luxury_outdoor"}


@dataclass(frozen=True)
class ExportRun:
    rows: int
    seconds: float
    marked_exported: int

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def main() -> None:
    with migrated_database(postgres_server()) as url:
        engine = make_engine(url, pool_size=4)
        started = time.monotonic()
        fill_leads(engine, LEADS)
        fill_s = time.monotonic() - started
        buyer, key = create_buyer(
            engine,
            "bench",
            list(SELLABLE),
            [Tier.A, Tier.B, Tier.C],
            counties=None,
            plan=BuyerPlan.SUBSCRIPTION,
        )
        buy_sold_leads(engine, buyer, BOUGHT)
        app = create_app(ExporterSettings(database_url=url, admin_key=ADMIN_KEY))
        api_engine = app.state.context.engine  # the API's own connection settings
        plan = _explain(api_engine, buyer)
        market_buyer, market_key = marketplace_buyer(engine)
        with _service_process(url) as base_url:
            sql_ms, api_ms = _page_latencies(api_engine, buyer, base_url, key)
            api_rate, api_rows = _csv_rate_api(base_url, key)
            # The same pages and CSV as previews (priced, redacted), in the same run.
            _, market_ms = _page_latencies(api_engine, market_buyer, base_url, market_key)
            market_rate, _ = _csv_rate_api(base_url, market_key)
        copy_rate, copy_rows = _csv_rate_copy(engine, buyer)
        exports = _export_rates(engine)
        api_engine.dispose()
        engine.dispose()
    _report(
        fill_s,
        plan,
        sql_ms,
        api_ms,
        (api_rate, api_rows),
        (copy_rate, copy_rows),
        exports,
        (market_ms, market_rate),
    )


@contextmanager
def _service_process(database_url: str) -> Iterator[str]:
    """``leadstream run exporter`` as its own process (as deployed: the client measuring it
    does not share its interpreter); yields its base URL once it answers."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LEADSTREAM_API_PORT": str(port),
        "LEADSTREAM_API_HOST": "127.0.0.1",
        "LEADSTREAM_ADMIN_KEY": ADMIN_KEY,
    }
    command = [sys.executable, "-m", "services.cli", "run", "exporter"]
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base_url}/healthz", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the exporter service did not start") from None
                time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _explain(engine: Engine, buyer: Buyer) -> str:
    stmt = lead_query(buyer, LeadFilters(**_typed(EXPLAINED)), 1).limit(PAGE_SIZE + 1)
    compiled = stmt.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        rows = conn.execute(text(f"EXPLAIN (ANALYZE, BUFFERS OFF, COSTS OFF) {compiled}"))
        return "\n".join(row[0] for row in rows)


def _typed(params: dict[str, Any]) -> dict[str, Any]:
    """Query parameters as LeadFilters fields."""
    converters: dict[str, Callable[[Any], Any]] = {
        "tier": Tier,
        "trade_group": TradeGroup,
        "category": Category,
        "scored_since": datetime.fromisoformat,
        "status": LeadStatus,
    }
    return {k: converters.get(k, lambda v: v)(v) for k, v in params.items()}


def _page_latencies(
    engine: Engine, buyer: Buyer, base_url: str, key: str
) -> tuple[list[float], list[float]]:
    """(SQL ms, API ms) of the same pages, interleaved so both see the same machine load.

    Each filter set pages forward through its own cursor: the API's via ``next_cursor``, the
    baseline's by running the page query itself.
    """
    sql_ms, api_ms = [], []
    sql_cursors: dict[int, Any] = {}
    api_cursors: dict[int, str | None] = {}
    with (
        engine.connect() as conn,
        httpx.Client(base_url=base_url, headers={"X-API-Key": key}, timeout=30) as http,
    ):
        for n in range(PAGE_REQUESTS):
            which = n % len(PAGE_FILTERS)
            started = time.perf_counter()
            _, sql_cursors[which] = fetch_page(
                conn,
                buyer,
                LeadFilters(**_typed(PAGE_FILTERS[which])),
                after=sql_cursors.get(which),
                limit=PAGE_SIZE,
                max_buyers_per_lead=1,
            )
            sql_ms.append((time.perf_counter() - started) * 1000)
            conn.rollback()

            params = {**PAGE_FILTERS[which], "limit": PAGE_SIZE}
            if api_cursors.get(which):
                params["cursor"] = api_cursors[which]
            started = time.perf_counter()
            response = http.get("/v1/leads", params=params)
            api_ms.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
            api_cursors[which] = response.json()["next_cursor"]
    return sql_ms, api_ms


def _csv_rate_api(base_url: str, key: str) -> tuple[float, int]:
    with httpx.Client(base_url=base_url, headers={"X-API-Key": key}, timeout=600) as http:
        started = time.perf_counter()
        lines = 0
        with http.stream("GET", "/v1/leads.csv", params=CSV_FILTER) as response:
            response.raise_for_status()
            for chunk in response.iter_bytes():
                lines += chunk.count(b"\n")
        elapsed = time.perf_counter() - started
    rows = lines - 1  # header; the bench data has no line breaks inside cells
    return rows / elapsed, rows


class _CountingSink:
    def __init__(self) -> None:
        self.lines = 0

    def write(self, data: str | bytes) -> int:
        self.lines += data.count("\n" if isinstance(data, str) else b"\n")  # type: ignore[arg-type]
        return len(data)


def _csv_rate_copy(engine: Engine, buyer: Buyer) -> tuple[float, int]:
    filters = LeadFilters(**_typed(CSV_FILTER))
    compiled = csv_query(buyer, filters, 1).compile(engine, compile_kwargs={"literal_binds": True})
    sink = _CountingSink()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        started = time.perf_counter()
        cursor.copy_expert(f"COPY ({compiled}) TO STDOUT WITH CSV", sink)
        elapsed = time.perf_counter() - started
    finally:
        raw.close()
    return sink.lines / elapsed, sink.lines


def _export_rates(engine: Engine) -> tuple[ExportRun, ExportRun]:
    """The first export (every lead moves new → exported), then a rewrite of the same files."""
    out = Path("/tmp") / f"leadstream-bench-export-{uuid.uuid4().hex[:8]}"
    try:
        return _timed_export(engine, out), _timed_export(engine, out)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _timed_export(engine: Engine, out: Path) -> ExportRun:
    started = time.perf_counter()
    report = export_tier_files(engine, out, max_buyers_per_lead=1, now=datetime.now(UTC))
    elapsed = time.perf_counter() - started
    rows = sum(report.files.values())
    return ExportRun(rows, elapsed, report.marked_exported)


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def _report(
    fill_s: float,
    plan: str,
    sql_ms: list[float],
    api_ms: list[float],
    api_csv: tuple[float, int],
    copy_csv: tuple[float, int],
    exports: tuple[ExportRun, ExportRun],
    marketplace: tuple[list[float], float],
) -> None:
    market_ms, market_rate = marketplace
    index_used = "Index Scan Backward using ix_scored_leads_score_recency" in plan
    print(f"{LEADS:,} leads generated in {fill_s:.0f} s")
    print(f"plan of a page ({EXPLAINED}):\n  " + plan.replace("\n", "\n  "))
    print(f"\n{'page of ' + str(PAGE_SIZE):<28}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for name, values in (("GET /v1/leads (HTTP)", api_ms), ("page query (SQL only)", sql_ms)):
        print(
            f"{name:<28}{statistics.median(values):>9.1f}{_percentile(values, 99):>9.1f}"
            f"{max(values):>9.1f}"
        )
    print(f"ratio p50 API/SQL: {statistics.median(api_ms) / statistics.median(sql_ms):.2f}")
    print(f"\n{'GET /v1/leads per filter set':<62}{'p50 ms':>9}{'max ms':>9}")
    for which, params in enumerate(PAGE_FILTERS):
        mine = api_ms[which :: len(PAGE_FILTERS)]
        label = json.dumps(params)[:60]
        print(f"{label:<62}{statistics.median(mine):>9.1f}{max(mine):>9.1f}")
    print(f"\n{'CSV of ' + str(CSV_FILTER):<46}{'rows':>10}{'rows/s':>10}")
    print(f"{'GET /v1/leads.csv':<46}{api_csv[1]:>10,}{api_csv[0]:>10,.0f}")
    ceiling = "COPY ... TO STDOUT CSV (PostgreSQL ceiling)"
    print(f"{ceiling:<46}{copy_csv[1]:>10,}{copy_csv[0]:>10,.0f}")
    print(f"ratio API/COPY: {api_csv[0] / copy_csv[0]:.2f}")
    print(
        f"\nmarketplace buyer (previews, priced): page p50 {statistics.median(market_ms):.1f} ms "
        f"(subscription {statistics.median(api_ms):.1f}), CSV {market_rate:,.0f} rows/s "
        f"(subscription {api_csv[0]:,.0f}, ratio {market_rate / api_csv[0]:.2f})"
    )
    title = "leadstream export (all files)"
    print(f"\n{title:<34}{'rows':>10}{'seconds':>9}{'rows/s':>9}{'new→exported':>14}")
    for name, run in zip(("first (marks every lead)", "rewrite"), exports, strict=True):
        print(
            f"{name:<34}{run.rows:>10,}{run.seconds:>9.1f}{run.rate:>9,.0f}{run.marked_exported:>14,}"
        )
    record(
        "exporter",
        leads=LEADS,
        page_p50_ms=round(statistics.median(api_ms), 2),
        page_p99_ms=round(_percentile(api_ms, 99), 2),
        sql_page_p50_ms=round(statistics.median(sql_ms), 2),
        sql_page_p99_ms=round(_percentile(sql_ms, 99), 2),
        csv_rows_per_s=round(api_csv[0]),
        copy_rows_per_s=round(copy_csv[0]),
        first_export_rows_per_s=round(exports[0].rate),
        rewrite_export_rows_per_s=round(exports[1].rate),
        keyset_index_used=index_used,
        marketplace_page_p50_ms=round(statistics.median(market_ms), 2),
        marketplace_csv_rows_per_s=round(market_rate),
        marketplace_to_subscription_csv=round(market_rate / api_csv[0], 2),
    )


if __name__ == "__main__":
    main()
