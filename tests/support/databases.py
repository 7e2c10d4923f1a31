"""Per-test PostgreSQL databases cloned from one migrated template (fast: no migration per test)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from services.common.db.engine import upgrade


def _admin_engine(server_url: str):  # type: ignore[no-untyped-def]
    return create_engine(
        make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )


def make_migrated_template(server_url: str) -> str:
    name = f"leadstream_tpl_{uuid.uuid4().hex[:8]}"
    with _admin_engine(server_url).connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    return name


def clone_database(server_url: str, template: str) -> str:
    name = f"leadstream_test_{uuid.uuid4().hex[:10]}"
    with _admin_engine(server_url).connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, url: str) -> None:
    name = make_url(url).database
    with _admin_engine(server_url).connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def migrated_database(server_url: str) -> Iterator[str]:
    """The URL of a new database at the latest migration, dropped afterwards."""
    name = make_migrated_template(server_url)
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        drop_database(server_url, url)


@contextmanager
def copy_of(server_url: str, database_url: str) -> Iterator[str]:
    """A fresh copy of a database (cheap: PostgreSQL clones it as a template), dropped after."""
    url = clone_database(server_url, str(make_url(database_url).database))
    try:
        yield url
    finally:
        drop_database(server_url, url)
