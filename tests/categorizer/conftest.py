from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from schemas.permits import RawPermit
from services.categorizer.rule_book import Rules, load_rules

AS_OF = datetime(2015, 12, 31, 12, tzinfo=UTC)


@pytest.fixture(scope="session")
def rules() -> Rules:
    return load_rules()


def make_permit(description: str | None, **fields: Any) -> RawPermit:
    """An Austin-style permit issued a month before ``AS_OF`` unless told otherwise."""
    values: dict[str, Any] = {
        "jurisdiction": "austin_tx",
        "permit_number": "2015-000001 BP",
        "property_address": "1009 LORRAIN ST",
        "issued_date": date(2015, 12, 1),
        "work_description": description,
    }
    values.update(fields)
    return RawPermit(**values)
