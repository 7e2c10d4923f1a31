"""``python -m localinfra.chaos``: the whole pipeline under faults, and proof nothing is lost.

Per scenario: a Kafka broker (or a 3-broker cluster) and a PostgreSQL server of its own, with
fresh topics, consumer groups and database; the fake LLM in this process; every service as
its own process (categorizer, enricher, three scorers, store) kept running by a supervisor;
real Austin permits (plus a poison stream) published at a steady rate while the scenario's
faults are injected; a wait until everything is drained; then the conservation check: every
input key has exactly one lead, discard or DLQ record. ``--report`` writes the results into
docs/reliability.md, which says what each scenario does.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from localinfra import kafka as local_kafka
from localinfra._util import run_dir
from localinfra.chaos_faults import (
    BrokerNodeKill,
    BrokerOutage,
    Fault,
    FlakyLLM,
    HugeModelNumbers,
    NotifierKills,
    PostgresOutage,
    PrivatePostgres,
    ProcessKills,
    ReceiverFlaps,
    ScorerScaling,
    Servers,
    Supervisor,
    Targets,
    Timeline,
    TopicRefusal,
    scorer_events,
)
from localinfra.chaos_input import (
    InputMessage,
    Kind,
    Publisher,
    austin_permits,
    interleave,
    permit_messages,
    poison_messages,
)
from localinfra.chaos_ledger import (
    LagSampler,
    WebhookLedger,
    accounted_inputs,
    take_ledger,
    take_webhook_ledger,
)
from localinfra.chaos_report import ScenarioResult, judge, summary, write_report
from localinfra.chaos_trace import trace_keys
from localinfra.kafka import KafkaCluster, KafkaNode
from localinfra.stack import REPO, Stack, plan
from services.common.config import KafkaSettings
from services.common.db.engine import make_engine, upgrade
from services.common.kafka import create_topics
from tests.support.fake_llm import FakeLLM, FakeLLMConfig
from tests.support.webhook_receiver import WebhookReceiver

SHARED_DATA = REPO.parent / "shared" / "data"
POISON_SHARE = 0.01
SCORER_REPLICAS = 3
# The harness runs on servers of its own, which its faults may stop: the machine's broker
# (19092) and PostgreSQL (55432) serve everything else on it (and others stop them too).
# Ports below Linux's ephemeral range (32768+), where an outgoing connection could hold them.
PRIVATE_BROKER_PORT = 19292
CLUSTER_BASE_PORT = 29292
PRIVATE_PG_PORT = 25432
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
class Scenario:
    name: str
    what: str
    # The faults of a run that publishes for ``publish_s`` seconds (timings scale with it).
    faults: Callable[[float], tuple[Fault, ...]]
    poison: bool = False
    cluster: bool = False  # three brokers instead of one
    webhooks: bool = False  # a buyer subscribed to every lead, on a receiver in this process


def process_kills(publish_s: float) -> ProcessKills:
    return ProcessKills(start_s=5, end_s=max(publish_s, 30))


def webhook_faults(publish_s: float) -> tuple[Fault, ...]:
    end = max(publish_s, 40)
    return ReceiverFlaps(start_s=5, end_s=end), NotifierKills(start_s=8, end_s=end)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("baseline", "no fault: the reference for drain time and lag", lambda p: ()),
        Scenario(
            "kill",
            "SIGKILL of a random service process every 2–6 s while publishing, each "
            "restarted 1 s later",
            lambda p: (process_kills(p),),
        ),
        Scenario(
            "broker",
            "the Kafka broker stopped for 20 s, then started",
            lambda p: (BrokerOutage(at_s=0.3 * p),),
        ),
        Scenario(
            "postgres",
            "PostgreSQL stopped for 20 s, then started",
            lambda p: (PostgresOutage(at_s=0.3 * p),),
        ),
        Scenario(
            "llm",
            "the LLM fails 30 % of calls and answers 10 % malformed throughout, and is down "
            "(503) for 30 s; the circuits must open and close on their own",
            lambda p: (FlakyLLM(down_at_s=0.3 * p),),
        ),
        Scenario(
            "poison",
            "1 % more input: garbage of every kind (times at the ends of the calendar "
            "included), and permits with hostile text; 1 % of model answers carry a "
            "5,000-digit number",
            lambda p: (HugeModelNumbers(),),
            poison=True,
        ),
        Scenario(
            "refusal",
            "1 % poison; the DLQ topic refuses every record for 45 s, three times the "
            "services' delivery timeout, then takes them again",
            lambda p: (TopicRefusal(at_s=0.3 * p),),
            poison=True,
        ),
        Scenario(
            "scale",
            "three scorer replicas; one SIGKILLed for good, a fourth started later",
            lambda p: (ScorerScaling(retire_at_s=0.25 * p, add_at_s=0.5 * p),),
        ),
        Scenario(
            "cluster",
            "3 brokers (replication factor 3, min.insync.replicas 2); one SIGKILLed, "
            "back 30 s later",
            lambda p: (BrokerNodeKill(at_s=0.3 * p),),
            cluster=True,
        ),
        Scenario(
            "webhook",
            "a buyer subscribed to every lead; its webhook endpoint refuses connections 8 s "
            "out of every 12 and the notifier is SIGKILLed every 3–8 s while publishing; "
            "every sellable lead must be delivered",
            webhook_faults,
            webhooks=True,
        ),
        Scenario(
            "all",
            "all of the above at once, on the 3-broker cluster (its broker fault is the kill "
            "of one broker)",
            lambda p: (
                process_kills(p),
                FlakyLLM(down_at_s=0.2 * p),
                ScorerScaling(retire_at_s=0.3 * p, add_at_s=0.6 * p),
                PostgresOutage(at_s=0.4 * p),
                BrokerNodeKill(at_s=0.5 * p),
                TopicRefusal(at_s=0.65 * p),
                HugeModelNumbers(),
                *webhook_faults(p),
            ),
            poison=True,
            cluster=True,
            webhooks=True,
        ),
    )
}


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
    subscription = _subscribe_to_everything(pipeline, receiver) if receiver else None
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


def _subscribe_to_everything(pipeline: Pipeline, receiver: WebhookReceiver) -> str:
    """A buyer entitled to every trade group and tier, and a subscription without filters:
    every sellable lead stored must reach ``receiver``."""
    from schemas import TradeGroup
    from tests.notifier.seeds import add_buyer, add_subscription

    engine = make_engine(pipeline.database_url)
    try:
        buyer = add_buyer(engine, "chaos buyer", [group.value for group in TradeGroup])
        subscription, _ = add_subscription(engine, buyer, receiver.url("/chaos"))
    finally:
        engine.dispose()
    return subscription


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


def judge_webhooks(ledger: WebhookLedger) -> list[str]:
    found = []
    if ledger.undelivered:
        found.append(
            f"{len(ledger.undelivered)} sellable leads never delivered to the subscription, "
            f"e.g. lead ids {list(ledger.undelivered[:3])}"
        )
    if ledger.unseen:
        found.append(
            f"{len(ledger.unseen)} leads' webhooks never reached the receiver, "
            f"e.g. lead ids {list(ledger.unseen[:3])}"
        )
    return found


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


# ----------------------------------------------------------------------------- infrastructure


def chaos_dir() -> Path:
    return run_dir() / "chaos"


@dataclass
class Infrastructure:
    """One run's servers, topics and database."""

    pipeline: Pipeline
    servers: Servers
    run_path: Path
    drop_database: Callable[[], None]


