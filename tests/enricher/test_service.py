"""The enricher stage through real Kafka and PostgreSQL, on real Fort Worth permits."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import event

from schemas.discards import DiscardedPermit
from schemas.permits import CategorizedPermit, EnrichedPermit
from schemas.taxonomy import Category, MatchKind
from schemas.topics import Topic
from services.common.config import KafkaSettings
from services.common.db.engine import make_engine
from services.enricher.builders import ProductionBuilders
from services.enricher.cad_formats import read_tad_json
from services.enricher.cad_import import import_records
from services.enricher.service import Enricher, build_stage
from services.ingest.fortworth import read_rows, to_raw_permit
from tests.enricher.factories import SCRAPED_AT, categorized, permit
from tests.enricher.portal_forms import TARRANT_SAMPLE
from tests.support.kafka import publish, read_topic, running_stage

FORT_WORTH_PERMITS = "fortworth_permits_2026-04.json"

# Fort Worth permits of 2026-04-04…09 whose address is in the 1% Tarrant sample, with the
# sample's owner. 4033 Landisburg is "TRL" on the portal and "TR" at the appraisal district.
EXPECTED_MATCHES = {
    "PP26-06449": ("1161326", "LOPEZ, VERO K S"),
    "PP26-06567": ("40614832", "MONTOYA, CHRISTOPHER"),
    "PE26-03850": ("43111583", "AG EHC II (LEN) MULTI STATE 4"),
    "PB26-04994": ("41158059", "COTTINGTON, GRANT"),
    "PE26-03903": ("471682", "KILPATRICK VENTURES LLC"),
    "PE26-03739": ("42597381", "BELL, ANNE JOYCE"),
}


def load_tarrant(shared_data: Path, database_url: str) -> None:
    with (shared_data / TARRANT_SAMPLE).open("rb") as stream:
        import_records(make_engine(database_url), "tarrant", read_tad_json(stream))


def fort_worth_permits(shared_data: Path) -> list[CategorizedPermit]:
    rows = read_rows(shared_data / FORT_WORTH_PERMITS)
    return [categorized(to_raw_permit(row, SCRAPED_AT)) for row in rows]


@pytest.mark.kafka
@pytest.mark.postgres
def test_fort_worth_permits_in_the_sample_are_enriched_and_the_rest_go_on_unmatched(
    shared_data: Path, database_url: str, kafka_settings: KafkaSettings
) -> None:
    load_tarrant(shared_data, database_url)
    permits = fort_worth_permits(shared_data)
    publish(
        kafka_settings,
        Topic.CATEGORIZED.value,
        [(item.key, item.model_dump_json().encode()) for item in permits],
    )
    # Only permits without an owner name can lack data: no such address is in the sample.
    ownerless = sum(1 for item in permits if item.permit.owner_name is None)

    with running_stage(build_stage(database_url), kafka_settings):
        enriched = read_topic(kafka_settings, Topic.ENRICHED.value, expect=len(permits) - ownerless)
        discarded = read_topic(kafka_settings, Topic.DISCARDED.value, expect=ownerless)
    assert (len(enriched), len(discarded)) == (len(permits) - ownerless, ownerless)

    outcomes = [EnrichedPermit.model_validate_json(value) for _, value in enriched]
    matched = {
        o.permit.permit_number: (o.cad.account_id, o.cad.owner_name)
        for o in outcomes
        if o.cad.match is not MatchKind.NONE
    }
    assert matched == EXPECTED_MATCHES
    by_number = {o.permit.permit_number: o.cad for o in outcomes}
    washburn = by_number["PE26-03903"]
    assert washburn.match is MatchKind.ADDRESS_UNIT
    assert (washburn.market_value, washburn.year_built, washburn.is_absentee) == (
        411_204.0,
        1962,
        True,
    )
    # Two sample accounts share 5400 Parker Henderson Rd: ambiguous, so no guess.
    assert by_number["PE26-03999"].match is MatchKind.NONE
    unmatched = [o for o in outcomes if o.cad.match is MatchKind.NONE]
    assert all(o.cad.market_value is None and o.cad.account_id is None for o in unmatched)
    assert all(o.cad.owner_name == o.permit.owner_name for o in unmatched)

    reasons = Counter(DiscardedPermit.model_validate_json(v).reason for _, v in discarded)
    assert reasons == {"no_data": ownerless}


@pytest.mark.postgres
def test_a_batch_costs_one_query_and_a_builder_owner_is_discarded(
    shared_data: Path, database_url: str
) -> None:
    load_tarrant(shared_data, database_url)
    sample = json.loads((shared_data / TARRANT_SAMPLE).read_text())["parcels"]
    items = [
        categorized(permit(f"P-{i}", property_address=p["situs_address"]))
        for i, p in enumerate(sample[:500])
    ]
    builder_lot = next(p for p in sample if p["owner_name"].startswith("BLOOMFIELD HOMES"))
    items.append(
        categorized(
            permit("P-lot", property_address=builder_lot["situs_address"], owner_name="A Buyer"),
            Category.NEW_CONSTRUCTION,
        )
    )
    engine = make_engine(database_url)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))

    results = Enricher(engine, ProductionBuilders.load()).handle_batch(items)

    assert len(statements) == 1
    outcomes = [outputs[0].value for outputs in results]
    assert (
        sum(isinstance(o, EnrichedPermit) and o.cad.match is not MatchKind.NONE for o in outcomes)
        > 450
    )
    last = outcomes[-1]
    assert isinstance(last, DiscardedPermit)
    assert (last.reason, last.stage) == ("production_builder", "enricher")
    assert builder_lot["owner_name"] in last.detail
