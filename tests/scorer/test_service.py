"""The scorer stages on a real Kafka broker against the local LLM server (docs/scorer.md)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from prometheus_client import REGISTRY

from localinfra.fake_llm import FakeLLM, derived_score
from schemas import ContactPriority, ScoredLead, ScoringMethod, Tier
from schemas.leads import tier_for
from services.common.config import KafkaSettings, RuntimeSettings
from services.scorer.cache import ScoringCache
from services.scorer.leads import RETRY_ERROR_FLAG
from services.scorer.prompt import scoring_input
from services.scorer.service import build_retry_stage, build_stage
from services.scorer.settings import ScorerBackend, ScorerSettings
from tests.scorer.factories import enriched_lead, llm_settings
from tests.scorer.feed import LeadFeed, publish_leads
from tests.support.kafka import running_stage

pytestmark = pytest.mark.kafka


def _runtime(max_in_flight: int = 200) -> RuntimeSettings:
    return RuntimeSettings(commit_interval_s=0.2, max_in_flight=max_in_flight)


def _assert_honest(lead: ScoredLead) -> None:
    """A lead is either RETRY, visibly, or carries exactly the score the model gave it."""
    score = lead.score
    if score.tier is Tier.RETRY:
        assert score.score == -1 and score.contact_priority is ContactPriority.SKIP
        assert score.scoring_method is ScoringMethod.PENDING_RETRY
        assert score.flags and score.flags[0].startswith(RETRY_ERROR_FLAG)
        return
    enriched = enriched_lead(int(lead.permit.permit_number.removeprefix("PB26-")))
    assert score.scoring_method is ScoringMethod.LLM
    assert score.score == derived_score(scoring_input(enriched)), "an invented score"
    assert score.tier is tier_for(score.score)
    assert score.chain_of_thought and score.tokens_in and score.model == "deepseek-flash"


def _all_present(count: int) -> Callable[[LeadFeed], bool]:
    return lambda feed: len(feed.latest) >= count


def _all_scored(count: int) -> Callable[[LeadFeed], bool]:
    return lambda feed: (
        len(feed.latest) >= count
        and all(lead.score.tier is not Tier.RETRY for lead in feed.latest.values())
    )


@pytest.mark.slow
def test_thousands_of_leads_through_30_percent_faults_then_every_retry_lead_is_rescored(
    fake_llm: FakeLLM, kafka_settings: KafkaSettings
) -> None:
    fake_llm.configure(
        rate_limited=0.06, server_error=0.06, hang=0.06, malformed=0.06, empty=0.06, seed=5
    )
    settings = llm_settings(
        fake_llm.url, llm_deadline_s=1.0, llm_max_attempts=2, rescore_max_attempts=100
    )
    leads = [enriched_lead(i) for i in range(2_000)]
    publish_leads(kafka_settings, leads)
    with (
        running_stage(build_stage(settings), kafka_settings, _runtime()),
        running_stage(build_retry_stage(settings), kafka_settings, _runtime(50)),
        LeadFeed(kafka_settings) as feed,
    ):
        feed.wait_for(_all_present(len(leads)), "every lead scored or RETRY", timeout_s=180)
        retry_keys = {lead.key for lead in feed.every if lead.score.tier is Tier.RETRY}
        assert retry_keys, "the faults should have left some leads RETRY"
        fake_llm.configure(rate_limited=0, server_error=0, hang=0, malformed=0, empty=0)
        feed.wait_for(_all_scored(len(leads)), "every RETRY lead re-scored", timeout_s=120)
    assert set(feed.latest) == {lead.key for lead in leads}
    for lead in feed.every:
        _assert_honest(lead)
    rescored = [feed.latest[key] for key in retry_keys]
    assert all(lead.score.attempts >= 2 for lead in rescored)


@pytest.mark.postgres
def test_a_replayed_unchanged_permit_costs_zero_llm_calls(
    fake_llm: FakeLLM, kafka_settings: KafkaSettings, database_url: str
) -> None:
    settings = llm_settings(fake_llm.url)
    leads = [enriched_lead(i) for i in range(100)]
    cache = ScoringCache.connect(database_url, pool_size=4)
    hits_before = REGISTRY.get_sample_value(
        "leadstream_scorer_cache_lookups_total", {"result": "hit"}
    )
    try:
        with (
            running_stage(build_stage(settings, cache=cache), kafka_settings, _runtime()),
            LeadFeed(kafka_settings) as feed,
        ):
            publish_leads(kafka_settings, leads)
            feed.wait_for(lambda f: len(f.every) >= 100, "first scoring")
            assert fake_llm.stats()["calls"] == 100
            publish_leads(kafka_settings, leads)  # the replay
            feed.wait_for(lambda f: len(f.every) >= 200, "replay")
    finally:
        cache.close()
    assert fake_llm.stats()["calls"] == 100
    first, replay = feed.every[:100], feed.every[100:]
    by_key = {lead.key: lead.score for lead in first}
    for lead in replay:
        assert lead.score.model_dump(exclude={"scored_at"}) == by_key[lead.key].model_dump(
            exclude={"scored_at"}
        )
    hits = REGISTRY.get_sample_value("leadstream_scorer_cache_lookups_total", {"result": "hit"})
    assert (hits or 0) - (hits_before or 0) == 100


def test_a_401_pauses_the_scorer_without_a_single_retry_lead_and_it_resumes_on_its_own(
    fake_llm: FakeLLM, kafka_settings: KafkaSettings
) -> None:
    fake_llm.configure(status=401)
    settings = llm_settings(fake_llm.url, circuit_probe_interval_s=0.2)
    leads = [enriched_lead(i) for i in range(300)]
    publish_leads(kafka_settings, leads)
    with (
        running_stage(build_stage(settings), kafka_settings, _runtime(50)),
        LeadFeed(kafka_settings) as feed,
    ):
        feed.wait_for(lambda _: _gauge("leadstream_scorer_circuit_open") == 1, "circuit open")
        feed.wait_for(lambda _: _gauge("leadstream_paused") == 1, "fetching paused")
        calls_before = fake_llm.stats()["calls"]
        feed.read(timeout_s=2)
        assert feed.every == [], "a lead was published during the outage"
        probes = fake_llm.stats()["calls"] - calls_before
        assert probes <= 2 / 0.2 + 2, "calls go on during the outage instead of single probes"
        fake_llm.configure(status=None)
        feed.wait_for(_all_present(len(leads)), "resumed after the outage")
        assert _gauge("leadstream_scorer_circuit_open") == 0
    assert all(lead.score.tier is not Tier.RETRY for lead in feed.every)
    for lead in feed.every:
        _assert_honest(lead)


def test_the_rules_backend_labels_every_lead_and_calls_no_llm(
    fake_llm: FakeLLM, kafka_settings: KafkaSettings
) -> None:
    settings = ScorerSettings(scorer_backend=ScorerBackend.RULES, llm_base_url=fake_llm.url)
    publish_leads(kafka_settings, [enriched_lead(i) for i in range(50)])
    with (
        running_stage(build_stage(settings), kafka_settings, _runtime()),
        LeadFeed(kafka_settings) as feed,
    ):
        feed.wait_for(_all_present(50), "rules scoring")
    assert {(lead.score.scoring_method, lead.score.model) for lead in feed.every} == {
        (ScoringMethod.RULES, "rules-v2")
    }
    assert fake_llm.stats()["calls"] == 0


def _gauge(name: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"stage": "scorer"})


def test_answers_with_a_5000_digit_number_end_as_retry_leads_and_the_partition_moves_on(
    fake_llm: FakeLLM, kafka_settings: KafkaSettings
) -> None:
    """Each such answer used to escape the handler: the runtime retried the message for ever,
    every retry another paid call, and nothing after it was committed."""
    fake_llm.configure(huge_number=1.0)
    # A model that answers nothing else would open the circuit (its own test): not this one's.
    settings = llm_settings(fake_llm.url, llm_max_attempts=2, circuit_window=1000)
    leads = [enriched_lead(i) for i in range(10)]
    publish_leads(kafka_settings, leads)
    with (
        running_stage(build_stage(settings), kafka_settings, _runtime()),
        LeadFeed(kafka_settings) as feed,
    ):
        feed.wait_for(_all_present(len(leads)), "every lead published as RETRY", timeout_s=60)
        feed.read(timeout_s=1)
    assert all(lead.score.tier is Tier.RETRY for lead in feed.every)
    for lead in feed.every:
        _assert_honest(lead)
    assert fake_llm.stats()["calls"] == len(leads) * 2 * 2  # attempts × (call + repair), once
