"""A private PostgreSQL cluster (not Debian's system cluster on 5432) for dev and tests.

Binaries come from the Debian packages (/usr/lib/postgresql/<ver>/bin, installed with apt
when missing); the cluster itself lives in <run>/pg and listens on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import time
import urllib.parse
from pathlib import Path
from typing import Literal

from localinfra._util import (
    InfraError,
    ProcessExited,
    env_int,
    file_lock,
    log,
    pid_exists,
    port_open,
    process_alive,
    read_pid,
    run,
    run_dir,
    tail,
    terminate,
    wait_until,
)

DEFAULT_PORT = 55432
DEFAULT_DATABASE = "leadstream"
HOST = "127.0.0.1"
SUPERUSER = "postgres"  # database role; trust auth, so no password
OS_USER = "postgres"  # initdb/postgres refuse to run as root; used only when we are root
PG_ROOT = Path("/usr/lib/postgresql")
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 60.0

StopMode = Literal["smart", "fast", "immediate"]

_DB_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_CONF_NAME = "leadstream.conf"


# --------------------------------------------------------------------------- locations


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


# --------------------------------------------------------------------------- binaries


def _installed_versions() -> list[int]:
    if not PG_ROOT.is_dir():
        return []
    versions = [
        int(entry.name)
        for entry in PG_ROOT.iterdir()
        if entry.name.isdigit() and (entry / "bin" / "postgres").is_file()
    ]
    return sorted(versions, reverse=True)


def _apt_install_postgres() -> None:
    if os.geteuid() != 0:
        raise InfraError(
            f"no PostgreSQL server under {PG_ROOT} and not root: run "
            "'sudo apt-get install -y postgresql' (or set DATABASE_URL)"
        )
    log("PostgreSQL not installed: apt-get install postgresql (one-time)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update"], what="apt-get update", timeout=900, env=env)
    # Debian's postinst also creates and may start a 'main' cluster on 5432. We leave it
    # alone: it is the system's, and ours runs on its own port and data dir.
    run(["apt-get", "install", "-y", "postgresql"], what="apt-get install", timeout=1800, env=env)


def bin_dir() -> Path:
    """Server binaries: the version that created our data dir if present (a newer major
    cannot open it), else the highest installed; apt-installs PostgreSQL when none is."""
    versions = _installed_versions()
    if not versions:
        _apt_install_postgres()
        versions = _installed_versions()
        if not versions:
            raise InfraError(f"apt-get install postgresql left no server under {PG_ROOT}")
    chosen = versions[0]
    version_file = data_dir() / "PG_VERSION"
    if version_file.is_file():
        data_version = int(version_file.read_text().strip())
        if data_version not in versions:
            raise InfraError(
                f"{data_dir()} was created by PostgreSQL {data_version}, which is no longer "
                f"installed (have {versions}); delete {pg_home()} to re-create it"
            )
        chosen = data_version
    return PG_ROOT / str(chosen) / "bin"


# ----------------------------------------------------------------- running as the server user


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _server_cmd(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root, so as root run them as ``postgres``."""
    if not _running_as_root():
        return cmd
    return ["runuser", "-u", OS_USER, "--", *cmd]


def _ensure_os_user() -> None:
    try:
        pwd.getpwnam(OS_USER)
    except KeyError:
        log(f"creating OS user {OS_USER}")
        run(
            ["useradd", "--system", "--user-group", "--no-create-home", OS_USER],
            what="useradd",
            timeout=60,
        )


def _prepare_dirs() -> None:
    """Create <run>/pg and its socket dir, owned by the server user when we are root."""
    socket_dir().mkdir(parents=True, exist_ok=True)
    if not _running_as_root():
        return
    _ensure_os_user()
    user = pwd.getpwnam(OS_USER)
    # Fix ownership only if wrong: the data dir can hold thousands of files.
    if pg_home().stat().st_uid != user.pw_uid:
        for path in [pg_home(), *pg_home().rglob("*")]:
            os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)
    probe = run(
        _server_cmd(["test", "-w", str(pg_home())]),
        what="permission check",
        timeout=30,
        check=False,
    )
    if probe.returncode != 0:
        raise InfraError(
            f"user {OS_USER} cannot write {pg_home()}: a parent directory is not "
            "traversable by it; point LEADSTREAM_RUN_DIR somewhere like /var/tmp/leadstream"
        )


