"""The whole pipeline as local processes on real Kafka + PostgreSQL (``make up`` / ``make down``).

Each service runs as its own ``leadstream run <service>`` process with the caller's environment
(``LEADSTREAM_*``, ``KAFKA_BOOTSTRAP_SERVERS``, ``DATABASE_URL``) passed through, its own
metrics port, and its log in ``<run dir>/logs/<name>.log``. The chaos harness uses the same
class to kill and restart processes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from localinfra._util import process_alive, terminate_many

REPO = Path(__file__).resolve().parents[1]
DEFAULT_RUN_DIR = REPO / ".run"
FIRST_METRICS_PORT = 9101


@dataclass(frozen=True)
class ServiceProcess:
    name: str  # unique per process: "scorer-2"
    service: str  # what `leadstream run` starts
    port: int  # /healthz, /readyz, /metrics (the API port for the exporter)
    metrics_port: int = 0  # the exporter's /metrics (its API port serves none); 0 = none


def plan(scorer_replicas: int, api_port: int) -> list[ServiceProcess]:
    names = ["categorizer", "enricher", *[f"scorer-{i + 1}" for i in range(scorer_replicas)]]
    names += ["store", "notifier"]
    procs = [
        ServiceProcess(name, name.split("-")[0], FIRST_METRICS_PORT + i)
        for i, name in enumerate(names)
    ]
    procs.append(ServiceProcess("exporter", "exporter", api_port, FIRST_METRICS_PORT + len(names)))
    return procs


class Stack:
    def __init__(self, env: dict[str, str], run_dir: Path = DEFAULT_RUN_DIR) -> None:
        self.env = env
        self.logs = run_dir / "logs"
        self.pids = run_dir / "pids"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.pids.mkdir(parents=True, exist_ok=True)

    def start(self, proc: ServiceProcess) -> int:
        env = {**self.env}
        if proc.service == "exporter":
            env["LEADSTREAM_API_PORT"] = str(proc.port)
            env["LEADSTREAM_METRICS_PORT"] = str(proc.metrics_port)
        else:
            env["LEADSTREAM_METRICS_PORT"] = str(proc.port)
        log = (self.logs / f"{proc.name}.log").open("ab")
        child = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "run", proc.service],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in the terminal must not kill the services
        )
        (self.pids / f"{proc.name}.pid").write_text(str(child.pid))
        return child.pid

    def pid(self, name: str) -> int | None:
        path = self.pids / f"{name}.pid"
        if not path.exists():
            return None
        pid = int(path.read_text())
        return pid if process_alive(pid) else None

    def running(self) -> dict[str, int]:
        found = {p.stem: self.pid(p.stem) for p in self.pids.glob("*.pid")}
        return {name: pid for name, pid in found.items() if pid is not None}

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        pid = self.pid(name)
        if pid is not None:
            os.kill(pid, sig)

    def stop_all(self, timeout_s: float = 40.0) -> list[str]:
        """SIGTERM everything (services finish, flush and commit), SIGKILL what hangs."""
        running = self.running()
        terminate_many(running, graceful=True, timeout=timeout_s)
        for path in self.pids.glob("*.pid"):
            path.unlink()
        return sorted(running)


def wait_ready(port: int, timeout_s: float = 60.0, path: str = "/readyz") -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def up(scorer_replicas: int, api_port: int) -> int:
    env = dict(os.environ)
    if not (env.get("LEADSTREAM_LLM_API_KEY") or env.get("DEEPSEEK_API_KEY")):
        env.setdefault("LEADSTREAM_SCORER_BACKEND", "rules")
        print(
            "no LLM key (LEADSTREAM_LLM_API_KEY / DEEPSEEK_API_KEY): the scorer runs the "
            "explicitly labelled `rules` backend; every lead says scoring_method=rules",
            file=sys.stderr,
        )
    env.setdefault("LEADSTREAM_ADMIN_KEY", "local-admin-key-for-development-only")  # 32+ chars
    # The portal is served over plain http locally: a Secure cookie would never come back.
    env.setdefault("LEADSTREAM_PORTAL_SECURE_COOKIES", "false")
    stack = Stack(env)
    if stack.running():
        print(f"already running: {', '.join(sorted(stack.running()))} (make down first)")
        return 1
    for command in (["topics", "create"], ["db", "upgrade"]):
        subprocess.run([sys.executable, "-m", "services.cli", *command], env=env, check=True)
    procs = plan(scorer_replicas, api_port)
    for proc in procs:
        stack.start(proc)
    print(f"{'process':<14}{'pid':>8}  ready  endpoint")
    for proc in procs:
        ready = wait_ready(proc.port)
        where = f"http://127.0.0.1:{proc.port}" + (
            f"/docs (/metrics on {proc.metrics_port})" if proc.service == "exporter" else "/metrics"
        )
        pid = stack.pid(proc.name) or "-"
        print(f"{proc.name:<14}{pid:>8}  {'yes' if ready else 'NO':<5}  {where}")
    print(f"logs: {stack.logs}/<process>.log   admin key: LEADSTREAM_ADMIN_KEY")
    return 0


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "status"
    if command == "up":
        replicas = int(os.environ.get("SCORER_REPLICAS", "2"))
        return up(replicas, int(os.environ.get("LEADSTREAM_API_PORT", "8000")))
    stack = Stack(dict(os.environ))
    if command == "down":
        stopped = stack.stop_all()
        print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")
        return 0
    if command == "status":
        for name, pid in sorted(stack.running().items()):
            print(f"{name:<14}{pid:>8}")
        return 0
    print("usage: python -m localinfra.stack up|down|status", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
