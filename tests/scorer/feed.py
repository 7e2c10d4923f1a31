"""Following ``leads.scored`` in a test: every lead published, and the latest per permit."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable

from confluent_kafka import Consumer

from schemas import EnrichedPermit, ScoredLead, Topic
from services.common.config import KafkaSettings
from tests.support.kafka import publish


class LeadFeed:
    def __init__(self, settings: KafkaSettings) -> None:
        self._consumer = Consumer(
            {
                "bootstrap.servers": settings.bootstrap_servers,
                "group.id": f"feed-{uuid.uuid4()}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        self._consumer.subscribe([settings.topic(Topic.SCORED.value)])
        self.every: list[ScoredLead] = []
        self.latest: dict[str, ScoredLead] = {}

    def wait_for(self, done: Callable[[LeadFeed], bool], what: str, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while not done(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {timeout_s} s ({len(self.latest)} leads)")
            self.read(timeout_s=0.5)

    def read(self, timeout_s: float) -> None:
        for msg in self._consumer.consume(1000, timeout=timeout_s):
            if msg.error() is None:
                lead = ScoredLead.model_validate_json(msg.value() or b"")
                self.every.append(lead)
                self.latest[lead.key] = lead

    def close(self) -> None:
        self._consumer.close()

    def __enter__(self) -> LeadFeed:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def publish_leads(settings: KafkaSettings, leads: Iterable[EnrichedPermit]) -> int:
    records = [(lead.key, lead.model_dump_json().encode()) for lead in leads]
    return publish(settings, Topic.ENRICHED.value, records)
