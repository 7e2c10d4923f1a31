"""What a stage's business logic returns and raises, and how a refused message is worded.

Kept apart from the runtime so pure modules (row builders, parsers, scorers) import no Kafka
client: they are importable and testable on their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from pydantic import BaseModel, ValidationError


class Output(NamedTuple):
    """One message a handler wants produced. ``topic`` is the logical name (no prefix).

    A named tuple, not a frozen dataclass: handlers make one per message, and a frozen
    dataclass costs several times as much to build."""

    topic: str
    key: str
    value: BaseModel


class BadInput(Exception):
    """The message itself is at fault: it goes to the DLQ with this reason, never retried."""


Outputs = Sequence[Output]


def describe_problems(errors: Iterable[Mapping[str, Any]], whole: str | None = "message") -> str:
    """Pydantic's errors as one line, 'valuation: Input should be a valid number; ...'.

    Each problem is named by its dotted location; one about the value as a whole (no
    location) by ``whole``, or by nothing when ``whole`` is None (the caller already said
    what was wrong). The single wording for every validation error we show or store.
    """
    parts = []
    for error in errors:
        where = ".".join(str(part) for part in error["loc"]) or whole
        parts.append(f"{where}: {error['msg']}" if where else str(error["msg"]))
    return "; ".join(parts)


def describe_validation_error(exc: ValidationError, subject: str = "message") -> str:
    """Why a ``subject`` was refused: 'invalid message: valuation: Input should be ...'.

    This is the reason a dead letter carries for a message that breaks its contract."""
    errors = exc.errors(include_url=False, include_input=False)
    return f"invalid {subject}: " + describe_problems(errors, whole=subject)
