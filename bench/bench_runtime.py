"""The stream runtime against a bare loop and against quixstreams, on the same broker, same run.

Five contenders, each reading its own consumer group from topics loaded once per round:

- **passthrough**: the bare consume→produce loop (``passthrough.py``) over the toy permits,
  the Python ceiling for moving bytes;
- **echo**: the toy echo stage (``tests/support/toy.py``: decode a ``RawPermit``, encode it
  again) through ``StreamRuntime`` over the same toy permits;
- **passthrough (Austin)**: the bare loop again over the Austin permits;
- **categorizer**: the database-free categorizer stage (the rules' builder list alone, as
  ``bench_categorizer`` measures it) through ``StreamRuntime`` over the first 40,000 real
  Austin permits mapped by the ingest mapper, stamped as scraped on 2016-05-01;
- **quixstreams**: a quixstreams 3.28.1 ``Application`` doing the categorizer stage's exact
  work on the same Austin topic (``quix_app.py``: the same pydantic decode, ``categorize``
  with the same rules and clock, the same ``model_dump_json`` encode, topic and key), with
  quixstreams' default at-least-once and commit settings. quixstreams needs older
  confluent-kafka and pydantic than the project pins, so it runs as a subprocess in its own
  virtualenv in the cache dir (``quix_venv.py``, made on first use) with ``PYTHONPATH`` at the
  repository root; the versions on both sides go into the result line.

Throughput is measured the same way for every contender: records/s between the first and the
last record on its output topics, by the broker's timestamps, which leaves start-up (imports,
group join) out. The output topics stamp records on append (``LogAppendTime``) because
quixstreams copies each input's timestamp onto its outputs. While a contender runs, the
benchmark only asks for end offsets twice a second (the runtime shares this process and its
GIL); the records are read once it is done. Each round loads fresh topics and runs the
contenders in a rotated order; the figures are medians over the rounds, and each ratio is the
median of the ratios within a round. The categorizer's and quixstreams' outputs are compared
record for record (a digest of topic, key and value), so the two did the same work.

``echo_cpu_us`` and ``categorizer_cpu_us`` are the runtime thread's CPU time per message
(Python work; librdkafka's own threads are not in it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from itertools import islice
from pathlib import Path
from statistics import median

from bench.bench_categorizer import AUSTIN, SCRAPED_AT
from bench.infra import kafka_bootstrap, record
from bench.passthrough import (
    Arrived,
    drop_topics,
    fresh_settings,
    load,
    passthrough,
    read_outputs,
    stamp_on_append,
    wait_for_outputs,
)
from bench.quix_venv import quix_python, versions
from schemas.topics import Topic
from services.categorizer.rule_book import load_rules
from services.categorizer.service import build_stage
from services.common.config import KafkaSettings, RuntimeSettings
from services.common.kafka import create_topics
from services.common.runtime import StreamRuntime
from services.ingest.formats import read_permits
from tests.support.toy import TOY_OUT, permit_json, toy_stage

TOY_MESSAGES = 50_000
AUSTIN_MESSAGES = 40_000
RUNS = 5
REPO = Path(__file__).resolve().parents[1]
RAW = Topic.RAW.value
SINK = "bench.passthrough"
CATEGORIZER_OUTPUTS = [Topic.CATEGORIZED.value, Topic.DISCARDED.value]
CONTENDERS = ("passthrough", "echo", "passthrough_austin", "categorizer", "quixstreams")

Messages = list[tuple[str, bytes]]


@dataclass
class Round:
    """Messages/s per contender in one round, and the runtime thread's CPU µs per message."""

    passthrough: float = 0.0
    echo: float = 0.0
    echo_cpu_us: float = 0.0
    passthrough_austin: float = 0.0
    categorizer: float = 0.0
    categorizer_cpu_us: float = 0.0
    quixstreams: float = 0.0
    same_output: bool = False  # quixstreams wrote exactly what the categorizer stage wrote


def _physical(settings: KafkaSettings, names: Sequence[str]) -> dict[str, str]:
    return {settings.topic(name): name for name in names}


