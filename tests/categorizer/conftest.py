from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from schemas.discards import DiscardedPermit
from schemas.permits import CategorizedPermit, RawPermit
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


def fort_worth_trade_permit(permit_type: str, subtype: str, owner: str, **fields: Any) -> RawPermit:
    """A Fort Worth trade permit as the portal sends most of them: no description."""
    values: dict[str, Any] = {
        "jurisdiction": "fort_worth_tx",
        "permit_number": "PE26-00001",
        "permit_type": permit_type,
        "work_type": subtype,
        "owner_name": owner,
    }
    values.update(fields)
    return make_permit(None, **values)


def cary_permit(application_type: str, contractor: str | None, **fields: Any) -> RawPermit:
    """A Cary permit: no description, the application type and the general contractor."""
    values: dict[str, Any] = {
        "jurisdiction": "cary_nc",
        "permit_number": "14 - 1",
        "permit_type": application_type,
        "contractor_name": contractor,
        "owner_name": "ROBERT & CHRISTINE SMITH",
        "issued_date": None,
    }
    values.update(fields)
    return make_permit(None, **values)


def kept(result: CategorizedPermit | DiscardedPermit) -> CategorizedPermit:
    assert isinstance(result, CategorizedPermit), getattr(result, "detail", result)
    return result


def dropped(result: CategorizedPermit | DiscardedPermit) -> DiscardedPermit:
    assert isinstance(result, DiscardedPermit), f"kept as {result.categorization.category}"
    return result


def confidence(result: CategorizedPermit | DiscardedPermit) -> str:
    assert result.categorization is not None
    return next(
        e.split()[0].removeprefix("confidence:")
        for e in result.categorization.evidence
        if e.startswith("confidence:")
    )
