"""Where the runtime's time goes per message: cProfile of one stage as ``bench_runtime`` runs it.

    python -m bench.profile_runtime echo|categorizer [--messages 20000] [--top 25] [--wall]

Loads fresh topics (the toy permits for ``echo``, the Austin permits for ``categorizer``),
runs the stage through ``StreamRuntime`` in a thread with the profiler on in that thread only,
stops it once every output is on the broker, and prints the top entries by own time. The
profiler's clock is the thread's CPU time, so waiting (the group join, an empty poll) does not
count; ``--wall`` uses the wall clock instead.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import threading
import time

from bench.bench_runtime import (
    CATEGORIZER_OUTPUTS,
    RAW,
    austin_messages,
)
from bench.infra import kafka_bootstrap
from bench.passthrough import drop_topics, fresh_settings, load, wait_for_outputs
from services.categorizer.rule_book import load_rules
from services.categorizer.service import build_stage
from services.common.config import RuntimeSettings
from services.common.kafka import create_topics
from services.common.runtime import StreamRuntime
from tests.support.toy import TOY_OUT, permit_json, toy_stage

# Own time summed by where the code lives, first match wins: (area, substring of the entry).
AREAS = (
    ("pydantic decode/encode (C)", "pydantic_core"),
    ("schema validators (Python)", "/schemas/"),
    ("categorize()", "/services/categorizer/"),
    ("offset tracking", "/services/common/offsets.py"),
    ("metrics (prometheus_client)", "prometheus_client"),
    ("runtime loop", "/services/common/"),
    ("confluent-kafka calls", "cimpl"),
    ("other C calls", "<built-in"),
    ("other C calls", "<method"),
)


def by_area(stats: pstats.Stats) -> dict[str, float]:
    """Own time per area; entries of no listed area count as "other"."""
    totals: dict[str, float] = {}
    raw = stats.stats  # type: ignore[attr-defined]  # set by pstats, not in its stubs
    for (filename, _line, name), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        where = f"{filename} {name}"
        area = next((a for a, part in AREAS if part in where), "other")
        totals[area] = totals.get(area, 0.0) + tottime
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


def profile(which: str, messages: int, wall: bool) -> pstats.Stats:
    settings = fresh_settings(kafka_bootstrap())
    if which == "echo":
        outputs = [TOY_OUT]
        create_topics(settings, outputs)
        load(settings, RAW, (permit_json(i) for i in range(messages)))
        runtime = StreamRuntime(toy_stage(), settings, RuntimeSettings())
    else:
        outputs = CATEGORIZER_OUTPUTS
        load(settings, RAW, austin_messages(messages))
        runtime = StreamRuntime(build_stage(load_rules()), settings, RuntimeSettings())
    profiler = cProfile.Profile() if wall else cProfile.Profile(time.thread_time)

    def loop() -> None:
        profiler.enable()
        try:
            runtime.run()
        finally:
            profiler.disable()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        topics = [settings.topic(name) for name in outputs]
        wait_for_outputs(settings, topics, messages, still_running=thread.is_alive)
    finally:
        runtime.request_stop()
        thread.join(60)
        drop_topics(settings)
    return pstats.Stats(profiler)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="cProfile of a stage under the runtime")
    parser.add_argument("stage", choices=["echo", "categorizer"])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--wall", action="store_true", help="wall clock, not thread CPU time")
    args = parser.parse_args(argv)
    stats = profile(args.stage, args.messages, args.wall)
    total = stats.total_tt  # type: ignore[attr-defined]  # set by pstats, not in its stubs
    clock = "wall" if args.wall else "thread CPU"
    print(
        f"{args.stage}: {args.messages:,} messages, {total:.2f} s {clock},"
        f" {total * 1e6 / args.messages:.1f} µs per message"
    )
    for area, seconds in by_area(stats).items():
        print(f"  {area:<30}{seconds:>7.2f} s {seconds / total:>6.0%}")
    stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
