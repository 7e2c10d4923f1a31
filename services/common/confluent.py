"""The Kafka port on confluent-kafka (librdkafka): what production runs."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence

import confluent_kafka
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from services.common.config import KafkaSettings
from services.common.kafka import consumer_config, producer_config
from services.common.port import (
    ConsumerEvents,
    DeliveryReport,
    Record,
    RecordRefused,
)
from services.common.port import TopicPartition as TP

log = logging.getLogger(__name__)


class ConfluentBroker:
    def __init__(self, settings: KafkaSettings) -> None:
        self.settings = settings

    def consumer(self, group_id: str, client_id: str) -> ConfluentConsumer:
        return ConfluentConsumer(consumer_config(self.settings, group_id, client_id))

    def producer(self, client_id: str) -> ConfluentProducer:
        return ConfluentProducer(producer_config(self.settings, client_id))

    def topic(self, name: str) -> str:
        return self.settings.topic(name)


class ConfluentConsumer:
    def __init__(self, config: dict[str, object]) -> None:
        self._config = config
        self._events: ConsumerEvents | None = None
        self._client: confluent_kafka.Consumer | None = None

    def subscribe(self, topics: Sequence[str], events: ConsumerEvents) -> None:
        self._events = events
        self._client = confluent_kafka.Consumer(
            {
                **self._config,
                "stats_cb": self._on_stats,
                "error_cb": _on_client_error,
                "on_commit": self._on_commit,
            }
        )
        self._client.subscribe(
            list(topics),
            on_assign=lambda _, parts: events.assigned(_tps(parts)),
            on_revoke=lambda _, parts: events.revoked(_tps(parts)),
            on_lost=lambda _, parts: events.lost(_tps(parts)),
        )

    def consume(self, limit: int, timeout: float) -> Sequence[Record]:
        client = self._require()
        msgs = client.consume(limit, timeout=max(timeout, 0))
        if all(m.error() is None for m in msgs):
            return msgs
        good: list[Record] = []
        for msg in msgs:
            err = msg.error()
            if err is None:
                good.append(msg)
            elif err.code() == KafkaError._MAX_POLL_EXCEEDED:
                # This member has left the group; librdkafka reports the partitions lost only
                # on a later poll, and until then what was fetched must not be taken as ours.
                log.warning("left the group: max.poll.interval.ms exceeded")
                self._events_().lost(self.assignment())
            elif err.code() != KafkaError._PARTITION_EOF:
                log.warning("consumer error", extra={"error": str(err)})
                if err.fatal():
                    raise RuntimeError(f"fatal consumer error: {err}")
        return good

    def commit(self, offsets: Mapping[TP, int], *, wait: bool) -> None:
        partitions = [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
        if wait:
            self._require().commit(offsets=partitions, asynchronous=False)
        else:
            self._require().commit(offsets=partitions, asynchronous=True)

    def pause(self, partitions: list[TP]) -> None:
        self._require().pause([TopicPartition(t, p) for t, p in partitions])

    def resume(self, partitions: list[TP]) -> None:
        self._require().resume([TopicPartition(t, p) for t, p in partitions])

    def assignment(self) -> list[TP]:
        return _tps(self._require().assignment())

    def close(self) -> None:
        self._require().close()  # leaves the group so partitions move at once

    def _require(self) -> confluent_kafka.Consumer:
        if self._client is None:
            raise RuntimeError("consumer not subscribed")
        return self._client

    def _events_(self) -> ConsumerEvents:
        assert self._events is not None
        return self._events

    def _on_stats(self, stats_json: str) -> None:
        stats = json.loads(stats_json)
        for topic, topic_stats in stats.get("topics", {}).items():
            for pid, part in topic_stats.get("partitions", {}).items():
                lag = part.get("consumer_lag", -1)
                if pid != "-1" and lag >= 0:
                    self._events_().lag((topic, int(pid)), lag)

    def _on_commit(self, err: KafkaError | None, partitions: list[TopicPartition]) -> None:
        failed = partitions if err is not None else [p for p in partitions if p.error]
        if failed:
            self._events_().commit_failed(_tps(failed), str(err or failed[0].error))


class ConfluentProducer:
    def __init__(self, config: dict[str, object]) -> None:
        self._client = confluent_kafka.Producer(config)

    def produce(self, topic: str, value: bytes, key: bytes, on_delivery: DeliveryReport) -> None:
        while True:
            try:
                self._client.produce(topic, value, key, on_delivery=on_delivery)
                return
            except BufferError:
                self._client.poll(0.1)  # local queue full: let deliveries drain
            except KafkaException as exc:  # refused before sending, e.g. over message.max.bytes
                raise RecordRefused(exc.args[0]) from exc

    def poll(self, timeout: float) -> None:
        self._client.poll(timeout)

    def flush(self, timeout: float) -> int:
        return self._client.flush(timeout)


def _tps(partitions: list[TopicPartition]) -> list[TP]:
    return [(p.topic, p.partition) for p in partitions]


def _on_client_error(err: KafkaError) -> None:
    log.warning("kafka client error", extra={"error": str(err)})
