"""The model's answer, validated field by field before anything of it is used."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from schemas import ContactPriority
from services.common.runtime import describe_validation_error

Flag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]

# Servers without a JSON mode like to wrap the object in a markdown code fence.
_CODE_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL | re.IGNORECASE)


class InvalidAnswer(ValueError):
    """The answer is not json, or not the object we asked for; the message says why."""


class Assessment(BaseModel):
    """A scorer's judgement of one lead; anything else a model says (a "tier") is ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    # strict: true, 85.5 and "85" are not scores; a model that cannot follow the format is
    # asked once to repair, then its answer counts as a failure.
    score: int = Field(strict=True, ge=0, le=100)
    reasoning: str = Field(min_length=1, max_length=1000)
    flags: list[Flag] = Field(default_factory=list, max_length=10)
    ideal_contractor: str | None = Field(default=None, max_length=200)
    contact_priority: ContactPriority

    @field_validator("contact_priority", mode="before")
    @classmethod
    def _lower_case(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


def parse_answer(content: str) -> Assessment:
    fenced = _CODE_FENCE.match(content)
    text = fenced.group(1) if fenced else content
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidAnswer(f"not json: {exc.msg} at character {exc.pos}") from exc
    if not isinstance(data, dict):
        raise InvalidAnswer(f"a json {type(data).__name__}, not an object")
    try:
        return Assessment.model_validate(data)
    except ValidationError as exc:
        raise InvalidAnswer(describe_validation_error(exc).replace("message", "answer", 1)) from exc
