"""``leads.stored``: a lead was created or changed in the database, after the commit.

Published by the outbox relay (services/notifier/relay.py) from the ``lead_events`` rows the
store writes in the same transaction as the lead; ``event_id`` is that row's id, so a
republished event (a crash between publish and mark) carries the same id and consumers drop it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.base import BoundedTime, Message

LeadEventType = Literal["lead.created", "lead.updated"]


class LeadStored(Message):
    event_id: int = Field(ge=1, description="The outbox row id: stable across republishing.")
    type: LeadEventType
    lead_id: int = Field(ge=1, description="scored_leads.id: GET /v1/leads/{lead_id}.")
    permit_key: str
    occurred_at: BoundedTime = Field(description="When the store committed the change.")
