"""Recording onto companies already recorded: the daily batch of a ledger in use.

- **The ledger**: the multi-company file (``write_multi``: 1,000 companies × 100 events;
  ``--quick``: 100 × 100) recorded by ``corpledger record`` into a fresh database, its read
  models current (untimed).
- **The batch timed**: ``corpledger record`` of a second file onto those companies, in this
  process, the read models current on return: each company's issuances again (no
  registration or class), dated after everything already recorded. Every company is
  already in the tables, so the fold starts each one from what is recorded; a fresh
  database (``python -m bench``'s figure) never does.
- **Raw**: the driver writing the rows the second batch stored into a database already
  holding the first batch's rows (written untimed, the same way), in one transaction:
  SQLite, one ``executemany`` after ``BEGIN IMMEDIATE``; PostgreSQL, binary ``COPY`` of one
  payload and ``executemany`` (as ``python -m bench``'s raw sides).

``python -m bench.onto`` measures this section alone and, unless ``--quick``, writes it at
the end of ``bench/RESULTS.md`` in place of its previous figures.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from ledger import Ledger

from .measure import cli_record, log
from .stores import Engine, Row
from .workload import EventFile, write_multi

SECTION = "## Recording onto companies already recorded"
COMPANIES, PER_COMPANY = 1_000, 100
QUICK_COMPANIES = 100


def write_more(first: EventFile, path: Path) -> EventFile:
    """``first``'s issuances again, for the same companies, each moved after ``first``'s
    last date (so every event is in order for its company)."""
    shift = timedelta(days=(first.last_date - first.first_date).days + 1)
    events, first_date, last_date = 0, date.max, date.min
    with first.path.open(encoding="utf-8") as lines, path.open("w", encoding="utf-8") as out:
        for line in lines:
            event = json.loads(line)
            if event["type"] != "SharesIssued":
                continue
            day = date.fromisoformat(event["effective_date"]) + shift
            event["effective_date"] = day.isoformat()
            out.write(json.dumps(event) + "\n")
            events += 1
            first_date, last_date = min(first_date, day), max(last_date, day)
    return EventFile(path, events, first.companies, first_date, last_date)


@dataclass
class Figures:
    engine: str
    events: int
    api: list[float] = field(default_factory=list)
    raw: dict[str, list[float]] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.events / statistics.median(self.api)

    def raw_rate(self, writer: str) -> float:
        return self.events / statistics.median(self.raw[writer])


def measure(engine: Engine, first: EventFile, second: EventFile, repeat: int) -> Figures:
    figures = Figures(engine.name, second.events)
    rows: list[Row] = []
    for run in range(1, repeat + 1):
        url = engine.fresh()
        try:
            cli_record(url, first.path, project=True)
            started = time.perf_counter()
            cli_record(url, second.path, project=True)
            figures.api.append(time.perf_counter() - started)
            with Ledger.open(url) as ledger:
                tables = ledger.read_models
                assert tables is not None, "the read models are not installed"
                last = ledger.known_position()
                if tables.tracked() != last:
                    raise RuntimeError(f"{engine.name}: the read models stand before {last}")
            if not rows:
                rows = engine.stored_rows(url)
        finally:
            engine.drop(url)
        log(f"  {engine.name} run {run}: {figures.api[-1]:.2f} s")
        before, batch = rows[: first.events], rows[first.events :]
        for writer, write in engine.raw_writers().items():
            url = engine.fresh()
            try:
                write(url, before)  # the ledger as it stood, untimed
                figures.raw.setdefault(writer, []).append(write(url, batch))
            finally:
                engine.drop(url)
    return figures


def markdown(
    results: list[Figures],
    first: EventFile,
    table: Callable[[list[str], list[list[str]]], list[str]],
    heading: list[str],
) -> list[str]:
    rows = []
    for f in results:
        for writer in f.raw:
            rows.append(
                [
                    f.engine,
                    f"{f.rate:,.0f}",
                    writer,
                    f"{f.raw_rate(writer):,.0f}",
                    f"{f.rate / f.raw_rate(writer):.2f}",
                ]
            )
    what = (
        f"`corpledger record` of {results[0].events:,} issuances onto the {first.companies:,} "
        f"companies of a ledger holding {first.events:,} events, read models current on "
        "return, beside the driver writing the same rows into a database holding the same "
        "rows before them (events/s, median)."
    )
    return [
        "",
        SECTION,
        "",
        *heading,
        what,
        "",
        *table(["engine", "record", "raw", "raw events/s", "record/raw"], rows),
    ]


def main(argv: list[str] | None = None) -> int:
    from .sections import SectionRun

    run = SectionRun(
        "onto",
        "Recording onto companies already recorded, beside the raw driver; "
        "written at the end of bench/RESULTS.md (not with --quick unless --output is given).",
        "a smaller ledger",
        "runs per side",
        sys.argv[1:] if argv is None else argv,
    )
    companies = QUICK_COMPANIES if run.quick else COMPANIES
    with tempfile.TemporaryDirectory(prefix="corpledger-bench-") as tmp:
        first = write_multi(Path(tmp) / "ledger.jsonl", companies, PER_COMPANY)
        second = write_more(first, Path(tmp) / "batch.jsonl")
        results = run.on_engines(Path(tmp), lambda e: measure(e, first, second, run.repeat))
    run.publish(
        SECTION,
        "a smaller ledger, a smoke test.",
        f"; median of {run.repeat} runs",
        lambda table, heading: markdown(results, first, table, heading),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
