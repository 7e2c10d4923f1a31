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
import sys
from collections.abc import Sequence
from pathlib import Path

from localinfra.chaos_infra import infrastructure
from localinfra.chaos_input import austin_permits, interleave, permit_messages, poison_messages
from localinfra.chaos_report import summary, write_report
from localinfra.chaos_run import SHARED_DATA, RunOptions, run_scenario
from localinfra.chaos_scenarios import POISON_SHARE, SCENARIOS


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
