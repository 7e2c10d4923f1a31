"""The store's decisions for one batch, without a database (plan.py): which rows are written,
each message's outcome and why a skipped one was skipped, the outbox's events."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, timedelta
from typing import Any

from schemas import DeadLetter, DiscardedPermit, ScoredLead
from services.common.messages import BadInput
from services.store.plan import (
    HAS_LEAD,
    IS_DUPLICATE,
    LEAD_CREATED,
    LEAD_IN_BATCH,
    LEAD_UPDATED,
    NEWER_IN_BATCH,
    OLDER_THAN_STORED,
    RECORD_IN_BATCH,
    RECORD_STORED,
    UNCHANGED,
    YIELDS_TO_DISCARD,
    Input,
    Outcome,
    Plan,
    RelatedChange,
    newest_permits,
    permits_to_write,
    plan_batch,
    projects_to_lock,
    related_updates,
)
from services.store.projects import ProjectLead
from services.store.rows import DiscardRows, LeadRows, duplicate_rows, rows_for
from services.store.stored import Position, Stored, StoredDiscard, StoredLead, StoredPermit
from tests.store.factories import SCRAPED_AT, dead_letter, discarded_permit, scored_lead

CREATED, UPDATED, SKIPPED = Outcome.CREATED, Outcome.UPDATED, Outcome.SKIPPED
LATER = SCRAPED_AT + timedelta(days=2)
ISSUED = date(2026, 3, 2)
# Factory numbers whose permits have no CAD match, so the address decides their property:
POOL, POOL_TOO, SOLAR = 0, 35, 5  # categories pool, pool, solar


def rows(message: ScoredLead | DiscardedPermit | DeadLetter) -> Any:
    return rows_for(message)


def as_stored(*messages: ScoredLead | DiscardedPermit, permit_id: int = 1) -> StoredPermit:
    """A permit whose lead or discard the database holds as these messages wrote them."""
    lead = discard = None
    for message in messages:
        written = rows_for(message)
        if isinstance(written, LeadRows):
            row = written.lead
            lead = StoredLead(row["content_hash"], row["tier"], row["version_at"], row["scored_at"])
        elif isinstance(written, DiscardRows):
            discard = stored_discard(written)
    return StoredPermit(permit_id, lead=lead, discard=discard)


def stored_discard(written: DiscardRows) -> StoredDiscard:
    row = written.discard
    return StoredDiscard(
        row["content_hash"], row["version_at"], row["discarded_at"], row["duplicate_of"]
    )


def nothing_stored(incoming: Sequence[Input]) -> dict[str, StoredPermit]:
    """The permits just inserted by the transaction: no lead, no discard yet."""
    keys = newest_permits(incoming)
    return {key: StoredPermit(permit_id) for permit_id, key in enumerate(keys, 1)}


def plan(
    incoming: Sequence[Input],
    permits: dict[str, StoredPermit] | None = None,
    project_leads: Sequence[ProjectLead] = (),
    dead_letters: Collection[Position] = frozenset(),
) -> Plan:
    """The plan for ``incoming``, where the database holds ``permits`` (every other permit
    of the batch just inserted), ``project_leads`` and ``dead_letters``."""
    stored = Stored({**nothing_stored(incoming), **(permits or {})}, project_leads, dead_letters)
    return plan_batch(stored, incoming)


def permit_of(i: int, number: str, address: str = "123 N Main St", **changes: Any) -> ScoredLead:
    return scored_lead(
        i, permit_number=number, property_address=address, issued_date=ISSUED, **changes
    )


def test_a_new_lead_is_inserted_with_its_permit_id_and_announced_as_created() -> None:
    lead = scored_lead(1)
    result = plan([rows(lead)], permits={lead.key: StoredPermit(42)})
    assert result.results == [CREATED]
    (write,) = result.leads
    assert (write.key, write.created, write.row["permit_id"]) == (lead.key, True, 42)
    assert write.cad_account == ("travis", lead.cad.account_id)
    assert result.events == {lead.key: LEAD_CREATED}
    assert result.discards == [] and result.deleted_discards == [] and result.skipped == {}


def test_a_newer_version_updates_the_stored_lead_and_is_announced_as_updated() -> None:
    older = scored_lead(1)
    newer = scored_lead(1, scraped_at=LATER, valuation=91_000.0)
    result = plan([rows(newer)], permits={older.key: as_stored(older)})
    assert result.results == [UPDATED]
    assert [(w.created, w.row["valuation"]) for w in result.leads] == [(False, 91_000.0)]
    assert result.events == {newer.key: LEAD_UPDATED}


def test_an_older_version_arriving_after_a_newer_one_writes_nothing() -> None:
    newer = scored_lead(1, scraped_at=LATER, valuation=91_000.0)
    result = plan([rows(scored_lead(1))], permits={newer.key: as_stored(newer)})
    assert result.results == [SKIPPED]
    assert result.skipped == {0: OLDER_THAN_STORED}
    assert result.leads == [] and result.events == {}


def test_a_replay_of_a_stored_permit_changes_nothing() -> None:
    lead, discard, record = scored_lead(1), discarded_permit(2), dead_letter(3)
    incoming = [rows(lead), rows(discard), rows(record)]
    stored_hashes = {key: row["content_hash"] for key, row in newest_permits(incoming).items()}
    assert permits_to_write(newest_permits(incoming), stored_hashes) == []

    result = plan(
        incoming,
        permits={lead.key: as_stored(lead), discard.key: as_stored(discard, permit_id=2)},
        dead_letters={rows(record).key},
    )
    assert result.results == [SKIPPED] * 3
    assert result.skipped == {0: UNCHANGED, 1: UNCHANGED, 2: RECORD_STORED}
    assert (result.leads, result.discards, result.dead_letters, result.events) == ([], [], [], {})


def test_a_rescore_with_the_same_result_is_unchanged_and_a_different_one_updates() -> None:
    first = scored_lead(3)
    same = first.model_copy(
        update={"score": first.score.model_copy(update={"scored_at": LATER, "latency_ms": 9})}
    )
    assert plan([rows(same)], permits={first.key: as_stored(first)}).skipped == {0: UNCHANGED}

    better = same.model_copy(update={"score": same.score.model_copy(update={"score": 97})})
    result = plan([rows(better)], permits={first.key: as_stored(first)})
    assert result.results == [UPDATED]
    assert result.leads[0].row["score"] == 97


def test_a_score_replaces_a_retry_of_a_newer_version_but_a_retry_never_replaces_a_score() -> None:
    retry = scored_lead(4, scraped_at=LATER, retry=True)
    scored = scored_lead(4)
    assert plan([rows(scored)], permits={scored.key: as_stored(retry)}).results == [UPDATED]

    late_retry = plan([rows(retry)], permits={scored.key: as_stored(scored)})
    assert late_retry.results == [SKIPPED]
    assert late_retry.skipped == {0: OLDER_THAN_STORED}


def test_versions_of_one_permit_in_one_batch_collapse_to_the_newest() -> None:
    versions = [scored_lead(9, scraped_at=SCRAPED_AT + timedelta(days=d)) for d in (1, 3, 2)]
    result = plan([rows(message) for message in versions])
    assert result.results == [SKIPPED, CREATED, SKIPPED]
    assert result.skipped == {0: NEWER_IN_BATCH, 2: NEWER_IN_BATCH}
    assert [w.row["version_at"] for w in result.leads] == [SCRAPED_AT + timedelta(days=3)]
    newest = newest_permits([rows(message) for message in versions])
    assert newest[versions[0].key]["scraped_at"] == SCRAPED_AT + timedelta(days=3)


def test_a_discard_never_replaces_a_lead_nor_a_duplicate() -> None:
    lead = scored_lead(6)
    stale = discarded_permit(6, scraped_at=LATER)
    result = plan([rows(stale)], permits={lead.key: as_stored(lead)})
    assert (result.results, result.skipped, result.discards) == ([SKIPPED], {0: HAS_LEAD}, [])

    joined = duplicate_rows(rows(scored_lead(35)), ProjectLead("austin_tx:x", "p", ISSUED, (0, 1)))
    part_of_a_lead = StoredPermit(1, discard=stored_discard(joined))
    result = plan(
        [rows(discarded_permit(35, scraped_at=LATER))], permits={joined.key: part_of_a_lead}
    )
    assert result.skipped == {0: IS_DUPLICATE}


def test_a_lead_replaces_a_discard_of_its_version_and_yields_to_a_newer_one() -> None:
    lead = scored_lead(7)
    result = plan([rows(lead)], permits={lead.key: as_stored(discarded_permit(7))})
    assert result.results == [CREATED]
    assert result.deleted_discards == [lead.key]

    newer_discard = as_stored(discarded_permit(7, scraped_at=LATER))
    result = plan([rows(lead)], permits={lead.key: newer_discard})
    assert (result.results, result.skipped) == ([SKIPPED], {0: YIELDS_TO_DISCARD})
    assert result.leads == [] and result.deleted_discards == []


def test_a_lead_and_a_discard_of_one_permit_in_one_batch_store_the_lead() -> None:
    result = plan([rows(discarded_permit(10)), rows(scored_lead(10))])
    assert result.results == [SKIPPED, CREATED]
    assert result.skipped == {0: LEAD_IN_BATCH}
    assert result.discards == []


def test_a_newer_discard_replaces_an_older_one() -> None:
    older, newer = discarded_permit(11), discarded_permit(11, scraped_at=LATER, reason="no_data")
    result = plan([rows(newer)], permits={older.permit.key: as_stored(older)})
    assert result.results == [UPDATED]
    assert [(w.created, w.row["reason"]) for w in result.discards] == [(False, "no_data")]
    assert result.events == {}  # only leads are announced


def test_the_second_permit_of_a_stored_leads_project_joins_it_as_a_duplicate() -> None:
    building = permit_of(POOL, "2026-000100 BP")
    plumbing = permit_of(POOL_TOO, "2026-000101 PP", "123 NORTH MAIN STREET")
    project = rows(building).lead["project_key"]
    stored_lead = ProjectLead(building.key, project, ISSUED, order=(0, 7))
    incoming = [rows(plumbing)]
    assert projects_to_lock(nothing_stored(incoming), incoming) == [project]

    result = plan(incoming, project_leads=[stored_lead])
    assert result.results == [CREATED]
    assert result.leads == [] and result.events == {}
    (duplicate,) = result.discards
    assert (duplicate.key, duplicate.row["reason"]) == (plumbing.key, "duplicate")
    assert duplicate.row["duplicate_of"] == building.key
    assert [e["permit_key"] for e in result.related[building.key].added] == [plumbing.key]
    # The lead's list changes, so the outbox announces the lead as updated.
    assert result.outbox([building.key]) == {building.key: LEAD_UPDATED}


def test_in_one_batch_the_first_permit_of_a_project_is_the_lead() -> None:
    building = permit_of(POOL, "2026-000100 BP")
    electrical = permit_of(POOL_TOO, "2026-000102 EP", "123 N. MAIN STREET, AUSTIN TX 78701")
    result = plan([rows(building), rows(electrical)])
    assert result.results == [CREATED, CREATED]
    assert [w.key for w in result.leads] == [building.key]
    assert [(w.key, w.row["duplicate_of"]) for w in result.discards] == [
        (electrical.key, building.key)
    ]
    assert result.events == {building.key: LEAD_CREATED}


def test_a_duplicate_moved_out_of_its_project_becomes_a_lead_and_leaves_the_lists() -> None:
    lead = permit_of(POOL, "2026-000100 BP")
    second = permit_of(POOL_TOO, "2026-000101 PP")
    project = rows(lead).lead["project_key"]
    joined = duplicate_rows(rows(second), ProjectLead(lead.key, project, ISSUED, (0, 1)))
    moved = permit_of(POOL_TOO, "2026-000101 PP", "900 Barton Hills Dr", scraped_at=LATER)
    result = plan(
        [rows(moved)],
        permits={moved.key: StoredPermit(2, discard=stored_discard(joined))},
        project_leads=[ProjectLead(lead.key, project, ISSUED, (0, 1))],
    )
    assert result.results == [CREATED]
    assert result.deleted_discards == [moved.key]
    assert result.related == {lead.key: RelatedChange(removed={moved.key})}


def test_a_lead_already_stored_is_never_folded_and_locks_no_project() -> None:
    lead = permit_of(POOL, "2026-000100 BP", scraped_at=LATER)
    incoming: list[Input] = [rows(lead)]
    permits = {lead.key: as_stored(permit_of(POOL, "2026-000100 BP"))}
    assert projects_to_lock(permits, incoming) == []
    other = ProjectLead("austin_tx:other", rows(lead).lead["project_key"], ISSUED, (0, 1))
    result = plan(incoming, permits=permits, project_leads=[other])
    assert result.results == [UPDATED] and result.discards == []


def test_dead_letters_are_written_once_per_source_position() -> None:
    record = dead_letter(1, source_offset=77)
    result = plan([rows(record), rows(record), rows(dead_letter(2))])
    assert result.results == [CREATED, SKIPPED, CREATED]
    assert result.skipped == {1: RECORD_IN_BATCH}
    assert [row["source_offset"] for row in result.dead_letters] == [77, 2]


def test_bad_input_keeps_its_reason_and_its_neighbours_are_written() -> None:
    bad = BadInput("score.reasoning contains a NUL (0x00) character")
    result = plan([rows(scored_lead(1)), bad, rows(scored_lead(2))])
    assert result.results == [CREATED, bad, CREATED]


def test_every_skipped_message_of_a_mixed_batch_says_why() -> None:
    stored_lead, stored_discard_ = scored_lead(1), discarded_permit(2, scraped_at=LATER)
    batch: list[ScoredLead | DiscardedPermit | DeadLetter] = [
        scored_lead(1),  # unchanged
        discarded_permit(1),  # the permit is a lead
        scored_lead(2),  # older than the stored discard
        scored_lead(3),
        scored_lead(3, scraped_at=LATER),  # the first is superseded in the batch
        discarded_permit(3),  # a lead in the batch is the outcome
        dead_letter(4),
        dead_letter(4),
    ]
    permits = {
        stored_lead.key: as_stored(stored_lead),
        stored_discard_.permit.key: as_stored(stored_discard_),
    }
    result = plan([rows(message) for message in batch], permits=permits)
    assert result.results == [
        SKIPPED,
        SKIPPED,
        SKIPPED,
        SKIPPED,
        CREATED,
        SKIPPED,
        CREATED,
        SKIPPED,
    ]
    assert set(result.skipped) == {i for i, r in enumerate(result.results) if r is SKIPPED}


def test_a_leads_list_is_rewritten_only_when_it_changes() -> None:
    entry = {
        "permit_key": "austin_tx:b",
        "permit_id": "b",
        "permit_type": None,
        "category": "pool",
        "issued_date": "2026-03-02",
        "valuation": None,
    }
    changes = {
        "austin_tx:a": RelatedChange(added=[entry]),
        "austin_tx:c": RelatedChange(removed={"x"}),
    }
    current = {"austin_tx:a": [entry], "austin_tx:c": [entry]}
    assert related_updates(current, changes) == {}
    assert related_updates({"austin_tx:a": []}, changes) == {"austin_tx:a": [entry]}
    assert related_updates({"austin_tx:c": [{**entry, "permit_key": "x"}]}, changes) == {
        "austin_tx:c": []
    }
