"""Measure the smallest stable Kafka heap: ``python -m localinfra.heapprobe``.

Needs confluent_kafka in the running interpreter (imported lazily, so the rest of the
package stays stdlib-only). For each heap size it starts a throw-away broker on its own
port and data dir, runs a test-suite-like workload twice, and reports JVM GC counters.
"Stable" means: the broker survived, every message came back, and there was no full GC.
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from localinfra._util import log, run_dir
from localinfra.kafka_node import KafkaNode, random_uuid

LARGE_MESSAGE = 2 * 1024 * 1024  # what the DLQ tests send


@dataclass
class ProbeResult:
    heap: str
    start_s: float
    rounds_s: list[float]
    consumed_ok: bool
    alive: bool
    young_gcs: int
    full_gcs: int
    old_used_pct: float
    live_mb: float

    @property
    def stable(self) -> bool:
        return self.alive and self.consumed_ok and self.full_gcs == 0


def _ck() -> Any:
    try:
        return importlib.import_module("confluent_kafka")
    except ImportError:
        sys.exit("heapprobe needs confluent_kafka (use the project's virtualenv)")


def _create_topics(bootstrap: str, topics: list[str]) -> None:
    admin_mod = importlib.import_module("confluent_kafka.admin")
    admin = admin_mod.AdminClient({"bootstrap.servers": bootstrap})
    new = [admin_mod.NewTopic(t, num_partitions=12, replication_factor=1) for t in topics]
    for future in admin.create_topics(new).values():
        future.result(60)


def _produce(bootstrap: str, topics: list[str], messages: int, large: int) -> None:
    ck = _ck()
    producer = ck.Producer(
        {"bootstrap.servers": bootstrap, "acks": "all", "message.max.bytes": 4 * 1024 * 1024}
    )
    payload = b"x" * 1024
    for i in range(messages):
        while True:
            try:
                producer.produce(topics[i % len(topics)], payload, key=str(i).encode())
                break
            except BufferError:  # local queue full: let librdkafka drain it
                producer.poll(0.1)
        producer.poll(0)
    for i in range(large):
        producer.produce(topics[0], b"L" * LARGE_MESSAGE, key=f"large-{i}".encode())
    if producer.flush(120) != 0:
        raise RuntimeError("producer could not flush")


def _consume(bootstrap: str, topics: list[str], expected: int, group: str) -> int:
    ck = _ck()
    consumer = ck.Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "fetch.message.max.bytes": 4 * 1024 * 1024,
        }
    )
    consumer.subscribe(topics)
    seen, deadline = 0, time.monotonic() + 120
    while seen < expected and time.monotonic() < deadline:
        for msg in consumer.consume(1000, timeout=1.0):
            if msg.error() is None:
                seen += 1
    consumer.close()
    return seen


def _gc_counters(pid: int) -> tuple[int, int, float]:
    """(young GCs, full GCs, old gen used %) from jstat -gcutil."""
    out = subprocess.run(
        ["jstat", "-gcutil", str(pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    if len(out) < 2:
        return -1, -1, -1.0
    half = len(out) // 2
    row = dict(zip(out[:half], out[half:], strict=True))
    return int(row["YGC"]), int(row["FGC"]), float(row["O"])


def _live_mb(pid: int) -> float:
    """Heap still in use after a forced full GC (the live set), in MiB."""
    subprocess.run(["jcmd", str(pid), "GC.run"], capture_output=True, check=False)
    out = subprocess.run(
        ["jstat", "-gc", str(pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    if len(out) < 2:
        return -1.0
    half = len(out) // 2
    row = dict(zip(out[:half], out[half:], strict=True))
    used_kb = sum(float(row[k]) for k in ("S0U", "S1U", "EU", "OU"))
    return used_kb / 1024


def probe(
    heap: str, port: int, messages: int, large: int, rounds: int, topics_per_round: int
) -> ProbeResult:
    home = run_dir() / "heapprobe"
    shutil.rmtree(home, ignore_errors=True)
    node = KafkaNode(node_id=1, port=port, controller_port=port + 1, home=home, heap=heap)
    node.format(random_uuid())
    rounds_s: list[float] = []
    consumed_ok, start_s = True, -1.0
    try:
        started = time.monotonic()
        node.start()
        start_s = time.monotonic() - started
        for r in range(rounds):
            t0 = time.monotonic()
            topics = [f"probe-{r}-{i}" for i in range(topics_per_round)]
            _create_topics(node.bootstrap, topics)
            _produce(node.bootstrap, topics, messages, large)
            got = _consume(node.bootstrap, topics, messages + large, f"probe-{r}")
            consumed_ok = consumed_ok and got == messages + large
            rounds_s.append(time.monotonic() - t0)
        pid = node.pid()
        alive = pid is not None
        young, full, old = _gc_counters(pid) if pid is not None else (-1, -1, -1.0)
        live = _live_mb(pid) if pid is not None else -1.0  # after the counters: it is a full GC
    except Exception as exc:  # a broker that died mid-run is a result, not a crash
        log(f"heap {heap}: failed: {str(exc)[-300:]}")
        alive, consumed_ok, young, full, old, live = node.is_running(), False, -1, -1, -1.0, -1.0
    finally:
        node.stop(graceful=False)
    return ProbeResult(heap, start_s, rounds_s, consumed_ok, alive, young, full, old, live)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localinfra.heapprobe")
    parser.add_argument("--heaps", default="128m,192m,256m,384m")
    parser.add_argument("--port", type=int, default=19292)
    parser.add_argument("--messages", type=int, default=20000, help="1 KiB messages per round")
    parser.add_argument("--large", type=int, default=5, help="2 MiB messages per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--topics", type=int, default=20, help="12-partition topics per round")
    args = parser.parse_args(argv)
    results = [
        probe(heap, args.port, args.messages, args.large, args.rounds, args.topics)
        for heap in args.heaps.split(",")
    ]
    print("heap   start_s  rounds_s          consumed  alive  YGC  FGC  old%  live_MiB  stable")
    for r in results:
        rounds = ",".join(f"{s:.1f}" for s in r.rounds_s)
        print(
            f"{r.heap:<6} {r.start_s:7.1f}  {rounds:<16}  {r.consumed_ok!s:<8}  "
            f"{r.alive!s:<5}  {r.young_gcs:3d}  {r.full_gcs:3d}  {r.old_used_pct:4.0f}  "
            f"{r.live_mb:8.1f}  {r.stable}"
        )
    shutil.rmtree(run_dir() / "heapprobe", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
