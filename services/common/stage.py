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
    _validators: dict[str, Callable[[bytes], In]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # pydantic-core's JSON validator of each topic's model, called without the
        # model_validate_json wrapper: this runs once per message.
        validators = {t: m.__pydantic_validator__.validate_json for t, m in self.inputs.items()}
        object.__setattr__(self, "_validators", validators)

    def decode(self, topic: str, value: bytes | None) -> In:
        """Bytes of ``topic`` → its model, or BadInput with a reason a scraper author can act
        on."""
        if value is not None and len(value) <= self.max_message_bytes:
            try:
                return self._validators[topic](value)
            except ValidationError as exc:
                raise BadInput(_why_invalid(value, exc)) from exc
        if value is None:
            raise BadInput("empty message (no value)")
        raise BadInput(
            f"message is {len(value):,} bytes, over the {self.max_message_bytes:,} byte limit"
        )


def _why_invalid(value: bytes, exc: ValidationError) -> str:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError as not_utf8:
        return f"not UTF-8: {not_utf8}"
    return describe_validation_error(exc)


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
