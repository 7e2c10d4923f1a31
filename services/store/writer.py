"""Writes poll batches of leads, discards and DLQ records to the database, idempotently.

One transaction per batch: read what the database holds for the batch's keys under their
locks, ask plan.py what to write (the store's decisions, pure), write it with one multi-row
statement per table (upsert.py), report. The runtime commits the Kafka offsets only after this
returns, so a crash at any point replays the batch, and the replay changes nothing it already
wrote. Rows whose content hash matches what is stored are not even sent, so a replay costs a
few indexed reads.

Each transaction first locks the batch's permits (``SELECT … FOR UPDATE`` for the stored ones,
the insert itself for new ones), in key order, and only then reads which lead or discard each
permit has. Two store replicas writing a lead and a discard of the same permit therefore take
turns, and cannot both decide that the permit has no outcome yet.

Then it folds projects (projects.py): before reading the leads of the projects of the incoming
leads, the transaction takes a PostgreSQL advisory lock per project key (again in one order),
so two replicas storing two permits of one project take turns, and the second one sees the
first one's lead. A lead's row is read ``FOR UPDATE`` before its ``related_permits`` is
rewritten.

No lock guards a dead letter: the transaction reads which source positions are stored, and
should another replica store one of them between that read and the insert, the database writes
other rows than planned (``StoreRaced``), nothing commits, and the runtime's retry skips it.

A batch the database rejects (a constraint, an oversized or overflowing value) is written again
row by row inside savepoints: the rejected messages go to the DLQ with the database's reason,
the rest commit. Any other error (database down, connection lost, deadlock) propagates, and the
runtime retries the whole batch with backoff.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Engine,
    any_,
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
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DataError, IntegrityError

from services.common.db.tables.dlq import dead_letters as _DEAD_LETTERS
from services.common.db.tables.notifier import lead_events as _LEAD_EVENTS
from services.common.db.tables.pipeline import discarded_permits as _DISCARDS
from services.common.db.tables.pipeline import permits as _PERMITS
from services.common.db.tables.pipeline import properties as _PROPERTIES
from services.common.db.tables.pipeline import scored_leads as _LEADS
from services.common.db.types import Json
from services.common.messages import BadInput, Outputs
from services.common.times import as_utc
from services.store.plan import (
    LEAD_CREATED,
    LEAD_UPDATED,
    Input,
    Outcome,
    Plan,
    RelatedChange,
    StoreRaced,
    newest_permits,
    permits_to_write,
    plan_batch,
    projects_to_lock,
    related_updates,
)
from services.store.precedence import discard_supersedes, lead_supersedes, permit_supersedes
from services.store.projects import ProjectLead, project_lock_id
from services.store.report import describe_rejection, report
from services.store.rows import STORE_INPUTS, DeadLetterRows, rows_for, stored_time
from services.store.stored import Position, Stored, StoredDiscard, StoredLead, StoredPermit
from services.store.upsert import insert_for, upsert_newer

__all__ = ["LEAD_CREATED", "LEAD_UPDATED", "STORE_INPUTS", "BatchWriter", "Outcome"]

log = logging.getLogger(__name__)


# Errors that mean "this row can never be stored", as opposed to "the database is unwell".
_REJECTIONS = (IntegrityError, DataError)


class BatchWriter:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def write_batch(self, messages: Sequence[BaseModel]) -> list[Outputs | BadInput]:
        """The stage's batch handler: one result per message, in order (none has outputs)."""
        return [[] if isinstance(result, Outcome) else result for result in self.write(messages)]

    def write(self, messages: Sequence[BaseModel]) -> list[Outcome | BadInput]:
        """Write a batch in one transaction; returns each message's outcome, in order."""
        started = time.perf_counter()
        incoming = [_prepare(message) for message in messages]
        try:
            with self._engine.begin() as conn:
                results = self._write(conn, incoming)
        except _REJECTIONS as exc:
            log.warning(
                "the database rejected a row; writing the batch row by row to isolate it",
                extra={"error": describe_rejection(exc)},
            )
            results = self._write_isolating(incoming)
        report(messages, results, time.perf_counter() - started)
        return results

    def _write(self, conn: Connection, incoming: Sequence[Input]) -> list[Outcome | BadInput]:
        plan = plan_batch(self._read(conn, incoming), incoming)
        self._apply(conn, plan)
        return plan.results

    def _write_isolating(self, incoming: Sequence[Input]) -> list[Outcome | BadInput]:
        results: list[Outcome | BadInput] = []
        with self._engine.begin() as conn:
            for rows in incoming:
                if isinstance(rows, BadInput):
                    results.append(rows)
                    continue
                try:
                    with conn.begin_nested():
                        results.extend(self._write(conn, [rows]))
                except _REJECTIONS as exc:
                    results.append(BadInput(f"rejected by the database: {describe_rejection(exc)}"))
        return results

    # ------------------------------------------------------------------ read, under the locks

    def _read(self, conn: Connection, incoming: Sequence[Input]) -> Stored:
        """Write and lock the batch's permits, then read what the database holds for them."""
        permits: dict[str, StoredPermit] = {}
        newest = newest_permits(incoming)
        if newest:
            keys = list(newest)  # in key order: one lock order for every replica
            changed = permits_to_write(newest, self._lock_permits(conn, keys))
            if changed:  # new permits are locked by their insert
                upsert_newer(
                    conn, _PERMITS, changed, supersedes=permit_supersedes, touched="last_seen_at"
                )
            permits = self._read_stored(conn, keys)
        project_keys = projects_to_lock(permits, incoming)
        positions = [rows.key for rows in incoming if isinstance(rows, DeadLetterRows)]
        return Stored(
            permits=permits,
            project_leads=self._project_leads(conn, project_keys) if project_keys else (),
            dead_letters=self._stored_dead_letters(conn, positions) if positions else (),
        )

    def _lock_permits(self, conn: Connection, keys: Sequence[str]) -> dict[str, str]:
        """Lock the stored permits among ``keys``; returns their content hashes."""
        permits = _PERMITS.c
        query = (
            select(permits.permit_key, permits.content_hash)
            .where(_among(conn, permits.permit_key, keys))
            .order_by(permits.permit_key)
            .with_for_update()
        )
        return {key: content_hash for key, content_hash in conn.execute(query)}

    def _read_stored(self, conn: Connection, keys: Sequence[str]) -> dict[str, StoredPermit]:
        permits, leads, discards = _PERMITS.c, _LEADS.c, _DISCARDS.c
        query = (
            select(
                permits.permit_key,
                permits.id,
                leads.content_hash,
                leads.tier,
                leads.version_at,
                leads.scored_at,
                discards.content_hash,
                discards.version_at,
                discards.discarded_at,
                discards.duplicate_of,
            )
            .select_from(
                _PERMITS.outerjoin(_LEADS, leads.permit_key == permits.permit_key).outerjoin(
                    _DISCARDS, discards.permit_key == permits.permit_key
                )
            )
            .where(_among(conn, permits.permit_key, keys))
        )
        return {
            key: StoredPermit(
                permit_id,
                lead=None
                if lead_hash is None
                else StoredLead(lead_hash, tier, stored_time(lead_version), as_utc(scored_at)),
                discard=None
                if discard_hash is None
                else StoredDiscard(
                    discard_hash, stored_time(discard_version), as_utc(discarded_at), duplicate_of
                ),
            )
            for (
                key,
                permit_id,
                lead_hash,
                tier,
                lead_version,
                scored_at,
                discard_hash,
                discard_version,
                discarded_at,
                duplicate_of,
            ) in conn.execute(query)
        }

    def _project_leads(self, conn: Connection, project_keys: Sequence[str]) -> list[ProjectLead]:
        """The leads of the projects, read after taking one transaction-scoped advisory lock
        per project, in one order for every replica. SQLite (the embedded demo) has a single
        writer and needs none."""
        if conn.dialect.name == "postgresql":
            lock_ids = sorted({project_lock_id(key) for key in project_keys})
            # unnest yields the array in its order, so the locks are taken in it.
            conn.execute(
                text("SELECT pg_advisory_xact_lock(id) FROM unnest(CAST(:ids AS bigint[])) AS id"),
                {"ids": lock_ids},
            )
        leads = _LEADS.c
        query = select(leads.permit_key, leads.project_key, leads.project_date, leads.id).where(
            _among(conn, leads.project_key, project_keys)
        )
        return [
            ProjectLead(key, project, day, order=(0, id_))
            for key, project, day, id_ in conn.execute(query)
        ]

    def _stored_dead_letters(
        self, conn: Connection, positions: Collection[Position]
    ) -> set[Position]:
        columns = _DEAD_LETTERS.c
        position = tuple_(columns.source_topic, columns.source_partition, columns.source_offset)
        query = select(columns.source_topic, columns.source_partition, columns.source_offset)
        rows = conn.execute(query.where(position.in_(sorted(set(positions)))))
        return {(topic, partition, offset) for topic, partition, offset in rows}

    # ------------------------------------------------------------------ apply the plan

    def _apply(self, conn: Connection, plan: Plan) -> None:
        if plan.leads:
            property_ids = self._property_ids(conn, (write.cad_account for write in plan.leads))
            rows = [
                {**write.row, "cad_property_id": property_ids.get(write.cad_account)}
                for write in plan.leads
            ]
            written = upsert_newer(
                conn, _LEADS, rows, supersedes=lead_supersedes, touched="updated_at"
            )
            _check(written, {write.key for write in plan.leads}, "scored_leads")
        if plan.deleted_discards:
            conn.execute(
                delete(_DISCARDS).where(_among(conn, _DISCARDS.c.permit_key, plan.deleted_discards))
            )
        if plan.discards:
            rows = [write.row for write in plan.discards]
            written = upsert_newer(
                conn, _DISCARDS, rows, supersedes=discard_supersedes, touched="updated_at"
            )
            _check(written, {write.key for write in plan.discards}, "discarded_permits")
        regrouped = self._update_related(conn, plan.related) if plan.related else []
        self._write_lead_events(conn, plan.outbox(regrouped))
        if plan.dead_letters:
            self._write_dead_letters(conn, plan.dead_letters)

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

    def _update_related(self, conn: Connection, changes: Mapping[str, RelatedChange]) -> list[str]:
        """Rewrite the ``related_permits`` the plan changes; returns the leads rewritten."""
        columns = _LEADS.c
        current = conn.execute(
            select(columns.permit_key, columns.related_permits)
            .where(_among(conn, columns.permit_key, sorted(changes)))
            .order_by(columns.permit_key)
            .with_for_update()
        )
        updates = related_updates({key: related for key, related in current}, changes)
        if updates:
            conn.execute(
                update(_LEADS)
                .where(columns.permit_key == bindparam("lead_key"))
                .values(related_permits=bindparam("merged", type_=Json), updated_at=func.now()),
                [{"lead_key": key, "merged": merged} for key, merged in sorted(updates.items())],
            )
        return sorted(updates)

    def _write_lead_events(self, conn: Connection, announced: Mapping[str, str]) -> None:
        """The outbox: one ``lead_events`` row per lead created or changed, in this
        transaction, so the relay announces exactly what committed (docs/webhooks.md). One
        statement per batch; a replay that changes nothing announces nothing."""
        if not announced:
            return
        created = sorted(key for key, kind in announced.items() if kind == LEAD_CREATED)
        leads = _LEADS.c
        kind = case((_among(conn, leads.permit_key, created), LEAD_CREATED), else_=LEAD_UPDATED)
        rows = (
            select(leads.id, leads.permit_key, kind)
            .where(_among(conn, leads.permit_key, sorted(announced)))
            .order_by(leads.id)
        )
        conn.execute(insert(_LEAD_EVENTS).from_select(["lead_id", "permit_key", "type"], rows))

    def _write_dead_letters(self, conn: Connection, rows: Sequence[dict[str, object]]) -> None:
        table = _DEAD_LETTERS
        position = (table.c.source_topic, table.c.source_partition, table.c.source_offset)
        statement = (
            insert_for(conn, table)
            .on_conflict_do_nothing(index_elements=position)
            .returning(*position)
        )
        created = {tuple(row) for row in conn.execute(statement, list(rows))}
        planned = {
            (row["source_topic"], row["source_partition"], row["source_offset"]) for row in rows
        }
        _check(created, planned, "dead_letters")


def _among(conn: Connection, column: Column[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN (values)``; on PostgreSQL ``column = ANY(:array)``: one parameter, where
    an IN list makes SQLAlchemy render a placeholder per value on every execution."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)


def _check(written: Collection[object], planned: Collection[object], table: str) -> None:
    if set(written) != set(planned):
        raise StoreRaced(
            f"{table}: the database wrote {len(written)} rows, the plan {len(planned)}: "
            "something changed them meanwhile"
        )


def _prepare(message: BaseModel) -> Input:
    try:
        return rows_for(message)
    except BadInput as exc:
        return exc
