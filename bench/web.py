"""The company page's figures (issue 14), on SQLite: a 1,000-holder company.

- **Render**: ``render_company_page`` as a server would call it (assets from a URL), after a
  write (a valuation: every step of the view is folded again) and once more (the view's data
  kept), beside the API's JSON answer of the same view for one date and position (cap table,
  grants, roster, board and history, each ``model_dump_json``): what a page of one step costs.
- **Report file**: the size of ``corpledger report``'s self-contained file, and of the data it
  embeds for every (date, position) cell.
- **Slider step**: the redraw of one step in Chromium (``performance.now()`` around the
  redraw, read from the page), stepping the date slider and the known-at slider to random
  steps. Skipped when no Chromium is installed.
- **Served page** (``corpledger serve``): ``render_served_page`` after a write (it embeds the
  cell shown alone), the cell and the known-at step's line its sliders fetch
  (``view_cells``), beside the API's JSON of the same step; then, against a real server
  (``corpledger serve --no-auth``), a slider step in Chromium from the move to the step's
  tables drawn (``data-step-ms``: the fetch included) and to its charts (``data-charted-ms``).

The company: 1,000 holders need 1,000 issuances; after them come 200 more events (issuances
and transfers), one recording per event, over about 400 effective dates
(``read_models.write_big``). ``python -m bench.web`` prints the section; it writes no file.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from ledger import Ledger
from ledger.files import read_items
from ledger.web.view import company_view, render_company_page, render_served_page, view_cells

from . import report
from .measure import log
from .read_models import write_big

COMPANY = "web-corp"
HOLDERS = 1_000
MORE_EVENTS = 200
"""Events after each holder's first issuance."""
PAGE_TARGET_MS = 150.0
REDRAW_TARGET_MS = 300.0
CHROMIUM = Path("/usr/bin/chromium")


@dataclass
class WebResults:
    holders: int
    events: int
    dates: int
    positions: int
    snapshots: int
    page: list[float] = field(default_factory=list)
    again: list[float] = field(default_factory=list)
    api: list[float] = field(default_factory=list)
    report_bytes: int = 0
    data_bytes: int = 0
    redraws: list[float] = field(default_factory=list)
    browser: str = ""
    served: list[float] = field(default_factory=list)
    cell: list[float] = field(default_factory=list)
    line: list[float] = field(default_factory=list)
    served_steps: list[float] = field(default_factory=list)
    served_charts: list[float] = field(default_factory=list)


def timed(call: Callable[[], object], repeat: int) -> list[float]:
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return seconds


def api_answer(ledger: Ledger) -> str:
    """The same view's figures for one step, as the HTTP API would answer them."""
    parts = (
        ledger.cap_table(COMPANY),
        ledger.grants(COMPANY),
        ledger.roster(COMPANY),
        ledger.board(COMPANY),
        ledger.history(COMPANY),
    )
    return "[" + ",".join(part.model_dump_json() for part in parts) + "]"


def valuation(n: int, on: str) -> dict[str, object]:
    """A valuation on the company's last date: a write that adds one state."""
    return {
        "type": "ValuationRecorded",
        "company": COMPANY,
        "effective_date": on,
        "valuation": f"{1_000_000 + n} USD",
        "basis": "409a",
    }


def redraws(page_file: Path, steps: int) -> tuple[list[float], str]:
    """Milliseconds of each slider step's redraw, measured in the page."""
    from playwright.sync_api import sync_playwright

    rng = random.Random(14)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(page_file.as_uri())
        page.wait_for_selector("#chart-ownership svg")
        top = {
            name: int(page.get_attribute(f"#{name}-slider", "max") or 0)
            for name in ("date", "known")
        }
        seconds = []
        for n in range(steps):
            name = "date" if n % 2 else "known"
            page.locator(f"#{name}-slider").fill(str(rng.randint(0, top[name])))
            seconds.append(float(page.get_attribute("body", "data-redraw-ms") or "nan") / 1000)
        version = browser.version
        browser.close()
    return seconds, f"Chromium {version}"


