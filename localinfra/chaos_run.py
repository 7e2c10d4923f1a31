"""One chaos run: the pipeline's services under a scenario's faults, until every input is
accounted for (or the deadline passes), and the conservation check that follows."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from localinfra.chaos_buyer import subscribe_to_everything
from localinfra.chaos_faults import FlakyLLM, Targets
from localinfra.chaos_input import InputMessage, Kind, Publisher
from localinfra.chaos_ledger import (
    LagSampler,
    WebhookLedger,
    accounted_inputs,
    take_ledger,
    take_webhook_ledger,
)
from localinfra.chaos_report import ScenarioResult, judge, judge_webhooks
from localinfra.chaos_scenarios import Scenario
from localinfra.chaos_servers import Servers
from localinfra.chaos_supervisor import Supervisor, Timeline, scorer_events
from localinfra.chaos_trace import trace_keys
from localinfra.fake_llm import FakeLLM, FakeLLMConfig
from localinfra.stack import REPO, Stack, plan
from localinfra.webhook_receiver import WebhookReceiver
from services.common.config import KafkaSettings
from services.common.db.engine import make_engine

SHARED_DATA = REPO.parent / "shared" / "data"
SCORER_REPLICAS = 3
# Real models take seconds per answer; in-flight limits, the circuit and backpressure only
# matter when answers take time.
LLM_LATENCY_S = 0.2
# The services' retries and back-offs, shortened so that a run recovers within seconds.
FAST_RECOVERY = {
    "LEADSTREAM_COMMIT_INTERVAL_S": "0.5",
    "LEADSTREAM_RETRY_BACKOFF_MAX_S": "2",
    "LEADSTREAM_LLM_BACKOFF_BASE_S": "0.2",
    "LEADSTREAM_LLM_BACKOFF_MAX_S": "2",
    "LEADSTREAM_LLM_RETRY_BUDGET_S": "10",
    "LEADSTREAM_LLM_DEADLINE_S": "10",
    "LEADSTREAM_CIRCUIT_PROBE_INTERVAL_S": "2",
    "LEADSTREAM_RESCORE_DELAY_S": "2",
    "LEADSTREAM_RESCORE_BACKOFF": "2",
    "LEADSTREAM_RESCORE_MAX_DELAY_S": "10",
    "LEADSTREAM_RESCORE_MAX_WAIT_S": "5",
    "LEADSTREAM_SCORING_CACHE_POOL_SIZE": "4",
    # The buyer's endpoint is on loopback; webhook retries in seconds, not minutes.
    "LEADSTREAM_WEBHOOK_ALLOW_PRIVATE": "1",
    "LEADSTREAM_WEBHOOK_RETRY_SCHEDULE_S": "[0.5, 1, 2]",
    "LEADSTREAM_WEBHOOK_RETRY_EVERY_S": "3",
    "LEADSTREAM_WEBHOOK_LEASE_S": "5",
}
# After the permits are drained: how long every matching lead has to reach the webhook.
WEBHOOK_DRAIN_TIMEOUT_S = 180.0
DELIVERY_TIMEOUT_MS = 15_000
SETTLE_S = 3.0  # after draining: a duplicate written late would show up meanwhile


@dataclass(frozen=True)
class RunOptions:
    permits: int = 20_000
    rate: float = 200.0  # messages per second published; 0 = all at once
    partitions: int = 8
    drain_timeout_s: float = 900.0  # beyond the time publishing takes at ``rate``
    data_dir: Path = SHARED_DATA


@dataclass(frozen=True)
class Pipeline:
    """Where one run's pipeline lives: its topics and groups, and its migrated database."""

    kafka: KafkaSettings
    database_url: str


# ----------------------------------------------------------------------------- one run


def service_env(pipeline: Pipeline, llm_url: str) -> dict[str, str]:
    """The environment of every service process of a run."""
    kafka = pipeline.kafka
    return {
        **os.environ,
        **FAST_RECOVERY,
        **kafka.environment(),
        # Short, so the refusal scenario outlasts it: failed deliveries must be sent again.
        "LEADSTREAM_DELIVERY_TIMEOUT_MS": str(DELIVERY_TIMEOUT_MS),
        "DATABASE_URL": pipeline.database_url,
        "LEADSTREAM_SCORER_BACKEND": "llm",
        "LEADSTREAM_LLM_BASE_URL": llm_url,
        "LEADSTREAM_LLM_API_KEY": "test",
    }


