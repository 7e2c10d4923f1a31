"""Databases for the store's tests: the real PostgreSQL, and SQLite (the embedded demo)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from services.common.db.engine import make_engine, upgrade
from services.store.writer import BatchWriter


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=[pytest.param("postgresql", marks=pytest.mark.postgres), "sqlite"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path, _sqlite_template: Path) -> str:
    """A database at the latest schema: PostgreSQL (production) or SQLite (embedded demo)."""
    if request.param == "sqlite":
        path = tmp_path / "store.db"
        shutil.copy(_sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("database_url")
    return url


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    engine = make_engine(store_url)
    yield engine
    engine.dispose()


@pytest.fixture
def writer(engine: Engine) -> BatchWriter:
    return BatchWriter(engine)
