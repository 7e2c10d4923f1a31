"""A toy stage for testing the runtime itself: permits.raw → toy.out, unchanged."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence

from schemas import RawPermit
from services.common.messages import BadInput, Output
from services.common.stage import AsyncStage, MessageStage

TOY_OUT = "toy.out"
DELAY_S = float(os.environ.get("TOY_DELAY_S", "0"))  # worker processes: slow the stage down


def echo(permit: RawPermit) -> Sequence[Output]:
    if permit.permit_number.startswith("BAD-"):
        raise BadInput(f"permit number {permit.permit_number!r} is refused by the toy stage")
    if DELAY_S:
        time.sleep(DELAY_S)
    return [Output(TOY_OUT, permit.key, permit)]


def toy_stage() -> MessageStage[RawPermit]:
    return MessageStage(name="toy", inputs={"permits.raw": RawPermit}, handle=echo)


def slow_async_stage(delay_s: float, slow_keys: dict[str, float]) -> AsyncStage[RawPermit]:
    """An I/O-bound stage: every message waits ``delay_s``, listed keys wait longer."""

    async def handle(permit: RawPermit) -> Sequence[Output]:
        await asyncio.sleep(slow_keys.get(permit.key, delay_s))
        return [Output(TOY_OUT, permit.key, permit)]

    return AsyncStage(name="toy-async", inputs={"permits.raw": RawPermit}, handle=handle)


def permit_json(i: int, prefix: str = "P") -> tuple[str, bytes]:
    permit = RawPermit(
        jurisdiction="toy_tx",
        permit_number=f"{prefix}-{i:06d}",
        property_address=f"{100 + i} Main St",
        work_description="replace roof shingles",
        valuation=12_000.0,
    )
    return permit.key, permit.model_dump_json().encode()