def run_scenario(
    scenario: Scenario,
    pipeline: Pipeline,
    messages: Sequence[InputMessage],
    options: RunOptions,
    run_path: Path,
    servers: Servers | None = None,
) -> ScenarioResult:
    """Run the pipeline on ``messages`` under the scenario's faults, then stop everything."""
    publish_s = len(messages) / options.rate if options.rate else 0.0
    faults = scenario.faults(publish_s)
    timeline = Timeline(scenario.name)
    stop = threading.Event()
    threads: list[threading.Thread] = []
    receiver = WebhookReceiver() if scenario.webhooks else None
    subscription = (
        subscribe_to_everything(pipeline.database_url, receiver.url("/chaos")) if receiver else None
    )
    webhooks: WebhookLedger | None = None
    with FakeLLM(FakeLLMConfig(latency_s=LLM_LATENCY_S, seed=3)) as llm:
        stack = Stack(service_env(pipeline, llm.url), run_path)
        supervisor = Supervisor(stack, timeline)
        try:
            _start_services(supervisor)
            timeline.restart()
            targets = Targets(supervisor, timeline, llm, servers or Servers(), pipeline.kafka)
            targets.webhooks = receiver
            threads += [_thread(fault.run, targets, stop) for fault in faults]
            faults_over = threads.copy()
            threads.append(_thread(supervisor.keep_running, stop))
            publisher = Publisher(pipeline.kafka, messages, options.rate)
            threads.append(_thread(publisher.run, stop))
            with LagSampler(pipeline.kafka).running() as lag:
                engine = make_engine(pipeline.database_url)
                drain = Drain(engine, [m.key for m in messages], publisher, faults_over, lag)
                drained_after = drain.wait(timeline, publish_s + options.drain_timeout_s)
                time.sleep(SETTLE_S)
                garbage = [m.key for m in messages if m.kind is Kind.GARBAGE]
                ledger = take_ledger(engine, drain.keys, garbage)
                trace = trace_keys(pipeline.kafka, ledger.missing[:20]) if ledger.missing else {}
                if receiver is not None and subscription is not None:
                    webhooks = _wait_for_webhooks(engine, subscription, receiver, timeline)
                open_circuits = supervisor.open_circuits()
                engine.dispose()
            llm_calls = llm.stats()["outcomes"]
        finally:
            stop.set()
            for thread in threads:
                thread.join(120)  # faults put every server back before they return
            stack.stop_all()
            if receiver is not None:
                receiver.stop()
    result = ScenarioResult(
        scenario=scenario.name,
        inputs=len(messages),
        ledger=ledger,
        all_published=publisher.done.is_set(),
        drained_after_s=drained_after,
        max_lag=lag.max_lag(),
        kills=supervisor.kills,
        crashes=supervisor.crashes,
        llm_faulted=any(isinstance(fault, FlakyLLM) for fault in faults),
        llm_calls=llm_calls,
        scorer_events=scorer_events(stack.logs),
        timeline=timeline.events(),
        logs=stack.logs,
        missing_trace=trace,
    )
    result.problems = judge(result, open_circuits)
    if webhooks is not None:
        result.problems += judge_webhooks(webhooks)
    return result


def _wait_for_webhooks(
    engine: Engine, subscription: str, receiver: WebhookReceiver, timeline: Timeline
) -> WebhookLedger:
    deadline = time.monotonic() + WEBHOOK_DRAIN_TIMEOUT_S
    while True:
        received = [r.headers.get("webhook-id", "") for r in receiver.on("/chaos")]
        ledger = take_webhook_ledger(engine, subscription, received)
        if (not ledger.undelivered and not ledger.unseen) or time.monotonic() > deadline:
            timeline.note(
                f"webhooks: {ledger.expected:,} sellable leads, {len(ledger.undelivered)} "
                f"undelivered, {len(ledger.unseen)} never received, "
                f"{ledger.extra_ids} redelivered"
            )
            return ledger
        time.sleep(1)


def _start_services(supervisor: Supervisor) -> None:
    for proc in plan(SCORER_REPLICAS, api_port=0):
        if proc.service != "exporter":  # it serves the API; the pipeline does not need it
            supervisor.add(proc.name)
    not_ready = supervisor.wait_ready(timeout_s=120)
    if not_ready:
        logs = supervisor.stack.logs
        raise RuntimeError(f"never became ready: {', '.join(not_ready)} (logs in {logs})")
    # Publishing starts while the groups may still be forming, as on a first deploy: records
    # fetched while a fresh group rebalances must not be lost (docs/reliability.md).


def _thread(target: Callable[..., None], *args: object) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


@dataclass
class Drain:
    """The end of a run: every input has its outcome, every fault is over, no group lags."""

    engine: Engine
    keys: list[str]
    publisher: Publisher
    faults: list[threading.Thread]
    lag: LagSampler
    accounted: int = 0

    def wait(self, timeline: Timeline, deadline_s: float) -> float | None:
        """Seconds from the first message published until drained; None if not drained
        ``deadline_s`` into the run."""
        published = False
        next_progress = 10.0
        while True:
            if not published and self.publisher.done.is_set():
                published = True
                timeline.note(f"all {len(self.keys):,} messages published and acknowledged")
            if self._drained(published):
                return timeline.elapsed()
            if timeline.elapsed() > deadline_s:
                return None
            if timeline.elapsed() >= next_progress:
                next_progress += 10
                timeline.note(f"{self.accounted:,} accounted; lag: {self._lag()}")
            time.sleep(1)

    def _lag(self) -> str:
        if not self.lag.latest:
            return f"unknown ({self.lag.last_error})"
        return ", ".join(f"{g} {n:,}" for g, n in self.lag.latest.items() if n) or "none"

    def _drained(self, published: bool) -> bool:
        try:
            self.accounted = accounted_inputs(self.engine, self.keys)
        except SQLAlchemyError:
            return False  # the database is down (a fault): not drained, whatever it said
        return (
            published
            and self.accounted == len(self.keys)
            and not any(thread.is_alive() for thread in self.faults)
            and self.lag.caught_up()
        )
