"""Prometheus metrics of the shared runtime; services add their own next to these."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CONSUMED = Counter(
    "leadstream_messages_consumed_total", "Messages taken from Kafka", ["stage", "topic"]
)
PRODUCED = Counter(
    "leadstream_messages_produced_total", "Messages acknowledged by the broker", ["stage", "topic"]
)
DLQ = Counter("leadstream_dlq_total", "Messages sent to the DLQ", ["stage", "source_topic"])
HANDLER_ERRORS = Counter(
    "leadstream_handler_errors_total", "Unexpected handler exceptions (retried)", ["stage"]
)
HANDLER_POISONED = Counter(
    "leadstream_handler_poisoned_total",
    "Messages sent to the DLQ because the handler kept failing on them with its dependencies up",
    ["stage"],
)
DELIVERY_FAILURES = Counter(
    "leadstream_delivery_failures_total",
    "Outputs the broker did not acknowledge (sent again; their inputs stay uncommitted)",
    ["stage", "topic"],
)
HANDLER_SECONDS = Histogram(
    "leadstream_handler_seconds",
    "Handler time per message (per batch for batch handlers)",
    ["stage"],
    buckets=(0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
CONSUMER_LAG = Gauge(
    "leadstream_consumer_lag", "Messages behind the high watermark", ["stage", "topic", "partition"]
)
IN_FLIGHT = Gauge("leadstream_in_flight", "Messages taken but not yet committable", ["stage"])
PAUSED = Gauge(
    "leadstream_paused",
    "1 while the stage takes no new messages (backpressure: unacked or in-flight limit reached)",
    ["stage"],
)
