"""The topic contracts: generated JSON Schema files stay in sync, missing stays missing."""

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

import schemas.base
from schemas import (
    Categorization,
    CategorizedPermit,
    Category,
    DeadLetter,
    DiscardedPermit,
    EnrichedPermit,
    MatchKind,
    PropertyMatch,
    RawPermit,
    RetryRequest,
    ScoredLead,
    Topic,
    TradeGroup,
)
from schemas.base import Message
from schemas.generate import schema_path, schema_text
from schemas.leads import LeadScore, tier_for
from schemas.taxonomy import ContactPriority, ScoringMethod, Tier
from services.common.messages import describe_validation_error


@pytest.mark.parametrize("topic", list(Topic))
def test_json_schema_file_matches_its_model(topic: Topic) -> None:
    assert schema_path(topic).read_text() == schema_text(topic), (
        f"{schema_path(topic).name} is out of date: run `python -m schemas.generate`"
    )


def test_every_topic_model_carries_a_schema_version() -> None:
    for topic in Topic:
        schema = json.loads(schema_text(topic))
        assert "schema_version" in schema["properties"], topic


def test_blank_portal_values_are_missing_not_empty_or_zero() -> None:
    permit = RawPermit.model_validate(
        {
            "jurisdiction": "austin_tx",
            "permit_number": " 2015-1 BP ",
            "property_address": "  ",
            "owner_name": "",
            "valuation": None,
        }
    )
    assert permit.key == "austin_tx:2015-1 BP"
    assert permit.property_address is None and permit.owner_name is None
    assert permit.valuation is None


