"""Outputs on their way to the broker, until it has acknowledged every one.

Each output counts against the unit of the input that caused it (``offsets.Unit``) from the
moment it is produced until the broker acknowledges it, so a failed delivery can never let
that input be committed. A failed output is sent again with backoff; one the broker will never
take (too large for its topic) is replaced by something that loses nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial

from schemas.topics import Topic
from services.common import metrics
from services.common.config import RuntimeSettings
from services.common.dead_letters import halve_original
from services.common.messages import Output, Outputs
from services.common.offsets import Unit
from services.common.port import (
    MSG_SIZE_TOO_LARGE,
    DeliveryError,
    Producer,
    Record,
    RecordRefused,
)
from services.common.retry import Backoff

log = logging.getLogger("services.common.runtime")

_RESEND_BACKOFF = Backoff(0.5, 30.0)


@dataclass
class _Failed:
    """An output the broker did not take, waiting to be sent again."""

    topic: str  # logical name
    key: bytes
    payload: bytes
    unit: Unit
    source: Record  # the input that caused it
    attempts: int = 0
    first_failed_at: float = 0.0
    not_before: float = 0.0  # monotonic time of the next send


# The DLQ record that replaces an output the broker will never take: (input, reason) → output.
LetterFor = Callable[[Record, str], Output]


class Deliveries:
    def __init__(
        self,
        stage: str,
        producer: Producer,
        physical: Callable[[str], str],
        settings: RuntimeSettings,
        letter_for: LetterFor,
    ) -> None:
        self._stage = stage
        self._producer = producer
        self._physical = cache(physical)
        self._settings = settings
        self._letter_for = letter_for
        self._waiting: list[_Failed] = []
        # Acknowledged outputs per topic since the last ``count_acked``: the metric is
        # incremented once per loop, not once per message (a plain dict: a Counter's item
        # update costs five times as much).
        self._acked: dict[str, int] = {}
        self._produced = cache(partial(metrics.PRODUCED.labels, stage))

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def send(self, unit: Unit, source: Record, outputs: Outputs) -> None:
        """Produce a handler's outputs; its unit must not be sealed yet. This runs once per
        message, so it calls pydantic-core's serializer and the client directly."""
        produce, physical, report = self._producer.produce, self._physical, self._report
        unit.outputs += len(outputs)
        for topic, key, value in outputs:
            payload = value.__pydantic_serializer__.to_json(value)
            key_bytes = key.encode("utf-8")
            try:
                produce(
                    physical(topic), payload, key_bytes, partial(report, unit, source, topic, None)
                )
            except RecordRefused as exc:
                report(unit, source, topic, None, exc.error, _Refused(topic, key_bytes, payload))

    def _produce(
        self,
        topic: str,
        key: bytes,
        payload: bytes,
        unit: Unit,
        source: Record,
        failed: _Failed | None = None,
    ) -> None:
        if failed is None:
            unit.outputs += 1  # a failed output's count is held while it waits to be resent
        report = partial(self._report, unit, source, topic, failed)
        try:
            self._producer.produce(self._physical(topic), payload, key, report)
        except RecordRefused as exc:
            self._report(unit, source, topic, failed, exc.error, _Refused(topic, key, payload))

    def _report(
        self,
        unit: Unit,
        source: Record,
        topic: str,
        failed: _Failed | None,
        err: DeliveryError | None,
        record: Record,
    ) -> None:
        if err is None:
            acked = self._acked
            acked[topic] = acked.get(topic, 0) + 1
            unit.acked()
            return
        if err.fatal():
            raise RuntimeError(f"fatal producer error: {err.str()}")
        if failed is None:
            failed = _Failed(topic, record.key() or b"", record.value() or b"", unit, source)
        self._failed(failed, err)  # keeps the unit's count for this output until it is sent

    def _failed(self, failed: _Failed, err: DeliveryError) -> None:
        """Send again later or, when the broker never will take it, send something that loses
        nothing in its place."""
        now = time.monotonic()
        failed.attempts += 1
        if failed.attempts == 1:
            failed.first_failed_at = now
        too_large = err.code() == MSG_SIZE_TOO_LARGE
        if too_large and failed.topic != Topic.DLQ.value:
            # The input goes to the DLQ whole, with the broker's reason; replayable once the
            # topic takes records this size.
            reason = f"output to {failed.topic} refused by the broker: {err.str()}"
            letter = self._letter_for(failed.source, reason)
            payload = letter.value.model_dump_json(exclude_none=False).encode("utf-8")
            key = letter.key.encode("utf-8")
            self._waiting.append(_Failed(letter.topic, key, payload, failed.unit, failed.source))
            return
        if too_large and now - failed.first_failed_at >= self._settings.refused_record_grace_s:
            failed.payload = halve_original(failed.payload, err.str())
        failed.not_before = now + _RESEND_BACKOFF.delay(failed.attempts)
        if failed.attempts == 1 or failed.attempts % 10 == 0:
            log.warning(
                "delivery failed; its input stays uncommitted until it is sent",
                extra={
                    "error": err.str(),
                    "topic": failed.topic,
                    "permit_key": failed.key.decode("utf-8", "replace"),
                    "attempt": failed.attempts,
                },
            )
        metrics.DELIVERY_FAILURES.labels(self._stage, failed.topic).inc()
        self._waiting.append(failed)

    def resend_due(self) -> None:
        if not self._waiting:
            return
        now = time.monotonic()
        due = [f for f in self._waiting if f.not_before <= now]
        if not due:
            return
        self._waiting = [f for f in self._waiting if f.not_before > now]
        for failed in due:
            # A revoked partition's input is redone by its next owner.
            if failed.unit.live:
                self._produce(
                    failed.topic, failed.key, failed.payload, failed.unit, failed.source, failed
                )

    def forget(self, dropped: Callable[[Record], bool]) -> None:
        self._waiting = [f for f in self._waiting if not dropped(f.source)]

    def count_acked(self) -> None:
        if self._acked:
            for topic, n in self._acked.items():
                self._produced(topic).inc(n)
            self._acked.clear()

    def drain(self, timeout_s: float) -> None:
        """Wait for every output to be acknowledged, sending failed ones again meanwhile."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            remaining = self._producer.flush(min(1.0, max(0.0, deadline - time.monotonic())))
            self.resend_due()
            if remaining == 0 and not self._waiting:
                self.count_acked()
                return
            if remaining == 0:
                time.sleep(0.05)  # only resends waiting for their backoff
        self.count_acked()
        log.warning("shutdown deadline passed with undelivered outputs; they are redone later")


@dataclass(frozen=True)
class _Refused:
    """The record the client refused to send, shaped as a delivery report's record."""

    _topic: str
    _key: bytes
    _value: bytes

    def topic(self) -> str | None:
        return self._topic

    def partition(self) -> int | None:
        return None

    def offset(self) -> int | None:
        return None

    def key(self) -> bytes | None:
        return self._key

    def value(self) -> bytes | None:
        return self._value
