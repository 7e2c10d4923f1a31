"""What the store does with one batch: pure decisions, no database (the writer applies them).

A transaction of the writer has three phases, and each asks one function here:

1. :func:`newest_permits` and :func:`permits_to_write`: the ``permits`` rows to upsert (the
   newest version of each permit in the batch, unless the database holds that content
   already). Writing them locks the new permits; the stored ones are locked before.
2. :func:`projects_to_lock`: the project keys whose advisory locks the transaction takes
   before it reads which leads those projects have (projects.py).
3. :func:`plan_batch`: given what the database holds for the batch's keys (read under those
   locks), every row to insert, update or delete, each message's outcome (and why a skipped
   one was skipped), the changes to leads' related permits, and the outbox's events.

The rules are those of precedence.py and projects.py (docs/store.md has them as a table). The
writer's statements keep their SQL twins in their ``WHERE``; under the locks both agree, and
the writer raises :class:`StoreRaced` should the database ever write other rows than planned.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from services.common.messages import BadInput
from services.store.precedence import lead_yields_to_discard, newest_per_key
from services.store.projects import (
    DUPLICATE,
    IncomingLead,
    RelatedPermit,
    decide_projects,
    merge_related,
)
from services.store.rows import (
    DeadLetterRows,
    DiscardRows,
    LeadRows,
    MessageRows,
    PermitOutcomeRows,
    duplicate_rows,
    permit_rank_of,
)
from services.store.stored import Position, Stored, StoredDiscard, StoredLead, StoredPermit


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    SKIPPED = "skipped"  # unchanged content, or superseded by a newer version
    ERROR = "error"  # rejected by the database: sent to the DLQ


# What the outbox announces of a lead written (docs/webhooks.md).
LEAD_CREATED, LEAD_UPDATED = "lead.created", "lead.updated"

# Why a message was skipped.
UNCHANGED = "unchanged: the database holds this content already"
NEWER_IN_BATCH = "superseded by a newer message of the same permit in this batch"
OLDER_THAN_STORED = "older than the stored version"
YIELDS_TO_DISCARD = "the stored discard is of a newer permit version"
LEAD_IN_BATCH = "a lead of the same permit in this batch is its outcome"
HAS_LEAD = "a discard never replaces a lead"
IS_DUPLICATE = "the permit is part of a lead's project, which a discard never undoes"
RECORD_STORED = "this dead letter is stored already"
RECORD_IN_BATCH = "the same dead letter came earlier in this batch"

Input = MessageRows | BadInput


@dataclass(frozen=True)
class LeadWrite:
    """A ``scored_leads`` row to insert (``created``) or update; the writer adds
    ``cad_property_id``, the id of ``cad_account``'s property, if it has one."""

    key: str
    row: dict[str, Any]
    cad_account: tuple[str, str] | None
    created: bool


@dataclass(frozen=True)
class DiscardWrite:
    """A ``discarded_permits`` row to insert (``created``) or update."""

    key: str
    row: dict[str, Any]
    created: bool


@dataclass
class RelatedChange:
    """Permits that join a lead's ``related_permits`` (again, when only their content
    changed), and permits that leave it."""

    added: list[RelatedPermit] = field(default_factory=list)
    removed: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Plan:
    results: list[Outcome | BadInput]  # one per message, in order
    skipped: dict[int, str]  # position → why that message was skipped
    leads: list[LeadWrite]  # in key order, as every write of the store
    discards: list[DiscardWrite]
    deleted_discards: list[str]  # permits that become leads: their discard rows go
    related: dict[str, RelatedChange]  # lead's permit key → the change of its list
    events: dict[str, str]  # the outbox: permit key → lead.created / lead.updated
    dead_letters: list[dict[str, Any]]  # ``dead_letters`` rows to insert

    def outbox(self, regrouped: Iterable[str]) -> dict[str, str]:
        """The events, and ``lead.updated`` for each lead whose related permits changed."""
        events = dict(self.events)
        for key in regrouped:
            events.setdefault(key, LEAD_UPDATED)
        return events


class StoreRaced(RuntimeError):
    """The database wrote other rows than planned: something changed them under the batch's
    locks (a dead letter, which no lock guards, stored by another replica meanwhile). Raised
    inside the transaction, so nothing commits; the runtime retries the batch."""


# ---------------------------------------------------------------------- phases 1 and 2


