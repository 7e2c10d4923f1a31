"""The chaos harness's process supervisor and the timeline every fault writes to."""

from __future__ import annotations

import re
import socket
import sys
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import replace
from itertools import cycle, islice
from pathlib import Path

from localinfra.stack import ServiceProcess, Stack, wait_ready


class Timeline:
    """What happened when, in seconds since the run started (shared by every thread);
    each event is also printed as it happens."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.started = time.monotonic()
        self._events: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def restart(self) -> None:
        """Count from now: the run starts with the first message published."""
        self.started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def note(self, event: str) -> None:
        at = self.elapsed()
        with self._lock:
            self._events.append((at, event))
        print(f"[chaos {self.name} {at:7.1f}s] {event}", file=sys.stderr, flush=True)

    def events(self) -> list[tuple[float, str]]:
        with self._lock:
            return list(self._events)


# ----------------------------------------------------------------------------- processes


# Metrics ports of the service processes: below Linux's ephemeral range (32768+), so that no
# outgoing connection can take a port between the harness choosing it and the service binding.
SERVICE_PORTS = range(28000, 29000)


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class Supervisor:
    """Keeps the wanted service processes running, as an orchestrator would: one that was
    killed is started again after ``restart_after_s``; one that exited on its own after a
    back-off that doubles with each crash in a row (2, 4, 8 s at most), like a crash-loop
    back-off, so that a service that cannot start yet does not eat the CPU."""

    def __init__(self, stack: Stack, timeline: Timeline, restart_after_s: float = 1.0) -> None:
        self.stack = stack
        self.timeline = timeline
        self.restart_after_s = restart_after_s
        self.wanted: dict[str, ServiceProcess] = {}
        self.kills: Counter[str] = Counter()
        self.crashes: Counter[str] = Counter()
        self._killed: set[str] = set()  # exits we caused: not crashes
        self._down_since: dict[str, float] = {}
        self._crash_streak: Counter[str] = Counter()  # crashes since the last kill
        self._ports = cycle(SERVICE_PORTS)
        self._lock = threading.Lock()

    def add(self, name: str) -> None:
        """Start a process of the service named by ``name``'s prefix ("scorer-4" → scorer)."""
        with self._lock:
            self._start(ServiceProcess(name, name.split("-")[0], port=0))

    def _start(self, proc: ServiceProcess) -> None:
        # A fresh port each time: the last one may not be free again yet.
        port = next(p for p in islice(self._ports, len(SERVICE_PORTS)) if _bindable(p))
        self.wanted[proc.name] = replace(proc, port=port)
        self.stack.start(self.wanted[proc.name])

    def kill(self, name: str) -> None:
        """SIGKILL a process; the supervisor starts it again."""
        with self._lock:
            self._killed.add(name)
            self.kills[name] += 1
            self.stack.kill(name)

    def retire(self, name: str) -> None:
        """SIGKILL a process for good (a replica lost for ever)."""
        with self._lock:
            self.wanted.pop(name)
            self.kills[name] += 1
            self.stack.kill(name)

    def running(self) -> list[str]:
        with self._lock:
            return [name for name in self.wanted if self.stack.pid(name) is not None]

    def keep_running(self, stop: threading.Event) -> None:
        while not stop.wait(0.25):
            with self._lock:
                for proc in list(self.wanted.values()):
                    self._check(proc)

    def _check(self, proc: ServiceProcess) -> None:
        name = proc.name
        if self.stack.pid(name) is not None:
            return
        now = time.monotonic()
        if name not in self._down_since:
            self._down_since[name] = now
            if name in self._killed:
                self._crash_streak[name] = 0
            else:
                self.crashes[name] += 1
                self._crash_streak[name] += 1
                self.timeline.note(f"{name} exited on its own (see its log)")
        delay = self.restart_after_s * 2 ** min(self._crash_streak[name], 3)
        if now - self._down_since[name] >= delay:
            self._start(proc)
            self._killed.discard(name)
            del self._down_since[name]

    def wait_ready(self, timeout_s: float) -> list[str]:
        """Wait for every wanted process's /readyz; returns the names that never got ready."""
        deadline = time.monotonic() + timeout_s
        return [
            name
            for name, proc in self.wanted.items()
            if not wait_ready(proc.port, max(0.0, deadline - time.monotonic()))
        ]

    def open_circuits(self) -> list[str]:
        """Scorer processes whose /metrics say a circuit is open now."""
        return [
            name
            for name, proc in self.wanted.items()
            if proc.service == "scorer" and _CIRCUIT_OPEN.search(_metrics(proc.port))
        ]


_CIRCUIT_OPEN = re.compile(r"^leadstream_scorer_circuit_open\{[^}]*\} 1\.0$", re.MULTILINE)


def _metrics(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text: str = response.read().decode()
            return text
    except OSError:
        return ""


# What the scorers log when their circuit opens or closes, and when a lead becomes RETRY.
SCORER_EVENTS = {
    "circuit opened": "circuit opened",
    "circuit closed": "circuit closed",
    "RETRY published": "lead published as RETRY",
}


def scorer_events(logs: Path) -> Counter[str]:
    """How often each of SCORER_EVENTS happened, over every scorer log of a run."""
    counts: Counter[str] = Counter()
    for path in logs.glob("scorer-*.log"):
        text = path.read_text(errors="replace")
        for event, message in SCORER_EVENTS.items():
            counts[event] += text.count(f'"msg": "{message}')
    return counts
