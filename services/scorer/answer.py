"""The model's answer, validated field by field before anything of it is used.

The answer is hostile input: whatever it contains, :func:`parse_answer` returns an
:class:`Assessment` or raises :class:`InvalidAnswer`, and nothing else. Numbers are read with
bounds of our own (not the interpreter's integer-digit limit, whose ``ValueError`` is not a
``JSONDecodeError``), ``NaN``/``Infinity`` and overflowing floats are refused, nesting too deep
for the parser is refused, and the text we keep can always be stored and published.
"""

from __future__ import annotations

import json
import math
import re
from typing import Annotated, Any, NoReturn

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from schemas import ContactPriority
from services.common.messages import describe_validation_error

# Far more than a valid answer needs (about 4,000 characters at most); bounds the parser's work.
MAX_ANSWER_CHARS = 100_000
# A score has at most 3 digits; longer integers are refused before Python converts them.
_MAX_INT_DIGITS = 30
_FENCE = "```"
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


class InvalidAnswer(ValueError):
    """The answer is not json, or not the object we asked for; the message says why."""


class _Unreadable(ValueError):
    """Raised from inside the json parser for values we refuse to read."""


def model_text(value: str) -> str:
    """A model's words as something PostgreSQL and a UTF-8 topic accept.

    NUL is dropped (PostgreSQL refuses it in text), and a lone surrogate (a json escape such as
    ``\\ud800`` with no partner, which UTF-8 cannot encode) becomes U+FFFD.
    """
    return _LONE_SURROGATE.sub("\ufffd", value.replace("\x00", ""))


def _clean(value: Any) -> Any:
    return model_text(value) if isinstance(value, str) else value


# The model's own words, made storable before they are validated.
ModelText = Annotated[str, BeforeValidator(_clean)]
Flag = Annotated[ModelText, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Assessment(BaseModel):
    """A scorer's judgement of one lead; anything else a model says (a "tier") is ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    # strict: true, 85.5 and "85" are not scores; a model that cannot follow the format is
    # asked once to repair, then its answer counts as a failure.
    score: int = Field(strict=True, ge=0, le=100)
    reasoning: ModelText = Field(min_length=1, max_length=1000)
    flags: list[Flag] = Field(default_factory=list, max_length=10)
    ideal_contractor: ModelText | None = Field(default=None, max_length=200)
    contact_priority: ContactPriority

    @field_validator("contact_priority", mode="before")
    @classmethod
    def _lower_case(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


def parse_answer(content: str) -> Assessment:
    """The assessment in ``content``, or :class:`InvalidAnswer`: never another exception."""
    if len(content) > MAX_ANSWER_CHARS:
        raise InvalidAnswer(f"{len(content):,} characters; an answer has at most a few thousand")
    text = _unfenced(content)
    try:
        data = json.loads(
            text, parse_int=_bounded_int, parse_float=_finite_float, parse_constant=_no_constant
        )
    except json.JSONDecodeError as exc:
        raise InvalidAnswer(f"not json: {exc.msg} at character {exc.pos}") from exc
    except _Unreadable as exc:
        raise InvalidAnswer(f"not json we accept: {exc}") from exc
    except ValueError as exc:  # anything else the parser refuses; never a reason to loop
        raise InvalidAnswer(f"not json: {type(exc).__name__}") from exc
    except RecursionError as exc:
        raise InvalidAnswer("not json we accept: nested too deeply") from exc
    if not isinstance(data, dict):
        raise InvalidAnswer(f"a json {type(data).__name__}, not an object")
    try:
        return Assessment.model_validate(data)
    except ValidationError as exc:
        raise InvalidAnswer(describe_validation_error(exc, subject="answer")) from exc
    except (ValueError, TypeError, RecursionError) as exc:
        raise InvalidAnswer(f"not the object we asked for: {type(exc).__name__}") from exc


def _unfenced(content: str) -> str:
    """The object inside a markdown code fence, as servers without a JSON mode like to send it.

    Plain string operations: a regular expression for this backtracks for minutes over an
    answer of a few thousand spaces, and it would run on the event loop.
    """
    text = content.strip()
    if len(text) >= 2 * len(_FENCE) and text.startswith(_FENCE) and text.endswith(_FENCE):
        inner = text[len(_FENCE) : -len(_FENCE)]
        if inner[:4].lower() == "json":
            inner = inner[4:]
        return inner.strip()
    return content


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > _MAX_INT_DIGITS:
        raise _Unreadable(f"a number with {len(digits.lstrip('-')):,} digits")
    return int(digits)


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _Unreadable(f"a number too large for a float ({literal[:20]}…)")
    return value


def _no_constant(name: str) -> NoReturn:
    raise _Unreadable(f"{name} is not a json number")
