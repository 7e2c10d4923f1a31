"""What a service gives the runtime: a stage, its business logic and the topics it reads.

A stage is one of three kinds, by how its handler works:

- :class:`MessageStage`: one message at a time, synchronous (CPU work such as categorizing).
- :class:`BatchStage`: one poll batch at a time, synchronous; one result per input, in order
  (batched lookups, one database transaction per batch).
- :class:`AsyncStage`: one message at a time, a coroutine; many run at once and finish in
  any order (I/O work such as LLM calls).

Handlers are plain functions on the topic models: they return the outputs to produce, or
raise (or return, in a batch) :class:`BadInput` for a message that can never succeed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from services.common.messages import BadInput, Outputs, describe_validation_error

In = TypeVar("In", bound=BaseModel)


def _always_ready() -> bool:
    return True


@dataclass(frozen=True, kw_only=True)
class _StageBase(Generic[In]):
    name: str
    inputs: Mapping[str, type[In]]
    max_message_bytes: int = 1_048_576
    on_ready: Callable[[], bool] = field(default=_always_ready)
    # Whether what the handler needs (a database, say) answers right now. A handler that keeps
    # failing while this is True is failing on the message, not on an outage, and the message
    # goes to the DLQ. None: unknown, so every failure may be an outage and is retried.
    dependencies_up: Callable[[], bool] | None = None

    def decode(self, topic: str, value: bytes | None) -> In:
        """Bytes of ``topic`` → its model, or BadInput with a reason a scraper author can act
        on."""
        if value is None:
            raise BadInput("empty message (no value)")
        if len(value) > self.max_message_bytes:
            raise BadInput(
                f"message is {len(value):,} bytes, over the {self.max_message_bytes:,} byte limit"
            )
        try:
            return self.inputs[topic].model_validate_json(value)
        except ValidationError as exc:
            try:
                value.decode("utf-8")
            except UnicodeDecodeError as not_utf8:
                raise BadInput(f"not UTF-8: {not_utf8}") from exc
            raise BadInput(describe_validation_error(exc)) from exc


@dataclass(frozen=True, kw_only=True)
class MessageStage(_StageBase[In]):
    handle: Callable[[In], Outputs]


@dataclass(frozen=True, kw_only=True)
class BatchStage(_StageBase[In]):
    handle_batch: Callable[[Sequence[In]], Sequence[Outputs | BadInput]]


@dataclass(frozen=True, kw_only=True)
class AsyncStage(_StageBase[In]):
    handle: Callable[[In], Awaitable[Outputs]]


# Any stage, whatever its input models.
Stage = MessageStage[Any] | BatchStage[Any] | AsyncStage[Any]
