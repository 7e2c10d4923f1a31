"""The faults the chaos harness injects (the supervisor that restarts what they break is in
:mod:`localinfra.chaos_supervisor`).

Each fault runs in a thread of its own on a schedule relative to the start of the run and
notes what it did on the shared :class:`Timeline`. A fault always undoes itself (a stopped
server is started again) even when the run is cut short, so nothing is left broken.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Protocol

from localinfra.chaos_servers import Servers
from localinfra.chaos_supervisor import Supervisor, Timeline
from localinfra.fake_llm import FakeLLM
from localinfra.webhook_receiver import WebhookReceiver
from schemas import Topic
from services.common.config import KafkaSettings
from services.common.kafka import DLQ_MAX_MESSAGE_BYTES, set_topic_config


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
