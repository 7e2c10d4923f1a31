"""The categorizer service: ``permits.raw`` → ``permits.categorized`` | ``permits.discarded``.

Malformed input goes to the DLQ through the shared runtime. The rules are loaded once at
start-up; a broken rules file stops the service before it reads a single permit.

With the builder registry (``registry.py``; what ``leadstream run categorizer`` runs) the stage
handles a poll batch at a time: it reads every permit, records the batch's new-home permits in
one transaction, and then decides each permit on the registry's view, which so includes the
batch itself. A permit redelivered after a crash records nothing new and is decided the same.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cache, partial
from pathlib import Path

from prometheus_client import Counter
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.discards import DiscardedPermit
from schemas.permits import CategorizedPermit, RawPermit
from schemas.topics import Topic
from services.categorizer.builders import BuilderSettings
from services.categorizer.categorize import (
    STAGE,
    categorize,
    decide,
    new_home_observation,
    read_permit,
)
from services.categorizer.registry import LiveRegistry
from services.categorizer.rule_book import DEFAULT_RULES_PATH, Rules, RulesError, load_rules
from services.common.config import DatabaseSettings, KafkaSettings, RuntimeSettings
from services.common.db.engine import (
    DatabaseNotReady,
    database_answers,
    make_engine,
    require_current_schema,
)
from services.common.messages import BadInput, Output, Outputs
from services.common.runtime import StreamRuntime
from services.common.service import start_service
from services.common.stage import BatchStage, MessageStage, Stage

DISCARDED = Counter(
    "leadstream_categorizer_discarded_total", "Permits the categorizer discarded", ["reason"]
)


class CategorizerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEADSTREAM_CATEGORIZER_", extra="ignore")

    rules_path: Path = DEFAULT_RULES_PATH


def build_stage(
    rules: Rules,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    registry: LiveRegistry | None = None,
) -> Stage:
    """Freshness is judged as of the permit's ``scraped_at``; ``clock`` when it has none.
    Without ``registry`` the rules' builder list alone decides (no database)."""

    discarded = cache(DISCARDED.labels)  # .labels() is costly once per permit

    def output(result: CategorizedPermit | DiscardedPermit) -> list[Output]:
        if isinstance(result, DiscardedPermit):
            discarded(result.reason).inc()
            return [Output(Topic.DISCARDED.value, result.key, result)]
        return [Output(Topic.CATEGORIZED.value, result.key, result)]

    if registry is None:
        return MessageStage(
            name=STAGE,
            inputs={Topic.RAW.value: RawPermit},
            handle=lambda permit: output(categorize(permit, rules, permit.scraped_at or clock())),
            # Pure logic: a handler error is always the message's, never an outage.
            dependencies_up=lambda: True,
        )

    def handle_batch(permits: Sequence[RawPermit]) -> list[Outputs | BadInput]:
        readings = [read_permit(p, rules, p.scraped_at or clock()) for p in permits]
        observed = [new_home_observation(reading) for reading in readings]
        known = registry.record([item for item in observed if item is not None])
        return [output(decide(reading, rules, known)) for reading in readings]

    return BatchStage(
        name=STAGE,
        inputs={Topic.RAW.value: RawPermit},
        handle_batch=handle_batch,
        dependencies_up=partial(database_answers, registry.engine),
    )


def build_registry(database_url: str, settings: BuilderSettings) -> LiveRegistry:
    """The registry on this database; raises DatabaseNotReady unless it is reachable and at the
    latest schema."""
    engine = make_engine(database_url)
    require_current_schema(engine)
    return LiveRegistry(engine, settings)


def main() -> None:
    settings, builders = CategorizerSettings(), BuilderSettings()
    kafka, runtime, database = KafkaSettings(), RuntimeSettings(), DatabaseSettings()

    def build() -> StreamRuntime:
        rules = load_rules(settings.rules_path)
        registry = build_registry(database.database_url, builders)
        return StreamRuntime(build_stage(rules, registry=registry), kafka, runtime)

    start_service(STAGE, runtime, build, refuse_on=(RulesError, DatabaseNotReady))


if __name__ == "__main__":
    main()
