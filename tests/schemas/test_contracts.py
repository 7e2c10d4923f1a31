"""The topic contracts: generated JSON Schema files stay in sync, missing stays missing."""

import json

import pytest
from pydantic import ValidationError

from schemas import RawPermit, ScoredLead, Topic
from schemas.generate import schema_path, schema_text
from schemas.leads import LeadScore, tier_for
from schemas.taxonomy import ContactPriority, ScoringMethod, Tier


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
