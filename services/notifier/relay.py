"""The outbox relay: ``lead_events`` rows → ``leads.stored``, after the store committed them.

Each round, in one transaction: take up to ``relay_batch`` unpublished rows in id order with
``FOR UPDATE SKIP LOCKED`` (so notifier replicas share the work and never publish a row
twice at once), produce them, wait for the broker to acknowledge every one, then mark them
published and commit. A crash between the acknowledgement and the commit leaves the rows
unpublished, so they are published again with the same ``event_id``: consumers drop the
duplicate (the notifier's deliveries are unique per event and subscription). Nothing is lost,
since a row is marked only after the broker has it.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import KafkaError, Message, Producer
from sqlalchemy import Engine, func, select, update

from schemas.stored import LeadStored
from schemas.topics import Topic
from services.common.config import KafkaSettings
from services.common.db.tables.notifier import lead_events as _EVENTS
from services.common.kafka import make_producer
from services.notifier import metrics, retention

log = logging.getLogger(__name__)

_ACK_TIMEOUT_S = 30.0
_BACKLOG_SAMPLE_S = 5.0
_PRUNE_EVERY_S = 3600.0


class PublishFailed(Exception):
    pass


class OutboxRelay:
    def __init__(
        self, engine: Engine, kafka: KafkaSettings, batch: int, poll_interval_s: float
    ) -> None:
        self._engine = engine
        self._topic = kafka.topic(Topic.STORED.value)
        self._producer: Producer = make_producer(kafka, "leadstream-notifier-relay")
        self._batch = batch
        self._poll_interval_s = poll_interval_s
        self._sampled_at = 0.0
        self._pruned_at = time.monotonic() - _PRUNE_EVERY_S + 60  # first prune a minute in

    def publish_once(self) -> int:
        """Publish one batch of due rows; returns how many."""
        columns = _EVENTS.c
        with self._engine.begin() as conn:
            rows = conn.execute(
                select(
                    columns.id,
                    columns.lead_id,
                    columns.permit_key,
                    columns.type,
                    columns.created_at,
                )
                .where(columns.published_at.is_(None))
                .order_by(columns.id)
                .limit(self._batch)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return 0
            errors: list[Any] = []

            def on_delivery(error: KafkaError | None, _: Message) -> None:
                if error is not None:
                    errors.append(error)

            for event_id, lead_id, permit_key, kind, created_at in rows:
                event = LeadStored(
                    event_id=event_id,
                    type=kind,
                    lead_id=lead_id,
                    permit_key=permit_key,
                    occurred_at=created_at,
                )
                self._producer.produce(
                    self._topic,
                    event.model_dump_json().encode(),
                    permit_key.encode(),
                    on_delivery=on_delivery,
                )
            unacknowledged = self._producer.flush(_ACK_TIMEOUT_S)
            if unacknowledged or errors:
                # Rolled back: the rows stay due and are published again (same event ids).
                raise PublishFailed(f"{unacknowledged} unacknowledged, errors: {errors[:3]}")
            conn.execute(
                update(_EVENTS)
                .where(columns.id.in_([row[0] for row in rows]))
                .values(published_at=func.now())
            )
        return len(rows)

    def sample_backlog(self) -> None:
        now = time.monotonic()
        if now - self._sampled_at < _BACKLOG_SAMPLE_S:
            return
        self._sampled_at = now
        with self._engine.connect() as conn:
            due = conn.execute(
                select(func.count()).where(_EVENTS.c.published_at.is_(None))
            ).scalar_one()
        metrics.OUTBOX_UNPUBLISHED.set(due)

    def prune_hourly(self) -> None:
        if time.monotonic() - self._pruned_at < _PRUNE_EVERY_S:
            return
        self._pruned_at = time.monotonic()
        events, deliveries = retention.prune(self._engine, datetime.now(UTC))
        log.info("pruned", extra={"lead_events": events, "webhook_deliveries": deliveries})

    def run(self, stop: threading.Event) -> None:
        delay = self._poll_interval_s
        while not stop.is_set():
            try:
                published = self.publish_once()
                self.sample_backlog()
                self.prune_hourly()
                delay = self._poll_interval_s
            except Exception:
                log.exception("outbox relay failed; retrying")
                published, delay = 0, min(delay * 2, 5.0)
            if published < self._batch:
                stop.wait(delay)
        self._producer.flush(5.0)
