"""The OpenAPI schema fuzzed with schemathesis: no input makes the API answer 5xx.

Each operation's Hypothesis strategy is driven directly (schemathesis' lazy pytest fixtures do
not support this pytest), against an app on this test's own database. Every default check
runs except "schema-valid data is accepted": a cursor is any string to the schema but only
the API's own cursors are accepted (422 otherwise), by design.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy import Engine

from services.exporter.api import create_app
from services.exporter.prices import set_price
from services.exporter.settings import ExporterSettings
from tests.exporter.conftest import ADMIN, MakeBuyer
from tests.exporter.factories import insert_lead

pytestmark = pytest.mark.postgres
EXAMPLES_PER_OPERATION = 60
NOW = datetime(2026, 5, 10, tzinfo=UTC)


def fuzz(operation: Any, key: dict[str, str]) -> None:
    @given(case=operation.as_strategy())
    @hypothesis_settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        database=None,
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=key, excluded_checks=[positive_data_acceptance])

    run()


def test_no_input_causes_a_server_error(
    engine: Engine, settings: ExporterSettings, make_buyer: MakeBuyer
) -> None:
    lead_ids = [insert_lead(engine, score=score) for score in (95, 70, 40, -1)]
    set_price(engine, trade_group="luxury_outdoor", tier="A", price=Decimal("45"), now=NOW)
    buyer = make_buyer("fuzz", trade_groups=("luxury_outdoor", "home_exterior"))
    # Previews, prices and the refused filters of the marketplace, fuzzed as well.
    market = make_buyer("market", trade_groups=("luxury_outdoor",), plan="marketplace")
    app = create_app(settings)
    with TestClient(app) as http:  # a purchase, so that disputes and the ledger have data
        bought = http.post(
            f"/v1/leads/{lead_ids[0]}/purchase", json={"max_price": 45}, headers=buyer
        )
        assert bought.status_code == 201
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    # 7 lead routes, 6 subscription routes, 3 webhook deliveries routes, 4 dispute and
    # account routes
    assert len(operations) == len(results) == 20
    for operation in operations:
        fuzz(operation, ADMIN if operation.path == "/v1/stats" else buyer)
        if operation.path.startswith(("/v1/leads", "/v1/exports", "/v1/subscriptions")):
            fuzz(operation, market)
