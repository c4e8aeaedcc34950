"""The report file in a real browser (Chromium, from file://, no server): its figures equal
the API's, its sliders redraw and keep the URL, its charts are drawn, and stored text never
runs. Screenshots of each run go to a folder printed at the start."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from ledger import Ledger
from ledger.app import today
from ledger.cli import run
from ledger.domain.values import percent_text
from ledger.reports import CapTable
from tests.e2e.test_report import HOSTILE, record_demo


@dataclass(frozen=True)
class Report:
    url: str
    file: Path
    shots: Path


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    """The Scale AI demo, a back-dated hostile stakeholder record after it, and its report."""
    home = tmp_path_factory.mktemp("report")
    url = f"sqlite:///{home}/ledger.db"
    with Ledger.open(url) as ledger:
        record_demo(ledger)
        ledger.record([HOSTILE], actor="</script><b>actor</b>")
    out = home / "scale-ai.html"
    assert run(["--db", url, "report", "scale-ai", "--out", str(out)]) == 0
    shots = tmp_path_factory.mktemp("report-screenshots")
    print(f"\nscreenshots of the report: {shots}")
    return Report(url, out, shots)


@pytest.fixture(scope="module")
def page(browser: Browser, report: Report) -> Iterator[Page]:
    """The report open once for the module (loading plotly.js takes seconds here): each test
    sets both sliders it relies on."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    shown = context.new_page()
    open_report(shown, report)
    yield shown
    context.close()


def open_report(page: Page, report: Report, fragment: str = "") -> None:
    page.goto(report.file.as_uri() + fragment)
    page.wait_for_selector("#chart-ownership svg")


def show(page: Page, day: str, position: int) -> None:
    """Move the sliders to ``day`` and ``position``."""
    slide(page, "date", steps(page, "dates").index(day))
    slide(page, "known", [r["position"] for r in steps(page, "recordings")].index(position))


def slide(page: Page, slider: str, step: int) -> None:
    page.locator(f"#{slider}-slider").fill(str(step))


def shown_cap_table(page: Page) -> list[list[str]]:
    return list(
        page.eval_on_selector_all(
            "#cap-table tbody tr",
            "rows => rows.map(r => [...r.cells].map((c, k) => k === 0 ? c.firstChild.textContent"
            " : c.textContent))",
        )
    )


def expected(table: CapTable) -> list[list[str]]:
    def count(n: int) -> str:
        return f"{n:,}" if n else ""

    return [
        [
            h.party,
            f"{h.shares:,}",
            h.ownership_percent or "-",
            h.voting_percent or "-",
            count(h.options),
            count(h.warrants),
            f"{h.fully_diluted_shares:,}",
            h.fully_diluted_percent or "-",
        ]
        for h in table.holders
    ]


def steps(page: Page, name: str) -> list[Any]:
    """A list of the page's embedded data (``dates``, ``recordings``)."""
    return list(page.evaluate(f"JSON.parse(document.querySelector('#view-data').text).{name}"))


def test_the_report_shows_the_apis_figures_at_two_dates_and_draws_its_charts(
    page: Page, report: Report
) -> None:
    show(page, today().isoformat(), 23)
    page.screenshot(path=report.shots / "today.png", full_page=True)
    with Ledger.open(report.url) as ledger:
        now = ledger.cap_table("scale-ai", as_of=today())
        series_f = ledger.cap_table("scale-ai", as_of=date(2024, 5, 21))
    assert shown_cap_table(page) == expected(now)
    assert page.text_content("#total-shares") == f"{now.total_shares:,}"
    assert shown_cap_table(page)[0][:3] == ["meta", "15,057,095", "49.0000"]

    slide(page, "date", steps(page, "dates").index("2024-05-21"))
    assert shown_cap_table(page) == expected(series_f)
    assert "meta" not in [row[0] for row in shown_cap_table(page)]
    assert page.text_content("#when") == "As of 2024-05-21, known at position 23"
    assert "#as_of=2024-05-21&known_at=23" in page.url
    for chart in ("ownership", "dilution", "people"):
        assert page.locator(f"#chart-{chart} svg path").count() > 0, chart
    # The step was timed for the benchmark (bench.web); its speed is the benchmark's to judge.
    assert float(page.get_attribute("body", "data-redraw-ms") or "nan") >= 0
    page.screenshot(path=report.shots / "2024-05-21.png", full_page=True)


def test_the_known_at_slider_before_metas_investment_takes_meta_out_and_says_why(
    page: Page, report: Report
) -> None:
    positions = [r["position"] for r in steps(page, "recordings")]
    assert positions == list(range(1, 24))
    show(page, today().isoformat(), 23)
    slide(page, "known", positions.index(17))
    assert "meta" not in [row[0] for row in shown_cap_table(page)]
    assert re.search(r"#as_of=\d{4}-\d{2}-\d{2}&known_at=17$", page.url)
    assert page.text_content("#disagreement") == (
        "As known at position 17, before the InvestmentMade recorded at position 18 "
        "(effective 2025-06-12) and 5 later event(s) bearing on "
        f"{today().isoformat()}."
    )
    assert page.locator("#history tbody tr:visible").count() == 17
    page.screenshot(path=report.shots / "known-at-17.png", full_page=True)

    # The URL shares the view: opened at it, the page comes back to the same step.
    again = page.context.new_page()
    open_report(again, report, "#as_of=2024-05-21&known_at=17")
    assert again.get_attribute("body", "data-drawn") == "2024-05-21@17"
    assert again.input_value("#known-slider") == str(positions.index(17))
    again.close()


def test_hostile_stored_text_shows_as_text_and_runs_nothing(page: Page, report: Report) -> None:
    show(page, today().isoformat(), 23)
    assert_shown_as_text(page)


def assert_shown_as_text(page: Page) -> None:
    """The hostile record's texts and actor are on the page as text, and ran nothing."""
    assert page.evaluate("window.hacked") is None
    assert page.locator("img").count() == 0
    body = page.text_content("body") or ""
    for text in (HOSTILE["name"], HOSTILE["note"], HOSTILE["source"], "</script><b>actor</b>"):
        assert text in body
    assert page.locator("#cap-table .name", has_text="<script>").count() == 1


def test_the_pages_percentages_round_as_the_ledgers(page: Page) -> None:
    """The page derives a holder's percentages from share counts: the same half-even
    rounding to 4 decimals as the API's, ties and large counts included."""
    rng = random.Random(14)
    pairs = [(1, 2_000_000), (3, 2_000_000), (5, 2_000_000), (0, 7), (7, 7), (1, 3), (2, 3)]
    pairs += [(rng.randrange(0, whole + 1), whole) for whole in
              (rng.randrange(1, 10**rng.randrange(1, 15)) for _ in range(300))]  # fmt: skip
    shown = page.evaluate("pairs => pairs.map(([p, w]) => window.corpledgerPercent(p, w))", pairs)
    assert shown == [percent_text(part, whole) for part, whole in pairs]
