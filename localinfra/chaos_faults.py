"""The faults the chaos harness injects, and the supervisor that restarts what they break.

Each fault runs in a thread of its own on a schedule relative to the start of the run and
notes what it did on the shared :class:`Timeline`. A fault always undoes itself (a stopped
server is started again) even when the run is cut short, so nothing is left broken.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import socket
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from itertools import cycle, islice
from pathlib import Path
from typing import Protocol

from localinfra import postgres
from localinfra.kafka import KafkaCluster, KafkaNode
from localinfra.stack import ServiceProcess, Stack, wait_ready
from schemas import Topic
from services.common.config import KafkaSettings
from services.common.kafka import DLQ_MAX_MESSAGE_BYTES, set_topic_config
from tests.support.fake_llm import FakeLLM
from tests.support.webhook_receiver import WebhookReceiver


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


# ----------------------------------------------------------------------------- servers


class PrivatePostgres:
    """A PostgreSQL server of the harness's own (own data dir and port) that it may stop and
    start: localinfra's server is shared by everything else running on this machine."""

    _env_lock = threading.Lock()

    def __init__(self, run_dir: Path, port: int) -> None:
        self.run_dir = run_dir
        self.port = port

    @contextlib.contextmanager
    def _selected(self) -> Iterator[None]:
        # localinfra.postgres reads its location from the environment on every call.
        wanted = {"LEADSTREAM_RUN_DIR": str(self.run_dir), "LEADSTREAM_PG_PORT": str(self.port)}
        with self._env_lock:
            saved = {name: os.environ.get(name) for name in [*wanted, "DATABASE_URL"]}
            os.environ.update(wanted)
            os.environ.pop("DATABASE_URL", None)
            try:
                yield
            finally:
                for name, value in saved.items():
                    if value is None:
                        os.environ.pop(name, None)
                    else:
                        os.environ[name] = value

    def start(self) -> str:
        with self._selected():
            return postgres.start_postgres()

    def stop(self) -> None:
        with self._selected():
            postgres.stop_postgres(mode="fast")

    def create_database(self, name: str) -> str:
        with self._selected():
            return postgres.create_database(name)

    def drop_database(self, name: str) -> None:
        with self._selected():
            postgres.drop_database(name)


# ----------------------------------------------------------------------------- faults


@dataclass(frozen=True)
class Servers:
    """The servers of the harness's own that faults may stop; None where a run uses the
    machine's shared ones."""

    broker: KafkaNode | None = None
    cluster: KafkaCluster | None = None
    postgres: PrivatePostgres | None = None


@dataclass
class Targets:
    """What faults act on."""

    supervisor: Supervisor
    timeline: Timeline
    llm: FakeLLM
    servers: Servers
    kafka: KafkaSettings | None = None  # the run's topics
    rng: random.Random = field(default_factory=lambda: random.Random(11))
    webhooks: WebhookReceiver | None = None  # the buyer's endpoint (webhook scenarios)


class Fault(Protocol):
    def run(self, targets: Targets, stop: threading.Event) -> None: ...


@dataclass(frozen=True)
class ProcessKills:
    """SIGKILL a random service process every ``every_s`` seconds (jittered) in a window."""

    start_s: float
    end_s: float
    every_s: tuple[float, float] = (2.0, 6.0)

    def run(self, targets: Targets, stop: threading.Event) -> None:
        if _sleep_until(targets.timeline, self.start_s, stop):
            return
        while targets.timeline.elapsed() < self.end_s:
            running = targets.supervisor.running()
            if running:
                victim = targets.rng.choice(running)
                targets.supervisor.kill(victim)
                targets.timeline.note(f"SIGKILL {victim}")
            if stop.wait(targets.rng.uniform(*self.every_s)):
                return


@dataclass(frozen=True)
class ScorerScaling:
    """Lose a scorer replica for good at ``retire_at_s``; add a new one at ``add_at_s``."""

    retire_at_s: float
    add_at_s: float
    retire: str = "scorer-1"
    add: str = "scorer-4"

    def run(self, targets: Targets, stop: threading.Event) -> None:
        if _sleep_until(targets.timeline, self.retire_at_s, stop):
            return
        targets.supervisor.retire(self.retire)
        targets.timeline.note(f"SIGKILL {self.retire} for good (replicas 3 → 2)")
        if _sleep_until(targets.timeline, self.add_at_s, stop):
            return
        targets.supervisor.add(self.add)
        targets.timeline.note(f"started {self.add} (replicas 2 → 3)")


@dataclass(frozen=True)
class BrokerOutage:
    """Stop the (single) Kafka broker for ``down_s`` seconds, then start it again."""

    at_s: float
    down_s: float = 20.0

    def run(self, targets: Targets, stop: threading.Event) -> None:
        broker = targets.servers.broker
        if broker is None or _sleep_until(targets.timeline, self.at_s, stop):
            return
        broker.stop(graceful=True)
        targets.timeline.note("kafka broker stopped")
        stop.wait(self.down_s)  # cut short by a stop, but never left down
        broker.start()
        targets.timeline.note("kafka broker started and ready")


