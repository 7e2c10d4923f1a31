"""CAD import rows/s and enricher permits/s against a 100,000-parcel table.

The table is the real 1% Tarrant sample scaled up: copy k of every parcel gets account
"<account>S<k>" and its house numbers shifted by k × 100,000, so every copy is a distinct,
matchable address. The stage reads real-looking permits (sample addresses written the portal
ways, a quarter of them at addresses the table lacks) and is compared with the bare
consume→produce loop over the same messages on the same broker, in the same run.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

from bench.infra import infrastructure, record
from bench.passthrough import fresh_settings, load, output_rate, passthrough
from schemas.topics import Topic
from services.common.config import RuntimeSettings
from services.common.db.engine import make_engine
from services.common.kafka import create_topics
from services.common.runtime import StreamRuntime
from services.enricher.address import normalize_address
from services.enricher.cad_formats import read_tad_json
from services.enricher.cad_import import import_records
from services.enricher.service import build_stage
from tests.enricher.factories import categorized, permit
from tests.enricher.portal_forms import TARRANT_SAMPLE, portal_forms
from tests.support.databases import migrated_database

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PARCELS = 100_000
PERMITS = 30_000
RUNS = 3
HOUSE_NUMBER_SHIFT = 100_000
PASSTHROUGH_SINK = "bench.passthrough"


def _shift(address: str, copy: int) -> str:
    number, _, rest = address.partition(" ")
    if not number.isdigit() or not copy:
        return address
    return f"{int(number) + copy * HOUSE_NUMBER_SHIFT} {rest}"


def scaled_parcels(sample: list[dict[str, Any]], count: int) -> Iterator[dict[str, Any]]:
    for i in range(count):
        copy, parcel = divmod(i, len(sample))
        original = sample[parcel]
        situs = _shift(original["situs_address"], copy)
        at_home = original["owner_address"] == original["situs_address"]
        yield {
            **original,
            "account_num": f"{original['account_num']}S{copy}" if copy else original["account_num"],
            "gis_link": f"{original['gis_link']}-S{copy}" if copy else original["gis_link"],
            "situs_address": situs,
            "owner_address": situs if at_home else original["owner_address"],
        }


def write_scaled_file(sample: list[dict[str, Any]], path: Path) -> None:
    with path.open("w") as out:
        out.write('{"parcels": [\n')
        for i, parcel in enumerate(scaled_parcels(sample, PARCELS)):
            out.write(("," if i else "") + json.dumps(parcel) + "\n")
        out.write("]}\n")


def permit_messages(sample: list[dict[str, Any]]) -> list[tuple[str, bytes]]:
    """Permits at table addresses in portal spellings; every fourth at an address it lacks."""
    parcels = list(scaled_parcels(sample, PARCELS))
    messages = []
    for i in range(PERMITS):
        parcel = parcels[(i * 7_919) % PARCELS]  # a stride that visits the table evenly
        address = parcel["situs_address"]
        if i % 4 == 3:
            address = _shift(address, PARCELS)  # far beyond every copy: no such house
        forms = list(portal_forms(address))
        item = categorized(
            permit(
                f"BENCH-{i:06d}",
                property_address=forms[i % len(forms)],
                owner_name="PORTAL OWNER",
                scraped_at=datetime(2026, 4, 11, tzinfo=UTC),
            )
        )
        messages.append((item.key, item.model_dump_json().encode()))
    return messages


def measure_import(database_url: str, path: Path) -> tuple[float, float]:
    """(rows/s of the first import, rows/s of an unchanged re-import)."""
    engine = make_engine(database_url)
    rates = []
    for _ in range(2):
        normalize_address.cache_clear()
        started = time.perf_counter()
        with path.open("rb") as stream:
            report = import_records(engine, "tarrant", read_tad_json(stream))
        rates.append(report.read / (time.perf_counter() - started))
    engine.dispose()
    return rates[0], rates[1]


def measure_stage(
    bootstrap: str, database_url: str, messages: list[tuple[str, bytes]]
) -> tuple[float, float, float]:
    """(stage permits/s, stage permits per CPU-second of its thread, passthrough msg/s) over the
    same messages on the same broker. The CPU figure does not depend on what else the shared
    machine is doing; the wall-clock ones do."""
    settings = fresh_settings(bootstrap)
    create_topics(settings, [PASSTHROUGH_SINK])
    load(settings, Topic.CATEGORIZED.value, messages)
    ceiling = passthrough(settings, Topic.CATEGORIZED.value, PASSTHROUGH_SINK, len(messages))
    normalize_address.cache_clear()
    runtime = StreamRuntime(build_stage(database_url), settings, RuntimeSettings())
    cpu_seconds: list[float] = []

    def run() -> None:
        started = time.thread_time()
        runtime.run()
        cpu_seconds.append(time.thread_time() - started)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    rate = output_rate(settings, Topic.ENRICHED.value, len(messages))
    runtime.request_stop()
    thread.join(60)
    return rate, len(messages) / cpu_seconds[0], ceiling


def main() -> None:
    bootstrap, server_url = infrastructure()
    sample = json.loads((SHARED_DATA / TARRANT_SAMPLE).read_text())["parcels"]
    with migrated_database(server_url) as database_url:
        with tempfile.TemporaryDirectory() as scratch:
            scaled = Path(scratch) / "tarrant_scaled.json"
            write_scaled_file(sample, scaled)
            first, again = measure_import(database_url, scaled)
        messages = permit_messages(sample)
        stage_runs = [measure_stage(bootstrap, database_url, messages) for _ in range(RUNS)]

    print(
        f"cad import, {PARCELS:,} parcels: {first:,.0f} rows/s new, {again:,.0f} rows/s unchanged"
    )
    print(
        f"{'run':<5}{'enricher permits/s':>20}{'per CPU-s':>12}{'passthrough msg/s':>20}"
        f"{'ratio':>8}"
    )
    for i, (rate, per_cpu, ceiling) in enumerate(stage_runs, 1):
        print(f"{i:<5}{rate:>20,.0f}{per_cpu:>12,.0f}{ceiling:>20,.0f}{rate / ceiling:>8.2f}")
    stage_rate = median(rate for rate, _, _ in stage_runs)
    per_cpu = median(cpu for _, cpu, _ in stage_runs)
    ratio = median(rate / ceiling for rate, _, ceiling in stage_runs)
    print(
        f"median: {stage_rate:,.0f} permits/s ({per_cpu:,.0f} per CPU-second), "
        f"{ratio:.2f} of passthrough ({PERMITS:,} permits)"
    )
    record(
        "enricher",
        parcels=PARCELS,
        import_rows_per_s=round(first),
        reimport_rows_per_s=round(again),
        permits=PERMITS,
        stage_permits_per_s=round(stage_rate),
        stage_permits_per_cpu_s=round(per_cpu),
        passthrough_msgs_per_s=round(median(ceiling for _, _, ceiling in stage_runs)),
        ratio_to_passthrough=round(ratio, 3),
    )


if __name__ == "__main__":
    main()
