"""The company page's figures (issue 14), on SQLite: a 1,000-holder company.

- **Render**: ``render_company_page`` as a server would call it (assets from a URL), after a
  write (a valuation: every step of the view is folded again) and once more (the view's data
  kept), beside the API's JSON answer of the same view for one date and position (cap table,
  grants, roster, board and history, each ``model_dump_json``): what a page of one step costs.
- **Report file**: the size of ``corpledger report``'s self-contained file, and of the data it
  embeds for every (date, position) cell.
- **Served page** (``corpledger serve``): ``render_served_page`` right after a write (it
  embeds the cell shown alone; the company's history is read again), a cell and the line of a
  known-at step its sliders fetch (``view_cells``), beside the API's JSON of the same step.
- **Slider steps** in Chromium, in the report file (``file://``) and on the page served by
  ``corpledger serve --no-auth``: each slider moved in turn to random steps, each step timed
  in the page from the slider's move to its tables drawn (``data-step-ms``) and to the first
  frame painted with its tables and charts (``data-painted-ms``: what the reader waits for, a
  known-at step's fetches from the server included). Skipped when no Chromium is installed.

The company: 1,000 holders need 1,000 issuances; after them come 200 more events (issuances
and transfers), one recording per event, over about 400 effective dates
(``read_models.write_big``). ``python -m bench.web`` prints the section; it writes no file.
``measure`` returns the figures (``WebResults``), ``markdown`` renders them as that section.
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
from typing import Any

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
    browser: str = ""
    served: list[float] = field(default_factory=list)
    cell: list[float] = field(default_factory=list)
    line: list[float] = field(default_factory=list)
    steps: dict[tuple[str, str], Steps] = field(default_factory=dict)
    """The slider steps by (``file`` or ``served``, ``date`` or ``known``)."""


@dataclass
class Steps:
    """Seconds of each step of one slider: to its tables, and to its frame painted."""

    tables: list[float] = field(default_factory=list)
    painted: list[float] = field(default_factory=list)


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


def launch(p: Any) -> Any:
    return p.chromium.launch(
        executable_path=str(CHROMIUM),
        args=["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    )


def step_sliders(page: Any, steps: int, seed: int) -> dict[str, Steps]:
    """Move the date and the known-at slider in turn to random steps of the open page; each
    step's times as the page measured them (it is drawn and painted before the next move)."""
    rng = random.Random(seed)
    data = page.evaluate("JSON.parse(document.querySelector('#view-data').text)")
    dates, positions = data["dates"], [r["position"] for r in data["recordings"]]
    at = {"date": data["start"]["date"], "known": data["start"]["known"]}
    timed = {"date": Steps(), "known": Steps()}
    for n in range(steps):
        slider = "date" if n % 2 else "known"
        at[slider] = rng.randrange(len(dates) if slider == "date" else len(positions))
        page.locator(f"#{slider}-slider").fill(str(at[slider]))
        shown = f"{dates[at['date']]}@{positions[at['known']]}"
        page.wait_for_function(f"document.body.dataset.painted === '{shown}'")
        figures = page.evaluate("({...document.body.dataset})")
        timed[slider].tables.append(float(figures["stepMs"]) / 1000)
        timed[slider].painted.append(float(figures["paintedMs"]) / 1000)
    return timed


