"""Every field of the model's answer is validated before any of it is used."""

from __future__ import annotations

import json
from typing import Any

import pytest

from schemas import ContactPriority
from services.scorer.answer import InvalidAnswer, parse_answer

VALID: dict[str, Any] = {
    "score": 82,
    "reasoning": "Homeowner pulled a pool permit on a $1.1M homestead last week.",
    "flags": ["absentee owner"],
    "ideal_contractor": "custom pool builder",
    "contact_priority": "call",
}


def test_a_valid_answer_is_accepted_and_the_models_own_tier_is_ignored() -> None:
    answer = parse_answer(json.dumps({**VALID, "tier": "A", "confidence": 0.9}))
    assert answer.score == 82
    assert answer.contact_priority is ContactPriority.CALL
    assert not hasattr(answer, "tier")


def test_a_code_fenced_answer_from_a_server_without_json_mode_is_accepted() -> None:
    assert parse_answer(f"```json\n{json.dumps(VALID)}\n```").score == 82


def test_contact_priority_is_read_case_insensitively() -> None:
    answer = parse_answer(json.dumps({**VALID, "contact_priority": " Email "}))
    assert answer.contact_priority is ContactPriority.EMAIL


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"score": 101}, "score"),
        ({"score": -1}, "score"),
        ({"score": 85.5}, "score"),
        ({"score": "85"}, "score"),
        ({"score": True}, "score"),
        ({"score": None}, "score"),
        ({"contact_priority": "urgent"}, "contact_priority"),
        ({"flags": "absentee owner"}, "flags"),
        ({"flags": [1, 2]}, "flags"),
        ({"flags": ["x"] * 11}, "flags"),
        ({"flags": ["x" * 201]}, "flags"),
        ({"reasoning": "x" * 1001}, "reasoning"),
        ({"reasoning": ""}, "reasoning"),
        ({"ideal_contractor": "x" * 201}, "ideal_contractor"),
    ],
)
def test_an_answer_outside_the_contract_is_rejected_with_the_field_named(
    change: dict[str, Any], problem: str
) -> None:
    with pytest.raises(InvalidAnswer, match=problem):
        parse_answer(json.dumps({**VALID, **change}))


@pytest.mark.parametrize(
    "content",
    ['{"score": 71, "reasoning": "cut off', "I'd give it 80.", "[82]", '"82"', "null"],
)
def test_an_answer_that_is_not_a_json_object_is_rejected(content: str) -> None:
    with pytest.raises(InvalidAnswer):
        parse_answer(content)


def test_a_missing_field_is_rejected() -> None:
    incomplete = {k: v for k, v in VALID.items() if k != "reasoning"}
    with pytest.raises(InvalidAnswer, match="reasoning"):
        parse_answer(json.dumps(incomplete))
