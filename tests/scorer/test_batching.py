"""Calls made in one event-loop turn reach the blocking function as one batch."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from services.scorer.batching import TurnBatcher


def test_concurrent_calls_share_one_batch_and_each_gets_its_own_result() -> None:
    batches: list[list[int]] = []

    def square_all(items: list[int]) -> list[int]:
        batches.append(items)
        return [item * item for item in items]

    async def scenario() -> list[int]:
        with ThreadPoolExecutor(2) as pool:
            batcher = TurnBatcher(square_all, pool, max_batch=100)
            return list(await asyncio.gather(*(batcher.submit(i) for i in range(250))))

    assert asyncio.run(scenario()) == [i * i for i in range(250)]
    assert [len(batch) for batch in batches] == [100, 100, 50]


def test_a_failed_batch_fails_every_caller_in_it_and_the_next_batch_works() -> None:
    def flaky(items: list[str]) -> list[str]:
        if "boom" in items:
            raise ConnectionError("database went away")
        return items

    async def scenario() -> None:
        with ThreadPoolExecutor(1) as pool:
            batcher = TurnBatcher(flaky, pool)
            results = await asyncio.gather(
                batcher.submit("a"), batcher.submit("boom"), return_exceptions=True
            )
            assert all(isinstance(r, ConnectionError) for r in results)
            assert await batcher.submit("b") == "b"

    asyncio.run(scenario())


def test_a_cancelled_caller_does_not_disturb_the_others() -> None:
    async def scenario() -> None:
        with ThreadPoolExecutor(1) as pool:
            batcher: TurnBatcher[int, int] = TurnBatcher(lambda items: items, pool)
            doomed = asyncio.create_task(batcher.submit(1))
            kept = asyncio.create_task(batcher.submit(2))
            await asyncio.sleep(0)
            doomed.cancel()
            assert await kept == 2
            with pytest.raises(asyncio.CancelledError):
                await doomed

    asyncio.run(scenario())


def test_event_loops_in_two_threads_can_share_one_batcher() -> None:
    with ThreadPoolExecutor(2) as pool:
        batcher: TurnBatcher[int, int] = TurnBatcher(lambda items: [-i for i in items], pool)
        results: dict[int, list[int]] = {}

        def loop_in_a_thread(offset: int) -> None:
            async def one(i: int) -> int:
                await asyncio.sleep(0.001 * (i % 7))  # spread over many turns of both loops
                return await batcher.submit(offset + i)

            async def many() -> list[int]:
                calls = asyncio.gather(*(one(i) for i in range(2_000)))
                return list(await asyncio.wait_for(calls, 10))

            results[offset] = asyncio.run(many())

        threads = [threading.Thread(target=loop_in_a_thread, args=(o,)) for o in (0, 10_000)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert results == {o: [-(o + i) for i in range(2_000)] for o in (0, 10_000)}
