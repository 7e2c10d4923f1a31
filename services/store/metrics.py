"""Prometheus metrics of the store, next to the shared runtime's."""

from __future__ import annotations

from prometheus_client import Counter

WRITES = Counter(
    "leadstream_store_writes_total",
    "Messages the store wrote, by outcome: created, updated, skipped (unchanged or superseded), "
    "error (rejected by the database, sent to the DLQ)",
    ["topic", "outcome"],
)
