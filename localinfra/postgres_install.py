"""PostgreSQL server binaries (Debian packages, apt-installed when missing) and the OS user
the server runs as: initdb and postgres refuse to run as root."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

from localinfra._util import InfraError, log, run
from localinfra.postgres_paths import data_dir, pg_home, socket_dir

OS_USER = "postgres"  # initdb/postgres refuse to run as root; used only when we are root
PG_ROOT = Path("/usr/lib/postgresql")


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


def running_as_root() -> bool:
    return os.geteuid() == 0


def server_cmd(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root, so as root run them as ``postgres``."""
    if not running_as_root():
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


def prepare_dirs() -> None:
    """Create <run>/pg and its socket dir, owned by the server user when we are root."""
    socket_dir().mkdir(parents=True, exist_ok=True)
    if not running_as_root():
        return
    _ensure_os_user()
    user = pwd.getpwnam(OS_USER)
    # Fix ownership only if wrong: the data dir can hold thousands of files.
    if pg_home().stat().st_uid != user.pw_uid:
        for path in [pg_home(), *pg_home().rglob("*")]:
            os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)
    probe = run(
        server_cmd(["test", "-w", str(pg_home())]),
        what="permission check",
        timeout=30,
        check=False,
    )
    if probe.returncode != 0:
        raise InfraError(
            f"user {OS_USER} cannot write {pg_home()}: a parent directory is not "
            "traversable by it; point LEADSTREAM_RUN_DIR somewhere like /var/tmp/leadstream"
        )
