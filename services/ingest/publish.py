"""Publish an export to ``permits.raw``: one message per valid row, keyed by permit identity."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from confluent_kafka import KafkaError, Message, Producer

from schemas.permits import RawPermit
from schemas.topics import Topic
from services.common.config import KafkaSettings
from services.common.kafka import make_producer
from services.ingest.formats import RejectedRow, map_file
from services.ingest.progress import Progress


@dataclass
class PublishReport:
    rows: int = 0
    published: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    first_rejected_row: dict[str, int] = field(default_factory=dict)
    delivery_failures: Counter[str] = field(default_factory=Counter)

    def reject(self, row: RejectedRow) -> None:
        self.rejected[row.reason] += 1
        self.first_rejected_row.setdefault(row.reason, row.row_number)

    def summary(self, topic: str) -> str:
        lines = [
            f"published {self.published:,} of {self.rows:,} rows to {topic};"
            f" rejected {sum(self.rejected.values()):,}"
        ]
        for reason, count in self.rejected.most_common():
            first = self.first_rejected_row[reason]
            lines.append(f"  {count:>7,} rejected  {reason}  (first at row {first:,})")
        for error, count in self.delivery_failures.most_common():
            lines.append(f"  {count:>7,} not delivered  {error}")
        return "\n".join(lines)


class _Pacer:
    """Keeps sends at or under ``rate`` per second (no limit when None)."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self.next_at = time.monotonic()

    def wait(self) -> None:
        if not self.interval:
            return
        delay = self.next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self.next_at = max(self.next_at, time.monotonic() - 1.0) + self.interval


def publish_file(
    path: Path,
    format_name: str,
    settings: KafkaSettings,
    *,
    scraped_at: datetime,
    limit: int | None = None,
    rate: float | None = None,
    progress: Progress | None = None,
    encoding: str | None = None,
) -> PublishReport:
    """Map every row and publish the valid permits with an idempotent producer.

    Returns once every message is acknowledged or has failed; ``published`` counts only
    acknowledged messages. A row that is not a valid permit is counted with its reason and
    the file goes on; ``encoding`` None detects it (formats.detect_encoding).
    """
    report = PublishReport()
    producer = make_producer(settings, "leadstream-publish")
    topic = settings.topic(Topic.RAW.value)
    pacer = _Pacer(rate)

    def on_delivery(err: KafkaError | None, _msg: Message) -> None:
        if err is None:
            report.published += 1
        else:
            report.delivery_failures[str(err)] += 1

    def note() -> str:
        return f"rejected {sum(report.rejected.values()):,}"

    for item in map_file(path, format_name, scraped_at, limit=limit, encoding=encoding):
        report.rows += 1
        if isinstance(item, RejectedRow):
            report.reject(item)
        else:
            pacer.wait()
            _produce(producer, topic, item, on_delivery)
        producer.poll(0)
        if progress is not None:
            progress.update(report.rows, note())
    while producer.flush(1.0) > 0:
        if progress is not None:
            progress.update(report.rows, "waiting for acknowledgements")
    if progress is not None:
        progress.finish(report.rows, note())
    return report


def _produce(
    producer: Producer,
    topic: str,
    permit: RawPermit,
    on_delivery: Callable[[KafkaError | None, Message], None],
) -> None:
    payload = permit.model_dump_json().encode("utf-8")
    while True:
        try:
            producer.produce(topic, payload, permit.key.encode("utf-8"), on_delivery=on_delivery)
            return
        except BufferError:
            producer.poll(0.1)  # the local queue is full: let deliveries drain
