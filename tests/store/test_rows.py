"""Mapping of the store's input messages to table rows (pure, no database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from schemas import MatchKind, PropertyMatch
from services.common.messages import BadInput
from services.store.rows import dead_letter_rows, discard_rows, lead_rows, rows_for, stored_time
from tests.store.factories import (
    SCRAPED_AT,
    dead_letter,
    discarded_permit,
    scored_lead,
    unvalidated,
    with_nul_in_reasoning,
)

SALES_COLUMNS = {"status", "sold_to", "sold_at", "sold_price", "sold_count", "converted_at"}


def test_a_lead_row_carries_what_a_buyer_filters_and_reads() -> None:
    message = scored_lead(3)
    rows = lead_rows(message)
    lead = rows.lead
    assert rows.key == "austin_tx:2026-000003 MP" == lead["permit_key"]
    assert lead["owner_name"] == message.cad.owner_name  # the appraisal district's owner
    assert lead["project_description"] == message.permit.work_description
    assert lead["county"] == "Travis"  # the portal's county wins over the CAD's
    assert lead["market_value"] == message.cad.market_value
    assert (lead["category"], lead["trade_group"]) == ("remodel", "structural")
    assert (lead["score"], lead["tier"]) == (message.score.score, message.score.tier.value)
    assert lead["version_at"] == SCRAPED_AT
    assert json.loads(lead["lead"]) == json.loads(message.model_dump_json())
    assert rows.cad_account == ("travis", message.cad.account_id)
    assert rows.permit["raw"] == message.permit.model_dump_json()
    assert SALES_COLUMNS.isdisjoint(lead)  # an upsert can never erase what was sold


def test_the_permit_owner_is_used_when_the_appraisal_district_has_none() -> None:
    message = scored_lead(5, owner_name="Maria Garcia")
    unmatched = message.model_copy(update={"cad": PropertyMatch(match=MatchKind.NONE)})
    lead = lead_rows(unmatched).lead
    assert lead["owner_name"] == "Maria Garcia"
    assert lead["market_value"] is None
    assert lead_rows(unmatched).cad_account is None


def test_times_are_stored_in_utc_and_a_naive_scrape_time_is_taken_as_utc() -> None:
    central = timezone(timedelta(hours=-5))
    aware = lead_rows(scored_lead(1, scraped_at=datetime(2026, 4, 9, 9, 30, tzinfo=central)))
    naive = lead_rows(scored_lead(1, scraped_at=datetime(2026, 4, 9, 14, 30)))
    assert aware.lead["version_at"] == naive.lead["version_at"] == SCRAPED_AT
    assert aware.lead["version_at"].tzinfo is UTC


def test_processing_the_same_permit_again_does_not_change_the_content_hash() -> None:
    first = scored_lead(7)
    again = first.model_copy(
        update={
            "score": first.score.model_copy(
                update={
                    "scored_at": first.score.scored_at + timedelta(hours=3),
                    "latency_ms": 9_999,
                    "tokens_in": 0,
                }
            ),
            "categorization": first.categorization.model_copy(
                update={"as_of": first.categorization.as_of + timedelta(days=1), "days_old": 9}
            ),
        }
    )
    assert lead_rows(again).lead["content_hash"] == lead_rows(first).lead["content_hash"]


def test_a_new_result_or_a_new_scrape_changes_the_content_hash() -> None:
    first = scored_lead(7)
    rescored = first.model_copy(
        update={"score": first.score.model_copy(update={"reasoning": "Investor-owned rental."})}
    )
    rescraped = scored_lead(7, scraped_at=SCRAPED_AT + timedelta(days=1), scored_at=None)
    hashes = {lead_rows(m).lead["content_hash"] for m in (first, rescored, rescraped)}
    assert len(hashes) == 3


def test_a_nul_character_is_refused_with_the_field_that_holds_it() -> None:
    message = with_nul_in_reasoning(scored_lead(2))
    with pytest.raises(BadInput, match=r"score\.reasoning contains a NUL"):
        lead_rows(message)


def test_a_discard_row_keeps_reason_stage_and_version() -> None:
    message = discarded_permit(4, reason="junk:shed")
    rows = discard_rows(message)
    assert rows.key == message.key
    assert rows.discard["reason"] == "junk:shed"
    assert rows.discard["reason_group"] == "junk"
    assert rows.discard["stage"] == "categorizer"
    assert rows.discard["version_at"] == SCRAPED_AT
    later = discarded_permit(4, reason="junk:shed", discarded_at=SCRAPED_AT + timedelta(hours=5))
    assert discard_rows(later).discard["content_hash"] == rows.discard["content_hash"]


def test_a_dead_letter_row_keeps_the_original_bytes_and_its_source_position() -> None:
    record = dead_letter(9, source_offset=1234)
    rows = dead_letter_rows(record)
    assert rows.key == ("permits.raw", 1, 1234)
    assert rows.dead_letter["original"] == record.original
    assert rows.dead_letter["key"] == "austin_tx:9"


def test_a_dead_letter_with_unstorable_text_is_still_stored_not_sent_round_the_dlq() -> None:
    record = dead_letter(1).model_copy(update={"key": "k\x00" + "x" * 400, "error": "bad\x00"})
    row = dead_letter_rows(record).dead_letter
    assert row["key"] == "k\ufffd" + "x" * 298
    assert row["error"] == "bad\ufffd"


def test_a_dead_letter_whose_original_is_not_base64_is_bad_input() -> None:
    record = dead_letter(1).model_copy(update={"original_b64": "not base64!"})
    with pytest.raises(BadInput, match="not valid base64"):
        dead_letter_rows(record)


def test_rows_for_picks_the_mapping_by_message_type() -> None:
    assert rows_for(scored_lead(1)).key == scored_lead(1).key
    assert rows_for(discarded_permit(1)).key == discarded_permit(1).key
    assert rows_for(dead_letter(1)).key == ("permits.raw", 1, 1)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))),
        datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-23, minutes=-59))),
    ],
)
def test_a_time_that_leaves_the_calendar_in_utc_is_bad_input_not_an_overflow(
    moment: datetime,
) -> None:
    """Such a time cannot pass the contract; should one reach the store all the same, that one
    message goes to the DLQ instead of an OverflowError stalling the whole batch for ever."""
    with pytest.raises(BadInput, match="out of range"):
        stored_time(moment)
    lead = unvalidated(scored_lead(1), scraped_at=moment)
    with pytest.raises(BadInput, match="out of range"):
        rows_for(lead)


def test_extreme_offsets_are_normalised_to_utc() -> None:
    east = datetime(2026, 4, 10, 14, 29, tzinfo=timezone(timedelta(hours=23, minutes=59)))
    west = datetime(2026, 4, 8, 14, 31, tzinfo=timezone(-timedelta(hours=23, minutes=59)))
    assert stored_time(east) == stored_time(west) == SCRAPED_AT
    assert lead_rows(scored_lead(1, scraped_at=east)).permit["scraped_at"] == SCRAPED_AT