def served_steps(url: str, steps: int) -> tuple[list[float], list[float]]:
    """Seconds from a slider's move to the step's tables, and to its charts, in Chromium
    against ``corpledger serve --no-auth`` over ``url`` (every other step a known-at one,
    which fetches its cell and line from the server)."""
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORPLEDGER_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "ledger", "--db", url, "serve", "--no-auth", "--port", str(port)],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    rng = random.Random(15)
    tables, charts = [], []
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=5).close()
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(CHROMIUM),
                args=["--headless=new", "--no-sandbox", "--disable-gpu"],
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/companies/{COMPANY}")
            page.wait_for_selector("#chart-ownership svg")
            data = page.evaluate("JSON.parse(document.querySelector('#view-data').text)")
            dates, positions = data["dates"], [r["position"] for r in data["recordings"]]
            i, j = data["start"]["date"], data["start"]["known"]
            for n in range(steps):
                if n % 2:
                    i = rng.randrange(len(dates))
                    page.locator("#date-slider").fill(str(i))
                else:
                    j = rng.randrange(len(positions))
                    page.locator("#known-slider").fill(str(j))
                shown = f"{dates[i]}@{positions[j]}"
                page.wait_for_function(f"document.body.dataset.drawn === '{shown}'")
                tables.append(float(page.get_attribute("body", "data-step-ms") or "nan") / 1000)
                if n % 2 == 0:
                    page.wait_for_function(f"document.body.dataset.charted === '{shown}'")
                    charted = page.get_attribute("body", "data-charted-ms") or "nan"
                    charts.append(float(charted) / 1000)
            browser.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    return tables, charts