def _checked(arrived: Arrived, who: str) -> Arrived:
    if not arrived.append_stamped:
        raise RuntimeError(f"{who}: some outputs carry producer timestamps; the rate would lie")
    return arrived


def run_runtime(
    runtime: StreamRuntime, settings: KafkaSettings, outputs: Sequence[str], expect: int
) -> tuple[Arrived, float]:
    """(what the runtime's stage wrote, the CPU µs per message of the thread running it)."""
    cpu_s: list[float] = []

    def loop() -> None:
        started = time.thread_time()
        try:
            runtime.run()
        finally:
            cpu_s.append(time.thread_time() - started)

    thread = threading.Thread(target=loop, name="bench-runtime", daemon=True)
    thread.start()
    topics = _physical(settings, outputs)
    try:
        wait_for_outputs(settings, topics, expect, still_running=thread.is_alive)
    finally:
        runtime.request_stop()
        thread.join(60)
    arrived = _checked(read_outputs(settings, topics, expect), "runtime")
    return arrived, (cpu_s[0] * 1e6 / expect if cpu_s else float("nan"))


def run_quixstreams(python: Path, source: KafkaSettings, expect: int) -> Arrived:
    """The quixstreams app over ``source``'s permits, writing under its own topic prefix."""
    out = source.model_copy(update={"topic_prefix": f"{source.topic_prefix}quix."})
    create_topics(out, CATEGORIZER_OUTPUTS)
    stamp_on_append(out, CATEGORIZER_OUTPUTS)
    topics = _physical(out, CATEGORIZER_OUTPUTS)
    command = [
        str(python),
        *("-m", "bench.quix_app", source.bootstrap_servers, f"{source.group_prefix}.quixstreams"),
        *(source.topic(RAW), out.topic(Topic.CATEGORIZED.value), out.topic(Topic.DISCARDED.value)),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # Its own working directory: quixstreams makes a state directory in it.
    with tempfile.TemporaryDirectory(prefix="bench-quix-") as workdir:
        log_path = Path(workdir) / "quixstreams.log"
        with log_path.open("w") as log:
            app = subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=log)
            try:
                wait_for_outputs(out, topics, expect, still_running=lambda: app.poll() is None)
            except RuntimeError as exc:
                tail = log_path.read_text()[-3000:]
                raise RuntimeError(f"{exc}; quixstreams wrote:\n{tail}") from exc
            finally:
                app.terminate()
                try:
                    app.wait(30)
                except subprocess.TimeoutExpired:
                    app.kill()
                    app.wait()
    return _checked(read_outputs(out, topics, expect), "quixstreams")


def one_round(
    bootstrap: str, index: int, toy: Messages, austin: Messages, quix: Path
) -> tuple[Round, list[str]]:
    """Every contender once, starting with a different one each round; returns the order."""
    toy_settings = fresh_settings(bootstrap)
    create_topics(toy_settings, [TOY_OUT, SINK])
    stamp_on_append(toy_settings, [TOY_OUT, SINK])
    load(toy_settings, RAW, toy)
    austin_settings = fresh_settings(bootstrap)
    create_topics(austin_settings, [SINK])
    stamp_on_append(austin_settings, [SINK, *CATEGORIZER_OUTPUTS])
    load(austin_settings, RAW, austin)
    rules = load_rules()
    result = Round()
    digests: dict[str, str] = {}

    def echo() -> None:
        runtime = StreamRuntime(toy_stage(), toy_settings, RuntimeSettings())
        arrived, result.echo_cpu_us = run_runtime(runtime, toy_settings, [TOY_OUT], len(toy))
        result.echo = arrived.rate

    def categorizer() -> None:
        runtime = StreamRuntime(build_stage(rules), austin_settings, RuntimeSettings())
        arrived, result.categorizer_cpu_us = run_runtime(
            runtime, austin_settings, CATEGORIZER_OUTPUTS, len(austin)
        )
        result.categorizer, digests["categorizer"] = arrived.rate, arrived.digest

    def quixstreams() -> None:
        arrived = run_quixstreams(quix, austin_settings, len(austin))
        result.quixstreams, digests["quixstreams"] = arrived.rate, arrived.digest

    def bare(settings: KafkaSettings, count: int) -> float:
        return passthrough(settings, RAW, SINK, count)

    contenders: dict[str, Callable[[], None]] = {
        "passthrough": lambda: setattr(result, "passthrough", bare(toy_settings, len(toy))),
        "echo": echo,
        "passthrough_austin": lambda: setattr(
            result, "passthrough_austin", bare(austin_settings, len(austin))
        ),
        "categorizer": categorizer,
        "quixstreams": quixstreams,
    }
    shift = index % len(CONTENDERS)
    order = [*CONTENDERS[shift:], *CONTENDERS[:shift]]
    try:
        for name in order:
            contenders[name]()
    finally:
        drop_topics(toy_settings)
        drop_topics(austin_settings)
    result.same_output = digests["categorizer"] == digests["quixstreams"]
    return result, order


