"""The dev/test Kafka broker: one KRaft node (broker+controller) on LEADSTREAM_KAFKA_PORT,
run from Maven jars (kafka_jars), started once and shared by everything on the machine.

A node is :mod:`localinfra.kafka_node`, a multi-node cluster :mod:`localinfra.kafka_cluster`.
"""

from __future__ import annotations

import contextlib
import os

from localinfra._util import (
    ProcessExited,
    env_int,
    file_lock,
    log,
    process_alive,
    process_cmdline,
    read_pid,
    run_dir,
    terminate_many,
)
from localinfra.kafka_jars import ensure_kafka_libs
from localinfra.kafka_node import READY_TIMEOUT_S, STOP_TIMEOUT_S, KafkaNode, random_uuid

DEFAULT_PORT = 19092  # controller listener on DEFAULT_PORT + 1


def kafka_port() -> int:
    return env_int("LEADSTREAM_KAFKA_PORT", DEFAULT_PORT)


def single_node() -> KafkaNode:
    """The dev/test broker: node 1, data in <run>/kafka-1."""
    port = kafka_port()
    return KafkaNode(node_id=1, port=port, controller_port=port + 1, home=run_dir() / "kafka-1")


def _single_lock() -> contextlib.AbstractContextManager[None]:
    return file_lock(run_dir() / ".kafka-1.lock")


def _ensure_single_formatted(node: KafkaNode) -> None:
    # Formatting is one-time per data dir. (Changing LEADSTREAM_KAFKA_PORT later is fine: a
    # lone standalone voter elects itself even though the recorded endpoint is stale.)
    if not node.is_formatted():
        log(f"formatting kafka storage in {node.data_dir}")
        node.format(random_uuid())


def start_kafka(timeout: float = READY_TIMEOUT_S) -> str:
    """Start the local single broker unless it already runs; return its bootstrap string.
    Ignores KAFKA_BOOTSTRAP_SERVERS (use ensure_kafka for that)."""
    node = single_node()
    with _single_lock():
        if node.is_running():
            try:
                node.wait_ready(timeout=timeout)
                return node.bootstrap
            except ProcessExited:
                # Found alive but it died while we waited: typically a chaos test that just
                # sent SIGKILL (kill() returns before the process is gone). Start it anew.
                log("kafka node 1 went away while we waited for it; starting it again")
        ensure_kafka_libs()
        _ensure_single_formatted(node)
        node.start(timeout=timeout)
    return node.bootstrap


def ensure_kafka(timeout: float = READY_TIMEOUT_S) -> str:
    """Bootstrap servers to use: $KAFKA_BOOTSTRAP_SERVERS if set (nothing is started),
    otherwise the local broker, started and awaited if needed."""
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        return external
    return start_kafka(timeout=timeout)


def stop_kafka(graceful: bool = True, timeout: float = STOP_TIMEOUT_S) -> None:
    """Stop the local single broker (never an external one); idempotent."""
    with _single_lock():
        single_node().stop(graceful=graceful, timeout=timeout)


def kafka_running() -> bool:
    """True when the local single broker's process is alive and answers metadata."""
    node = single_node()
    return node.is_running() and node.is_ready()


def kafka_bootstrap() -> str | None:
    """$KAFKA_BOOTSTRAP_SERVERS, else the local broker's address if it runs, else None."""
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        return external
    return single_node().bootstrap if kafka_running() else None


def stop_all_kafka(graceful: bool = True, timeout: float = STOP_TIMEOUT_S) -> int:
    """Stop every broker this module started under the run dir, clusters included (e.g.
    left behind by an aborted test run). Returns how many were running."""
    # kafka-1/, heapprobe/ (depth 1) and kafka-cluster-*/kafka-N/ (depth 2); not deeper, so
    # partition directories are never walked.
    pid_paths = sorted([*run_dir().glob("*/kafka.pid"), *run_dir().glob("*/*/kafka.pid")])
    pids: dict[str, int] = {}
    for pid_path in pid_paths:
        pid = read_pid(pid_path)
        if pid is not None and process_alive(pid) and "kafka.Kafka" in process_cmdline(pid):
            pids[f"kafka ({pid_path.parent})"] = pid
    terminate_many(pids, graceful=graceful, timeout=timeout)
    for pid_path in pid_paths:
        pid_path.unlink(missing_ok=True)
    return len(pids)