# --------------------------------------------------------------------------- cluster lifecycle


def _initdb(bindir: Path) -> None:
    if (data_dir() / "PG_VERSION").is_file():
        return
    log(f"initdb {data_dir()} with {bindir}")
    shutil.rmtree(data_dir(), ignore_errors=True)  # leftovers of an interrupted initdb
    base = [
        str(bindir / "initdb"),
        "-D",
        str(data_dir()),
        "--auth=trust",
        f"--username={SUPERUSER}",
        "-E",
        "UTF8",
    ]
    try:
        run(_server_cmd([*base, "--locale=C.UTF-8"]), what="initdb", timeout=300)
    except InfraError as exc:
        # Minimal images may lack the C.UTF-8 locale; plain C sorts the same for our use.
        log(f"initdb with C.UTF-8 failed, retrying with locale C: {str(exc)[-300:]}")
        shutil.rmtree(data_dir(), ignore_errors=True)
        run(_server_cmd([*base, "--locale=C"]), what="initdb", timeout=300)
    with (data_dir() / "postgresql.conf").open("a") as conf:
        conf.write(
            f"\n# Added by localinfra; settings below win.\ninclude_if_exists = '{_CONF_NAME}'\n"
        )


def _write_conf() -> None:
    """Rewritten before every start so a changed LEADSTREAM_PG_PORT takes effect."""
    settings = {
        "listen_addresses": f"'{HOST}'",
        "port": str(pg_port()),
        # Debian's default (/var/run/postgresql) belongs to the system cluster.
        "unix_socket_directories": f"'{socket_dir()}'",
        "max_connections": "200",
        "shared_buffers": "256MB",
        # Kept on deliberately: tests kill the server and check that commits survive.
        "fsync": "on",
        "synchronous_commit": "on",
    }
    text = "# Generated by localinfra on every start.\n" + "".join(
        f"{key} = {value}\n" for key, value in settings.items()
    )
    path = data_dir() / _CONF_NAME
    path.write_text(text)
    if _running_as_root():
        user = pwd.getpwnam(OS_USER)
        os.chown(path, user.pw_uid, user.pw_gid)


def _is_our_server_process(pid: int) -> bool:
    """Every postgres server process chdirs to its data dir: that identifies ours (and tells
    a recycled pid in a stale postmaster.pid, e.g. after a reboot, from our postmaster)."""
    try:
        return os.readlink(f"/proc/{pid}/cwd") == str(data_dir())
    except OSError:  # gone, a zombie, or not ours to inspect
        return False


def _postmaster_pid() -> int | None:
    """Pid of our live postmaster, or None (also for a stale pid file after kill -9)."""
    pid = read_pid(data_dir() / "postmaster.pid")
    if pid is None or not process_alive(pid) or not _is_our_server_process(pid):
        return None
    return pid


def _data_dir_processes() -> list[int]:
    """Live server processes (postmaster and backends) of our cluster."""
    pids = (int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit())
    return [pid for pid in pids if _is_our_server_process(pid) and process_alive(pid)]