def austin_messages(count: int) -> Messages:
    permits = islice(read_permits(AUSTIN, "austin", SCRAPED_AT), count)
    return [(p.key, p.model_dump_json().encode()) for p in permits]


def main() -> None:
    bootstrap = kafka_bootstrap()
    quix = quix_python()
    used = {"runtime": versions(sys.executable), "quixstreams": versions(quix)}
    toy = [permit_json(i) for i in range(TOY_MESSAGES)]
    austin = austin_messages(AUSTIN_MESSAGES)
    rounds: list[Round] = []
    print(f"{len(toy):,} toy permits, {len(austin):,} Austin permits, {RUNS} rounds")
    print(f"versions: {used}")
    header = "".join(f"{name:>20}" for name in CONTENDERS)
    print(f"{'round':<6}{header}{'echo CPU µs':>13}{'categ. CPU µs':>15}{'same output':>13}")
    for index in range(RUNS):
        result, order = one_round(bootstrap, index, toy, austin, quix)
        rounds.append(result)
        row = "".join(f"{getattr(result, name):>20,.0f}" for name in CONTENDERS)
        print(
            f"{index + 1:<6}{row}{result.echo_cpu_us:>13.1f}{result.categorizer_cpu_us:>15.1f}"
            f"{result.same_output!s:>13}   order: {', '.join(order)}",
            flush=True,
        )

    def med(pick: Callable[[Round], float]) -> float:
        return median(pick(r) for r in rounds)

    def rate_of(name: str) -> float:
        return median(float(getattr(r, name)) for r in rounds)

    ratios = {
        "echo_to_passthrough": med(lambda r: r.echo / r.passthrough),
        "categorizer_to_quixstreams": med(lambda r: r.categorizer / r.quixstreams),
        "categorizer_to_passthrough": med(lambda r: r.categorizer / r.passthrough_austin),
        "quixstreams_to_passthrough": med(lambda r: r.quixstreams / r.passthrough_austin),
    }
    rates = {f"{name}_msgs_per_s": round(rate_of(name)) for name in CONTENDERS}
    cpu = {
        "echo_cpu_us_per_msg": round(med(lambda r: r.echo_cpu_us), 1),
        "categorizer_cpu_us_per_msg": round(med(lambda r: r.categorizer_cpu_us), 1),
    }
    same = all(r.same_output for r in rounds)
    print("medians: " + ", ".join(f"{k} {v:.3f}" for k, v in ratios.items()))
    print("         " + ", ".join(f"{k} {v:,}" for k, v in {**rates, **cpu}.items()))
    print(f"quixstreams wrote exactly what the categorizer stage wrote: {same}")
    record(
        "runtime",
        toy_messages=len(toy),
        austin_messages=len(austin),
        runs=RUNS,
        **{k: round(v, 3) for k, v in ratios.items()},
        **rates,
        **cpu,
        quixstreams_same_output=same,
        versions=used,
        rounds=[asdict(r) for r in rounds],
    )
