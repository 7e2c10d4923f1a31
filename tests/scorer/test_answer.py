"""Every field of the model's answer is validated before any of it is used."""

from __future__ import annotations

import json
import time
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


_NUMBER_5000 = "9" * 5000


@pytest.mark.parametrize(
    "content",
    [
        # past Python's int-digit limit (4,300): json.loads raises a plain ValueError
        f'{{"score": {_NUMBER_5000}, "reasoning": "r", "contact_priority": "call"}}',
        f'{{"score": -{_NUMBER_5000}, "reasoning": "r", "contact_priority": "call"}}',
        f'{{"score": 82, "reasoning": "r", "contact_priority": "call", "x": {_NUMBER_5000}}}',
        # a 40-digit score: under the interpreter's limit, still no score
        '{"score": ' + "1" * 40 + ', "reasoning": "r", "contact_priority": "call"}',
        f'{{"score": "{_NUMBER_5000}", "reasoning": "r", "contact_priority": "call"}}',
        '{"score": 1e999, "reasoning": "r", "contact_priority": "call"}',
        '{"score": -1e999, "reasoning": "r", "contact_priority": "call"}',
        '{"score": 82, "reasoning": "r", "contact_priority": "call", "x": 1e400}',
        '{"score": NaN, "reasoning": "r", "contact_priority": "call"}',
        '{"score": Infinity, "reasoning": "r", "contact_priority": "call"}',
        '{"score": 82, "reasoning": "r", "contact_priority": "call", "x": -Infinity}',
        "[" * 100_000 + "]" * 100_000,
        '{"score": 82, "reasoning": "r", "contact_priority": "call", "x": '
        + "[" * 100_000
        + "]" * 100_000
        + "}",
        '{"a": ' * 50_000 + "1" + "}" * 50_000,
        f"```json\n{_NUMBER_5000}\n```",
        "true",
        "82",
        "1e999",
        " " * 1_000_000,
        json.dumps({**VALID, "reasoning": "x" * 1_000_000}),
        json.dumps({**VALID, "flags": [["x"]]}),
        json.dumps({**VALID, "contact_priority": {"call": True}}),
    ],
    ids=lambda content: f"{content[:40]}…({len(content)})",
)
def test_any_hostile_answer_is_an_invalid_answer_and_never_another_error(content: str) -> None:
    with pytest.raises(InvalidAnswer):
        parse_answer(content)


def test_the_invalid_answer_says_what_was_wrong_with_a_huge_number() -> None:
    content = f'{{"score": {_NUMBER_5000}, "reasoning": "r", "contact_priority": "call"}}'
    with pytest.raises(InvalidAnswer, match="5,000 digits"):
        parse_answer(content)


def test_a_fence_with_nothing_after_thousands_of_spaces_is_rejected_at_once() -> None:
    """The old fence regular expression backtracked over this for 16 s (5 minutes for 8,000
    spaces), on the event loop."""
    started = time.perf_counter()
    with pytest.raises(InvalidAnswer):
        parse_answer("```" + " " * 3_000 + "x")
    assert time.perf_counter() - started < 0.5


def test_text_that_could_not_be_stored_or_published_is_cleaned() -> None:
    """A json escape can put NUL (PostgreSQL refuses it) or a lone surrogate (UTF-8 cannot
    encode it) into the model's words; the answer keeps words that can go anywhere."""
    dirty = "Roof\u0000 job \ud800 done"
    answer = parse_answer(
        json.dumps({**VALID, "reasoning": dirty, "flags": [dirty], "ideal_contractor": dirty})
    )
    for text in (answer.reasoning, answer.flags[0], answer.ideal_contractor):
        assert text == "Roof job \ufffd done"
        assert text.encode("utf-8")
    assert answer.model_dump_json()
