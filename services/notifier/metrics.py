"""Prometheus metrics of the notifier (relay, matching, webhook delivery)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

DELIVERIES = Counter(
    "leadstream_webhook_deliveries_total",
    "Webhook attempts by outcome: delivered, retry (failed, tried again), gone (410: "
    "subscription disabled), gave_up (failing for 24 h: subscription disabled)",
    ["outcome"],
)
ATTEMPT_SECONDS = Histogram(
    "leadstream_webhook_attempt_seconds",
    "Duration of one webhook HTTP attempt, connect to response (or error)",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
)
ENDPOINTS_DISABLED = Counter(
    "leadstream_webhook_endpoints_disabled_total",
    "Subscriptions disabled by delivery, by reason (gone, failing)",
    ["reason"],
)
BACKLOG = Gauge(
    "leadstream_webhook_backlog",
    "Pending webhook deliveries that are due now (sampled by the delivery worker)",
)
OLDEST_DUE_SECONDS = Gauge(
    "leadstream_webhook_oldest_due_seconds",
    "How long the most overdue pending delivery has been due (0 = none)",
)
OUTBOX_UNPUBLISHED = Gauge(
    "leadstream_outbox_unpublished",
    "lead_events rows not yet published to leads.stored (sampled by the relay)",
)
MATCHED = Counter(
    "leadstream_notifier_deliveries_created_total", "Deliveries made by matching, by type", ["type"]
)
