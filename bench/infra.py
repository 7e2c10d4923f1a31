"""Where benchmarks find Kafka and PostgreSQL: the environment (``make bench``), else local."""

from __future__ import annotations

import os


def infrastructure() -> tuple[str, str]:
    """(bootstrap servers, PostgreSQL server URL)."""
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    server_url = os.environ.get("DATABASE_URL")
    if not bootstrap:
        from localinfra.kafka import ensure_kafka

        bootstrap = ensure_kafka()
    if not server_url:
        from localinfra.postgres import ensure_postgres

        server_url = ensure_postgres()
    return bootstrap, server_url
