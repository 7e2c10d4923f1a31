"""The stream runtime's own overhead: the toy echo stage next to the bare passthrough loop."""

from __future__ import annotations

import threading

from bench.infra import kafka_bootstrap
from bench.passthrough import fresh_settings, load, output_rate, passthrough
from services.common.config import RuntimeSettings
from services.common.kafka import create_topics
from services.common.runtime import StreamRuntime
from tests.support.toy import TOY_OUT, permit_json, toy_stage

MESSAGES = 50_000


def _one_run(bootstrap: str) -> tuple[float, float]:
    """(runtime msg/s, passthrough msg/s) over the same messages on the same broker."""
    settings = fresh_settings(bootstrap)
    create_topics(settings, [TOY_OUT])
    load(settings, "permits.raw", (permit_json(i) for i in range(MESSAGES)))
    baseline = passthrough(settings, "permits.raw", "permits.categorized", MESSAGES)
    runtime = StreamRuntime(toy_stage(), settings, RuntimeSettings())
    thread = threading.Thread(target=runtime.run, daemon=True)
    thread.start()
    rate = output_rate(settings, TOY_OUT, MESSAGES)
    runtime.request_stop()
    thread.join(30)
    return rate, baseline


def main() -> None:
    bootstrap = kafka_bootstrap()
    results = [_one_run(bootstrap) for _ in range(3)]
    ratios = sorted(rate / base for rate, base in results)
    print(f"{'run':<5}{'runtime msg/s':>15}{'passthrough msg/s':>20}{'ratio':>8}")
    for i, (rate, base) in enumerate(results, 1):
        print(f"{i:<5}{rate:>15,.0f}{base:>20,.0f}{rate / base:>8.2f}")
    print(f"median ratio runtime/passthrough: {ratios[1]:.2f} ({MESSAGES:,} messages per run)")