def newest_permits(incoming: Sequence[Input]) -> dict[str, dict[str, Any]]:
    """The newest ``permits`` row of each permit in the batch, in key order (the lock order
    of every replica)."""
    items = [
        (i, rows) for i, rows in enumerate(incoming) if isinstance(rows, LeadRows | DiscardRows)
    ]
    newest = newest_per_key(items, key=_key_of, rank=lambda item: permit_rank_of(item[1]))
    return {key: newest[key][1].permit for key in sorted(newest)}


def permits_to_write(
    newest: Mapping[str, dict[str, Any]], stored_hashes: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The rows whose content the database does not hold (new permits among them: their
    insert is their lock); the upsert's ``WHERE`` keeps a newer stored version."""
    return [row for key, row in newest.items() if stored_hashes.get(key) != row["content_hash"]]


def projects_to_lock(permits: Mapping[str, StoredPermit], incoming: Sequence[Input]) -> list[str]:
    """The projects of the leads that may join another lead, sorted (the lock order); none
    when every permit here is a lead already (a replay, re-scores: nothing to decide)."""
    leads = _winning_leads(permits, incoming, skipped={})
    if all(permits[key].lead is not None for key in leads):
        return []
    return sorted({key for _, rows in leads.values() if (key := rows.lead["project_key"])})


# ---------------------------------------------------------------------- phase 3


def plan_batch(stored: Stored, incoming: Sequence[Input]) -> Plan:
    """Everything the batch writes, and each message's outcome. ``incoming`` holds each
    message's rows (rows.rows_for) or why it has none, in arrival order; ``stored`` must hold
    every permit key of the batch."""
    permits = stored.permits
    results: list[Outcome | BadInput] = [
        rows if isinstance(rows, BadInput) else Outcome.SKIPPED for rows in incoming
    ]
    skipped: dict[int, str] = {}
    leads = _winning_leads(permits, incoming, skipped)
    decisions = decide_projects(
        [
            IncomingLead(
                key,
                rows.lead["project_key"],
                rows.lead["project_date"],
                permits[key].lead is not None,
            )
            for key, (_, rows) in leads.items()
        ],
        stored.project_leads,
    )
    staying = {key: item for key, item in leads.items() if decisions[key] is None}
    joining = {
        key: (i, duplicate_rows(rows, lead))
        for key, (i, rows) in leads.items()
        if (lead := decisions[key]) is not None
    }

    lead_writes = []
    for key, (i, rows) in sorted(staying.items()):
        write = _lead_write(key, rows, permits[key])
        if write is None:
            skipped[i] = _why_not(rows.lead["content_hash"], permits[key].lead)
        else:
            lead_writes.append(write)
            results[i] = Outcome.CREATED if write.created else Outcome.UPDATED
    events = {
        key: LEAD_CREATED if results[i] is Outcome.CREATED else LEAD_UPDATED
        for key, (i, _) in staying.items()
        if results[i] is not Outcome.SKIPPED
    }
    deleted = [key for key in staying if permits[key].discard is not None]

    # A lead and a discard of one permit in one batch: the lead (or the duplicate it became)
    # is the outcome.
    discards: list[tuple[int, DiscardRows]] = []
    for i, item in enumerate(incoming):
        if isinstance(item, DiscardRows):
            if item.key in leads:
                skipped[i] = LEAD_IN_BATCH
            else:
                discards.append((i, item))
    discard_writes = _discard_writes(discards + list(joining.values()), permits, results, skipped)

    written = {write.key for write in discard_writes}
    related: dict[str, RelatedChange] = {}
    for key, (_, duplicate) in joining.items():
        if key not in written:
            continue
        lead = duplicate.discard["duplicate_of"]
        related.setdefault(lead, RelatedChange()).added.append(leads[key][1].related)
        previous = _duplicate_of(permits[key])
        if previous is not None and previous != lead:
            related.setdefault(previous, RelatedChange()).removed.add(key)
    for key in deleted:
        if (previous := _duplicate_of(permits[key])) is not None:
            related.setdefault(previous, RelatedChange()).removed.add(key)

    dead_letters = _dead_letters(incoming, stored.dead_letters, results, skipped)
    return Plan(
        results=results,
        skipped={i: skipped[i] for i in sorted(skipped) if results[i] is Outcome.SKIPPED},
        leads=lead_writes,
        discards=discard_writes,
        deleted_discards=deleted,
        related=related,
        events=events,
        dead_letters=dead_letters,
    )


def related_updates(
    current: Mapping[str, Sequence[RelatedPermit] | None], changes: Mapping[str, RelatedChange]
) -> dict[str, list[RelatedPermit]]:
    """The leads whose ``related_permits`` (``current``, as stored) the changes alter, with
    their new lists; a lead whose list comes out the same is not rewritten."""
    updates = {}
    for key, related in current.items():
        change = changes.get(key, RelatedChange())
        merged = merge_related(related or [], change.added, change.removed)
        if merged != related:
            updates[key] = merged
    return updates


# ---------------------------------------------------------------------- the rules


def _winning_leads(
    permits: Mapping[str, StoredPermit], incoming: Sequence[Input], skipped: dict[int, str]
) -> dict[str, tuple[int, LeadRows]]:
    """The winning lead message per permit, in arrival order, unless the permit's stored
    discard is of a newer version."""
    items = [(i, rows) for i, rows in enumerate(incoming) if isinstance(rows, LeadRows)]
    newest = newest_per_key(items, key=_key_of, rank=lambda item: item[1].rank)
    for i, rows in items:
        if newest[rows.key][0] != i:
            skipped[i] = NEWER_IN_BATCH
    leads = {}
    for key in sorted(newest, key=lambda key: newest[key][0]):
        i, rows = newest[key]
        discard = permits[key].discard
        if discard is not None and lead_yields_to_discard(
            rows.lead["version_at"], discard.version_at
        ):
            skipped[i] = YIELDS_TO_DISCARD
        else:
            leads[key] = (i, rows)
    return leads


def _lead_write(key: str, rows: LeadRows, stored: StoredPermit) -> LeadWrite | None:
    old = stored.lead
    row = rows.lead
    if old is not None and (old.content_hash == row["content_hash"] or not rows.rank > old.rank):
        return None
    return LeadWrite(
        key=key,
        row={**row, "permit_id": stored.permit_id},
        cad_account=rows.cad_account,
        created=old is None,
    )


def _discard_writes(
    items: Sequence[tuple[int, DiscardRows]],
    permits: Mapping[str, StoredPermit],
    results: list[Outcome | BadInput],
    skipped: dict[int, str],
) -> list[DiscardWrite]:
    """Discards of permits without a lead: a discard never replaces a lead, nor a
    ``duplicate`` (a permit that is part of a lead), unless it is a duplicate itself."""
    eligible = []
    for i, rows in items:
        stored = permits[rows.key]
        if stored.lead is not None:
            skipped[i] = HAS_LEAD
        elif rows.discard["reason"] != DUPLICATE and _duplicate_of(stored) is not None:
            skipped[i] = IS_DUPLICATE
        else:
            eligible.append((i, rows))
    newest = newest_per_key(eligible, key=_key_of, rank=lambda item: item[1].rank)
    writes = []
    for i, rows in eligible:
        if newest[rows.key][0] != i:
            skipped[i] = NEWER_IN_BATCH
    for key, (i, rows) in sorted(newest.items()):
        stored = permits[key]
        old = stored.discard
        if old is not None and (
            old.content_hash == rows.discard["content_hash"] or not rows.rank > old.rank
        ):
            skipped[i] = _why_not(rows.discard["content_hash"], old)
            continue
        row = {**rows.discard, "permit_id": stored.permit_id}
        writes.append(DiscardWrite(key=key, row=row, created=old is None))
        results[i] = Outcome.CREATED if old is None else Outcome.UPDATED
    return writes


def _dead_letters(
    incoming: Sequence[Input],
    stored: Collection[Position],
    results: list[Outcome | BadInput],
    skipped: dict[int, str],
) -> list[dict[str, Any]]:
    rows = []
    seen: set[Position] = set()
    for i, item in enumerate(incoming):
        if not isinstance(item, DeadLetterRows):
            continue
        if item.key in seen:
            skipped[i] = RECORD_IN_BATCH
        elif item.key in stored:
            skipped[i] = RECORD_STORED
        else:
            rows.append(item.dead_letter)
            results[i] = Outcome.CREATED
        seen.add(item.key)
    return rows


def _why_not(content_hash: str, stored: StoredLead | StoredDiscard | None) -> str:
    return (
        UNCHANGED
        if stored is not None and stored.content_hash == content_hash
        else OLDER_THAN_STORED
    )


def _duplicate_of(stored: StoredPermit) -> str | None:
    return stored.discard.duplicate_of if stored.discard is not None else None


def _key_of(item: tuple[int, PermitOutcomeRows]) -> str:
    return item[1].key
