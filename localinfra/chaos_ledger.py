"""What the chaos harness measures: where every input ended up, and the consumer lag.

Conservation is counted in the database, where an operator would look: for every input key,
the rows it has over ``scored_leads``, ``discarded_permits`` and the ``dead_letters`` not
replayed (by key; a replayed one ended wherever its replay did). Exactly one row is right; none
is a loss, two or more a duplicate.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaException, TopicPartition
from sqlalchemy import Engine, func, select

from schemas import Topic
from services.categorizer.categorize import STAGE as CATEGORIZER
from services.common.config import KafkaSettings
from services.common.db.tables.dlq import DeadLetterRow
from services.common.db.tables.pipeline import DiscardedPermitRow, ScoredLeadRow
from services.enricher.enrich import STAGE as ENRICHER
from services.scorer.service import RETRY_STAGE
from services.scorer.service import STAGE as SCORER
from services.store.writer import STORE_INPUTS

# Each stage's consumer group reads these topics.
GROUP_INPUTS: dict[str, tuple[str, ...]] = {
    CATEGORIZER: (Topic.RAW.value,),
    ENRICHER: (Topic.CATEGORIZED.value,),
    SCORER: (Topic.ENRICHED.value,),
    RETRY_STAGE: (Topic.RETRY.value,),
    "store": tuple(STORE_INPUTS),
    "notifier": (Topic.STORED.value,),
}


@dataclass(frozen=True)
class Ledger:
    """The outcome of every input, counted by key over the three outcome tables."""

    scored: int
    retry: int
    discarded: int
    dlq: int
    missing: tuple[str, ...]
    duplicated: tuple[str, ...]  # one per key with two rows or more: "key (2 DLQ records)"
    unexpected: int  # outcome rows whose key is no input's (should be none)
    garbage_not_in_dlq: tuple[str, ...]  # garbage that became a lead or a discard


def outcome_rows(engine: Engine) -> tuple[Counter[str], Counter[str]]:
    """(permit key → its lead and discard rows, key → its DLQ records not replayed)."""
    permits: Counter[str] = Counter()
    with engine.connect() as conn:
        for column in (ScoredLeadRow.permit_key, DiscardedPermitRow.permit_key):
            permits.update(conn.execute(select(column)).scalars())
        not_replayed = select(DeadLetterRow.key).where(DeadLetterRow.replayed_at.is_(None))
        dead = Counter(k or "" for k in conn.execute(not_replayed).scalars())
    return permits, dead


def take_ledger(engine: Engine, inputs: Collection[str], garbage: Collection[str]) -> Ledger:
    """Where ``inputs`` ended; ``garbage`` (a subset) must all be in the DLQ."""
    permits, dead = outcome_rows(engine)
    rows = permits + dead
    expected = set(inputs)
    with engine.connect() as conn:
        by_tier = select(ScoredLeadRow.tier, func.count()).group_by(ScoredLeadRow.tier)
        tiers: dict[str, int] = {tier: n for tier, n in conn.execute(by_tier)}
        discarded = conn.execute(select(func.count()).select_from(DiscardedPermitRow)).scalar_one()
    return Ledger(
        scored=sum(n for tier, n in tiers.items() if tier != "RETRY"),
        retry=tiers.get("RETRY", 0),
        discarded=discarded,
        dlq=dead.total(),
        missing=tuple(sorted(expected - rows.keys())),
        duplicated=tuple(
            f"{key} ({permits[key]} leads/discards, {dead[key]} DLQ records)"
            for key, n in sorted(rows.items())
            if n > 1 and key in expected
        ),
        unexpected=sum(n for k, n in rows.items() if k not in expected),
        garbage_not_in_dlq=tuple(sorted(k for k in garbage if k in permits)),
    )


def accounted_inputs(engine: Engine, inputs: Collection[str]) -> int:
    """How many input keys have an outcome yet (cheap enough to poll every second)."""
    permits, dead = outcome_rows(engine)
    return sum(1 for key in inputs if key in permits or key in dead)


@dataclass(frozen=True)
class WebhookLedger:
    """Conservation extended to deliveries, for a subscription that asks for every lead its
    buyer may see: each such stored lead delivered (2xx recorded) and its webhook-id seen by
    the receiver, at least once."""

    expected: int  # sellable leads stored
    undelivered: tuple[int, ...]  # lead ids without a delivered delivery
    unseen: tuple[int, ...]  # lead ids whose webhook-id the receiver never got
    extra_ids: int  # webhook-ids received more than once (at-least-once: allowed, counted)


def take_webhook_ledger(
    engine: Engine, subscription_id: str, received_ids: Collection[str]
) -> WebhookLedger:
    from services.common.db.tables.notifier import webhook_deliveries

    d = webhook_deliveries.c
    with engine.connect() as conn:
        sellable = set(
            conn.execute(
                select(ScoredLeadRow.id).where(ScoredLeadRow.tier.in_(("A", "B", "C")))
            ).scalars()
        )
        rows = conn.execute(
            select(d.id, d.lead_id, d.status).where(
                d.subscription_id == subscription_id, d.lead_id.is_not(None)
            )
        ).all()
    delivered = {lead for _, lead, status in rows if status == "delivered"}
    seen_ids = set(received_ids)
    seen = {lead for webhook_id, lead, _ in rows if webhook_id in seen_ids}
    counts = Counter(received_ids)
    return WebhookLedger(
        expected=len(sellable),
        undelivered=tuple(sorted(sellable - delivered)),
        unseen=tuple(sorted(sellable - seen)),
        extra_ids=sum(n - 1 for n in counts.values() if n > 1),
    )


# ----------------------------------------------------------------------------- lag


class LagSampler:
    """Samples every stage's consumer lag (high watermark − committed offset, summed over its
    partitions) once a second in a thread, keeping the latest and the largest seen.

    Committed offsets are read through one idle consumer per group (it never subscribes, so
    it never joins the group): librdkafka 2.16's admin ``list_consumer_group_offsets``
    segfaults when the group coordinator moves (confluent-kafka-python issue 1982).
    """

    def __init__(self, kafka: KafkaSettings, interval_s: float = 1.0) -> None:
        self._kafka = kafka
        self._interval_s = interval_s
        self._readers = self._new_readers()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lag-sampler", daemon=True)
        self.latest: dict[str, int] = {}
        self.peak: dict[str, int] = dict.fromkeys(GROUP_INPUTS, 0)
        self.last_error = ""

    @contextlib.contextmanager
    def running(self) -> Iterator[LagSampler]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(30)
            self._close_readers()

    def caught_up(self) -> bool:
        """True when the last sample saw every group with no lag at all."""
        return set(self.latest) == set(GROUP_INPUTS) and not any(self.latest.values())

    def max_lag(self) -> tuple[str, int]:
        """The group with the largest lag seen, and that lag."""
        group = max(self.peak, key=lambda g: self.peak[g])
        return group, self.peak[group]

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                sample = self.sample()
            except KafkaException as exc:  # broker down or electing: no sample, not zero
                self.last_error = str(exc)
                self.latest = {}
                # Clients that saw their broker restart can keep timing out; new ones do not.
                self._close_readers()
                self._readers = self._new_readers()
                continue
            self.latest = sample
            for group, lag in sample.items():
                self.peak[group] = max(self.peak[group], lag)

    def sample(self) -> dict[str, int]:
        any_reader = next(iter(self._readers.values()))
        metadata = any_reader.list_topics(timeout=5)
        lags = {}
        for stage, reader in self._readers.items():
            partitions = [
                TopicPartition(self._kafka.topic(topic), p)
                for topic in GROUP_INPUTS[stage]
                for p in metadata.topics[self._kafka.topic(topic)].partitions
            ]
            lags[stage] = sum(_lag(reader, tp) for tp in reader.committed(partitions, timeout=5))
        return lags

    def _new_readers(self) -> dict[str, Consumer]:
        return {
            stage: Consumer(
                {
                    "bootstrap.servers": self._kafka.bootstrap_servers,
                    "group.id": f"{self._kafka.group_prefix}.{stage}",
                    "enable.auto.commit": False,
                    "log_level": 0,
                }
            )
            for stage in GROUP_INPUTS
        }

    def _close_readers(self) -> None:
        for reader in self._readers.values():
            reader.close()


def _lag(reader: Consumer, committed: TopicPartition) -> int:
    """Messages in the partition past the committed offset (all of them without a commit)."""
    _, high = reader.get_watermark_offsets(committed, timeout=5, cached=False)
    return max(0, high - max(0, committed.offset))
