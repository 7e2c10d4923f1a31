"""Where the private PostgreSQL cluster lives and how it is reached: port, directories, URL.

Everything is read from the environment on every call (LEADSTREAM_RUN_DIR,
LEADSTREAM_PG_PORT), so a caller may point these at another cluster between calls.
"""

from __future__ import annotations

from pathlib import Path

from localinfra._util import env_int, run_dir

DEFAULT_PORT = 55432
DEFAULT_DATABASE = "leadstream"
HOST = "127.0.0.1"
SUPERUSER = "postgres"  # database role; trust auth, so no password


def pg_port() -> int:
    return env_int("LEADSTREAM_PG_PORT", DEFAULT_PORT)


def pg_home() -> Path:
    return run_dir() / "pg"


def data_dir() -> Path:
    return pg_home() / "data"


def log_path() -> Path:
    return pg_home() / "postgres.log"


def socket_dir() -> Path:
    return pg_home() / "sock"


def database_url(name: str = DEFAULT_DATABASE) -> str:
    """SQLAlchemy URL of database ``name`` on the local cluster."""
    return f"postgresql+psycopg2://{SUPERUSER}@{HOST}:{pg_port()}/{name}"
