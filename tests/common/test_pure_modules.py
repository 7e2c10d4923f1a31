"""Business logic imports no Kafka client: it is importable and testable on its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Row builders, parsers, scorers and plans: plain functions on models, no broker.
PURE_MODULES = [
    "services.common.messages",
    "services.common.times",
    # The runtime speaks to Kafka only through its port; the embedded demo never loads a client.
    "services.common.runtime",
    "services.common.embedded",
    "services.categorizer.categorize",
    "services.categorizer.rule_book",
    "services.dlq.plan",
    "services.dlq.summary",
    "services.enricher.cad_formats",
    "services.ingest.formats",
    "services.ingest.values",
    "services.notifier.matcher",
    "services.scorer.answer",
    "services.scorer.handlers",
    "services.scorer.leads",
    "services.scorer.rules_scorer",
    "services.store.precedence",
    "services.store.rows",
    "services.store.writer",
]


@pytest.mark.parametrize("module", PURE_MODULES)
def test_a_pure_module_imports_no_kafka_client(module: str) -> None:
    # A fresh interpreter: this test process has long since imported confluent_kafka.
    probe = f"import sys, {module}; print('confluent_kafka' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False", f"{module} imports confluent_kafka"