@dataclass(frozen=True)
class BrokerNodeKill:
    """SIGKILL one broker of the 3-node cluster; start it again ``back_after_s`` later."""

    at_s: float
    back_after_s: float = 30.0
    node_id: int = 2

    def run(self, targets: Targets, stop: threading.Event) -> None:
        cluster = targets.servers.cluster
        if cluster is None or _sleep_until(targets.timeline, self.at_s, stop):
            return
        cluster.kill_node(self.node_id)
        targets.timeline.note(f"SIGKILL kafka node {self.node_id} of 3")
        stop.wait(self.back_after_s)
        cluster.start_node(self.node_id)
        targets.timeline.note(f"kafka node {self.node_id} back in the cluster")


@dataclass(frozen=True)
class PostgresOutage:
    """Stop PostgreSQL for ``down_s`` seconds, then start it again."""

    at_s: float
    down_s: float = 20.0

    def run(self, targets: Targets, stop: threading.Event) -> None:
        server = targets.servers.postgres
        if server is None or _sleep_until(targets.timeline, self.at_s, stop):
            return
        server.stop()
        targets.timeline.note("postgres stopped")
        stop.wait(self.down_s)
        server.start()
        targets.timeline.note("postgres started and accepting")


@dataclass(frozen=True)
class FlakyLLM:
    """The LLM fails ``error_share`` of calls (HTTP 500) and answers ``malformed_share``
    with unusable content from the start, and is fully down (503) for ``down_s`` seconds
    from ``down_at_s``."""

    down_at_s: float
    down_s: float = 30.0
    error_share: float = 0.3
    malformed_share: float = 0.1

    def run(self, targets: Targets, stop: threading.Event) -> None:
        targets.llm.configure(server_error=self.error_share, malformed=self.malformed_share)
        targets.timeline.note(
            f"llm: {self.error_share:.0%} errors, {self.malformed_share:.0%} malformed"
        )
        if _sleep_until(targets.timeline, self.down_at_s, stop):
            return
        targets.llm.configure(status=503)
        targets.timeline.note("llm down (every call 503)")
        stop.wait(self.down_s)
        targets.llm.configure(status=None)
        targets.timeline.note("llm back (errors as before)")


@dataclass(frozen=True)
class HugeModelNumbers:
    """``share`` of the model's answers carry a 5,000-digit number (past Python's int
    conversion limit): each must end as an invalid answer, never an endless retry."""

    share: float = 0.01

    def run(self, targets: Targets, stop: threading.Event) -> None:
        targets.llm.configure(huge_number=self.share)
        targets.timeline.note(f"llm: {self.share:.0%} answers with a 5,000-digit number")


@dataclass(frozen=True)
class TopicRefusal:
    """``permits.dlq`` refuses every record (``max.message.bytes`` far below any record) for
    ``down_s`` seconds, longer than the services' delivery timeout, then takes them again."""

    at_s: float
    down_s: float = 45.0
    refusing_bytes: int = 64

    def run(self, targets: Targets, stop: threading.Event) -> None:
        kafka, topic = targets.kafka, Topic.DLQ.value
        if kafka is None or _sleep_until(targets.timeline, self.at_s, stop):
            return
        set_topic_config(kafka, topic, "max.message.bytes", str(self.refusing_bytes))
        targets.timeline.note(f"{topic} refuses every record")
        stop.wait(self.down_s)
        set_topic_config(kafka, topic, "max.message.bytes", str(DLQ_MAX_MESSAGE_BYTES))
        targets.timeline.note(f"{topic} takes records again")


@dataclass(frozen=True)
class ReceiverFlaps:
    """The buyer's webhook endpoint refuses connections for ``down_s`` out of every
    ``down_s + up_s`` seconds, from ``start_s`` to ``end_s``; up again afterwards."""

    start_s: float
    end_s: float
    down_s: float = 8.0
    up_s: float = 4.0

    def run(self, targets: Targets, stop: threading.Event) -> None:
        receiver = targets.webhooks
        if receiver is None or _sleep_until(targets.timeline, self.start_s, stop):
            return
        try:
            while targets.timeline.elapsed() < self.end_s:
                receiver.stop()
                targets.timeline.note("webhook receiver down (connections refused)")
                if stop.wait(self.down_s):
                    return
                receiver.start()
                targets.timeline.note("webhook receiver up")
                if stop.wait(self.up_s):
                    return
        finally:
            if not receiver.running:
                receiver.start()


@dataclass(frozen=True)
class NotifierKills:
    """SIGKILL the notifier every ``every_s`` seconds (jittered) in a window: relaying,
    matching and sending are all cut mid-way."""

    start_s: float
    end_s: float
    every_s: tuple[float, float] = (3.0, 8.0)
    name: str = "notifier"

    def run(self, targets: Targets, stop: threading.Event) -> None:
        if _sleep_until(targets.timeline, self.start_s, stop):
            return
        while targets.timeline.elapsed() < self.end_s:
            if self.name in targets.supervisor.running():
                targets.supervisor.kill(self.name)
                targets.timeline.note(f"SIGKILL {self.name}")
            if stop.wait(targets.rng.uniform(*self.every_s)):
                return


def _sleep_until(timeline: Timeline, at_s: float, stop: threading.Event) -> bool:
    """Wait until ``at_s`` into the run; True if the run was stopped meanwhile."""
    return stop.wait(max(0.0, at_s - timeline.elapsed()))
