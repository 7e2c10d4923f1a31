"""What every benchmark needs besides its own measurement: where Kafka and PostgreSQL are (the
environment, as ``make bench`` sets it, else the local ones) and the results file. Scratch
databases come from ``tests.support.databases``, as the tests' do."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(os.environ.get("BENCH_RESULTS", Path(__file__).with_name("results.jsonl")))


def kafka_bootstrap() -> str:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if bootstrap:
        return bootstrap
    from localinfra.kafka import ensure_kafka

    return ensure_kafka()


def postgres_server() -> str:
    """The URL of a PostgreSQL server; benchmarks make their own databases on it."""
    server_url = os.environ.get("DATABASE_URL")
    if server_url:
        return server_url
    from localinfra.postgres import ensure_postgres

    return ensure_postgres()


def infrastructure() -> tuple[str, str]:
    """(bootstrap servers, PostgreSQL server URL)."""
    return kafka_bootstrap(), postgres_server()


def record(bench: str, **fields: Any) -> None:
    """Append one benchmark result to the results file, stamped with its time."""
    result = {"bench": bench, "at": datetime.now(UTC).isoformat(timespec="seconds"), **fields}
    with RESULTS.open("a") as out:
        out.write(json.dumps(result) + "\n")