def measure(home: Path, *, quick: bool, repeat: int) -> WebResults:
    holders = 100 if quick else HOLDERS
    events = 2 + holders + (20 if quick else MORE_EVENTS)
    path = home / "company.jsonl"
    write_big(path, holders=holders, events=events, company=COMPANY)
    url = f"sqlite:///{home}/web.db"
    log(f"recording {events} events, one recording each")
    with Ledger.open(url) as ledger:
        for item in read_items(str(path)):
            ledger.record([item], actor="bench")
        ledger.cap_table(COMPANY)  # read models caught up, stream cached: a warm ledger
        view = company_view(ledger, COMPANY)
        results = WebResults(
            holders=holders,
            events=len(view["events"]),
            dates=len(view["dates"]),
            positions=len(view["recordings"]),
            snapshots=len(view["snapshots"]),
        )
        log("timing the page after a write and again, and the API's answer")
        for n in range(repeat):
            # A write (a valuation) makes the next page fold every step again.
            ledger.record([valuation(n, view["events"][-1]["effective_date"])], actor="bench")
            results.page += timed(lambda: render_company_page(ledger, COMPANY, assets_url="/a"), 1)
            results.again += timed(lambda: render_company_page(ledger, COMPANY, assets_url="/a"), 1)
            results.api += timed(lambda: api_answer(ledger), 1)
            served = partial(render_served_page, ledger, COMPANY, None, None)
            results.served += timed(
                partial(served, assets_url="/a", cells_url="/c", sign_out=True), 1
            )
            middle = ledger.known_position() // 2
            cells = partial(view_cells, ledger, COMPANY, None, middle)
            results.cell += timed(partial(cells, line=False), 1)
            results.line += timed(partial(cells, line=True), 1)
        page = render_company_page(ledger, COMPANY)
    page_file = home / "report.html"
    page_file.write_text(page, encoding="utf-8")
    results.report_bytes = len(page.encode())
    results.data_bytes = len(json.dumps(view, separators=(",", ":")).encode())
    if CHROMIUM.exists():
        log("stepping the sliders in Chromium")
        results.redraws, results.browser = redraws(page_file, 10 if quick else 40)
        log("stepping the sliders of the served page in Chromium")
        results.served_steps, results.served_charts = served_steps(url, 10 if quick else 40)
    return results


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def markdown(r: WebResults, heading: list[str]) -> list[str]:
    page, again = statistics.median(r.page), statistics.median(r.again)

    def verdict(seconds: float) -> str:
        met = "met" if seconds * 1000 <= PAGE_TARGET_MS else "not met"
        return f"target {PAGE_TARGET_MS:.0f} ms: {met}"

    lines = [
        "## Company page and report (issue 14)",
        "",
        *heading,
        f"A company of {r.holders:,} holders and {r.events:,} events: {r.dates} date steps × "
        f"{r.positions:,} known-at steps, {r.snapshots:,} distinct states. Medians of "
        f"{len(r.page)} runs on a warm ledger (SQLite).",
        "",
        "| what | time | beside |",
        "|---|---:|---|",
        f"| every step's page after a write (every step folded; assets by URL) | {ms(page)} | "
        "what a report costs |",
        f"| the same page again (the view's data kept) | {ms(again)} | |",
        f"| the API's JSON of one step (cap table, grants, roster, board, history) | "
        f"{ms(statistics.median(r.api))} | what a page of one step costs |",
        "",
        f"Report file: {r.report_bytes / 1e6:.2f} MB, of which {r.data_bytes / 1e6:.2f} MB of "
        "embedded data (the rest is plotly.js, about 4.6 MB).",
        "",
    ]
    if r.redraws:
        worst = max(r.redraws)
        met = "met" if worst * 1000 <= REDRAW_TARGET_MS else "not met"
        lines += [
            f"Slider step in {r.browser} (headless), {len(r.redraws)} random steps: median "
            f"{ms(statistics.median(r.redraws))}, worst {ms(worst)} (target "
            f"{REDRAW_TARGET_MS:.0f} ms: {met}).",
        ]
    else:
        lines.append(f"Slider step: not measured (no Chromium at {CHROMIUM}).")
    served = statistics.median(r.served)
    lines += [
        "",
        "Served by `corpledger serve` (the page embeds the cell shown; its sliders fetch the "
        "others):",
        "",
        "| what | time | beside |",
        "|---|---:|---|",
        f"| served page after a write (one cell folded; assets by URL) | {ms(served)} | "
        f"{verdict(served)} |",
        f"| the API's JSON of the same step | {ms(statistics.median(r.api))} | |",
        f"| a cell the page fetches (`view.json`) | {ms(statistics.median(r.cell))} | |",
        f"| a known-at step's line for the charts (`view.json?line=true`, {r.dates} dates) | "
        f"{ms(statistics.median(r.line))} | |",
    ]
    if r.served_steps:
        worst = max(r.served_steps)
        met = "met" if worst * 1000 <= REDRAW_TARGET_MS else "not met"
        lines += [
            "",
            f"Slider step in Chromium against the server, {len(r.served_steps)} random steps "
            f"(every other a known-at step, which fetches): to the step's tables median "
            f"{ms(statistics.median(r.served_steps))}, worst {ms(worst)} (target "
            f"{REDRAW_TARGET_MS:.0f} ms: {met}); a known-at step to its charts median "
            f"{ms(statistics.median(r.served_charts))}, worst {ms(max(r.served_charts))}.",
        ]
    return lines


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="python -m bench.web",
        description="Issue 14's figures: the company page's render time beside the API's "
        "answer, the report's size, a slider step's redraw in Chromium. Prints the section.",
    )
    parser.add_argument("--quick", action="store_true", help="a smaller company (a smoke test)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each timing (default 5)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat takes at least 1")
    started, load = report.now(), report.load_average()
    with tempfile.TemporaryDirectory(prefix="corpledger-bench-web-") as tmp:
        results = measure(Path(tmp), quick=args.quick, repeat=args.repeat)
    command = " ".join(["python -m bench.web", *argv])
    quick = "a smaller company, a smoke test." if args.quick else None
    heading = report.run_heading(started, load, command, quick)
    print("\n".join(markdown(results, heading)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
