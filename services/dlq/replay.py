"""``leadstream dlq replay``: re-publish dead letters to their source topics, then mark them.

Per page of dead letters: produce every replayable original, wait for every delivery report,
and only then, in one transaction, set ``replayed_at`` on exactly the rows whose delivery the
broker acknowledged. A failed delivery leaves its row not replayed, for the next run. A crash
between the acknowledgement and the mark re-publishes those rows on the next run, at worst:
the pipeline is idempotent by permit key, so a permit sent twice still ends as one lead or
one discard (if it fails again, each copy leaves its own dead letter).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from sqlalchemy import Engine

from services.common.config import KafkaSettings
from services.common.kafka import producer_config
from services.dlq.plan import Republish, Skip, StoredDeadLetter, plan_replay
from services.dlq.queries import DeadLetterFilter, mark_replayed, pending_pages

CLIENT_ID = "leadstream-dlq-replay"
# An operator at a terminal wants an answer within a minute, not the five minutes of patience
# the services have for a broker outage; an undelivered message is simply not marked.
DELIVERY_TIMEOUT_MS = 60_000
FLUSH_TIMEOUT_S = DELIVERY_TIMEOUT_MS / 1000 + 10


@dataclass
class ReplayTally:
    replayed: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # reason → dead letters
    failed: Counter[str] = field(default_factory=Counter)  # delivery error → dead letters


@dataclass(frozen=True)
class Deliveries:
    delivered: list[int]  # dead letter ids the broker acknowledged
    failed: dict[int, str]  # dead letter id → why it was not delivered


def replay_producer(kafka: KafkaSettings) -> Producer:
    """The services' idempotent producer (acks=all), with a shorter delivery timeout."""
    config = producer_config(kafka, CLIENT_ID)
    config["delivery.timeout.ms"] = DELIVERY_TIMEOUT_MS
    return Producer(config)


def replay(
    engine: Engine, kafka: KafkaSettings, selection: DeadLetterFilter, *, limit: int | None
) -> ReplayTally:
    """Replay the matching dead letters not replayed yet (at most ``limit``)."""
    # One time for the whole run, so the rows one replay sent can be told apart later.
    replayed_at = datetime.now(UTC)
    producer = replay_producer(kafka)
    tally = ReplayTally()
    for page in pending_pages(engine, selection, limit=limit):
        plans = [plan_replay(letter) for letter in page]
        tally.skipped.update(plan.reason for plan in plans if isinstance(plan, Skip))
        deliveries = publish(producer, kafka, [p for p in plans if isinstance(p, Republish)])
        with engine.begin() as conn:
            mark_replayed(conn, deliveries.delivered, replayed_at)
        tally.replayed += len(deliveries.delivered)
        tally.failed.update(deliveries.failed.values())
    return tally


def preview(
    engine: Engine, selection: DeadLetterFilter, *, limit: int | None
) -> Iterator[tuple[StoredDeadLetter, Republish | Skip]]:
    """What ``replay`` would do with each matching dead letter; reads only."""
    for page in pending_pages(engine, selection, limit=limit):
        for letter in page:
            yield letter, plan_replay(letter)


def publish(producer: Producer, kafka: KafkaSettings, messages: Sequence[Republish]) -> Deliveries:
    """Produce the messages and wait for every delivery report."""
    delivered: list[int] = []
    failed: dict[int, str] = {}

    def reporter(letter_id: int) -> Callable[[KafkaError | None, Message], None]:
        def on_delivery(err: KafkaError | None, _msg: Message) -> None:
            if err is None:
                delivered.append(letter_id)
            else:
                failed[letter_id] = err.str()

        return on_delivery

    for message in messages:
        try:
            _produce(producer, kafka.topic(message.topic), message, reporter(message.letter_id))
        except KafkaException as exc:
            failed[message.letter_id] = exc.args[0].str()
    producer.flush(FLUSH_TIMEOUT_S)
    reported = set(delivered) | failed.keys()
    for message in messages:
        if message.letter_id not in reported:
            failed[message.letter_id] = f"no delivery report within {FLUSH_TIMEOUT_S:.0f} s"
    return Deliveries(delivered, failed)


def _produce(
    producer: Producer,
    topic: str,
    message: Republish,
    on_delivery: Callable[[KafkaError | None, Message], None],
) -> None:
    key = message.key.encode("utf-8") if message.key is not None else None
    while True:
        try:
            producer.produce(topic, message.value, key, on_delivery=on_delivery)
            return
        except BufferError:  # the local queue is full: serve delivery reports, then retry
            producer.poll(0.1)
