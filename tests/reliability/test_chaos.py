"""Reliability under faults (docs/reliability.md): a chaos run bounded for CI, and the harness.

The full-scale runs (20,000 permits, every scenario) are ``make chaos``; their numbers are in
docs/reliability.md. Here: 2,000 real Austin permits and a poison stream through every
service as its own process, while random processes are SIGKILLed and the LLM fails a third
of its calls and then goes down; every permit must still end exactly once.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from localinfra.chaos_faults import FlakyLLM, ProcessKills
from localinfra.chaos_input import (
    Kind,
    austin_permits,
    interleave,
    permit_messages,
    poison_messages,
)
from localinfra.chaos_ledger import Ledger
from localinfra.chaos_report import ScenarioResult, write_report
from localinfra.chaos_run import Pipeline, RunOptions, run_scenario
from localinfra.chaos_scenarios import POISON_SHARE, Scenario
from schemas import RawPermit, Topic
from services.categorizer.rule_book import load_rules
from services.categorizer.service import build_stage
from services.common.config import KafkaSettings
from services.common.messages import BadInput

PERMITS = 2_000
BOUNDED = Scenario(
    "ci",
    "SIGKILLs while publishing, a flaky LLM down for 10 s, 1 % poison",
    lambda publish_s: (
        ProcessKills(start_s=3, end_s=publish_s),
        FlakyLLM(down_at_s=0.3 * publish_s, down_s=10),
    ),
    poison=True,
)


@pytest.fixture(scope="module")
def permits(shared_data: Path) -> list[RawPermit]:
    return austin_permits(shared_data, PERMITS)


@pytest.mark.slow
@pytest.mark.kafka
@pytest.mark.postgres
def test_every_permit_ends_exactly_once_while_processes_die_and_the_llm_fails(
    kafka_settings: KafkaSettings, database_url: str, permits: list[RawPermit], tmp_path: Path
) -> None:
    poison = poison_messages(permits, POISON_SHARE)
    messages = interleave(permit_messages(permits), poison)
    options = RunOptions(permits=PERMITS, rate=100, drain_timeout_s=120)

    result = run_scenario(
        BOUNDED, Pipeline(kafka_settings, database_url), messages, options, tmp_path
    )

    timeline = "\n".join(f"{at:6.1f} s  {event}" for at, event in result.timeline)
    assert result.problems == [], f"{result.problems}; logs in {result.logs}\n{timeline}"
    assert result.kills.total() >= 3, "the run must have survived several SIGKILLs"
    assert result.scorer_events["circuit opened"] >= 1, "the LLM went down unnoticed"
    assert result.llm_calls["server_error"] > 0, "the LLM failed no call"
    garbage = sum(1 for m in poison if m.kind is Kind.GARBAGE)
    assert result.ledger.dlq >= garbage
    assert result.ledger.scored > 0 and result.ledger.discarded > 0


def test_the_poison_stream_holds_garbage_of_every_kind_the_runtime_refuses(
    permits: list[RawPermit],
) -> None:
    stage = build_stage(load_rules())
    poison = poison_messages(permits, 0.05)
    refused: Counter[str] = Counter()
    accepted: Counter[str] = Counter()
    for message in poison:
        try:
            stage.decode(Topic.RAW.value, message.value)
        except BadInput:
            refused[message.label] += 1
        else:
            accepted[message.label] += 1
    assert set(refused) == {m.label for m in poison if m.kind is Kind.GARBAGE}
    assert set(accepted) == {m.label for m in poison if m.kind is Kind.HOSTILE}
    assert len({m.key for m in poison}) == len(poison), "each poison message has its own key"


def test_the_input_is_distinct_permits_scraped_within_four_months_of_issue(
    permits: list[RawPermit],
) -> None:
    assert len({p.key for p in permits}) == len(permits) == PERMITS
    ages = [
        (p.scraped_at.date() - p.issued_date).days
        for p in permits
        if p.scraped_at and p.issued_date
    ]
    assert min(ages) >= 0 and max(ages) < 120
    stale = sum(age > 90 for age in ages) / len(ages)
    assert 0.1 < stale < 0.4, "some, not all, permits are past the 90-day freshness limit"


def test_a_report_replaces_the_rows_of_the_scenarios_run_and_keeps_the_rest(
    tmp_path: Path,
) -> None:
    report = tmp_path / "reliability.md"
    write_report(report, [_result("kill", missing=("austin_tx:1",))], ["kill", "llm"], "cmd a")
    report.write_text("# Prose written by hand\n" + report.read_text())
    write_report(report, [_result("llm")], ["kill", "llm"], "cmd b")
    write_report(report, [_result("kill")], ["kill", "llm"], "cmd c")

    text = report.read_text()
    assert text.startswith("# Prose written by hand\n")
    rows = [line for line in text.splitlines() if line.startswith(("| kill", "| llm"))]
    assert [row.split(" | ")[-1] for row in rows] == ["pass |", "pass |"]
    assert "`cmd c`" in text and "`cmd b`" in text and "`cmd a`" not in text


def _result(name: str, missing: tuple[str, ...] = ()) -> ScenarioResult:
    ledger = Ledger(
        scored=10,
        retry=1,
        discarded=5,
        dlq=2,
        missing=missing,
        duplicated=(),
        unexpected=0,
        garbage_not_in_dlq=(),
    )
    problems = [f"{len(missing)} missing"] if missing else []
    return ScenarioResult(
        scenario=name,
        inputs=18,
        ledger=ledger,
        all_published=True,
        drained_after_s=12.5,
        max_lag=("scorer", 7),
        kills=Counter(),
        crashes=Counter(),
        llm_faulted=False,
        llm_calls={},
        scorer_events=Counter(),
        timeline=[(0.0, "started")],
        logs=Path("/tmp"),
        problems=problems,
    )
