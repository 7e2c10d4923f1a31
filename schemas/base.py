"""Shared building blocks of every topic model."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict

# Bumped only for a breaking change of any topic; consumers reject versions they do not know.
SCHEMA_VERSION: Literal[1] = 1


def refuse_nul(value: Any) -> Any:
    """A NUL is a scraper's encoding bug, and PostgreSQL cannot store one: refusing it here
    sends the message to the DLQ once, at the first stage, before any LLM call is paid for."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("contains a NUL (0x00) character; fix the scraper and replay")
    return value


def _blank_to_none(value: Any) -> Any:
    """Portals send "" or whitespace for unknown values; unknown must stay None, never ""."""
    if isinstance(value, str):
        stripped = refuse_nul(value).strip()
        return stripped or None
    return value


# An optional free-text field: stripped, and blank means missing.
OptionalText = Annotated[str | None, BeforeValidator(_blank_to_none)]


class Message(BaseModel):
    """Base of every topic model: strict about unknown fields so typos fail loudly."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_version: Literal[1] = SCHEMA_VERSION


class Part(BaseModel):
    """Base of a section nested inside a topic model."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def permit_key(jurisdiction: str, permit_number: str) -> str:
    """The identity of a permit and the Kafka message key on every topic."""
    return f"{jurisdiction}:{permit_number}"
