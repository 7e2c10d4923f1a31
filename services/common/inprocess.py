"""The embedded runtime: the same stages chained over in-memory topics instead of Kafka.

Messages still cross each hop as JSON bytes and are decoded with the runtime's own ``decode``,
so a stage sees exactly what it would see on Kafka (DLQ included). It exists for the one-process
demo and for trying the pipeline on a laptop; production runs ``StreamRuntime``.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from services.common.messages import BadInput, Output, Outputs
from services.common.runtime import Stage, dead_letter, decode


@dataclass
class _Envelope:
    key: str | None
    value: bytes
    offset: int


@dataclass
class InProcessBus:
    stages: Sequence[Stage]
    batch_size: int = 500
    max_in_flight: int = 50
    topics: dict[str, deque[_Envelope]] = field(default_factory=lambda: defaultdict(deque))
    produced: Counter[str] = field(default_factory=Counter)
    _offsets: Counter[str] = field(default_factory=Counter)
    # One loop for the bus's life: async clients (httpx) are bound to the loop they started on.
    _loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)

    def close(self) -> None:
        self._loop.close()

    def publish(self, topic: str, key: str | None, value: BaseModel | bytes) -> None:
        payload = value if isinstance(value, bytes) else value.model_dump_json().encode()
        self.topics[topic].append(_Envelope(key, payload, self._offsets[topic]))
        self._offsets[topic] += 1
        self.produced[topic] += 1

    def run_until_idle(self, *, skip_topics: Iterable[str] = ()) -> None:
        """Deliver messages stage by stage until no stage has input left.

        ``skip_topics`` are left unconsumed (the demo leaves ``leads.retry`` for later rather
        than waiting out retry delays).
        """
        skipped = set(skip_topics)
        while True:
            progressed = False
            for stage in self.stages:
                for topic in stage.inputs:
                    if topic in skipped:
                        continue
                    queue = self.topics[topic]
                    if queue:
                        batch = [queue.popleft() for _ in range(min(self.batch_size, len(queue)))]
                        self._deliver(stage, topic, batch)
                        progressed = True
            if not progressed:
                return

    def drain(self, topic: str) -> list[bytes]:
        """Take what is left on a topic nobody consumes (e.g. the DLQ when no store runs)."""
        queue = self.topics[topic]
        out = [env.value for env in queue]
        queue.clear()
        return out

    def _deliver(self, stage: Stage, topic: str, batch: list[_Envelope]) -> None:
        decoded: list[tuple[_Envelope, Any]] = []
        for env in batch:
            try:
                decoded.append((env, decode(stage, topic, env.value)))
            except BadInput as exc:
                self._route(self._reject(stage, topic, env, exc))
        values = [value for _, value in decoded]
        for (env, _), result in zip(decoded, self._handle(stage, values), strict=True):
            if isinstance(result, BadInput):
                self._route(self._reject(stage, topic, env, result))
            else:
                self._route(result)

    def _handle(self, stage: Stage, values: list[Any]) -> Sequence[Outputs | BadInput]:
        if stage.handle_batch is not None:
            return stage.handle_batch(values) if values else []
        if stage.handle is not None:
            results: list[Outputs | BadInput] = []
            for value in values:
                try:
                    results.append(stage.handle(value))
                except BadInput as exc:
                    results.append(exc)
            return results
        assert stage.handle_async is not None
        return self._loop.run_until_complete(self._handle_async(stage, values))

    async def _handle_async(self, stage: Stage, values: list[Any]) -> list[Outputs | BadInput]:
        assert stage.handle_async is not None
        handle = stage.handle_async
        limit = asyncio.Semaphore(self.max_in_flight)

        async def one(value: Any) -> Outputs | BadInput:
            async with limit:
                try:
                    return await handle(value)
                except BadInput as exc:
                    return exc

        return list(await asyncio.gather(*(one(v) for v in values)))

    @staticmethod
    def _reject(stage: Stage, topic: str, env: _Envelope, reason: BadInput) -> Outputs:
        key = env.key.encode() if env.key is not None else None
        return [dead_letter(stage.name, topic, 0, env.offset, key, env.value, str(reason))]

    def _route(self, outputs: Outputs) -> None:
        for output in outputs:
            self.publish(output.topic, output.key, output.value)


__all__ = ["InProcessBus", "Output"]
