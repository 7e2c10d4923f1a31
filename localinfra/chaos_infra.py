"""Each chaos run's own servers (a broker or three, PostgreSQL), topics and database."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from localinfra._util import run_dir
from localinfra.chaos_run import Pipeline, RunOptions
from localinfra.chaos_scenarios import Scenario
from localinfra.chaos_servers import PrivatePostgres, Servers
from localinfra.kafka_cluster import KafkaCluster
from localinfra.kafka_node import KafkaNode, random_uuid
from services.common.config import KafkaSettings
from services.common.db.engine import upgrade
from services.common.kafka import create_topics

# The harness runs on servers of its own, which its faults may stop: the machine's broker
# (19092) and PostgreSQL (55432) serve everything else on it (and others stop them too).
# Ports below Linux's ephemeral range (32768+), where an outgoing connection could hold them.
PRIVATE_BROKER_PORT = 19292
CLUSTER_BASE_PORT = 29292
PRIVATE_PG_PORT = 25432


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
    node.format(random_uuid())
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
