"""Real Kafka and real PostgreSQL for the suite.

``KAFKA_BOOTSTRAP_SERVERS`` / ``DATABASE_URL`` win when set; otherwise the project's own
provisioning (``localinfra``) starts a local broker and server (``make test`` does it first).
Every test gets its own topic prefix and its own database, so tests never see each other's data.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import pytest
from sqlalchemy import Engine

from services.common.config import KafkaSettings
from tests.support.containers import docker_available, kafka_from_container, postgres_from_container

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@lru_cache(maxsize=1)
def _use_containers() -> bool:
    """Docker present and nothing configured: testcontainers may supply the servers."""
    return os.environ.get("LEADSTREAM_TESTCONTAINERS", "auto") != "off" and docker_available()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared data not found at {SHARED_DATA} (it sits beside the repository)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    if _use_containers():
        return kafka_from_container()
    from localinfra.kafka import ensure_kafka

    return ensure_kafka()


@pytest.fixture
def kafka_settings(kafka_bootstrap: str) -> Iterator[KafkaSettings]:
    """Settings with a topic prefix of this test's own; every pipeline topic exists.

    The test's topics are deleted afterwards: a broker serving many suite runs would otherwise
    pile up thousands of partitions.
    """
    from services.common.kafka import create_topics
    from tests.support.kafka import delete_prefixed_topics

    settings = KafkaSettings(
        bootstrap_servers=kafka_bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}.",
        partitions=4,
        group_prefix=f"g{uuid.uuid4().hex[:10]}",
    )
    create_topics(settings)
    yield settings
    delete_prefixed_topics(settings)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The server-level URL; tests use ``database_url`` (a fresh migrated database each)."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    if _use_containers():
        return postgres_from_container()
    from localinfra.postgres import ensure_postgres

    return ensure_postgres()


@pytest.fixture(scope="session")
def _migrated_template(postgres_url: str) -> Iterator[str]:
    """Migrated once per session, dropped at its end (a developer's server keeps no leftovers)."""
    from tests.support.databases import migrated_database

    with migrated_database(postgres_url) as url:
        yield url


@pytest.fixture
def database_url(postgres_url: str, _migrated_template: str) -> Iterator[str]:
    """A fresh database at the latest migration, dropped after the test."""
    from tests.support.databases import copy_of

    with copy_of(postgres_url, _migrated_template) as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on this test's own database."""
    from services.common.db.engine import make_engine

    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def kafka_env(kafka_settings: KafkaSettings, monkeypatch: pytest.MonkeyPatch) -> KafkaSettings:
    """This test's broker and topic prefix in the environment, where commands read them, as
    an operator would set them."""
    for name, value in kafka_settings.environment().items():
        monkeypatch.setenv(name, value)
    return kafka_settings
