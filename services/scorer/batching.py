"""Calls made in one event-loop turn, gathered into one blocking call on a thread pool.

Hundreds of leads in flight each ask the scoring cache a question; one database round trip
per loop turn instead of one per lead keeps the database calls, and the threads that make
them, from competing with the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from functools import partial
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class TurnBatcher(Generic[Item, Result]):
    """``run_batch`` may block; it gets a turn's items and returns one result per item.

    Safe to share between event loops in different threads (the scorer's two stages): each
    loop's callers are batched, and answered, on their own loop.
    """

    def __init__(
        self,
        run_batch: Callable[[list[Item]], list[Result]],
        executor: Executor,
        *,
        max_batch: int = 500,
    ) -> None:
        self._run_batch = run_batch
        self._executor = executor
        self._max_batch = max_batch
        self._waiting: dict[asyncio.AbstractEventLoop, list[tuple[Item, asyncio.Future[Result]]]]
        self._waiting = {}

    async def submit(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        waiting = self._waiting.setdefault(loop, [])
        if not waiting:
            loop.call_soon(self._flush, loop)  # after every coroutine ready in this turn
        waiting.append((item, future))
        return await future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        waiting = self._waiting.pop(loop, [])
        for start in range(0, len(waiting), self._max_batch):
            chunk = waiting[start : start + self._max_batch]
            items = [item for item, _ in chunk]
            done = loop.run_in_executor(self._executor, self._run_batch, items)
            done.add_done_callback(partial(_deliver, chunk))


def _deliver(
    chunk: list[tuple[Item, asyncio.Future[Result]]], done: asyncio.Future[list[Result]]
) -> None:
    for position, (_, future) in enumerate(chunk):
        if future.done():  # its caller was cancelled meanwhile
            continue
        if done.cancelled():
            future.cancel()
        elif (error := done.exception()) is not None:
            future.set_exception(error)
        else:
            future.set_result(done.result()[position])
