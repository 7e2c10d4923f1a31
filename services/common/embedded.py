"""Stages chained in one process: each on its own production runtime, over the in-memory
broker instead of Kafka.

Messages cross each hop as JSON bytes, are decoded, tracked, produced and committed by the
same loops as in production (DLQ, retries and poison handling included). The stages take
turns on one thread and one event loop (async clients such as httpx are bound to the loop
they start on), so a run is deterministic; it ends when every stage is idle.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from pydantic import BaseModel

from services.common.async_loop import AsyncLoop
from services.common.config import KafkaSettings, RuntimeSettings
from services.common.local_broker import LocalBroker
from services.common.runtime import StreamRuntime
from services.common.stage import Stage
from services.common.sync_loop import SyncLoop


class EmbeddedPipeline:
    def __init__(
        self,
        stages: Sequence[Stage],
        settings: RuntimeSettings,
        broker: LocalBroker | None = None,
    ) -> None:
        self.broker = broker or LocalBroker()
        kafka = KafkaSettings(group_prefix="embedded")
        self.runtimes = [
            StreamRuntime(stage, kafka, settings, broker=self.broker) for stage in stages
        ]

    def publish(self, topic: str, key: str | None, value: BaseModel | bytes) -> None:
        payload = value if isinstance(value, bytes) else value.model_dump_json().encode()
        self.broker.append(topic, key.encode() if key is not None else None, payload)

    def read(self, topic: str) -> list[bytes]:
        return [r.value() or b"" for r in self.broker.records(topic)]

    def run_until_idle(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        loops = []
        for runtime in self.runtimes:
            runtime.open()
            loops.append(runtime.loop())
        try:
            while True:
                took = 0
                for loop in loops:
                    if isinstance(loop, AsyncLoop):
                        took += await loop.step(timeout=0)
                    else:
                        took += loop.step(timeout=0)
                if not took and all(_idle(loop) for loop in loops):
                    return
        finally:
            for loop in loops:
                if isinstance(loop, AsyncLoop):
                    await loop.finish_in_flight()
                loop.runtime.close()


def _idle(loop: SyncLoop | AsyncLoop) -> bool:
    if isinstance(loop, AsyncLoop) and loop.running:
        return False
    return loop.runtime.idle()
