"""Table rows from the store's input messages: pure functions, no database.

Content hashes decide "unchanged". They cover what a buyer or an operator would see differ,
and leave out what changes when the same permit version is merely processed again: when it
was scored or discarded, what the clock said while categorising (``as_of``, ``days_old``),
and what the score cost (latency, tokens). So a redelivered message, a replay, or a re-score
of an identical permit that reaches the same result is reported as skipped (unchanged) and
writes nothing; a new scrape (``scraped_at`` is in the hash) or a different result updates.
"""

from __future__ import annotations

import binascii
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import String

from schemas import DeadLetter, DiscardedPermit, RawPermit, ScoredLead, Topic
from services.common.db.tables.dlq import DeadLetterRow
from services.common.db.tables.pipeline import PermitRow
from services.common.messages import BadInput
from services.common.times import as_utc
from services.store.precedence import Rank, discard_rank, lead_rank, permit_rank
from services.store.projects import (
    DUPLICATE,
    ProjectLead,
    RelatedPermit,
    duplicate_detail,
    project_date,
    project_key,
    related_permit,
)
from services.subscriptions.location import lead_location

# What the store reads, by topic.
STORE_INPUTS: dict[str, type[BaseModel]] = {
    Topic.SCORED.value: ScoredLead,
    Topic.DISCARDED.value: DiscardedPermit,
    Topic.DLQ.value: DeadLetter,
}

_LEAD_VOLATILE: dict[str, Any] = {
    "score": {"scored_at", "latency_ms", "tokens_in", "tokens_out", "tokens_cached"},
    "categorization": {"as_of", "days_old"},
}
_DISCARD_VOLATILE: dict[str, Any] = {"discarded_at": True, "categorization": {"as_of", "days_old"}}

# Lengths of the dead-letter text columns, to cut a record's texts to what fits.
_DEAD_LETTER_LIMITS = {
    name: cast(String, DeadLetterRow.__table__.c[name].type).length
    for name in ("source_topic", "stage", "key")
}
# The permit fields the ``permits`` table has columns for; the whole message is kept in ``raw``.
_PERMIT_COLUMNS = tuple(
    column.name for column in PermitRow.__table__.columns if column.name in RawPermit.model_fields
)


@dataclass(frozen=True)
class LeadRows:
    """What one ``leads.scored`` message writes: its permit and its lead."""

    key: str
    permit: dict[str, Any]
    lead: dict[str, Any]
    cad_account: tuple[str, str] | None  # (county, account_id) of the matched CAD property
    related: RelatedPermit  # what the lead of its project shows of it, should it join one

    @property
    def rank(self) -> Rank:
        return lead_rank(self.lead["tier"], self.lead["version_at"], self.lead["scored_at"])


@dataclass(frozen=True)
class DiscardRows:
    """What one ``permits.discarded`` message writes: its permit and the discard."""

    key: str
    permit: dict[str, Any]
    discard: dict[str, Any]

    @property
    def rank(self) -> Rank:
        return discard_rank(self.discard["version_at"], self.discard["discarded_at"])


@dataclass(frozen=True)
class DeadLetterRows:
    """What one ``permits.dlq`` record writes; ``key`` is its position in the source topic."""

    key: tuple[str, int, int]
    dead_letter: dict[str, Any]


PermitOutcomeRows = LeadRows | DiscardRows
MessageRows = LeadRows | DiscardRows | DeadLetterRows


def rows_for(message: BaseModel) -> MessageRows:
    """The rows of any input message; raises BadInput when PostgreSQL could not store it."""
    if isinstance(message, ScoredLead):
        return lead_rows(message)
    if isinstance(message, DiscardedPermit):
        return discard_rows(message)
    if isinstance(message, DeadLetter):
        return dead_letter_rows(message)
    raise TypeError(f"the store has no table for {type(message).__name__}")


def permit_rank_of(rows: PermitOutcomeRows) -> Rank:
    return permit_rank(rows.permit["scraped_at"])


def permit_row(permit: RawPermit) -> dict[str, Any]:
    """The ``permits`` row; ``raw`` is serialized JSON (see upsert.SERIALIZED_JSON)."""
    row = {name: getattr(permit, name) for name in _PERMIT_COLUMNS}
    row["scraped_at"] = stored_time(permit.scraped_at)
    row["permit_key"] = permit.key
    row["raw"] = permit.model_dump_json()
    row["content_hash"] = _sha256(row["raw"])
    return row


def lead_rows(message: ScoredLead) -> LeadRows:
    content = message.model_dump_json(exclude=_LEAD_VOLATILE)
    _refuse_nul(message, content)
    permit, categorization, cad, score = (
        message.permit,
        message.categorization,
        message.cad,
        message.score,
    )
    location = lead_location(permit)  # the portal's point, else the ZIP's centroid
    lead = {
        "permit_key": permit.key,
        "jurisdiction": permit.jurisdiction,
        "permit_number": permit.permit_number,
        "city": permit.city,
        "county": permit.county or cad.county,
        "property_address": permit.property_address,
        "owner_name": cad.owner_name or permit.owner_name,
        "project_description": permit.work_description,
        "valuation": permit.valuation,
        "market_value": cad.market_value,
        "is_absentee": cad.is_absentee,
        "issued_date": permit.issued_date,
        "category": categorization.category.value,
        "tags": [tag.value for tag in categorization.tags],
        "trade_group": categorization.trade_group.value,
        "is_commercial": categorization.is_commercial,
        "match": cad.match.value,
        "score": score.score,
        "tier": score.tier.value,
        "reasoning": score.reasoning,
        "chain_of_thought": score.chain_of_thought,
        "flags": list(score.flags),
        "ideal_contractor": score.ideal_contractor,
        "contact_priority": score.contact_priority.value,
        "scoring_method": score.scoring_method.value,
        "model": score.model,
        "prompt_version": score.prompt_version,
        "tokens_in": score.tokens_in,
        "tokens_out": score.tokens_out,
        "tokens_cached": score.tokens_cached,
        "attempts": score.attempts,
        "scored_at": stored_time(score.scored_at),
        "rules_version": categorization.rules_version,
        "version_at": stored_time(permit.scraped_at),
        "content_hash": _sha256(content),
        "lead": message.model_dump_json(),
        "project_key": project_key(permit, categorization, cad),
        "project_date": project_date(permit),
        "zip_code": location.zip_code,
        "latitude": location.latitude,
        "longitude": location.longitude,
        "location_approximate": location.approximate,
    }
    account = (cad.county, cad.account_id) if cad.county and cad.account_id else None
    return LeadRows(
        key=permit.key,
        permit=permit_row(permit),
        lead=lead,
        cad_account=account,
        related=related_permit(permit, categorization),
    )


