"""The portal and admin pages in a real headless Chromium, against a live uvicorn server on
real PostgreSQL: sign in, filter, buy at the shown price, see the reveal, download the CSV,
dispute, and an operator approves the dispute. One browser for the module (2 cores).

The tests run in file order and build on each other, as one buyer's session would.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import Engine, func, select

from services.common.db.engine import make_engine
from services.common.db.tables.marketplace import lead_purchases
from services.exporter.api import create_app
from services.exporter.settings import ExporterSettings
from tests.exporter.conftest import ADMIN_KEY
from tests.exporter.live import serving
from tests.exporter.portal.browser import (
    ADDRESS,
    OWNER,
    POOL_PRICE,
    Market,
    chromium,
    missing_browser,
    seed_market,
)
from tests.support.databases import copy_of

pytestmark = [pytest.mark.postgres, pytest.mark.browser]


@dataclass(frozen=True)
class Site:
    url: str
    market: Market
    engine: Engine
    downloads: Path


@pytest.fixture(scope="module")
def site(
    postgres_url: str, _migrated_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    with copy_of(postgres_url, _migrated_template) as url:
        engine = make_engine(url)
        market = seed_market(engine)
        settings = ExporterSettings(
            database_url=url, admin_key=ADMIN_KEY, portal_secure_cookies=False
        )
        try:
            with serving(create_app(settings)) as base:
                yield Site(base, market, engine, tmp_path_factory.mktemp("downloads"))
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[webdriver.Chrome]:
    problem = missing_browser()
    if problem is not None:
        pytest.fail(problem)
    with chromium(site.downloads) as driver:
        yield driver


def _open(browser: webdriver.Chrome, site: Site, path: str) -> None:
    browser.get(site.url + path)


def _follow(browser: webdriver.Chrome, element: WebElement) -> None:
    """Click a link or button, or press Enter in it, and wait for the next page to load."""
    page = browser.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(browser, 15).until(lambda _: _left(page))


def _left(page: WebElement) -> bool:
    """The old page is gone. Chromedriver says so as a stale element, or, when it asks about
    the node while the navigation swaps documents, as "does not belong to the document"."""
    try:
        return bool(staleness_of(page)(None))
    except WebDriverException as exc:
        if "does not belong to the document" in str(exc):
            return True
        raise


def _text(browser: webdriver.Chrome) -> str:
    return browser.find_element(By.TAG_NAME, "body").text


def _sales(site: Site, lead_id: int) -> int:
    with site.engine.connect() as conn:
        count: int = conn.execute(
            select(func.count()).where(lead_purchases.c.lead_id == lead_id)
        ).scalar_one()
    return count


def test_sign_in_gives_an_http_only_same_site_strict_cookie(
    browser: webdriver.Chrome, site: Site
) -> None:
    _open(browser, site, "/portal/leads")
    assert browser.current_url.endswith("/portal/signin")  # not signed in yet
    key_field = browser.find_element(By.ID, "api_key")
    assert key_field.get_attribute("autofocus") is not None  # ready to type
    key_field.send_keys(site.market.key)
    _follow(browser, browser.find_element(By.XPATH, "//button[text()='Sign in']"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Leads for sale"
    cookie = browser.get_cookie("leadstream_portal")
    assert cookie is not None
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert cookie["secure"] is False  # LEADSTREAM_PORTAL_SECURE_COOKIES=false, as over http
    assert site.market.key not in cookie["value"]
    assert browser.execute_script("return document.cookie") == ""  # invisible to scripts


def test_filters_narrow_the_leads_for_sale(browser: webdriver.Chrome, site: Site) -> None:
    _open(browser, site, "/portal/leads")
    assert len(browser.find_elements(By.CSS_SELECTOR, "article.lead")) == 3
    browser.find_element(By.TAG_NAME, "summary").click()
    Select(browser.find_element(By.ID, "f-tier")).select_by_value("B")
    _follow(browser, browser.find_element(By.XPATH, "//button[text()='Apply filters']"))
    assert "tier=B" in browser.current_url
    cards = browser.find_elements(By.CSS_SELECTOR, "article.lead")
    assert [card.find_element(By.TAG_NAME, "h2").text for card in cards] == [
        "Fence in Austin 78745"
    ]
    assert Select(browser.find_element(By.ID, "f-tier")).first_selected_option.text == "B"


def test_buying_at_the_shown_price_reveals_the_owner(browser: webdriver.Chrome, site: Site) -> None:
    lead = site.market.pool_lead
    _open(browser, site, f"/portal/leads/{lead}")
    assert OWNER not in browser.page_source and ADDRESS not in browser.page_source
    _follow(browser, browser.find_element(By.LINK_TEXT, "Buy this lead"))
    assert browser.find_element(By.TAG_NAME, "h1").text == f"Buy lead {lead}?"
    assert OWNER not in browser.page_source
    assert browser.find_element(By.ID, "price").text == f"${POOL_PRICE}"  # the book's price
    _follow(browser, browser.find_element(By.XPATH, "//button[text()='Confirm purchase']"))
    status = browser.find_element(By.CSS_SELECTOR, "[role=status]").text
    assert status.startswith(f"You bought lead {lead} for ${POOL_PRICE}")
    assert browser.find_element(By.CSS_SELECTOR, "dd.owner").text == OWNER
    assert ADDRESS in _text(browser)
    assert _sales(site, lead) == 1


def test_my_leads_lists_it_in_full_and_downloads_as_csv(
    browser: webdriver.Chrome, site: Site
) -> None:
    _open(browser, site, "/portal/mine")
    assert browser.find_element(By.CSS_SELECTOR, "td.owner").text == OWNER
    browser.find_element(By.PARTIAL_LINK_TEXT, "Download all as CSV").click()
    target = site.downloads / "my-leads.csv"
    deadline = time.monotonic() + 15
    while not target.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    content = target.read_text(encoding="utf-8")
    assert content.startswith("lead_id,") and OWNER in content and ADDRESS in content
    assert len(content.strip().splitlines()) == 2  # the header and the one lead bought


def test_a_post_without_the_right_csrf_token_is_refused(
    browser: webdriver.Chrome, site: Site
) -> None:
    lead = site.market.fence_lead
    # The buy form's token (the sign-out form in the header has one too).
    token = "document.querySelector('form[action$=\"/buy\"] input[name=csrf_token]')"
    for tamper in (f"{token}.value = 'forged'", f"{token}.remove()"):
        _open(browser, site, f"/portal/leads/{lead}/buy")
        browser.execute_script(tamper)
        browser.find_element(By.ID, "max_price").send_keys("10")
        _follow(browser, browser.find_element(By.XPATH, "//button[text()='Confirm purchase']"))
        assert browser.find_element(By.TAG_NAME, "h1").text == "Request refused"
        assert "security token" in _text(browser)
    assert _sales(site, lead) == 0


def test_a_buyer_disputes_a_lead_it_bought(browser: webdriver.Chrome, site: Site) -> None:
    lead = site.market.pool_lead
    _open(browser, site, f"/portal/leads/{lead}")
    _follow(browser, browser.find_element(By.LINK_TEXT, "Dispute this lead"))
    assert browser.find_element(By.ID, "lead_id").get_attribute("value") == str(lead)
    browser.find_element(By.CSS_SELECTOR, "label[for=reason-wrong_contact]").click()
    browser.find_element(By.ID, "detail").send_keys("The number rings a pizzeria.")
    _follow(browser, browser.find_element(By.XPATH, "//button[text()='Open dispute']"))
    assert f"of lead {lead} is open" in browser.find_element(By.CSS_SELECTOR, "[role=status]").text
    row = browser.find_element(By.CSS_SELECTOR, "tbody tr").text
    assert "Wrong contact details" in row and "open" in row


def test_every_field_has_a_label_and_the_skip_link_comes_first(
    browser: webdriver.Chrome, site: Site
) -> None:
    unlabelled = """
      return [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter(e => !(e.id && document.querySelector(`label[for="${e.id}"]`))
                     && !e.getAttribute('aria-label'))
        .map(e => e.name);"""
    for path in ("/portal/leads", "/portal/disputes", "/portal/account", "/portal/subscriptions"):
        _open(browser, site, path)
        assert browser.execute_script(unlabelled) == [], path
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    assert browser.switch_to.active_element.text == "Skip to content"


def test_an_operator_sees_the_stats_chart_and_approves_the_dispute(
    browser: webdriver.Chrome, site: Site
) -> None:
    _open(browser, site, "/admin/")
    assert browser.current_url.endswith("/admin/signin")  # the buyer's cookie is not enough
    browser.find_element(By.ID, "admin_key").send_keys(ADMIN_KEY)
    _follow(browser, browser.find_element(By.XPATH, "//button[text()='Sign in']"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Pipeline, last 30 days"
    chart = browser.find_element(By.CSS_SELECTOR, "figure.chart svg")
    assert chart.get_attribute("role") == "img"
    assert len(chart.find_elements(By.CSS_SELECTOR, "rect.bar")) >= 13
    admin_cookie = browser.get_cookie("leadstream_admin")
    assert admin_cookie is not None and admin_cookie["httpOnly"] is True
    assert admin_cookie["sameSite"] == "Strict"

    _follow(browser, browser.find_element(By.LINK_TEXT, "Disputes"))
    dispute = browser.find_element(By.CSS_SELECTOR, "article.card")
    assert "Wrong contact details" in dispute.text and "Acme Pools" in dispute.text
    dispute.find_element(By.TAG_NAME, "textarea").send_keys("Confirmed: wrong number.")
    _follow(browser, dispute.find_element(By.XPATH, ".//button[starts-with(text(), 'Approve')]"))
    assert "decided" in browser.find_element(By.CSS_SELECTOR, "[role=status]").text
    assert "No disputes here." in _text(browser)

    _open(browser, site, "/portal/account")
    totals = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".stat strong")]
    assert totals == ["1", f"${POOL_PRICE}", f"${POOL_PRICE}", "$0.00"]
