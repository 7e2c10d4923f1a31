"""A chaos run's result, its verdict, and its row in docs/reliability.md.

The document's prose is written by hand; the harness owns only what lies between its
markers: a table with one row per scenario and a list with one note per scenario. A run
replaces the rows and notes of the scenarios it ran and keeps the others.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from localinfra.chaos_ledger import Ledger, WebhookLedger
from localinfra.chaos_trace import describe

TABLE = ("<!-- chaos:table -->", "<!-- /chaos:table -->")
NOTES = ("<!-- chaos:notes -->", "<!-- /chaos:notes -->")
HEADER = (
    "| scenario | input | scored | RETRY | discarded | DLQ | missing | duplicated "
    "| time to drain | max lag | result |\n"
    "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|"
)


@dataclass
class ScenarioResult:
    scenario: str
    inputs: int
    ledger: Ledger
    all_published: bool  # every input acknowledged by the broker
    drained_after_s: float | None  # from the first message published
    max_lag: tuple[str, int]  # (consumer group, lag)
    kills: Counter[str]
    crashes: Counter[str]
    llm_faulted: bool
    llm_calls: dict[str, int]  # what the fake LLM answered: ok, server_error, status_503…
    scorer_events: Counter[str]  # circuit opened / closed, RETRY published
    timeline: list[tuple[float, str]]
    logs: Path
    problems: list[str] = field(default_factory=list)
    missing_trace: dict[str, list[str]] = field(default_factory=dict)  # chaos_trace.trace_keys

    @property
    def passed(self) -> bool:
        return not self.problems


def judge(result: ScenarioResult, open_circuits: Sequence[str]) -> list[str]:
    """Why a run failed; empty when it passed."""
    ledger = result.ledger
    found = []
    if not result.all_published:
        found.append("not every input message was acknowledged by the broker")
    if result.drained_after_s is None:
        found.append("not drained before the timeout")
    if ledger.missing:
        found.append(f"{len(ledger.missing)} missing, e.g. {list(ledger.missing[:3])}")
        if result.missing_trace:
            found.append(f"where the missing were seen:\n{describe(result.missing_trace)}")
    if ledger.duplicated:
        found.append(f"{len(ledger.duplicated)} duplicated, e.g. {list(ledger.duplicated[:3])}")
    if ledger.unexpected:
        found.append(f"{ledger.unexpected} outcome rows whose key was never published")
    if ledger.garbage_not_in_dlq:
        found.append(f"garbage stored as a permit: {list(ledger.garbage_not_in_dlq[:3])}")
    if result.llm_faulted and not result.scorer_events["circuit opened"]:
        found.append("the LLM was down, yet no scorer circuit opened")
    if open_circuits:
        found.append(f"a circuit is still open at the end in {', '.join(open_circuits)}")
    return found


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


def summary(result: ScenarioResult) -> str:
    """One line for the terminal."""
    ledger = result.ledger
    verdict = "PASS" if result.passed else "FAIL: " + "; ".join(result.problems)
    return (
        f"{result.scenario}: {result.inputs:,} in → {ledger.scored:,} scored, "
        f"{ledger.retry:,} RETRY, {ledger.discarded:,} discarded, {ledger.dlq:,} DLQ; "
        f"{len(ledger.missing)} missing, {len(ledger.duplicated)} duplicated; "
        f"drained after {_seconds(result.drained_after_s)}; {verdict} (logs: {result.logs})"
    )


def table_row(result: ScenarioResult) -> str:
    ledger = result.ledger
    group, lag = result.max_lag
    cells = [
        result.scenario,
        f"{result.inputs:,}",
        f"{ledger.scored:,}",
        f"{ledger.retry:,}",
        f"{ledger.discarded:,}",
        f"{ledger.dlq:,}",
        f"{len(ledger.missing):,}",
        f"{len(ledger.duplicated):,}",
        _seconds(result.drained_after_s),
        f"{lag:,} ({group})",
        "pass" if result.passed else "**FAIL**",
    ]
    return "| " + " | ".join(cells) + " |"


def note(result: ScenarioResult, command: str) -> str:
    """What was injected and what happened, besides the counts."""
    details = []
    if result.kills:
        kills = result.kills.total()
        details.append(f"{kills} SIGKILL{'s' if kills != 1 else ''} ({_counts(result.kills)})")
    details.append(
        f"exits on their own: {_counts(result.crashes)}" if result.crashes else "no crash"
    )
    if result.llm_faulted:
        details.append(f"LLM answers: {_counts(Counter(result.llm_calls))}")
    events = result.scorer_events
    if events["circuit opened"]:
        opened, closed = events["circuit opened"], events["circuit closed"]
        details.append(f"scorer circuits opened {opened}×, closed {closed}×")
    if events["RETRY published"]:
        details.append(
            f"{events['RETRY published']} leads published as RETRY on the way "
            f"({result.ledger.retry} still RETRY at the end)"
        )
    details.append("timeline: " + "; ".join(_notable(result.timeline)))
    if result.problems:
        details.append("problems: " + "; ".join(result.problems))
    when = f"{datetime.now(UTC):%Y-%m-%d}"
    return f"- **{result.scenario}** ({when}, `{command}`): " + "; ".join(details) + "."


def write_report(
    path: Path, results: Iterable[ScenarioResult], order: Sequence[str], command: str
) -> None:
    """Put the results' rows and notes into ``path``, between the harness's markers."""
    text = path.read_text() if path.exists() else ""
    for markers in (TABLE, NOTES):
        if markers[0] not in text:
            text += f"\n{markers[0]}\n{markers[1]}\n"
    rows = _entries(_between(text, TABLE), r"^\| (\w+) \|")
    notes = _entries(_between(text, NOTES), r"^- \*\*(\w+)\*\*")
    for result in results:
        rows[result.scenario] = table_row(result)
        notes[result.scenario] = note(result, command)
    text = _replace(text, TABLE, "\n".join([HEADER, *_ordered(rows, order)]))
    text = _replace(text, NOTES, "\n".join(_ordered(notes, order)))
    path.write_text(text)


# Timeline events already counted elsewhere: routine kills, exits, progress lines.
_ROUTINE = re.compile(r"^SIGKILL [\w-]+$|exited on its own|accounted; lag")


def _notable(timeline: list[tuple[float, str]]) -> list[str]:
    return [f"{at:.0f} s {event}" for at, event in timeline if not _ROUTINE.search(event)]


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(counter.items()))


def _seconds(value: float | None) -> str:
    return "not drained" if value is None else f"{value:.0f} s"


def _between(text: str, markers: tuple[str, str]) -> str:
    start = text.index(markers[0]) + len(markers[0])
    return text[start : text.index(markers[1])]


def _replace(text: str, markers: tuple[str, str], body: str) -> str:
    start = text.index(markers[0]) + len(markers[0])
    return f"{text[:start]}\n{body}\n{text[text.index(markers[1]) :]}"


def _entries(block: str, pattern: str) -> dict[str, str]:
    found = {}
    for line in block.splitlines():
        match = re.match(pattern, line)
        if match and match.group(1) != "scenario":
            found[match.group(1)] = line
    return found


def _ordered(entries: dict[str, str], order: Sequence[str]) -> list[str]:
    known = [entries[name] for name in order if name in entries]
    return known + [line for name, line in entries.items() if name not in order]
