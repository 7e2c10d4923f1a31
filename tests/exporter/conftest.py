"""Fixtures of the exporter tests: an engine, settings and an API client on a fresh database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from schemas.taxonomy import Tier, TradeGroup
from services.exporter.api import create_app
from services.exporter.buyers import BuyerPlan, create_buyer
from services.exporter.settings import ExporterSettings

ADMIN_KEY = "test-admin-key-0123456789abcdefghijklmnop"
MakeBuyer = Callable[..., dict[str, str]]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> ExporterSettings:
    return ExporterSettings(
        database_url=database_url, admin_key=ADMIN_KEY, export_dir=tmp_path / "exports"
    )


@pytest.fixture
def client(settings: ExporterSettings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def make_buyer(engine: Engine) -> MakeBuyer:
    """Create a buyer; returns the X-API-Key header that authenticates it.

    A subscription buyer unless told otherwise: most tests are about what a buyer sees in
    full; the marketplace tests ask for ``plan="marketplace"``.
    """

    def make(
        name: str,
        trade_groups: tuple[str, ...] = ("luxury_outdoor",),
        tiers: tuple[str, ...] = ("A", "B", "C"),
        counties: tuple[str, ...] | None = None,
        plan: str = "subscription",
    ) -> dict[str, str]:
        _, key = create_buyer(
            engine,
            name,
            [TradeGroup(g) for g in trade_groups],
            [Tier(t) for t in tiers],
            counties,
            BuyerPlan(plan),
        )
        return {"X-API-Key": key}

    return make


ADMIN = {"X-API-Key": ADMIN_KEY}


def ids(page: Any) -> list[int]:
    """The lead ids of a page of ``GET /v1/leads``, in order."""
    return [item["id"] for item in page["items"]]