@contextmanager
def infrastructure(scenario: Scenario, options: RunOptions) -> Iterator[Infrastructure]:
    """Start the run's own servers (a broker or three, PostgreSQL) and create its topics and
    database; on exit, stop the servers and discard the brokers' data."""
    run_id = f"{scenario.name}_{uuid.uuid4().hex[:8]}"
    with ExitStack() as cleanup:
        bootstrap, broker, cluster = _start_kafka(scenario.cluster, cleanup)
        postgres = PrivatePostgres(chaos_dir() / "postgres", PRIVATE_PG_PORT)
        cleanup.callback(postgres.stop)
        postgres.start()
        database = f"chaos_{run_id}"
        url = postgres.create_database(database)
        upgrade(url)
        kafka = KafkaSettings(
            bootstrap_servers=bootstrap,
            topic_prefix=f"chaos.{run_id}.",
            group_prefix=f"chaos.{run_id}",
            partitions=options.partitions,
            replication_factor=3 if cluster else 1,
        )
        create_topics(kafka)
        yield Infrastructure(
            Pipeline(kafka, url),
            Servers(broker, cluster, postgres),
            chaos_dir() / "runs" / run_id,
            partial(postgres.drop_database, database),
        )


def _start_kafka(
    three_brokers: bool, cleanup: ExitStack
) -> tuple[str, KafkaNode | None, KafkaCluster | None]:
    """(bootstrap servers, the single broker or None, the cluster or None), with empty data."""
    if three_brokers:
        cluster = KafkaCluster(3, CLUSTER_BASE_PORT, home=chaos_dir() / "kafka-cluster")
        _discard_data(cleanup, cluster.nodes)
        return cluster.start(), None, cluster
    node = KafkaNode(1, PRIVATE_BROKER_PORT, PRIVATE_BROKER_PORT + 1, chaos_dir() / "kafka")
    _discard_data(cleanup, [node])
    node.format(local_kafka.random_uuid())
    node.start()
    return node.bootstrap, node, None


