"""The scoring cache in PostgreSQL: an unchanged lead is paid for once, across replicas."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import create_engine, select

from localinfra.fake_llm import FakeLLM
from services.common.db.tables.scoring_cache import ScoringCacheRow
from services.scorer import cache as cache_module
from services.scorer.cache import ScoringCache, input_hash
from services.scorer.prompt import build_messages
from services.scorer.service import build_scorer
from services.scorer.settings import ScorerSettings
from services.scorer.verdict import ScoringFailure, ScoringResult, Verdict
from tests.scorer.factories import enriched_lead, llm_settings


def _score_as_a_new_replica(
    settings: ScorerSettings, database_url: str, lead_number: int
) -> ScoringResult:
    async def run() -> ScoringResult:
        return await build_scorer(settings, cache, "test").score(enriched_lead(lead_number))

    cache = ScoringCache.connect(database_url, pool_size=2)
    try:
        return asyncio.run(run())
    finally:
        cache.close()


@pytest.mark.postgres
def test_a_replayed_lead_costs_no_second_llm_call_even_on_another_replica(
    fake_llm: FakeLLM, database_url: str
) -> None:
    settings = llm_settings(fake_llm.url)
    first = _score_as_a_new_replica(settings, database_url, 1)
    second = _score_as_a_new_replica(settings, database_url, 1)
    assert isinstance(first, Verdict) and second == first
    assert fake_llm.stats()["calls"] == 1
    engine = create_engine(database_url)
    with engine.connect() as conn:
        row = conn.execute(select(ScoringCacheRow.__table__)).one()
    engine.dispose()
    assert (row.hits, row.model, row.prompt_version) == (1, "deepseek-flash", "lead-score-2")
    assert row.last_hit_at is not None

    _score_as_a_new_replica(settings, database_url, 2)  # a different lead is a new question
    assert fake_llm.stats()["calls"] == 2


@pytest.mark.postgres
def test_failures_are_not_cached(fake_llm: FakeLLM, database_url: str) -> None:
    fake_llm.configure(server_error=1.0)
    settings = llm_settings(fake_llm.url, llm_max_attempts=1)
    assert isinstance(_score_as_a_new_replica(settings, database_url, 1), ScoringFailure)
    fake_llm.configure(server_error=0.0)
    assert isinstance(_score_as_a_new_replica(settings, database_url, 1), Verdict)
    assert fake_llm.stats()["calls"] == 2


def test_the_key_covers_prompt_version_model_thinking_and_the_exact_input(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    messages = build_messages(enriched_lead(1))
    key = input_hash("deepseek-flash", "off", messages)
    assert key == input_hash("deepseek-flash", "off", build_messages(enriched_lead(1)))
    assert key != input_hash("deepseek-v4-pro", "off", messages)
    assert key != input_hash("deepseek-flash", "on", messages)
    assert key != input_hash("deepseek-flash", "off", build_messages(enriched_lead(2)))
    monkeypatch.setattr(cache_module, "PROMPT_VERSION", "lead-score-next")
    assert key != input_hash("deepseek-flash", "off", messages)
