"""deploy/prometheus/alerts.yml names only metrics and labels the services really export, and
every alert has a runbook section an operator can open at night."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase

import services.categorizer.service
import services.common.metrics
import services.enricher.metrics
import services.notifier.metrics
import services.scorer.metrics
import services.store.metrics  # noqa: F401  (each import registers its service's metrics)

REPO = Path(__file__).resolve().parents[2]
ALERTS = REPO / "deploy" / "prometheus" / "alerts.yml"
RUNBOOK = REPO / "docs" / "operations.md"
SELECTOR = re.compile(r"(leadstream_[a-z_]+)(\{[^}]*\})?")
LABEL_MATCHER = re.compile(r"([a-z_]+)\s*(?:=~|!~|!=|=)")
GROUPING = re.compile(r"\bby\s*\(([^)]*)\)")
# What Prometheus calls the series of each metric type, by suffix.
SUFFIXES = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}


def _exported() -> dict[str, set[str]]:
    """Series name → its label names, for every leadstream metric in the registry."""
    series: dict[str, set[str]] = {}
    collectors = set(REGISTRY._names_to_collectors.values())
    for collector in collectors:
        if not isinstance(collector, MetricWrapperBase):
            continue
        for suffix in SUFFIXES.get(collector._type or "", ()):
            series[collector._name + suffix] = set(collector._labelnames)
    return {name: labels for name, labels in series.items() if name.startswith("leadstream_")}


def _rules() -> list[dict[str, Any]]:
    data: dict[str, Any] = yaml.safe_load(ALERTS.read_text())
    return [rule for group in data["groups"] for rule in group["rules"]]


@pytest.mark.parametrize("rule", _rules(), ids=lambda rule: str(rule["alert"]))
def test_an_alert_names_only_real_metrics_and_labels(rule: dict[str, Any]) -> None:
    exported = _exported()
    expr = rule["expr"]
    used = SELECTOR.findall(expr)
    assert used, "the alert watches no leadstream metric"
    labels_in_scope: set[str] = set()
    for name, matchers in used:
        assert name in exported, f"{name} is not exported by any service"
        labels_in_scope |= exported[name]
        unknown = set(LABEL_MATCHER.findall(matchers)) - exported[name]
        assert not unknown, f"{name} has no label {unknown}"
    for grouping in GROUPING.findall(expr):
        by = {label.strip() for label in grouping.split(",") if label.strip()}
        assert by <= labels_in_scope, f"grouped by {by - labels_in_scope}, not a label"


@pytest.mark.parametrize("rule", _rules(), ids=lambda rule: str(rule["alert"]))
def test_an_alert_links_to_its_runbook_section(rule: dict[str, Any]) -> None:
    link = rule["annotations"]["runbook"]
    path, _, anchor = link.partition("#")
    assert REPO / path == RUNBOOK
    headings = re.findall(r"^### (.+)$", RUNBOOK.read_text(), flags=re.MULTILINE)
    anchors = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in headings}
    assert anchor in anchors, f"docs/operations.md has no section #{anchor}"
    assert rule["labels"]["severity"] in {"page", "ticket"}
