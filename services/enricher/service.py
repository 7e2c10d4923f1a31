"""The enricher service: ``permits.categorized`` → ``permits.enriched`` | ``permits.discarded``
(run it with ``leadstream run enricher`` or ``python -m services.enricher.service``).

Each poll batch costs one database query: every account any permit of the batch could match
is fetched at once, then the match cascade runs in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial

from sqlalchemy import Engine

from schemas.discards import DiscardedPermit
from schemas.permits import CategorizedPermit
from schemas.topics import Topic
from services.categorizer.rule_book import RulesError
from services.common.config import DatabaseSettings, KafkaSettings, RuntimeSettings
from services.common.db.engine import (
    DatabaseNotReady,
    database_answers,
    make_engine,
    require_current_schema,
)
from services.common.messages import Output, Outputs
from services.common.runtime import StreamRuntime
from services.common.service import start_service
from services.common.stage import BatchStage
from services.enricher import metrics
from services.enricher.builders import ProductionBuilders
from services.enricher.enrich import STAGE, enrich
from services.enricher.lookup import fetch_candidates
from services.enricher.matching import MatchRequest, find_property


class Enricher:
    def __init__(self, engine: Engine, builders: ProductionBuilders) -> None:
        self.engine = engine
        self.builders = builders

    def handle_batch(self, items: Sequence[CategorizedPermit]) -> list[Outputs]:
        requests = [MatchRequest.for_permit(item.permit) for item in items]
        with self.engine.connect() as conn:
            candidates = fetch_candidates(conn, requests)
        results: list[Outputs] = []
        for item, request in zip(items, requests, strict=True):
            match, facts = find_property(request, candidates)
            metrics.MATCHES.labels(match.value).inc()
            outcome = enrich(
                item,
                match,
                facts,
                owner_is_builder=self.builders.owner_is_builder,
                rules_version=self.builders.rules_version,
                # The permit's scrape time keeps a redelivered permit's discard identical.
                discarded_at=item.permit.scraped_at or datetime.now(UTC),
            )
            if isinstance(outcome, DiscardedPermit):
                metrics.DISCARDS.labels(outcome.reason).inc()
                results.append([Output(Topic.DISCARDED.value, outcome.key, outcome)])
            else:
                results.append([Output(Topic.ENRICHED.value, outcome.key, outcome)])
        return results


def build_stage(
    database_url: str, builders: ProductionBuilders | None = None
) -> BatchStage[CategorizedPermit]:
    """The enricher's stage; raises DatabaseNotReady unless the database is reachable and at
    the latest schema."""
    engine = make_engine(database_url)
    require_current_schema(engine)
    enricher = Enricher(engine, builders or ProductionBuilders.load())
    return BatchStage(
        name=STAGE,
        inputs={Topic.CATEGORIZED.value: CategorizedPermit},
        handle_batch=enricher.handle_batch,
        dependencies_up=partial(database_answers, engine),
    )


def main() -> None:
    kafka, runtime, database = KafkaSettings(), RuntimeSettings(), DatabaseSettings()
    start_service(
        STAGE,
        runtime,
        lambda: StreamRuntime(build_stage(database.database_url), kafka, runtime),
        refuse_on=(DatabaseNotReady, RulesError),
    )


if __name__ == "__main__":
    main()
