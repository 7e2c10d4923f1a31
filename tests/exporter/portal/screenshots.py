"""Screenshots of the portal and admin pages for docs/portal.md, from a seeded database.

    DATABASE_URL=... python -m tests.exporter.portal.screenshots docs/portal

Creates (and drops) its own migrated database on that server, serves the app with uvicorn
and drives Debian's headless Chromium through the main pages.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.ui import WebDriverWait

from services.common.db.engine import make_engine
from services.exporter.api import create_app
from services.exporter.settings import ExporterSettings
from tests.exporter.live import serving
from tests.exporter.portal.browser import DESKTOP, PHONE, chromium, seed_market
from tests.support.databases import migrated_database

ADMIN_KEY = "screenshot-admin-key-0123456789abcdefghij"


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with migrated_database(os.environ["DATABASE_URL"]) as url:
        engine = make_engine(url)
        market = seed_market(engine)
        settings = ExporterSettings(
            database_url=url, admin_key=ADMIN_KEY, portal_secure_cookies=False
        )
        try:
            with (
                serving(create_app(settings)) as base,
                tempfile.TemporaryDirectory() as downloads,
                chromium(Path(downloads), (1200, 800)) as browser,
            ):
                tour(browser, base, market.key, market.pool_lead, out)
        finally:
            engine.dispose()


def tour(browser: webdriver.Chrome, base: str, key: str, lead: int, out: Path) -> None:
    def shot(name: str, path: str | None = None) -> None:
        if path is not None:
            browser.get(base + path)
        browser.save_screenshot(str(out / f"{name}.png"))

    def submit(button_text: str) -> None:
        page = browser.find_element(By.TAG_NAME, "html")
        browser.find_element(By.XPATH, f"//button[starts-with(text(), '{button_text}')]").click()
        WebDriverWait(browser, 15).until(staleness_of(page))

    shot("signin", "/portal/signin")
    browser.find_element(By.ID, "api_key").send_keys(key)
    submit("Sign in")
    shot("leads", "/portal/leads")
    shot("buy-confirmation", f"/portal/leads/{lead}/buy")
    submit("Confirm purchase")
    shot("lead-revealed")
    shot("my-leads", "/portal/mine")
    browser.get(f"{base}/portal/disputes?lead_id={lead}")
    browser.find_element(By.CSS_SELECTOR, "label[for=reason-wrong_contact]").click()
    browser.find_element(By.ID, "detail").send_keys("The phone number belongs to a pizzeria.")
    submit("Open dispute")
    shot("disputes")
    shot("account", "/portal/account")
    browser.set_window_size(*PHONE)
    shot("leads-phone", "/portal/leads")
    if os.environ.get("PORTAL_SCREENSHOTS_ALL"):  # layout checks, not for the docs
        for page in ("mine", "account", "disputes", "subscriptions"):
            shot(f"{page}-phone", f"/portal/{page}")
    browser.set_window_size(*DESKTOP)
    browser.get(base + "/admin/signin")
    browser.find_element(By.ID, "admin_key").send_keys(ADMIN_KEY)
    submit("Sign in")
    shot("admin-stats")
    shot("admin-disputes", "/admin/disputes")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/portal"))
