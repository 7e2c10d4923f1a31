"""Writes poll batches of leads, discards and DLQ records to the database, idempotently.

One transaction per batch, one multi-row upsert per table (upsert.py); the runtime commits the
Kafka offsets only after this returns, so a crash at any point replays the batch, and the replay
changes nothing it already wrote. Rows whose content hash matches what is stored are not even
sent, so a replay costs a few indexed reads.

Each transaction first locks the batch's permits (``SELECT … FOR UPDATE`` for the stored ones,
the insert itself for new ones), in key order, and only then reads which lead or discard each
permit has. Two store replicas writing a lead and a discard of the same permit therefore take
turns, and cannot both decide that the permit has no outcome yet.

Then it folds projects (projects.py): each incoming lead whose permit is not a lead yet joins
the first stored lead of the same property and category within 90 days, and is stored as a
``duplicate`` discard while that lead gains it in ``related_permits``. Before reading the
project's leads the transaction takes a PostgreSQL advisory lock per project key (again in one
order), so two replicas storing two permits of one project take turns, and the second one sees
the first one's lead. The lead's row is read ``FOR UPDATE`` before its list is rewritten.

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
from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    case,
    delete,
    func,
    insert,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from schemas import DeadLetter, DiscardedPermit, ScoredLead, Topic
from services.common.db.tables import dead_letters as _DEAD_LETTERS
from services.common.db.tables import discarded_permits as _DISCARDS
from services.common.db.tables import lead_events as _LEAD_EVENTS
from services.common.db.tables import permits as _PERMITS
from services.common.db.tables import properties as _PROPERTIES
from services.common.db.tables import scored_leads as _LEADS
from services.common.db.types import Json
from services.common.messages import BadInput, Outputs
from services.store import metrics
from services.store.precedence import (
    discard_supersedes,
    lead_supersedes,
    lead_yields_to_discard,
    newest_per_key,
    permit_supersedes,
)
from services.store.projects import (
    DUPLICATE,
    IncomingLead,
    ProjectLead,
    RelatedPermit,
    decide_projects,
    merge_related,
    project_lock_id,
)
from services.store.rows import (
    DeadLetterRows,
    DiscardRows,
    LeadRows,
    MessageRows,
    PermitOutcomeRows,
    duplicate_rows,
    permit_rank_of,
    rows_for,
    stored_time,
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


# What the outbox announces of a lead written (docs/webhooks.md).
LEAD_CREATED, LEAD_UPDATED = "lead.created", "lead.updated"
_EVENT_OF = {Outcome.CREATED: LEAD_CREATED, Outcome.UPDATED: LEAD_UPDATED}


@dataclass(frozen=True)
class _Stored:
    """What the database holds for one permit key (read while holding the permit's lock)."""

    permit_id: int
    lead_hash: str | None
    discard_hash: str | None
    discard_version: datetime | None
    duplicate_of: str | None  # its discard is a ``duplicate`` of this lead's permit

    @property
    def is_duplicate(self) -> bool:
        return self.duplicate_of is not None


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
            leads = self._newest_leads(
                [(i, rows) for i, rows in with_permit if isinstance(rows, LeadRows)], stored
            )
            staying, joining = self._fold_projects(conn, leads, stored)
            lead_outcomes, replaced_duplicates = self._write_leads(conn, staying, stored)
            outcomes.update(lead_outcomes)
            announced = {
                key: _EVENT_OF[lead_outcomes[i]]
                for key, (i, _) in staying.items()
                if lead_outcomes[i] in _EVENT_OF
            }
            # A lead and a discard of one permit in one batch: the lead (or the duplicate it
            # became) is the outcome.
            discards = [
                (i, rows)
                for i, rows in with_permit
                if isinstance(rows, DiscardRows) and rows.key not in leads
            ]
            discard_outcomes, written = self._write_discards(conn, discards + joining, stored)
            outcomes.update(discard_outcomes)
            regrouped = self._update_related(
                conn, leads, joining, written, replaced_duplicates, stored
            )
            for key in regrouped:
                announced.setdefault(key, LEAD_UPDATED)
            self._write_lead_events(conn, announced)
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

    def _newest_leads(
        self, items: Sequence[tuple[int, LeadRows]], stored: dict[str, _Stored]
    ) -> dict[str, tuple[int, LeadRows]]:
        """The winning lead message per permit, in arrival order, unless the permit's stored
        discard is of a newer version (the other messages are skipped)."""
        newest = newest_per_key(items, key=_key_of, rank=lambda item: item[1].rank)
        return {
            key: newest[key]
            for key in sorted(newest, key=lambda key: newest[key][0])
            if stored[key].discard_hash is None
            or not lead_yields_to_discard(
                newest[key][1].lead["version_at"], stored[key].discard_version
            )
        }

    def _fold_projects(
        self,
        conn: Connection,
        leads: Mapping[str, tuple[int, LeadRows]],
        stored: dict[str, _Stored],
    ) -> tuple[dict[str, tuple[int, LeadRows]], list[tuple[int, DiscardRows]]]:
        """Which incoming leads stay (or become) leads, and which join another permit's lead
        as ``duplicate`` discards (under the projects' locks)."""
        incoming = [
            IncomingLead(
                permit_key=key,
                project_key=rows.lead["project_key"],
                project_date=rows.lead["project_date"],
                has_lead=stored[key].lead_hash is not None,
            )
            for key, (_, rows) in leads.items()
        ]
        project_keys = sorted({lead.project_key for lead in incoming if lead.project_key})
        if not project_keys or all(lead.has_lead for lead in incoming):
            # Every permit here is a lead already (a replay, re-scores): each stays one, so
            # there is nothing to decide, lock or read.
            return dict(leads), []
        self._lock_projects(conn, project_keys)
        decisions = decide_projects(incoming, self._project_leads(conn, project_keys))
        staying = {key: item for key, item in leads.items() if decisions[key] is None}
        joining = [
            (i, duplicate_rows(rows, lead))
            for key, (i, rows) in leads.items()
            if (lead := decisions[key]) is not None
        ]
        return staying, joining

    def _write_leads(
        self,
        conn: Connection,
        newest: Mapping[str, tuple[int, LeadRows]],
        stored: dict[str, _Stored],
    ) -> tuple[dict[int, Outcome], dict[str, str]]:
        """Leads; returns their outcomes, and the duplicates they replaced (permit key → the
        lead it had joined), whose permits leave that lead's related permits."""
        outcomes: dict[int, Outcome] = {}
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
        replaced_duplicates = {
            key: lead for key in replaced_discards if (lead := stored[key].duplicate_of)
        }
        return outcomes, replaced_duplicates

    def _write_discards(
        self, conn: Connection, items: Sequence[tuple[int, DiscardRows]], stored: dict[str, _Stored]
    ) -> tuple[dict[int, Outcome], set[str]]:
        """Discards of permits without a lead: a discard never replaces a lead, nor a
        ``duplicate`` (a permit that is part of a lead); returns outcomes and keys written."""
        outcomes = dict.fromkeys((i for i, _ in items), Outcome.SKIPPED)
        newest = newest_per_key(
            (
                (i, rows)
                for i, rows in items
                if stored[rows.key].lead_hash is None
                and (rows.discard["reason"] == DUPLICATE or not stored[rows.key].is_duplicate)
            ),
            key=_key_of,
            rank=lambda item: item[1].rank,
        )
        changed = {
            key: rows
            for key, (_, rows) in newest.items()
            if stored[key].discard_hash != rows.discard["content_hash"]
        }
        if not changed:
            return outcomes, set()
        params = [
            {**rows.discard, "permit_id": stored[key].permit_id}
            for key, rows in sorted(changed.items())
        ]
        written = upsert_newer(
            conn, _DISCARDS, params, supersedes=discard_supersedes, touched="updated_at"
        )
        for key, (i, _) in newest.items():
            outcomes[i] = _outcome(key in written, existed=stored[key].discard_hash is not None)
        return outcomes, written

    def _update_related(
        self,
        conn: Connection,
        leads: Mapping[str, tuple[int, LeadRows]],
        joining: Sequence[tuple[int, DiscardRows]],
        written: set[str],
        replaced_duplicates: Mapping[str, str],
        stored: dict[str, _Stored],
    ) -> list[str]:
        """Each lead's ``related_permits`` after this batch: the duplicates written join their
        lead (again, when only their content changed), and a permit that became a lead or
        joined another lead leaves the one it had joined. Returns the leads changed."""
        added: dict[str, list[RelatedPermit]] = {}
        removed: dict[str, set[str]] = {}
        for _, rows in joining:
            key = rows.key
            if key not in written:
                continue
            lead = rows.discard["duplicate_of"]
            added.setdefault(lead, []).append(leads[key][1].related)
            previous = stored[key].duplicate_of
            if previous is not None and previous != lead:
                removed.setdefault(previous, set()).add(key)
        for key, lead in replaced_duplicates.items():
            removed.setdefault(lead, set()).add(key)
        if not added and not removed:
            return []
        columns = _LEADS.c
        current = conn.execute(
            select(columns.permit_key, columns.related_permits)
            .where(columns.permit_key.in_(sorted(added.keys() | removed.keys())))
            .order_by(columns.permit_key)
            .with_for_update()
        )
        changes = []
        for key, related in current:
            merged = merge_related(related or [], added.get(key, []), removed.get(key, set()))
            if merged != related:
                changes.append({"lead_key": key, "merged": merged})
        if changes:
            conn.execute(
                update(_LEADS)
                .where(columns.permit_key == bindparam("lead_key"))
                .values(related_permits=bindparam("merged", type_=Json), updated_at=func.now()),
                changes,
            )
        return [change["lead_key"] for change in changes]

    def _write_lead_events(self, conn: Connection, announced: Mapping[str, str]) -> None:
        """The outbox: one ``lead_events`` row per lead created or changed, in this
        transaction, so the relay announces exactly what committed (docs/webhooks.md). One
        statement per batch; a replay that changes nothing announces nothing."""
        if not announced:
            return
        created = sorted(key for key, kind in announced.items() if kind == LEAD_CREATED)
        leads = _LEADS.c
        kind = case((leads.permit_key.in_(created), LEAD_CREATED), else_=LEAD_UPDATED)
        rows = (
            select(leads.id, leads.permit_key, kind)
            .where(leads.permit_key.in_(sorted(announced)))
            .order_by(leads.id)
        )
        conn.execute(insert(_LEAD_EVENTS).from_select(["lead_id", "permit_key", "type"], rows))

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

    def _lock_projects(self, conn: Connection, project_keys: Sequence[str]) -> None:
        """One transaction-scoped advisory lock per project, in one order for every replica.
        SQLite (the embedded demo) has a single writer and needs none."""
        if conn.dialect.name != "postgresql":
            return
        lock_ids = sorted({project_lock_id(key) for key in project_keys})
        # unnest yields the array in its order, so the locks are taken in it.
        conn.execute(
            text("SELECT pg_advisory_xact_lock(id) FROM unnest(CAST(:ids AS bigint[])) AS id"),
            {"ids": lock_ids},
        )

    def _project_leads(self, conn: Connection, project_keys: Sequence[str]) -> list[ProjectLead]:
        leads = _LEADS.c
        query = select(leads.permit_key, leads.project_key, leads.project_date, leads.id).where(
            leads.project_key.in_(project_keys)
        )
        return [
            ProjectLead(key, project, day, order=(0, id_))
            for key, project, day, id_ in conn.execute(query)
        ]

    def _read_stored(self, conn: Connection, keys: Sequence[str]) -> dict[str, _Stored]:
        permits, leads, discards = _PERMITS.c, _LEADS.c, _DISCARDS.c
        query = (
            select(
                permits.permit_key,
                permits.id,
                leads.content_hash,
                discards.content_hash,
                discards.version_at,
                discards.duplicate_of,
            )
            .select_from(
                _PERMITS.outerjoin(_LEADS, leads.permit_key == permits.permit_key).outerjoin(
                    _DISCARDS, discards.permit_key == permits.permit_key
                )
            )
            .where(permits.permit_key.in_(keys))
        )
        return {
            key: _Stored(
                permit_id, lead_hash, discard_hash, stored_time(discard_version), duplicate_of
            )
            for key, permit_id, lead_hash, discard_hash, discard_version, duplicate_of in (
                conn.execute(query)
            )
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