def duplicate_rows(rows: LeadRows, lead: ProjectLead) -> DiscardRows:
    """A lead message whose permit joins the project of another lead: its ``duplicate``
    discard. Made of the message alone (and the lead it joins), so a replay makes the same
    row, with the same hash; its time is the message's ``scored_at``, not the clock."""
    source = rows.lead
    discard = {
        "permit_key": rows.key,
        "reason": DUPLICATE,
        "reason_group": DUPLICATE,
        "detail": duplicate_detail(lead),
        "stage": "store",
        "rules_version": source["rules_version"],
        "category": source["category"],
        "trade_group": source["trade_group"],
        "city": source["city"],
        "county": source["county"],
        "discarded_at": source["scored_at"],
        "version_at": source["version_at"],
        "content_hash": _sha256(f"{DUPLICATE}:{lead.permit_key}:{source['content_hash']}"),
        "duplicate_of": lead.permit_key,
    }
    return DiscardRows(key=rows.key, permit=rows.permit, discard=discard)


def discard_rows(message: DiscardedPermit) -> DiscardRows:
    content = message.model_dump_json(exclude=_DISCARD_VOLATILE)
    _refuse_nul(message, content)
    permit, categorization, cad = message.permit, message.categorization, message.cad
    discard = {
        "permit_key": permit.key,
        "reason": message.reason,
        "reason_group": message.reason_group,
        "detail": message.detail,
        "stage": message.stage,
        "rules_version": message.rules_version,
        "category": categorization.category.value if categorization else None,
        "trade_group": categorization.trade_group.value if categorization else None,
        "city": permit.city,
        "county": permit.county or (cad.county if cad else None),
        "discarded_at": stored_time(message.discarded_at),
        "version_at": stored_time(permit.scraped_at),
        "content_hash": _sha256(content),
        "duplicate_of": None,
    }
    return DiscardRows(key=permit.key, permit=permit_row(permit), discard=discard)


def dead_letter_rows(record: DeadLetter) -> DeadLetterRows:
    """A DLQ record is stored even with text PostgreSQL refuses (NUL, too long): refusing it
    would only send it round the DLQ again, and the original bytes are kept exactly."""
    try:
        original = record.original
    except (binascii.Error, ValueError) as exc:
        raise BadInput(f"original_b64 is not valid base64: {exc}") from exc
    source_topic = _storable(record.source_topic, _DEAD_LETTER_LIMITS["source_topic"])
    row = {
        "source_topic": source_topic,
        "source_partition": record.source_partition,
        "source_offset": record.source_offset,
        "stage": _storable(record.stage, _DEAD_LETTER_LIMITS["stage"]),
        "key": _storable(record.key, _DEAD_LETTER_LIMITS["key"])
        if record.key is not None
        else None,
        "error": _storable(record.error),
        "original": original,
        "original_truncated": record.original_truncated,
        "failed_at": stored_time(record.failed_at),
    }
    position = (source_topic, record.source_partition, record.source_offset)
    return DeadLetterRows(key=position, dead_letter=row)


def stored_time(value: datetime | None) -> datetime | None:
    """Every stored time in UTC (a naive one is taken as UTC): SQLite keeps no offset, so
    times compare correctly in the ``WHERE`` of an upsert only if they share one.

    Raises BadInput for a time that leaves the calendar in UTC (0001-01-01T00:00+05:00): the
    contract refuses one (schemas.base), and should one arrive all the same, it is this
    message's fault, and the DLQ takes it instead of the error stalling the batch for ever."""
    if value is None:
        return None
    try:
        return as_utc(value)
    except ValueError as exc:
        raise BadInput(str(exc)) from None


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _storable(text: str, limit: int | None = None) -> str:
    cleaned = text.replace("\x00", "\ufffd")
    return cleaned[:limit] if limit is not None else cleaned


def _refuse_nul(message: BaseModel, content_json: str) -> None:
    """PostgreSQL text and JSONB cannot hold U+0000; say which field has one."""
    if "\\u0000" not in content_json:
        return
    where = _nul_path(message.model_dump())
    if where is not None:
        raise BadInput(f"{where} contains a NUL (0x00) character, which PostgreSQL cannot store")


def _nul_path(value: object, path: str = "") -> str | None:
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        items: list[tuple[str, object]] = [
            (f"{path}.{k}" if path else k, v) for k, v in value.items()
        ]
    elif isinstance(value, list):
        items = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
    else:
        return None
    for child_path, child in items:
        found = _nul_path(child, child_path)
        if found is not None:
            return found
    return None
