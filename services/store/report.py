"""What the store says about a batch: outcome counts (log line, metrics) and rejection reasons."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError

from services.common.messages import BadInput
from services.store import metrics
from services.store.plan import Outcome
from services.store.rows import STORE_INPUTS

log = logging.getLogger("services.store.writer")  # the batch line has always come from here

_TOPICS = {model: topic for topic, model in STORE_INPUTS.items()}


def topic_of(message: BaseModel) -> str:
    return _TOPICS[type(message)]


_STATEMENT_TABLE = re.compile(r"^\s*(?:INSERT INTO|DELETE FROM|UPDATE)\s+(\w+)", re.IGNORECASE)


def describe_rejection(exc: DBAPIError) -> str:
    """'scored_leads: value too long for type character varying(120)', with any detail."""
    diag = getattr(exc.orig, "diag", None)
    message = getattr(diag, "message_primary", None) or str(exc.orig).strip().splitlines()[0]
    detail = getattr(diag, "message_detail", None)
    table = _STATEMENT_TABLE.match(exc.statement or "")
    text = f"{table.group(1)}: {message}" if table else message
    return f"{text} ({detail})" if detail else text


def report(
    messages: Sequence[BaseModel], results: Sequence[Outcome | BadInput], seconds: float
) -> None:
    per_topic = Counter(
        (topic_of(message), result if isinstance(result, Outcome) else Outcome.ERROR)
        for message, result in zip(messages, results, strict=True)
    )
    for (topic, outcome), count in per_topic.items():
        metrics.WRITES.labels(topic, outcome.value).inc(count)
    totals: Counter[Outcome] = Counter()
    for (_, outcome), count in per_topic.items():
        totals[outcome] += count
    counts = {outcome.value: totals[outcome] for outcome in Outcome}
    log.info(
        "batch stored: %(created)d created, %(updated)d updated, %(skipped)d skipped, "
        "%(error)d errors",
        counts,
        extra={"messages": len(messages), "outcomes": counts, "ms": round(seconds * 1000, 1)},
    )
