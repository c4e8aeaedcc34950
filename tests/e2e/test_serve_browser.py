"""The company page served by a real ``corpledger serve`` (a subprocess, on the Scale AI
demo), in Chromium: signing in with a reader's token through the sign-in page, the cap table's
figures at two dates, the known-at slider fetching its step from the server and the URL
following the sliders, a reload of that URL, hostile stored text, and the refusals (no
cookie, a wrong token, a revoked one, after signing out). Screenshots go to a folder printed
at the start."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from ledger import Ledger
from ledger.app import today
from ledger.http.tokens import Role, TokenStore
from tests.conftest import drop_pg_database, new_pg_database
from tests.e2e.conftest import serving
from tests.e2e.test_report import HOSTILE, record_demo
from tests.e2e.test_report_browser import (
    assert_shown_as_text,
    expected,
    shown_cap_table,
    slide,
    steps,
)

COMPANY_PAGE = "/companies/scale-ai"


@dataclass(frozen=True)
class Site:
    url: str
    base: str
    reader: str
    shots: Path


ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.slow)]
"""PostgreSQL among the slow tests: the in-process page tests (tests/http/test_pages.py) run
on both engines at every run."""


@pytest.fixture(scope="module", params=ENGINES)
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """The demo, a back-dated hostile stakeholder record after it, a reader's token, and the
    server over them, per engine."""
    home = tmp_path_factory.mktemp("serve")
    if request.param == "sqlite":
        url = f"sqlite:///{home}/ledger.db"
    else:
        url = new_pg_database(request.getfixturevalue("pg_server"))
    with Ledger.open(url) as ledger:
        record_demo(ledger)
        ledger.record([HOSTILE], actor="</script><b>actor</b>")
        reader = TokenStore(ledger.engine).create("browser", Role.reader)
    shots = tmp_path_factory.mktemp(f"serve-screenshots-{request.param}")
    print(f"\nscreenshots of the served pages: {shots}")
    try:
        with serving(url) as server:
            yield Site(url, server.base, reader, shots)
        assert "Traceback" not in server.err, server.err
    finally:
        if request.param == "postgres":
            drop_pg_database(url)


def sign_in(page: Page, token: str) -> None:
    page.fill("#token", token)
    page.click("button[type=submit]")


def drawn(page: Page, day: str, position: int) -> None:
    """Wait until the page shows ``day`` at ``position`` (a cell may come from the server)."""
    page.wait_for_function(f"document.body.dataset.drawn === '{day}@{position}'")


@pytest.fixture(scope="module")
def signed_in(browser: Browser, site: Site) -> Iterator[BrowserContext]:
    """A browser signed in once, through the sign-in page."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(site.base + COMPANY_PAGE)
    assert page.url.startswith(site.base + "/sign-in?next=")
    sign_in(page, site.reader)
    page.wait_for_selector("#chart-ownership svg")
    assert page.url.startswith(site.base + COMPANY_PAGE + "?as_of=")  # the sliders' step
    page.close()
    yield context
    context.close()


def test_the_served_page_shows_the_apis_figures_follows_its_sliders_and_reloads_the_same(
    signed_in: BrowserContext, site: Site
) -> None:
    page = signed_in.new_page()
    now = today().isoformat()
    page.goto(f"{site.base}{COMPANY_PAGE}?as_of={now}&known_at=23")
    page.wait_for_selector("#chart-ownership svg")
    drawn(page, now, 23)
    with Ledger.open(site.url) as ledger:
        table_now = ledger.cap_table("scale-ai", as_of=today())
        series_f = ledger.cap_table("scale-ai", as_of=date(2024, 5, 21))
    assert shown_cap_table(page) == expected(table_now)
    assert shown_cap_table(page)[0][:3] == ["meta", "15,057,095", "49.0000"]
    for chart in ("ownership", "dilution", "people"):
        assert page.locator(f"#chart-{chart} svg path").count() > 0, chart
    page.screenshot(path=site.shots / "today.png", full_page=True)

    slide(page, "date", steps(page, "dates").index("2024-05-21"))
    drawn(page, "2024-05-21", 23)
    assert shown_cap_table(page) == expected(series_f)
    assert page.url.endswith(f"{COMPANY_PAGE}?as_of=2024-05-21&known_at=23")

    # Known at position 17, before Meta's investment: a step the page fetches.
    slide(page, "date", steps(page, "dates").index(now))
    slide(page, "known", [r["position"] for r in steps(page, "recordings")].index(17))
    drawn(page, now, 17)
    assert "meta" not in [row[0] for row in shown_cap_table(page)]
    assert page.url.endswith(f"{COMPANY_PAGE}?as_of={now}&known_at=17")
    assert (page.text_content("#disagreement") or "").startswith(
        "As known at position 17, before the InvestmentMade recorded at position 18"
    )
    page.wait_for_function(f"document.body.dataset.charted === '{now}@17'")
    page.screenshot(path=site.shots / "known-at-17.png", full_page=True)

    shown = shown_cap_table(page)
    page.reload()
    drawn(page, now, 17)
    assert shown_cap_table(page) == shown
    assert page.input_value("#known-slider") == str(16)
    page.close()


def test_hostile_stored_text_shows_as_text_and_runs_nothing(
    signed_in: BrowserContext, site: Site
) -> None:
    page = signed_in.new_page()
    page.goto(site.base + COMPANY_PAGE)
    page.wait_for_selector("#chart-ownership svg")
    assert_shown_as_text(page)
    page.goto(site.base + "/")
    assert page.locator("#companies a").all_text_contents() == ["scale-ai"]
    page.screenshot(path=site.shots / "companies.png", full_page=True)
    page.close()


def test_a_wrong_token_is_refused_and_a_revoked_one_stops_at_once(
    browser: Browser, site: Site
) -> None:
    with Ledger.open(site.url) as ledger:
        token = TokenStore(ledger.engine).create("soon-revoked", Role.reader)
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    page = context.new_page()
    page.goto(site.base + COMPANY_PAGE + "?as_of=2024-05-21")
    assert re.fullmatch(re.escape(site.base) + r"/sign-in\?next=.+", page.url)
    sign_in(page, "clt_not-a-token")
    assert "unknown or revoked" in (page.text_content("#refused") or "")
    page.screenshot(path=site.shots / "sign-in-refused.png", full_page=True)
    sign_in(page, token)
    assert page.url.startswith(site.base + COMPANY_PAGE + "?as_of=2024-05-21")
    (cookie,) = context.cookies()
    assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict")

    with Ledger.open(site.url) as ledger:
        TokenStore(ledger.engine).revoke("soon-revoked")
    page.goto(site.base + "/")
    assert page.url.startswith(site.base + "/sign-in?next=")
    context.close()


def test_signing_out_forgets_the_token(browser: Browser, site: Site) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(site.base + "/")
    sign_in(page, site.reader)
    assert page.url == site.base + "/"
    page.click("text=Sign out")
    assert page.url == site.base + "/sign-in"
    page.goto(site.base + "/")
    assert page.url.startswith(site.base + "/sign-in?next=")
    context.close()
