"""Engines, sessions and the schema-version gate every service passes at start-up."""

from __future__ import annotations

import logging
import time
import warnings
from functools import partial
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError, SAWarning
from sqlalchemy.orm import Session, sessionmaker

from services.common.retry import Backoff, GaveUp, retrying

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# A service started during a database restart (or before it, in a rollout) waits this long
# instead of crash-looping; past it, it exits with one line an operator can act on.
STARTUP_WAIT_S = 60.0
_STARTUP_RETRY_MAX_S = 5.0

log = logging.getLogger(__name__)


class DatabaseNotReady(RuntimeError):
    """A service cannot start on this database; the message says what to do."""


class SchemaOutOfDate(DatabaseNotReady):
    """The database is behind the code: run ``leadstream db upgrade``."""


class DatabaseUnreachable(DatabaseNotReady):
    """No connection to the database within the start-up wait."""


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url)
        # SQLite ignores foreign keys unless asked, and the demo should behave like production.
        event.listen(engine, "connect", lambda conn, _: conn.execute("PRAGMA foreign_keys=ON"))
        return engine
    return create_engine(
        url,
        pool_size=pool_size,
        pool_pre_ping=True,  # a PostgreSQL restart leaves dead pooled connections behind
        pool_recycle=300,
        connect_args={"connect_timeout": 5, "application_name": "leadstream"},
    )


def database_answers(engine: Engine) -> bool:
    """Whether the database takes a query now: the stream runtime asks this to tell an
    outage (retry) from a message its handler cannot process (DLQ)."""
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception:
        return False
    return True


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    with warnings.catch_warnings():
        # SQLite migrations copy tables in batch mode, reflecting them first; SQLAlchemy cannot
        # reflect an expression index (lower(city)) and says so, though the migration itself
        # creates those indexes. Harmless, and the first thing `make demo` would print.
        warnings.filterwarnings(
            "ignore", "Skipped unsupported reflection of expression-based index", SAWarning
        )
        command.upgrade(alembic_config(url), revision)


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def head_revision() -> str | None:
    return _scripts().get_current_head()


def _is_known(revision: str) -> bool:
    return revision in {script.revision for script in _scripts().walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def require_current_schema(engine: Engine, *, wait_s: float = STARTUP_WAIT_S) -> None:
    """Refuse to run against a database that older code (or nobody) migrated; wait up to
    ``wait_s`` for one that is not accepting connections yet.

    A database that newer code migrated is accepted: migrations only add (a column or table is
    dropped a release after the code stopped using it), and a rollout migrates first, so the
    old release's pods must keep (re)starting until they are replaced.
    """
    current, head = _revision_once_reachable(engine, wait_s), head_revision()
    if current == head:
        return
    if current is not None and not _is_known(current):
        log.warning(
            "database schema is newer than this code; running on it",
            extra={"database_revision": current, "code_revision": head},
        )
        return
    raise SchemaOutOfDate(
        f"database schema is at revision {current or 'none (empty database)'}, "
        f"this code needs {head}: run `leadstream db upgrade` first"
    )


def _revision_once_reachable(engine: Engine, wait_s: float) -> str | None:
    deadline = time.monotonic() + wait_s
    where = engine.url.render_as_string(hide_password=True)

    def unreachable(exc: Exception, attempt: int, delay: float) -> bool:
        if not isinstance(exc, OperationalError):
            raise exc
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        if time.monotonic() + delay > deadline:
            waited = f" after {wait_s:.0f} s" if wait_s else ""
            raise DatabaseUnreachable(f"database {where} not reachable{waited}: {reason}") from None
        log.warning(
            "database not reachable yet, waiting",
            extra={"database": where, "error": reason, "retry_in_s": delay},
        )
        return False

    backoff = Backoff(0.5, _STARTUP_RETRY_MAX_S)
    revision = retrying(partial(current_revision, engine), backoff, unreachable, time.sleep)
    assert not isinstance(revision, GaveUp)  # unreachable() raises instead of giving up
    return revision
