"""Prometheus metrics of the scorer, next to the shared runtime's."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LLM_CALLS = Counter(
    "leadstream_scorer_llm_calls_total",
    "LLM calls by outcome: ok; transient: blank, invalid, malformed, timeout, connection, "
    "rate_limited, server_error; systemic: auth, balance, rejected, misconfigured",
    ["outcome"],
)
LLM_TOKENS = Counter(
    "leadstream_scorer_llm_tokens_total",
    "Tokens the LLM reported: prompt (cached ones included), cached_prompt, completion",
    ["kind"],
)
LLM_SECONDS = Histogram(
    "leadstream_scorer_llm_call_seconds",
    "Time per LLM call, whatever its outcome, from asking for a connection to the answer",
    buckets=(0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120),
)
LLM_COST = Counter(
    "leadstream_scorer_llm_cost_usd_total",
    "Estimated LLM spend from reported tokens and the configured prices",
)
CACHE_LOOKUPS = Counter(
    "leadstream_scorer_cache_lookups_total",
    "Scoring cache lookups: hit (no LLM call paid), miss; write_error for failed stores",
    ["result"],
)
CIRCUIT_OPEN = Gauge(
    "leadstream_scorer_circuit_open", "1 while scoring is paused by the circuit breaker", ["stage"]
)
LEADS = Counter(
    "leadstream_scorer_leads_total",
    "Leads published: scored, retry (RETRY lead + re-score request), gave_up (final RETRY)",
    ["outcome"],
)
