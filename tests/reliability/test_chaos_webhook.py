"""The chaos harness's webhook scenario, bounded: a flapping endpoint and a notifier killed
again and again, and still every sellable lead reaches the buyer (``make chaos`` runs it at
20,000 permits)."""

from __future__ import annotations

from pathlib import Path

import pytest

from localinfra.chaos_input import austin_permits, permit_messages
from localinfra.chaos_run import Pipeline, RunOptions, run_scenario
from localinfra.chaos_scenarios import SCENARIOS, Scenario, webhook_faults
from services.common.config import KafkaSettings

PERMITS = 1_500
BOUNDED = Scenario(
    "ci-webhook",
    "the webhook endpoint flapping and the notifier SIGKILLed while publishing",
    webhook_faults,
    webhooks=True,
)


def test_make_chaos_has_a_webhook_scenario_and_all_includes_it() -> None:
    assert SCENARIOS["webhook"].webhooks and SCENARIOS["all"].webhooks
    kinds = {type(fault).__name__ for fault in SCENARIOS["all"].faults(100)}
    assert {"ReceiverFlaps", "NotifierKills"} <= kinds


@pytest.mark.slow
@pytest.mark.kafka
@pytest.mark.postgres
def test_every_sellable_lead_is_delivered_while_the_endpoint_flaps_and_the_notifier_dies(
    kafka_settings: KafkaSettings, database_url: str, shared_data: Path, tmp_path: Path
) -> None:
    messages = permit_messages(austin_permits(shared_data, PERMITS))
    options = RunOptions(permits=PERMITS, rate=50, drain_timeout_s=120)

    result = run_scenario(
        BOUNDED, Pipeline(kafka_settings, database_url), messages, options, tmp_path
    )

    timeline = "\n".join(f"{at:6.1f} s  {event}" for at, event in result.timeline)
    assert result.problems == [], f"{result.problems}; logs in {result.logs}\n{timeline}"
    assert result.kills["notifier"] >= 3, "the notifier must have been killed several times"
    assert "webhook receiver down (connections refused)" in timeline
    assert "0 undelivered, 0 never received" in timeline