@pytest.mark.parametrize(
    "payload",
    [
        {"permit_number": "1"},
        {"jurisdiction": "austin_tx"},
        {"jurisdiction": "austin_tx", "permit_number": "1", "valuation": -5},
        {"jurisdiction": "austin_tx", "permit_number": "1", "valuation": 1e12},
        {"jurisdiction": "austin_tx", "permit_number": "1", "permitNumber": "typo"},
        {"jurisdiction": "austin_tx", "permit_number": "1", "schema_version": 2},
        {"jurisdiction": "austin_tx", "permit_number": "1\x00"},
        {"jurisdiction": "austin_tx", "permit_number": "1", "work_description": "Roof\x00"},
    ],
)
def test_invalid_raw_permits_are_rejected(payload: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RawPermit.model_validate(payload)


@pytest.mark.parametrize(
    ("score", "tier"),
    [(100, "A"), (80, "A"), (79, "B"), (50, "B"), (49, "C"), (0, "C"), (-1, "RETRY")],
)
def test_tier_is_computed_from_the_score(score: int, tier: str) -> None:
    assert tier_for(score) == Tier(tier)


def test_a_score_whose_tier_disagrees_is_rejected() -> None:
    with pytest.raises(ValidationError, match="does not match"):
        LeadScore(
            score=95,
            tier=Tier.C,
            contact_priority=ContactPriority.CALL,
            scoring_method=ScoringMethod.LLM,
            scored_at="2026-01-01T00:00:00Z",
        )


def test_scored_lead_schema_requires_the_enrichment_and_score_sections() -> None:
    required = json.loads(schema_text(Topic.SCORED))["required"]
    assert {"permit", "categorization", "cad", "score"} <= set(required)
    assert ScoredLead.model_fields["score"].is_required()


# ------------------------------------------------------------------ dates and times in range


def _permit(**changes: object) -> dict[str, object]:
    return {"jurisdiction": "austin_tx", "permit_number": "2015-1 BP", **changes}


def _reason(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    return describe_validation_error(exc.value)


@pytest.mark.parametrize(
    "scraped_at",
    [
        "0001-01-01T00:00:00+05:00",  # leaves the calendar when converted to UTC
        "0001-01-01T00:00:00",
        "1899-12-31T23:59:59Z",
        "1900-01-01T00:00:00+23:59",  # 1899-12-31T00:01 in UTC
        "9999-12-31T23:59:59-23:59",
        "9999-12-31T23:59:59Z",
        "2090-01-01T00:00:00Z",  # a scraper's clock far ahead
    ],
)
def test_a_scrape_time_outside_the_window_is_refused_with_a_clear_reason(scraped_at: str) -> None:
    with pytest.raises(ValidationError) as exc:
        RawPermit.model_validate_json(json.dumps(_permit(scraped_at=scraped_at)))
    reason = _reason(exc)
    assert reason.startswith("invalid message: scraped_at: ")
    assert scraped_at[:4] in reason or "0001" in reason  # says which value
    assert "1900-01-01" in reason or "in the future" in reason  # and what the window is


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("issued_date", "0001-01-01"),
        ("issued_date", "9999-12-31"),
        ("applied_date", "1899-12-31"),
        ("applied_date", "2101-01-01"),
    ],
)
def test_a_permit_date_outside_1900_to_2100_is_refused(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as exc:
        RawPermit.model_validate_json(json.dumps(_permit(**{field: value})))
    assert _reason(exc).startswith(f"invalid message: {field}: {value} is outside")


def test_the_edges_of_the_window_and_extreme_offsets_are_accepted() -> None:
    oldest = RawPermit.model_validate(
        _permit(issued_date="1900-01-01", scraped_at="1900-01-01T23:58:00+23:58")
    )
    assert oldest.issued_date == date(1900, 1, 1)
    newest = RawPermit.model_validate(_permit(applied_date="2100-12-31"))
    assert newest.applied_date == date(2100, 12, 31)
    west = RawPermit.model_validate(_permit(scraped_at="2016-05-01T00:00:00-23:59"))
    assert west.scraped_at == datetime(2016, 5, 1, 23, 59, tzinfo=UTC)
    # The offset the scraper wrote is kept as written (the permit's raw JSON does not change).
    assert west.model_dump_json().count("-23:59") == 1


def test_a_scrape_time_up_to_a_day_ahead_is_clock_skew_and_accepted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    monkeypatch.setattr(schemas.base, "utc_now", lambda: now)
    ahead = RawPermit.model_validate(_permit(scraped_at="2026-05-02T11:59:00Z"))
    assert ahead.scraped_at == now + timedelta(hours=23, minutes=59)
    with pytest.raises(ValidationError) as exc:
        RawPermit.model_validate(_permit(scraped_at="2026-05-02T12:01:00Z"))
    assert "in the future" in _reason(exc) and "2026-05-01T12:00:00+00:00" in _reason(exc)


def test_a_scrape_time_accepted_once_stays_accepted_at_every_later_stage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The 'not in the future' bound is checked again by every stage that decodes the permit
    (it is embedded in every downstream topic); it only widens as the clock moves on."""
    accepted_at = datetime(2026, 5, 1, 12, tzinfo=UTC)
    monkeypatch.setattr(schemas.base, "utc_now", lambda: accepted_at)
    permit = RawPermit.model_validate(_permit(scraped_at="2026-05-02T12:00:00+05:00"))
    lead = scored_lead_with(permit)
    encoded = {model: message.model_dump_json() for model, message in lead.items()}
    for later in (timedelta(0), timedelta(seconds=1), timedelta(days=400)):
        monkeypatch.setattr(schemas.base, "utc_now", lambda later=later: accepted_at + later)
        for model, text in encoded.items():
            decoded: Any = model.model_validate_json(text)
            assert decoded.key == permit.key


def scored_lead_with(permit: RawPermit) -> dict[type[Message], Message]:
    """The permit as each downstream topic carries it."""
    categorization = Categorization(
        category=Category.POOL,
        trade_group=TradeGroup.LUXURY_OUTDOOR,
        is_commercial=False,
        as_of=date(2026, 5, 2),
        rules_version="test",
    )
    cad = PropertyMatch(match=MatchKind.NONE)
    score = LeadScore(
        score=90,
        tier=Tier.A,
        contact_priority=ContactPriority.CALL,
        scoring_method=ScoringMethod.LLM,
        scored_at="2026-05-01T12:00:00Z",
    )
    enriched = EnrichedPermit(permit=permit, categorization=categorization, cad=cad)
    return {
        RawPermit: permit,
        CategorizedPermit: CategorizedPermit(permit=permit, categorization=categorization),
        EnrichedPermit: enriched,
        ScoredLead: ScoredLead(permit=permit, categorization=categorization, cad=cad, score=score),
        RetryRequest: RetryRequest(
            lead=enriched, attempt=1, due_at="2026-05-01T13:00:00Z", last_error="timeout"
        ),
        DiscardedPermit: DiscardedPermit(
            permit=permit,
            reason="stale",
            detail="old",
            stage="categorizer",
            discarded_at=permit.scraped_at,
        ),
    }


@pytest.mark.parametrize(
    ("model", "field", "payload"),
    [
        (LeadScore, "scored_at", {"scored_at": "9999-12-31T23:59:59-23:59"}),
        (Categorization, "as_of", {"as_of": "0001-01-01"}),
        (DeadLetter, "failed_at", {"failed_at": "0001-01-01T00:00:00+05:00"}),
    ],
)
def test_every_time_in_a_topic_contract_is_bounded(
    model: type[BaseModel], field: str, payload: dict[str, object]
) -> None:
    """Not only the permit's: any time the store converts to UTC must convert."""
    with pytest.raises(ValidationError) as exc:
        model.model_validate(payload)
    assert any(
        error["loc"] == (field,) and "is outside" in error["msg"] for error in exc.value.errors()
    )


def test_the_window_is_in_the_published_json_schema() -> None:
    raw = json.loads(schema_text(Topic.RAW))["properties"]
    assert raw["issued_date"]["anyOf"][0]["formatMinimum"] == "1900-01-01"
    assert raw["scraped_at"]["anyOf"][0]["formatMaximum"] == "2100-12-31T23:59:59.999999Z"
    assert "1 day" in raw["scraped_at"]["description"]


def test_duplicate_is_a_discard_reason_in_the_contract_and_its_json_schema() -> None:
    """The store discards a later permit of one project as ``duplicate`` (one lead per job)."""
    permit = RawPermit(jurisdiction="austin_tx", permit_number="2015-2 EP")
    discard = DiscardedPermit(
        permit=permit,
        reason="duplicate",
        detail="same project as lead austin_tx:2015-1 BP",
        stage="store",
        discarded_at="2026-05-01T12:00:00Z",
    )
    assert discard.reason_group == "duplicate"
    pattern = json.loads(schema_text(Topic.DISCARDED))["properties"]["reason"]["pattern"]
    assert "duplicate" in pattern


def test_blank_text_is_missing_and_a_nul_is_refused_with_the_field_named() -> None:
    permit = RawPermit.model_validate(
        {"jurisdiction": " austin_tx ", "permit_number": " 7 ", "state": " tx ", "city": "  "}
    )
    assert (permit.jurisdiction, permit.permit_number, permit.state) == ("austin_tx", "7", "TX")
    assert permit.city is None
    with pytest.raises(ValidationError, match="work_description contains a NUL"):
        RawPermit.model_validate(
            {"jurisdiction": "austin_tx", "permit_number": "7", "work_description": "Roof\x00"}
        )
