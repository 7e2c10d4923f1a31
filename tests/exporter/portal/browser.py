"""Debian's headless Chromium through selenium, and a seeded marketplace to point it at.

Selenium is given the system chromedriver and chromium paths, so Selenium Manager never
downloads a browser or a driver. ``make test`` installs both packages when missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from sqlalchemy import Engine, insert

from schemas.taxonomy import Tier, TradeGroup
from services.exporter.buyers import create_buyer
from services.exporter.prices import set_price
from services.exporter.queries import leads
from tests.exporter.factories import lead_values

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
DESKTOP = (1280, 900)
PHONE = (390, 844)


def missing_browser() -> str | None:
    absent = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if not absent:
        return None
    return f"{', '.join(absent)} missing: `make test` installs chromium and chromium-driver"


@contextmanager
def chromium(download_dir: Path, size: tuple[int, int] = DESKTOP) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in a container has no user namespaces for the sandbox
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--window-size={size[0]},{size[1]}",
    ):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(download_dir),
            "download.prompt_for_download": False,
        },
    )
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        driver.set_page_load_timeout(30)
        yield driver
    finally:
        driver.quit()


OWNER = "Olivia Owner-Reveal"
POOL_PRICE = Decimal("45.00")  # the book price of luxury outdoor tier A; tier B is not in the book
ADDRESS = "4711 Hidden Hollow Ln"


@dataclass(frozen=True)
class Market:
    key: str
    pool_lead: int  # tier A, owned by OWNER
    fence_lead: int  # tier B
    roof_lead: int  # tier C


def seed_market(engine: Engine, today: date | None = None) -> Market:
    """One marketplace buyer of luxury outdoor and home exterior leads, a price for luxury
    outdoor tier A, and leads of three tiers over the last two weeks (the admin chart)."""
    now = datetime.now(UTC)
    today = today or now.date()
    _, key = create_buyer(
        engine,
        "Acme Pools & Fences",
        [TradeGroup.LUXURY_OUTDOOR, TradeGroup.HOME_EXTERIOR],
        [Tier.A, Tier.B, Tier.C],
    )
    set_price(engine, trade_group="luxury_outdoor", tier="A", price=POOL_PRICE, now=now)
    rows = [
        lead_values(
            owner_name=OWNER,
            property_address=ADDRESS,
            score=92,
            zip_code="78704",
            issued_date=today - timedelta(days=3),
            scored_at=now - timedelta(hours=2),
        ),
        lead_values(
            category="fence",
            trade_group="luxury_outdoor",
            score=64,
            owner_name="Bernard Fence",
            project_description="Cedar privacy fence, 180 ft",
            valuation=9_500,
            zip_code="78745",
            issued_date=today - timedelta(days=5),
            scored_at=now - timedelta(hours=3),
        ),
        lead_values(
            category="roof",
            trade_group="home_exterior",
            score=41,
            owner_name="Carla Roof",
            project_description="Re-roof, architectural shingles",
            valuation=18_000,
            city="Round Rock",
            county="Williamson",
            zip_code="78664",
            issued_date=today - timedelta(days=8),
            scored_at=now - timedelta(hours=4),
        ),
    ]
    for day in range(1, 14):  # history for the chart, never the first three on the page
        for n in range(day % 4 + 1):
            rows.append(
                lead_values(
                    score=(20, 45, 70, 88)[(day + n) % 4],
                    scored_at=now - timedelta(days=day, hours=n),
                    trade_group="structural",
                    category="foundation",
                )
            )
    with engine.begin() as conn:
        ids = [
            conn.execute(insert(leads).values(row).returning(leads.c.id)).scalar_one()
            for row in rows
        ]
    return Market(key=key, pool_lead=ids[0], fence_lead=ids[1], roof_lead=ids[2])
