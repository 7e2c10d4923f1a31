"""The categorizer service: ``permits.raw`` → ``permits.categorized`` | ``permits.discarded``.

Malformed input goes to the DLQ through the shared runtime. The rules are loaded once at
start-up; a broken rules file stops the service before it reads a single permit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import Counter
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.discards import DiscardedPermit
from schemas.permits import RawPermit
from schemas.topics import Topic
from services.categorizer.categorize import STAGE, categorize
from services.categorizer.rules import DEFAULT_RULES_PATH, Rules, RulesError, load_rules
from services.common.runtime import Output, Stage
from services.common.service import run_stage

DISCARDED = Counter(
    "leadstream_categorizer_discarded_total", "Permits the categorizer discarded", ["reason"]
)


class CategorizerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEADSTREAM_CATEGORIZER_", extra="ignore")

    rules_path: Path = DEFAULT_RULES_PATH


def build_stage(rules: Rules, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Stage:
    """Freshness is judged as of the permit's ``scraped_at``; ``clock`` when it has none."""

    def handle(permit: RawPermit) -> list[Output]:
        result = categorize(permit, rules, permit.scraped_at or clock())
        if isinstance(result, DiscardedPermit):
            DISCARDED.labels(result.reason).inc()
            return [Output(Topic.DISCARDED.value, result.key, result)]
        return [Output(Topic.CATEGORIZED.value, result.key, result)]

    return Stage(
        name=STAGE,
        inputs={Topic.RAW.value: RawPermit},
        handle=handle,
        # Pure logic: a handler error is always the message's, never an outage.
        dependencies_up=lambda: True,
    )


def main() -> None:
    settings = CategorizerSettings()
    try:
        rules = load_rules(settings.rules_path)
    except RulesError as exc:
        raise SystemExit(f"categorizer: not starting: {exc}") from exc
    run_stage(build_stage(rules))


if __name__ == "__main__":
    main()
