"""The categorizer stage on the real broker: raw permits in, categorized | discarded | DLQ out."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from schemas.discards import DiscardedPermit
from schemas.dlq import DeadLetter
from schemas.permits import CategorizedPermit
from schemas.taxonomy import Category
from schemas.topics import Topic
from services.categorizer.rule_book import Rules
from services.categorizer.service import build_stage
from services.common.config import KafkaSettings
from tests.categorizer.conftest import make_permit
from tests.support.kafka import publish, read_topic, running_stage

SCRAPED = datetime(2015, 12, 31, tzinfo=UTC)


@pytest.mark.kafka
def test_stage_routes_every_permit_to_exactly_one_topic(
    rules: Rules, kafka_settings: KafkaSettings
) -> None:
    permits = [
        make_permit("Inground swimming pool & spa", permit_number="2015-1 BP", scraped_at=SCRAPED),
        make_permit("Water heater replacement", permit_number="2015-2 PP", scraped_at=SCRAPED),
        # issued long before its scrape: stale as of scraped_at, whatever today is
        make_permit(
            "Replace siding",
            permit_number="2015-3 BP",
            scraped_at=SCRAPED,
            issued_date=date(2015, 1, 2),
        ),
        # no issue date and no scrape time: judged as of now, but never stale
        make_permit("Replace siding", permit_number="2015-4 BP", issued_date=None),
    ]
    records: list[tuple[str | None, bytes]] = [
        (p.key, p.model_dump_json().encode()) for p in permits
    ]
    records.append(("austin_tx:broken", b'{"jurisdiction": "austin_tx"}'))

    with running_stage(build_stage(rules), kafka_settings):
        publish(kafka_settings, Topic.RAW.value, records)
        categorized = read_topic(kafka_settings, Topic.CATEGORIZED.value, expect=2)
        discarded = read_topic(kafka_settings, Topic.DISCARDED.value, expect=2)
        dead = read_topic(kafka_settings, Topic.DLQ.value, expect=1)

    kept = {key: CategorizedPermit.model_validate_json(value) for key, value in categorized}
    assert set(kept) == {"austin_tx:2015-1 BP", "austin_tx:2015-4 BP"}
    assert kept["austin_tx:2015-1 BP"].categorization.category is Category.POOL
    assert kept["austin_tx:2015-1 BP"].categorization.as_of == date(2015, 12, 31)
    assert kept["austin_tx:2015-4 BP"].categorization.days_old is None

    dropped = {key: DiscardedPermit.model_validate_json(value) for key, value in discarded}
    assert {key: d.reason for key, d in dropped.items()} == {
        "austin_tx:2015-2 PP": "junk:water_heater",
        "austin_tx:2015-3 BP": "stale",
    }
    assert all(d.rules_version == rules.version for d in dropped.values())

    assert len(dead) == 1
    letter = DeadLetter.model_validate_json(dead[0][1])
    assert letter.stage == "categorizer"
    assert "permit_number: Field required" in letter.error
    assert letter.original == b'{"jurisdiction": "austin_tx"}'
