"""A small Kafka cluster on 127.0.0.1 for chaos tests: nodes killed, stopped and restarted."""

from __future__ import annotations

import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

from localinfra._util import log, run_dir
from localinfra.kafka_jars import ensure_kafka_libs
from localinfra.kafka_node import (
    HOST,
    READY_TIMEOUT_S,
    STOP_TIMEOUT_S,
    KafkaNode,
    kafka_heap,
    random_uuid,
    stop_nodes,
)

DEFAULT_CLUSTER_BASE_PORT = 29092  # node i: broker base+2(i-1), controller base+2(i-1)+1


class KafkaCluster:
    """``n`` combined broker+controller nodes on 127.0.0.1 with a static controller quorum,
    replication factor min(3, n) and min.insync.replicas one less: for chaos tests that
    kill, stop and restart single nodes. Data lives in <run>/kafka-cluster-<base_port>/.
    """

    def __init__(
        self,
        n: int = 3,
        base_port: int = DEFAULT_CLUSTER_BASE_PORT,
        *,
        heap: str | None = None,
        home: Path | None = None,
    ) -> None:
        if n < 1:
            raise ValueError("a cluster needs at least one node")
        self.home = home if home is not None else run_dir() / f"kafka-cluster-{base_port}"
        ports = {i: (base_port + 2 * (i - 1), base_port + 2 * (i - 1) + 1) for i in range(1, n + 1)}
        # Static voters rather than --initial-controllers: no directory ids to track, and a
        # wiped node can be re-formatted and rejoin without a reconfiguration step.
        voters = ",".join(f"{i}@{HOST}:{ctrl}" for i, (_, ctrl) in ports.items())
        replicas = min(3, n)
        min_isr = max(1, replicas - 1)
        overrides = {
            "default.replication.factor": str(replicas),
            "min.insync.replicas": str(min_isr),
            "offsets.topic.replication.factor": str(replicas),
            "transaction.state.log.replication.factor": str(replicas),
            "transaction.state.log.min.isr": str(min_isr),
        }
        self.nodes = [
            KafkaNode(
                node_id=i,
                port=port,
                controller_port=ctrl,
                home=self.home / f"kafka-{i}",
                voters=voters,
                overrides=dict(overrides),
                heap=heap if heap is not None else kafka_heap(),
            )
            for i, (port, ctrl) in ports.items()
        ]

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(node.bootstrap for node in self.nodes)

    @property
    def node_ids(self) -> list[int]:
        return [node.node_id for node in self.nodes]

    def node(self, node_id: int) -> KafkaNode:
        for node in self.nodes:
            if node.node_id == node_id:
                return node
        raise KeyError(f"no kafka node {node_id} in this cluster (ids {self.node_ids})")

    def _cluster_id(self) -> str:
        path = self.home / "cluster.id"
        if not path.is_file():
            self.home.mkdir(parents=True, exist_ok=True)
            path.write_text(random_uuid() + "\n")
        return path.read_text().strip()

    def _format_missing(self) -> None:
        cluster_id = self._cluster_id()
        todo = [node for node in self.nodes if not node.is_formatted()]
        for node in todo:
            log(f"formatting kafka cluster node {node.node_id} in {node.data_dir}")
        # Each format is a ~1.5 s JVM run, mostly start-up: run them side by side.
        with ThreadPoolExecutor(max_workers=max(1, len(todo))) as pool:
            for future in [pool.submit(node.format, cluster_id) for node in todo]:
                future.result()

    def start(self, timeout: float = READY_TIMEOUT_S * 2) -> str:
        """Start every stopped node and wait until each sees all brokers; returns bootstrap."""
        ensure_kafka_libs()
        self._format_missing()
        for node in self.nodes:
            node.start(wait=False)
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            node.wait_ready(max(1.0, deadline - time.monotonic()), expect=self.node_ids)
        return self.bootstrap_servers

    def stop(self, *, graceful: bool = True, timeout: float = STOP_TIMEOUT_S) -> None:
        stop_nodes(self.nodes, graceful=graceful, timeout=timeout)

    def kill_node(self, node_id: int) -> None:
        self.node(node_id).kill()

    def stop_node(self, node_id: int, *, graceful: bool = True) -> None:
        self.node(node_id).stop(graceful=graceful)

    def start_node(
        self, node_id: int, *, wait: bool = True, timeout: float = READY_TIMEOUT_S
    ) -> None:
        node = self.node(node_id)
        if not node.is_formatted():
            node.format(self._cluster_id())
        node.start(wait=wait, timeout=timeout)

    def restart_node(
        self, node_id: int, *, graceful: bool = True, timeout: float = READY_TIMEOUT_S
    ) -> None:
        self.stop_node(node_id, graceful=graceful)
        self.start_node(node_id, timeout=timeout)

    def running_node_ids(self) -> list[int]:
        return [node.node_id for node in self.nodes if node.is_running()]

    def wipe(self) -> None:
        """Kill every node and delete all cluster data (next start formats from scratch)."""
        self.stop(graceful=False)
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> KafkaCluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
