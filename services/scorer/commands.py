"""``leadstream scorer check``: one sample lead through the configured LLM, to verify a setup.

It makes a single call and no retries, and it reads no Kafka and no database. It shows whether
the base URL, key, model, thinking switch and JSON mode work together before a fleet of scorers
starts turning leads into RETRY or waiting on an open circuit.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, date, datetime
from typing import Any

from pydantic import ValidationError

from schemas import (
    Categorization,
    Category,
    EnrichedPermit,
    MatchKind,
    PropertyMatch,
    RawPermit,
    TradeGroup,
)
from schemas.leads import tier_for
from services.common.messages import describe_problems
from services.scorer.answer import InvalidAnswer, parse_answer
from services.scorer.llm import CallFailed, ChatClient, Completion, endpoint_url, redact_url
from services.scorer.prompt import build_messages
from services.scorer.settings import ScorerBackend, ScorerSettings

SAMPLE_LEAD = EnrichedPermit(
    permit=RawPermit(
        jurisdiction="sample_tx",
        permit_number="CHECK-1",
        city="Southlake",
        state="TX",
        property_address="1400 Shady Oaks Dr",
        permit_type="Residential Pool",
        work_description="New gunite pool and spa with outdoor kitchen",
        valuation=98_000.0,
        applicant_name="Maria Garcia",
        owner_name="GARCIA MARIA",
        issued_date=date(2026, 5, 1),
        scraped_at=datetime(2026, 5, 4, tzinfo=UTC),
    ),
    categorization=Categorization(
        category=Category.POOL,
        trade_group=TradeGroup.LUXURY_OUTDOOR,
        is_commercial=False,
        tags=[Category.OUTDOOR_LIVING],
        days_old=3,
        as_of=date(2026, 5, 4),
        rules_version="sample",
    ),
    cad=PropertyMatch(
        match=MatchKind.ADDRESS,
        county="Tarrant",
        market_value=1_250_000.0,
        owner_name="GARCIA MARIA",
        is_absentee=False,
        homestead=True,
    ),
)


def register(subparsers: Any) -> None:
    scorer = subparsers.add_parser("scorer", help="the scorer's LLM setup")
    scorer_sub = scorer.add_subparsers(dest="scorer_command", required=True)
    check = scorer_sub.add_parser(
        "check", help="score one sample lead with the configured LLM and print what came back"
    )
    check.set_defaults(func=_check)


def _check(args: argparse.Namespace) -> int:
    try:
        settings = ScorerSettings()
    except ValidationError as exc:
        print("configuration error: " + describe_problems(exc.errors(include_url=False)))
        return 2
    if settings.scorer_backend is ScorerBackend.RULES:
        print("backend: rules (LEADSTREAM_SCORER_BACKEND=rules): no LLM to check")
        return 0
    print(
        f"endpoint: {redact_url(str(endpoint_url(settings.llm_base_url)))}  "
        f"model: {settings.llm_model}  "
        f"thinking: {settings.llm_thinking.value}  json mode: {settings.llm_json_mode}"
    )
    started = time.monotonic()
    try:
        completion = asyncio.run(_ask(settings))
    except CallFailed as exc:
        print(f"FAILED after {time.monotonic() - started:.1f} s: {exc}")
        return 1
    print(f"answered in {time.monotonic() - started:.1f} s; {_describe(completion)}")
    try:
        answer = parse_answer(completion.content)
    except InvalidAnswer as exc:
        print(f"UNUSABLE answer: {exc}\n{completion.content[:500]}")
        return 1
    print(
        f"ok: score {answer.score} (tier {tier_for(answer.score).value}), "
        f"contact {answer.contact_priority.value}: {answer.reasoning}"
    )
    return 0


async def _ask(settings: ScorerSettings) -> Completion:
    client = ChatClient(settings)
    try:
        return await client.complete(build_messages(SAMPLE_LEAD))
    finally:
        await client.aclose()


def _describe(completion: Completion) -> str:
    usage = completion.usage
    thinking = f"{len(completion.reasoning):,} chars" if completion.reasoning else "none"
    return (
        f"tokens in {usage.prompt_tokens} (cached {usage.cached_prompt_tokens}), "
        f"out {usage.completion_tokens}; thinking: {thinking}"
    )
