"""Shared helpers: directories, logging, locks, subprocesses and process liveness."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path


class InfraError(RuntimeError):
    """Provisioning failed; the message says what and usually shows the relevant log tail."""


class ProcessExited(InfraError):
    """The server process died while we waited for it to become ready."""


def cache_dir() -> Path:
    """Downloads (Maven repository, Kafka jars); safe to delete, rebuilt on demand."""
    raw = os.environ.get("LEADSTREAM_CACHE_DIR") or "~/.cache/leadstream"
    return Path(raw).expanduser().resolve()


def run_dir() -> Path:
    """Runtime state (data dirs, pid files, logs); outside the repo so git never sees it."""
    raw = os.environ.get("LEADSTREAM_RUN_DIR") or "/var/tmp/leadstream"
    return Path(raw).expanduser().resolve()


def log(message: str) -> None:
    """Progress goes to stderr: stdout of the CLI is reserved for the KEY=value lines."""
    print(f"[localinfra] {message}", file=sys.stderr, flush=True)


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise InfraError(f"{name}={raw!r} is not an integer") from exc


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Serialise start/stop across processes (e.g. several pytest workers calling ensure_*)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run(
    cmd: Sequence[str],
    *,
    what: str,
    timeout: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a command with captured output; on failure raise with its output attached."""
    try:
        result = subprocess.run(
            list(cmd),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise InfraError(f"{what}: executable not found: {cmd[0]}") from exc
    except subprocess.TimeoutExpired as exc:
        raise InfraError(f"{what}: timed out after {timeout:.0f}s: {' '.join(cmd)}") from exc
    if check and result.returncode != 0:
        output = (result.stdout + result.stderr).strip()[-4000:]
        raise InfraError(f"{what} failed (exit {result.returncode}): {' '.join(cmd)}\n{output}")
    return result


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` elapses; returns the last result."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def tail(path: Path, lines: int = 40) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 64 * 1024))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


# Pids spawned by this Python process, reaped in process_alive (otherwise a killed child
# stays a zombie until we exit, and a zombie still "exists" for kill(pid, 0)).
_CHILDREN: set[int] = set()


def spawn_detached(cmd: Sequence[str], log_path: Path) -> int:
    """Start a long-running server in its own session (so Ctrl-C or test teardown of the
    caller does not signal it), stdin from /dev/null, stdout+stderr appended to ``log_path``.

    posix_spawn rather than Popen: the server outlives this process by design, and a
    Popen object for it would emit "subprocess is still running" ResourceWarnings.
    ``cmd[0]`` must be a path; the child keeps our cwd, so commands use absolute paths.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    out = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    devnull = os.open(os.devnull, os.O_RDONLY)
    try:
        pid = os.posix_spawn(
            cmd[0],
            list(cmd),
            dict(os.environ),
            file_actions=[
                (os.POSIX_SPAWN_DUP2, devnull, 0),
                (os.POSIX_SPAWN_DUP2, out, 1),
                (os.POSIX_SPAWN_DUP2, out, 2),
            ],
            setsid=True,
        )
    finally:
        os.close(out)
        os.close(devnull)
    _CHILDREN.add(pid)
    return pid


def _proc_state(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # The command name may contain spaces/parens; the state is right after the last ')'.
    return stat.rsplit(")", 1)[-1].split()[0]


def process_alive(pid: int) -> bool:
    if pid in _CHILDREN:
        try:
            reaped, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            reaped = pid
        if reaped == 0:
            return True
        _CHILDREN.discard(pid)
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A killed process whose parent has not reaped it yet is a zombie: it is dead to us.
    return _proc_state(pid) != "Z"


def is_child(pid: int) -> bool:
    """True for a live process spawned by this Python process (its pid cannot be reused)."""
    return pid in _CHILDREN and process_alive(pid)


def pid_exists(pid: int) -> bool:
    """True while the pid has any /proc entry, zombies included (unlike process_alive)."""
    return Path(f"/proc/{pid}").exists()


def process_cmdline(pid: int) -> str:
    # Right after exec, /proc/<pid>/cmdline reads empty for a moment (the kernel signals the
    # exec to Popen before it sets up the new argv), so retry briefly before giving up.
    for _ in range(20):
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return ""
        if raw:
            return raw.replace(b"\0", b" ").decode("utf-8", errors="replace")
        time.sleep(0.01)
    return ""


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def wait_gone(pid: int, timeout: float) -> bool:
    return wait_until(lambda: not process_alive(pid), timeout, interval=0.1)


def signal_and_wait(pid: int, sig: signal.Signals, timeout: float) -> bool:
    """Send ``sig`` and wait for the process to exit; True if it is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    return wait_gone(pid, timeout)


def terminate(pid: int, *, graceful: bool, timeout: float, name: str) -> None:
    """SIGTERM and wait (if graceful), then SIGKILL whatever is left."""
    if not process_alive(pid):
        return
    if graceful:
        if signal_and_wait(pid, signal.SIGTERM, timeout):
            return
        log(f"{name} (pid {pid}) ignored SIGTERM for {timeout:.0f}s; sending SIGKILL")
    if not signal_and_wait(pid, signal.SIGKILL, 10.0):
        raise InfraError(f"{name} (pid {pid}) survived SIGKILL")


def terminate_many(pids: Mapping[str, int], *, graceful: bool, timeout: float) -> None:
    """Like ``terminate`` for several processes, signalling all of them before waiting, so
    the total wait is one ``timeout``, not one per process. Keys are names for messages."""
    sig = signal.SIGTERM if graceful else signal.SIGKILL
    for pid in pids.values():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    for name, pid in pids.items():
        if not wait_gone(pid, max(0.0, deadline - time.monotonic())):
            terminate(pid, graceful=False, timeout=0, name=name)
