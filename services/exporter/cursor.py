"""Opaque keyset-pagination cursors: the sort key (score, scored_at, id) of a page's last lead."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, Field, TypeAdapter, ValidationError

from services.common.times import as_utc

MAX_BIGINT = 2**63 - 1

_CURSOR = TypeAdapter(
    tuple[
        Annotated[int, Field(ge=-1, le=100, strict=True)],
        AwareDatetime,
        Annotated[int, Field(ge=1, le=MAX_BIGINT, strict=True)],
    ]
)


class InvalidCursor(ValueError):
    """The cursor was not produced by this API (or was altered)."""


@dataclass(frozen=True)
class Cursor:
    score: int
    scored_at: datetime
    id: int


def encode_cursor(cursor: Cursor) -> str:
    payload = json.dumps([cursor.score, cursor.scored_at.isoformat(), cursor.id])
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> Cursor:
    try:
        padded = text + "=" * (-len(text) % 4)
        score, scored_at, lead_id = _CURSOR.validate_json(base64.urlsafe_b64decode(padded))
        # Like every time parameter: to UTC (PostgreSQL refuses offsets beyond ±15:59).
        scored_at = as_utc(scored_at)
    except (binascii.Error, ValueError, ValidationError) as exc:
        raise InvalidCursor("invalid cursor: pass next_cursor from a previous page as is") from exc
    return Cursor(score, scored_at, lead_id)