def _clear_stale_cluster() -> None:
    """Make a start after a crash (kill -9 of the postmaster) reliable.

    Orphaned backends of the dead postmaster linger for a few ms: wait for them (kill any
    that stay). The dead postmaster itself stays a zombie until init reaps it (~1 s here)
    and postgres, seeing the pid in its lock files (postmaster.pid and the socket's .lock)
    still exist, would refuse to start; the same happens when a reboot hands that pid to
    an unrelated process. With none of our processes left, such lock files are stale.
    """
    lock_files = [data_dir() / "postmaster.pid", *socket_dir().glob(".s.PGSQL.*.lock")]
    stale = [(path, pid) for path in lock_files if (pid := read_pid(path)) is not None]
    if not stale:
        return
    if not wait_until(lambda: not _data_dir_processes(), timeout=5.0, interval=0.05):
        for pid in _data_dir_processes():
            log(f"killing leftover postgres process {pid} of a crashed server")
            terminate(pid, graceful=False, timeout=5, name="postgres")
    for path, pid in stale:
        if pid_exists(pid):
            path.unlink(missing_ok=True)


def _accepting(bindir: Path, timeout: int = 2) -> bool:
    # -U/-d: without them pg_isready connects as the OS user and the server logs a FATAL
    # "role root does not exist" for every probe.
    cmd = [str(bindir / "pg_isready"), "-q", "-h", HOST, "-p", str(pg_port())]
    cmd += ["-t", str(timeout), "-U", SUPERUSER, "-d", "postgres"]
    result = run(
        cmd,
        what="pg_isready",
        timeout=timeout + 10,
        check=False,
    )
    return result.returncode == 0


