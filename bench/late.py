"""Late facts: a log where one issuance in ten is back-dated, recorded and rebuilt.

- **The log**: 60 companies of about 600 events (``--quick``: 6), issuances and transfers
  in date order, and one issuance in ten dated back to a random earlier day of its company
  (an issuance never breaks a later date). Each back-dated event changes its company's
  history from its date on, which the read models write again as known from its position.
- **record**: ``corpledger record`` of the file into a fresh database, in this process, the
  read models current on return; beside the driver writing the rows it stored (SQLite
  ``executemany``, PostgreSQL binary ``COPY`` and ``executemany``, as ``python -m bench``).
- **rebuild**: ``read_models.rebuild()`` of that log; beside the driver selecting it in pages
  of 1,000 and decoding each event with the rebuild's decoder (``bench.read_models``).

``python -m bench.late`` measures this section alone and, unless ``--quick``, writes it at
the end of ``bench/RESULTS.md`` in place of its previous figures.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from ledger import Ledger

from .measure import cli_record, log
from .read_models import raw_select_and_decode
from .stores import Engine
from .workload import _line

SECTION = "## A log with late facts"
COMPANIES, QUICK_COMPANIES = 60, 6
PER_COMPANY = 600
START = date(2010, 1, 1)


@dataclass
class Figures:
    engine: str
    events: int
    record: list[float] = field(default_factory=list)
    raw: dict[str, list[float]] = field(default_factory=dict)
    rebuild: list[float] = field(default_factory=list)
    select: list[float] = field(default_factory=list)

    def rate(self, seconds: list[float]) -> float:
        return self.events / statistics.median(seconds)


def write_late(path: Path, companies: int, seed: int = 7) -> int:
    """The log; returns its number of events."""
    rng = random.Random(seed)
    events = 0
    with path.open("w", encoding="utf-8") as out:

        def write(event: dict[str, Any]) -> None:
            nonlocal events
            out.write(_line(event))
            events += 1

        for n in range(companies):
            company = f"co{n:02d}"
            on = START.isoformat()
            write({"type": "CompanyRegistered", "company": company, "name": company.title(),
                   "effective_date": on})  # fmt: skip
            write({"type": "ShareClassCreated", "company": company, "share_class": "common",
                   "name": "Common", "kind": "common", "effective_date": on})  # fmt: skip
            held = {"founder": 1_000_000}
            write(_issued(company, "founder", 1_000_000, START))
            day = START
            for _ in range(PER_COMPANY - 3):
                day += timedelta(days=rng.randint(0, 2))
                party = f"p{rng.randint(1, 60)}"
                if rng.random() < 0.1:
                    back = START + timedelta(days=rng.randint(0, (day - START).days))
                    write(_issued(company, party, rng.randint(1, 900), back))
                    held[party] = held.get(party, 0) + 1  # at least: held from `back` on
                elif rng.random() < 0.5:
                    write(_issued(company, party, rng.randint(1, 900), day))
                    held[party] = held.get(party, 0) + 1
                else:
                    giver = rng.choice(sorted(p for p, n in held.items() if n > 0))
                    if giver == party:
                        continue
                    write({"type": "SharesTransferred", "company": company, "from": giver,
                           "to": party, "share_class": "common", "shares": 1,
                           "effective_date": day.isoformat()})  # fmt: skip
                    held[giver] -= 1
                    held[party] = held.get(party, 0) + 1
    return events


def _issued(company: str, holder: str, shares: int, on: date) -> dict[str, Any]:
    return {
        "type": "SharesIssued",
        "company": company,
        "holder": holder,
        "share_class": "common",
        "shares": shares,
        "effective_date": on.isoformat(),
    }


def measure(engine: Engine, path: Path, events: int, repeat: int) -> Figures:
    figures = Figures(engine.name, events)
    rows: list[Any] = []
    for run in range(1, repeat + 1):
        url = engine.fresh()
        try:
            started = time.perf_counter()
            cli_record(url, path, project=True)
            figures.record.append(time.perf_counter() - started)
            with Ledger.open(url) as ledger:
                read_models = ledger.read_models
                assert read_models is not None, "the read models are not installed"
                if read_models.tracked() != ledger.known_position():
                    raise RuntimeError(f"{engine.name}: the read models are behind the log")
                started = time.perf_counter()
                read_models.rebuild()
                figures.rebuild.append(time.perf_counter() - started)
            selected, seconds = raw_select_and_decode(url)
            assert selected == events, (selected, events)
            figures.select.append(seconds)
            if not rows:
                rows = engine.stored_rows(url)
        finally:
            engine.drop(url)
        for writer, write in engine.raw_writers().items():
            url = engine.fresh()
            try:
                figures.raw.setdefault(writer, []).append(write(url, rows))
            finally:
                engine.drop(url)
        log(
            f"  {engine.name} run {run}: record {figures.record[-1]:.2f} s, rebuild "
            f"{figures.rebuild[-1]:.2f} s (raw select+decode {figures.select[-1]:.2f} s)"
        )
    return figures


def markdown(
    results: list[Figures],
    companies: int,
    table: Callable[[list[str], list[list[str]]], list[str]],
    heading: list[str],
) -> list[str]:
    rows = []
    for f in results:
        for writer in f.raw:
            raw = f.rate(f.raw[writer])
            rows.append([f.engine, "`corpledger record`", f"{f.rate(f.record):,.0f}", writer,
                         f"{raw:,.0f}", f"{f.rate(f.record) / raw:.2f}"])  # fmt: skip
        select = f.rate(f.select)
        rows.append([f.engine, "rebuild", f"{f.rate(f.rebuild):,.0f}", "select + decode",
                     f"{select:,.0f}", f"{f.rate(f.rebuild) / select:.2f}"])  # fmt: skip
    what = (
        f"A log of {results[0].events:,} events of {companies} companies, one issuance in ten "
        "back-dated to a random earlier day of its company: `corpledger record` of it into "
        "a fresh database (read models current on return) beside the driver writing the "
        "rows it stored, and a rebuild of its read models beside the driver selecting and "
        "decoding the log (events/s, median; no target)."
    )
    return [
        "",
        SECTION,
        "",
        *heading,
        what,
        "",
        *table(["engine", "what", "events/s", "raw", "raw events/s", "ratio"], rows),
    ]


def main(argv: list[str] | None = None) -> int:
    from .sections import SectionRun

    run = SectionRun(
        "late",
        "A log with back-dated events, recorded and rebuilt, beside the raw driver; "
        "written at the end of bench/RESULTS.md (not with --quick unless --output is given).",
        "fewer companies",
        "runs",
        sys.argv[1:] if argv is None else argv,
    )
    companies = QUICK_COMPANIES if run.quick else COMPANIES
    with tempfile.TemporaryDirectory(prefix="corpledger-bench-") as tmp:
        path = Path(tmp) / "late.jsonl"
        events = write_late(path, companies)
        results = run.on_engines(Path(tmp), lambda e: measure(e, path, events, run.repeat))
    run.publish(
        SECTION,
        "fewer companies, a smoke test.",
        f"; median of {run.repeat} runs",
        lambda table, heading: markdown(results, companies, table, heading),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