def file_steps(page_file: Path, steps: int) -> tuple[dict[str, Steps], str]:
    """The slider steps of the report file, and the browser's name."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(page_file.as_uri())
        page.wait_for_selector("#chart-ownership svg")
        timed = step_sliders(page, steps, 14)
        version = browser.version
        browser.close()
    return timed, f"Chromium {version}"


def served_steps(url: str, steps: int) -> dict[str, Steps]:
    """The slider steps of the page served by ``corpledger serve --no-auth`` over ``url``: a
    known-at step fetches its line (every date of it) for its tables and charts."""
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
            browser = launch(p)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/companies/{COMPANY}")
            page.wait_for_selector("#chart-ownership svg")
            timed = step_sliders(page, steps, 15)
            browser.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    return timed


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
        log("timing the pages after a write, the cells a page fetches, the API's answer")
        for n in range(repeat):
            # A write (a valuation): nothing of the company's view is kept from before it.
            ledger.record([valuation(n, view["events"][-1]["effective_date"])], actor="bench")
            served = partial(render_served_page, ledger, COMPANY, None, None)
            results.served += timed(
                partial(served, assets_url="/a", cells_url="/c", sign_out=True), 1
            )
            middle = ledger.known_position() // 2
            cells = partial(view_cells, ledger, COMPANY, None, middle)
            results.cell += timed(partial(cells, line=False), 1)
            results.line += timed(partial(cells, line=True), 1)
            results.api += timed(lambda: api_answer(ledger), 1)
            results.page += timed(lambda: render_company_page(ledger, COMPANY, assets_url="/a"), 1)
            results.again += timed(lambda: render_company_page(ledger, COMPANY, assets_url="/a"), 1)
        page = render_company_page(ledger, COMPANY)
    page_file = home / "report.html"
    page_file.write_text(page, encoding="utf-8")
    results.report_bytes = len(page.encode())
    results.data_bytes = len(json.dumps(view, separators=(",", ":")).encode())
    if CHROMIUM.exists():
        steps = 10 if quick else 40
        log("stepping the sliders of the report file in Chromium")
        timed_file, results.browser = file_steps(page_file, steps)
        log("stepping the sliders of the served page in Chromium")
        timed_served = served_steps(url, steps)
        for where, timed_steps in (("file", timed_file), ("served", timed_served)):
            for slider, slider_steps in timed_steps.items():
                results.steps[where, slider] = slider_steps
    return results


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def markdown(r: WebResults, heading: list[str]) -> list[str]:
    def verdict(seconds: list[float], target: float, *, worst_too: bool) -> str:
        met = statistics.median(seconds) * 1000 <= target
        met = met and (max(seconds) * 1000 <= target or not worst_too)
        within = "median and worst" if worst_too else "median"
        return f"target {target:.0f} ms ({within}): {'met' if met else 'not met'}"

    served, api = statistics.median(r.served), statistics.median(r.api)
    page_verdict = verdict(r.served, PAGE_TARGET_MS, worst_too=False)
    lines = [
        "## Company page and report (issue 14)",
        "",
        *heading,
        f"A company of {r.holders:,} holders and {r.events:,} events: {r.dates} date steps × "
        f"{r.positions:,} known-at steps, {r.snapshots:,} distinct states. Medians of "
        f"{len(r.page)} runs on a warm ledger (SQLite), each right after a write.",
        "",
        "| what | time | beside |",
        "|---|---:|---|",
        f"| served page (`corpledger serve`: the cell shown embedded; assets by URL) | "
        f"{ms(served)} (worst {ms(max(r.served))}) | {page_verdict}; "
        f"{served / api:.1f}× the API's JSON |",
        f"| the API's JSON of the same step (cap table, grants, roster, board, history) | "
        f"{ms(api)} | |",
        f"| a cell the served page fetches (`view.json`) | {ms(statistics.median(r.cell))} | |",
        f"| a known-at step's line, its tables and charts (`view.json?line=true`, {r.dates} "
        "dates) | "
        f"{ms(statistics.median(r.line))} (worst {ms(max(r.line))}) | |",
        f"| the report's page (every step folded; assets by URL) | "
        f"{ms(statistics.median(r.page))} | what `corpledger report` costs |",
        f"| the same page again (the view's data kept) | {ms(statistics.median(r.again))} | |",
        "",
        f"Report file: {r.report_bytes / 1e6:.2f} MB, of which {r.data_bytes / 1e6:.2f} MB of "
        "embedded data (the rest is plotly.js, about 4.6 MB).",
        "",
    ]
    if not r.steps:
        return [*lines, f"Slider steps: not measured (no Chromium at {CHROMIUM})."]
    lines += [
        f"Slider steps in {r.browser} (headless), each slider moved to random steps in turn, "
        "timed in the page from the move; a served known-at step fetches its line from the "
        "server:",
        "",
        "| page | slider | steps | to its tables | to its frame painted (tables and charts) "
        "| worst | |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for (where, slider), steps in r.steps.items():
        step_verdict = verdict(steps.painted, REDRAW_TARGET_MS, worst_too=True)
        lines.append(
            f"| {'report file' if where == 'file' else 'served'} | "
            f"{'date' if slider == 'date' else 'known-at'} | {len(steps.painted)} | "
            f"{ms(statistics.median(steps.tables))} | {ms(statistics.median(steps.painted))} | "
            f"{ms(max(steps.painted))} | {step_verdict} |"
        )
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
