"""Kafka and PostgreSQL from testcontainers, for developers who have a Docker engine.

Used only when neither ``KAFKA_BOOTSTRAP_SERVERS`` nor ``DATABASE_URL`` is set and a Docker
engine answers; otherwise the project's own provisioning (``localinfra``) runs them.
"""

from __future__ import annotations

import atexit
from typing import Any


def docker_available() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


def _started(container: Any) -> Any:
    container.start()
    atexit.register(container.stop)
    return container


def kafka_from_container() -> str:
    from testcontainers.kafka import KafkaContainer

    return str(_started(KafkaContainer("apache/kafka:4.1.1").with_kraft()).get_bootstrap_server())


def postgres_from_container() -> str:
    from testcontainers.postgres import PostgresContainer

    container = _started(PostgresContainer("postgres:16", driver="psycopg2"))
    return str(container.get_connection_url())