def _wait_accepting(bindir: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not _accepting(bindir):
        if _postmaster_pid() is None:
            raise ProcessExited(
                f"postgres exited during startup; tail of {log_path()}:\n{tail(log_path())}"
            )
        if time.monotonic() >= deadline:
            raise InfraError(
                f"postgres on {HOST}:{pg_port()} not accepting after {timeout:.0f}s; "
                f"tail of {log_path()}:\n{tail(log_path())}"
            )
        time.sleep(0.2)


def _pg_lock() -> contextlib.AbstractContextManager[None]:
    return file_lock(run_dir() / ".pg.lock")


def _start_server(bindir: Path, timeout: float) -> None:
    _clear_stale_cluster()
    _prepare_dirs()
    _initdb(bindir)
    _write_conf()
    if port_open(HOST, pg_port()):
        raise InfraError(
            f"port {HOST}:{pg_port()} is in use by another process; set LEADSTREAM_PG_PORT"
        )
    log(f"starting postgres on {HOST}:{pg_port()} (data {data_dir()})")
    cmd = [
        str(bindir / "pg_ctl"),
        "-D",
        str(data_dir()),
        "-l",
        str(log_path()),
        "-w",
        "-t",
        str(int(timeout)),
        "start",
    ]
    try:
        run(_server_cmd(cmd), what="pg_ctl start", timeout=timeout + 30)
    except InfraError as exc:
        raise InfraError(f"{exc}\ntail of {log_path()}:\n{tail(log_path())}") from exc


def start_postgres(timeout: float = START_TIMEOUT_S) -> str:
    """Start the local cluster unless it runs (initdb on first use), make sure the
    ``leadstream`` database exists, return its URL. Ignores DATABASE_URL; idempotent."""
    with _pg_lock():
        bindir = bin_dir()
        if _postmaster_pid() is not None:
            try:
                _wait_accepting(bindir, timeout)
            except ProcessExited:
                # Found alive but it died while we waited: typically a chaos test that just
                # sent SIGKILL (kill returns before the process is gone). Start it anew.
                log("postgres went away while we waited for it; starting it again")
        if _postmaster_pid() is None:
            _start_server(bindir, timeout)
            _wait_accepting(bindir, timeout)
        _create_database_locally(bindir, DEFAULT_DATABASE)
    return database_url()


def ensure_postgres(timeout: float = START_TIMEOUT_S) -> str:
    """$DATABASE_URL if set (nothing is started), else the local cluster's URL."""
    external = os.environ.get("DATABASE_URL")
    if external:
        return external
    return start_postgres(timeout=timeout)


def stop_postgres(mode: StopMode = "fast", timeout: float = STOP_TIMEOUT_S) -> None:
    """Stop the local cluster (never an external one); idempotent. 'fast' rolls back open
    transactions and checkpoints; 'immediate' is a crash (WAL recovery on next start).
    Escalates to immediate, then SIGKILL, if the server does not stop in time."""
    with _pg_lock():
        pid = _postmaster_pid()
        if pid is None:
            return
        bindir = bin_dir()
        for attempt in (mode, "immediate"):
            cmd = [str(bindir / "pg_ctl"), "-D", str(data_dir()), "-m", attempt, "-w"]
            cmd += ["-t", str(int(timeout)), "stop"]
            run(_server_cmd(cmd), what="pg_ctl stop", timeout=timeout + 30, check=False)
            # pg_ctl returns once postmaster.pid is gone, a moment before the process exits.
            if wait_until(lambda: not process_alive(pid), timeout=5.0, interval=0.02):
                return
            log(f"postgres (pid {pid}) still running after '{attempt}' stop")
        terminate(pid, graceful=False, timeout=10, name="postgres")


def postgres_running() -> bool:
    """True when our postmaster is alive and accepting TCP connections."""
    return _postmaster_pid() is not None and _accepting(bin_dir())


def postgres_url() -> str | None:
    """$DATABASE_URL, else the local URL if the cluster runs, else None."""
    external = os.environ.get("DATABASE_URL")
    if external:
        return external
    return database_url() if postgres_running() else None


# --------------------------------------------------------------------------- databases


def _check_db_name(name: str) -> None:
    # CREATE DATABASE cannot take bind parameters, so only plain identifiers are accepted.
    if not _DB_NAME_RE.match(name):
        raise InfraError(f"invalid database name {name!r}: use letters, digits and _")


def _libpq_url(sqlalchemy_url: str, dbname: str) -> str:
    """postgresql+driver://... -> postgresql://... on database ``dbname`` (for psql)."""
    parts = urllib.parse.urlsplit(sqlalchemy_url)
    scheme = parts.scheme.split("+", 1)[0]
    return urllib.parse.urlunsplit((scheme, parts.netloc, f"/{dbname}", parts.query, ""))


def _psql(psql: str, conninfo: str, sql: str) -> str:
    cmd = [psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c", sql]
    return run(cmd, what="psql", timeout=120).stdout.strip()


def _create_database(psql: str, conninfo: str, name: str) -> None:
    exists_sql = f"SELECT 1 FROM pg_database WHERE datname = '{name}'"
    if _psql(psql, conninfo, exists_sql) == "1":
        return
    try:
        _psql(psql, conninfo, f'CREATE DATABASE "{name}"')
    except InfraError:
        # Lost a race with another process creating the same database: that is fine.
        if _psql(psql, conninfo, exists_sql) != "1":
            raise


def _local_conninfo() -> str:
    return f"host={socket_dir()} port={pg_port()} user={SUPERUSER} dbname=postgres"


def _create_database_locally(bindir: Path, name: str) -> None:
    _create_database(str(bindir / "psql"), _local_conninfo(), name)


def _admin_target() -> tuple[str, str, str]:
    """(psql binary, admin conninfo, base SQLAlchemy URL) for DATABASE_URL or our cluster."""
    external = os.environ.get("DATABASE_URL")
    if external:
        psql = shutil.which("psql")
        if psql is None:
            raise InfraError("psql not found (apt-get install postgresql-client)")
        return psql, _libpq_url(external, "postgres"), external
    url = start_postgres()
    return str(bin_dir() / "psql"), _local_conninfo(), url


def create_database(name: str) -> str:
    """Create database ``name`` if missing (on DATABASE_URL's server when set, else on the
    local cluster, started if needed) and return its SQLAlchemy URL."""
    _check_db_name(name)
    psql, conninfo, base_url = _admin_target()
    _create_database(psql, conninfo, name)
    parts = urllib.parse.urlsplit(base_url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def drop_database(name: str) -> None:
    """Drop database ``name`` if it exists, disconnecting its sessions (PostgreSQL >= 13)."""
    _check_db_name(name)
    psql, conninfo, _ = _admin_target()
    _psql(psql, conninfo, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