def _discard_data(cleanup: ExitStack, nodes: Sequence[KafkaNode]) -> None:
    """Start each run with empty brokers and leave only their logs behind (post-mortems)."""

    def discard() -> None:
        for node in nodes:
            node.stop(graceful=False)
            shutil.rmtree(node.data_dir, ignore_errors=True)

    discard()
    cleanup.callback(discard)


# ----------------------------------------------------------------------------- command line


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m localinfra.chaos",
        description="Run the pipeline under faults and check that no permit is lost.",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=sorted(SCENARIOS),
        help="repeatable; default: every scenario in turn ('all' is the one with every "
        "fault at once)",
    )
    parser.add_argument("--permits", type=int, default=RunOptions.permits)
    parser.add_argument(
        "--rate", type=float, default=RunOptions.rate, help="messages published per second"
    )
    parser.add_argument("--partitions", type=int, default=RunOptions.partitions)
    parser.add_argument("--drain-timeout", type=float, default=RunOptions.drain_timeout_s)
    parser.add_argument("--data", type=Path, default=SHARED_DATA, help="the shared data dir")
    parser.add_argument("--report", type=Path, help="markdown file to put the results in")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    options = RunOptions(
        args.permits, args.rate, args.partitions, args.drain_timeout, args.data.resolve()
    )
    permits = austin_permits(options.data_dir, options.permits)
    names = args.scenario or list(SCENARIOS)
    command = " ".join(["python -m localinfra.chaos", *(argv or sys.argv[1:])])
    results = []
    for name in names:
        scenario = SCENARIOS[name]
        poison = poison_messages(permits, POISON_SHARE) if scenario.poison else []
        messages = interleave(permit_messages(permits), poison)
        with infrastructure(scenario, options) as infra:
            result = run_scenario(
                scenario, infra.pipeline, messages, options, infra.run_path, infra.servers
            )
            if result.passed:
                infra.drop_database()  # a failed run's database stays, for the post-mortem
        print(summary(result), flush=True)
        results.append(result)
        if args.report is not None:
            write_report(args.report, results, list(SCENARIOS), command)
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
