"""Writes poll batches of leads, discards and DLQ records to the database, idempotently.

One transaction per batch, one multi-row upsert per table (upsert.py); the runtime commits the
Kafka offsets only after this returns, so a crash at any point replays the batch, and the replay
changes nothing it already wrote. Rows whose content hash matches what is stored are not even
sent, so a replay costs a few indexed reads.

Each transaction first locks the batch's permits (``SELECT … FOR UPDATE`` for the stored ones,
the insert itself for new ones), in key order, and only then reads which lead or discard each
permit has. Two store replicas writing a lead and a discard of the same permit therefore take
turns, and cannot both decide that the permit has no outcome yet.

A batch the database rejects (a constraint, an oversized or overflowing value) is written again
row by row inside savepoints: the rejected messages go to the DLQ with the database's reason,
the rest commit. Any other error (database down, connection lost, deadlock) propagates, and the
runtime retries the whole batch with backoff.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import Connection, Engine, delete, select, tuple_
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from schemas import DeadLetter, DiscardedPermit, ScoredLead, Topic
from services.common.db.tables import dead_letters as _DEAD_LETTERS
from services.common.db.tables import discarded_permits as _DISCARDS
from services.common.db.tables import permits as _PERMITS
from services.common.db.tables import properties as _PROPERTIES
from services.common.db.tables import scored_leads as _LEADS
from services.common.runtime import BadInput, Outputs
from services.store import metrics
from services.store.rows import (
    DeadLetterRows,
    DiscardRows,
    LeadRows,
    MessageRows,
    PermitOutcomeRows,
    as_utc,
    permit_rank_of,
    rows_for,
)
from services.store.rules import (
    discard_supersedes,
    lead_supersedes,
    lead_yields_to_discard,
    newest_per_key,
    permit_supersedes,
)
from services.store.upsert import insert_for, upsert_newer

log = logging.getLogger(__name__)

STORE_INPUTS: dict[str, type[BaseModel]] = {
    Topic.SCORED.value: ScoredLead,
    Topic.DISCARDED.value: DiscardedPermit,
    Topic.DLQ.value: DeadLetter,
}
_TOPIC_OF = {model: topic for topic, model in STORE_INPUTS.items()}


# Errors that mean "this row can never be stored", as opposed to "the database is unwell".
_REJECTIONS = (IntegrityError, DataError)


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    SKIPPED = "skipped"  # unchanged content, or superseded by a newer version
    ERROR = "error"  # rejected by the database: sent to the DLQ


@dataclass(frozen=True)
class _Stored:
    """What the database holds for one permit key (read while holding the permit's lock)."""

    permit_id: int
    lead_hash: str | None
    discard_hash: str | None
    discard_version: datetime | None


class BatchWriter:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def write_batch(self, messages: Sequence[BaseModel]) -> list[Outputs | BadInput]:
        """The stage's batch handler: one result per message, in order (none has outputs)."""
        return [[] if isinstance(result, Outcome) else result for result in self.write(messages)]

    def write(self, messages: Sequence[BaseModel]) -> list[Outcome | BadInput]:
        """Write a batch in one transaction; returns each message's outcome, in order."""
        started = time.perf_counter()
        prepared = [_prepare(message) for message in messages]
        writable = {i: rows for i, rows in enumerate(prepared) if not isinstance(rows, BadInput)}
        try:
            with self._engine.begin() as conn:
                outcomes: dict[int, Outcome | BadInput] = dict(self._write(conn, writable))
        except _REJECTIONS as exc:
            log.warning(
                "the database rejected a row; writing the batch row by row to isolate it",
                extra={"error": describe_rejection(exc)},
            )
            outcomes = self._write_isolating(writable)
        results: list[Outcome | BadInput] = [
            item if isinstance(item, BadInput) else outcomes[i] for i, item in enumerate(prepared)
        ]
        _report(messages, results, time.perf_counter() - started)
        return results

    # ------------------------------------------------------------------ one transaction

    def _write(self, conn: Connection, items: Mapping[int, MessageRows]) -> dict[int, Outcome]:
        outcomes = dict.fromkeys(items, Outcome.SKIPPED)
        with_permit = [
            (i, rows) for i, rows in items.items() if isinstance(rows, LeadRows | DiscardRows)
        ]
        if with_permit:
            stored = self._write_permits(conn, with_permit)
            leads = [(i, rows) for i, rows in with_permit if isinstance(rows, LeadRows)]
            lead_outcomes, lead_keys = self._write_leads(conn, leads, stored)
            outcomes.update(lead_outcomes)
            # A lead and a discard of one permit in one batch: the lead is the outcome.
            discards = [
                (i, rows)
                for i, rows in with_permit
                if isinstance(rows, DiscardRows) and rows.key not in lead_keys
            ]
            outcomes.update(self._write_discards(conn, discards, stored))
        dead_letters = [(i, rows) for i, rows in items.items() if isinstance(rows, DeadLetterRows)]
        outcomes.update(self._write_dead_letters(conn, dead_letters))
        return outcomes

    def _write_isolating(self, items: Mapping[int, MessageRows]) -> dict[int, Outcome | BadInput]:
        outcomes: dict[int, Outcome | BadInput] = {}
        with self._engine.begin() as conn:
            for i, rows in items.items():
                try:
                    with conn.begin_nested():
                        outcomes.update(self._write(conn, {i: rows}))
                except _REJECTIONS as exc:
                    outcomes[i] = BadInput(f"rejected by the database: {describe_rejection(exc)}")
        return outcomes

    # ------------------------------------------------------------------ tables

    def _write_permits(
        self, conn: Connection, items: Sequence[tuple[int, PermitOutcomeRows]]
    ) -> dict[str, _Stored]:
        """Upsert the permits and lock them; returns what the database holds for each."""
        newest = newest_per_key(items, key=_key_of, rank=lambda item: permit_rank_of(item[1]))
        keys = sorted(newest)  # one lock order for every replica
        stored_hashes = self._lock_permits(conn, keys)
        changed = [
            newest[key][1].permit
            for key in keys
            if stored_hashes.get(key) != newest[key][1].permit["content_hash"]
        ]
        if changed:  # new permits are locked by their insert
            upsert_newer(
                conn, _PERMITS, changed, supersedes=permit_supersedes, touched="last_seen_at"
            )
        return self._read_stored(conn, keys)

    def _write_leads(
        self, conn: Connection, items: Sequence[tuple[int, LeadRows]], stored: dict[str, _Stored]
    ) -> tuple[dict[int, Outcome], set[str]]:
        """Leads; returns their outcomes and the permit keys whose outcome is now a lead."""
        outcomes = dict.fromkeys((i for i, _ in items), Outcome.SKIPPED)
        newest = {
            key: (i, rows)
            for key, (i, rows) in newest_per_key(
                items, key=_key_of, rank=lambda item: item[1].rank
            ).items()
            if stored[key].discard_hash is None
            or not lead_yields_to_discard(rows.lead["version_at"], stored[key].discard_version)
        }
        changed = {
            key: rows
            for key, (_, rows) in newest.items()
            if stored[key].lead_hash != rows.lead["content_hash"]
        }
        written: set[str] = set()
        if changed:
            property_ids = self._property_ids(conn, (rows.cad_account for rows in changed.values()))
            params = [
                {
                    **rows.lead,
                    "permit_id": stored[key].permit_id,
                    "cad_property_id": property_ids.get(rows.cad_account),
                }
                for key, rows in sorted(changed.items())
            ]
            written = upsert_newer(
                conn, _LEADS, params, supersedes=lead_supersedes, touched="updated_at"
            )
        replaced_discards = [key for key in newest if stored[key].discard_hash is not None]
        if replaced_discards:
            conn.execute(delete(_DISCARDS).where(_DISCARDS.c.permit_key.in_(replaced_discards)))
        for key, (i, _) in newest.items():
            outcomes[i] = _outcome(key in written, existed=stored[key].lead_hash is not None)
        return outcomes, set(newest)

    def _write_discards(
        self, conn: Connection, items: Sequence[tuple[int, DiscardRows]], stored: dict[str, _Stored]
    ) -> dict[int, Outcome]:
        """Discards of permits without a lead (a discard never replaces a lead)."""
        outcomes = dict.fromkeys((i for i, _ in items), Outcome.SKIPPED)
        newest = newest_per_key(
            ((i, rows) for i, rows in items if stored[rows.key].lead_hash is None),
            key=_key_of,
            rank=lambda item: item[1].rank,
        )
        changed = {
            key: rows
            for key, (_, rows) in newest.items()
            if stored[key].discard_hash != rows.discard["content_hash"]
        }
        if not changed:
            return outcomes
        params = [
            {**rows.discard, "permit_id": stored[key].permit_id}
            for key, rows in sorted(changed.items())
        ]
        written = upsert_newer(
            conn, _DISCARDS, params, supersedes=discard_supersedes, touched="updated_at"
        )
        for key, (i, _) in newest.items():
            outcomes[i] = _outcome(key in written, existed=stored[key].discard_hash is not None)
        return outcomes

    def _write_dead_letters(
        self, conn: Connection, items: Sequence[tuple[int, DeadLetterRows]]
    ) -> dict[int, Outcome]:
        if not items:
            return {}
        first: dict[tuple[str, int, int], tuple[int, DeadLetterRows]] = {}
        for i, rows in items:
            first.setdefault(rows.key, (i, rows))  # the same record twice in one batch: once
        table = _DEAD_LETTERS
        position = (table.c.source_topic, table.c.source_partition, table.c.source_offset)
        statement = (
            insert_for(conn, table)
            .on_conflict_do_nothing(index_elements=position)
            .returning(*position)
        )
        params = [rows.dead_letter for _, rows in first.values()]
        created = {tuple(row) for row in conn.execute(statement, params)}
        outcomes = {i: Outcome.SKIPPED for i, _ in items}
        for key, (i, _) in first.items():
            outcomes[i] = Outcome.CREATED if key in created else Outcome.SKIPPED
        return outcomes

    def _lock_permits(self, conn: Connection, keys: Sequence[str]) -> dict[str, str]:
        """Lock the stored permits among ``keys``; returns their content hashes."""
        permits = _PERMITS.c
        query = (
            select(permits.permit_key, permits.content_hash)
            .where(permits.permit_key.in_(keys))
            .order_by(permits.permit_key)
            .with_for_update()
        )
        return {key: content_hash for key, content_hash in conn.execute(query)}

    def _read_stored(self, conn: Connection, keys: Sequence[str]) -> dict[str, _Stored]:
        permits, leads, discards = _PERMITS.c, _LEADS.c, _DISCARDS.c
        query = (
            select(
                permits.permit_key,
                permits.id,
                leads.content_hash,
                discards.content_hash,
                discards.version_at,
            )
            .select_from(
                _PERMITS.outerjoin(_LEADS, leads.permit_key == permits.permit_key).outerjoin(
                    _DISCARDS, discards.permit_key == permits.permit_key
                )
            )
            .where(permits.permit_key.in_(keys))
        )
        return {
            key: _Stored(permit_id, lead_hash, discard_hash, as_utc(discard_version))
            for key, permit_id, lead_hash, discard_hash, discard_version in conn.execute(query)
        }

    def _property_ids(
        self, conn: Connection, accounts: Iterable[tuple[str, str] | None]
    ) -> dict[tuple[str, str] | None, int]:
        wanted = sorted({account for account in accounts if account is not None})
        if not wanted:
            return {}
        columns = _PROPERTIES.c
        query = select(columns.county, columns.account_id, columns.id).where(
            tuple_(columns.county, columns.account_id).in_(wanted)
        )
        return {(county, account): id_ for county, account, id_ in conn.execute(query)}


def _prepare(message: BaseModel) -> MessageRows | BadInput:
    try:
        return rows_for(message)
    except BadInput as exc:
        return exc


def _key_of(item: tuple[int, PermitOutcomeRows]) -> str:
    return item[1].key


def _outcome(written: bool, *, existed: bool) -> Outcome:
    if not written:
        return Outcome.SKIPPED
    return Outcome.UPDATED if existed else Outcome.CREATED


_STATEMENT_TABLE = re.compile(r"^\s*(?:INSERT INTO|DELETE FROM|UPDATE)\s+(\w+)", re.IGNORECASE)


def describe_rejection(exc: DBAPIError) -> str:
    """'scored_leads: value too long for type character varying(120)', with any detail."""
    diag = getattr(exc.orig, "diag", None)
    message = getattr(diag, "message_primary", None) or str(exc.orig).strip().splitlines()[0]
    detail = getattr(diag, "message_detail", None)
    table = _STATEMENT_TABLE.match(exc.statement or "")
    text = f"{table.group(1)}: {message}" if table else message
    return f"{text} ({detail})" if detail else text


def _report(
    messages: Sequence[BaseModel], results: Sequence[Outcome | BadInput], seconds: float
) -> None:
    per_topic = Counter(
        (_TOPIC_OF[type(message)], result if isinstance(result, Outcome) else Outcome.ERROR)
        for message, result in zip(messages, results, strict=True)
    )
    for (topic, outcome), count in per_topic.items():
        metrics.WRITES.labels(topic, outcome.value).inc(count)
    totals: Counter[Outcome] = Counter()
    for (_, outcome), count in per_topic.items():
        totals[outcome] += count
    counts = {outcome.value: totals[outcome] for outcome in Outcome}
    log.info(
        "batch stored: %(created)d created, %(updated)d updated, %(skipped)d skipped, "
        "%(error)d errors",
        counts,
        extra={"messages": len(messages), "outcomes": counts, "ms": round(seconds * 1000, 1)},
    )
