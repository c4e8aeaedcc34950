"""The equity instruments' figures (issue 11), each beside the raw driver in the same run.

- **Cap-table latency with grants**: one store holding two companies with the same share
  history (``write_big``: 1,000 holders, 10,000 events), one of them also with a stock plan and
  1,000 option grants with vesting to its holders, a third of them exercised, and filler
  companies making up the store. ``ledger.cap_table(company, as_of=d)`` on a warm ledger for
  random dates, the two companies alternating on each date; and ``ledger.grants`` of the
  company with grants. Raw: the driver running the SELECTs the read models run for the same
  answer (the same rows fetched, no report built).
- **Before and after** (``bench/before_after.py``): recording and rebuilding the
  multi-company file with this checkout's code and another's (the code before issue 11).

``python -m bench.instruments`` measures this section alone and, unless ``--quick``, writes it
at the end of ``bench/RESULTS.md`` in place of its previous figures; ``python -m bench`` runs
it with the rest.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg

from ledger import Ledger
from projections.history import CAP_TABLE, POOL, SECURITY, STAKEHOLDER, VALUATION, Shape

from . import before_after
from .measure import log
from .read_models import BIG_EVENTS, BIG_HOLDERS, p99, record, vacuum, write_big, write_filler
from .stores import Engine
from .workload import START, EventFile, _line, write_multi

PLAIN = "plain-corp"
GRANTED = "granted-corp"
PLAN = "plan-2001"
GRANTS = 1_000
EXERCISED_EVERY = 3
"""Every third grant is exercised in part, once fully vested."""
RATIO_TARGET = 1.5
"""Issue 11: the cap table of a company with grants has a p50 within 1.5× of one without."""
SLOWER_TARGET = 0.15
"""Issue 11: recording and rebuilding are no more than 15% slower than before it."""

CAP_TABLE_SHAPES = (CAP_TABLE, VALUATION, SECURITY, POOL, STAKEHOLDER)
"""The tables ``cap_table`` reads (projections/queries.py); ``grants`` reads the last three."""
GRANTS_SHAPES = (SECURITY, POOL, STAKEHOLDER)


@dataclass
class GrantLatency:
    engine: str
    store_events: int
    plain_events: int
    granted_events: int
    catch_up_seconds: float
    plain: list[float] = field(default_factory=list)
    granted: list[float] = field(default_factory=list)
    grants: list[float] = field(default_factory=list)
    raw_plain: list[float] = field(default_factory=list)
    raw_granted: list[float] = field(default_factory=list)
    raw_grants: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return p50(self.granted) / p50(self.plain)


@dataclass
class InstrumentResults:
    latency: dict[str, GrantLatency] = field(default_factory=dict)
    compared: dict[str, before_after.Comparison] = field(default_factory=dict)


def p50(seconds: list[float]) -> float:
    return statistics.median(seconds)


# --- workload ---


def _instruments(rng: random.Random) -> list[dict[str, Any]]:
    """The plan's grants, one to each holder, granted on days 400 to about 1,800 of the share
    history (the holders hold shares by then), vesting over 48 months after a 12-month cliff,
    expiring after ten years; every third one half exercised 1,470 days after its grant (fully
    vested, within the history's 3,333 days)."""
    out: list[dict[str, Any]] = []
    for number in range(GRANTS):
        granted = START + timedelta(days=400 + number * 7 // 5)
        grant = f"grant-{number:04d}"
        quantity = rng.randint(1_000, 20_000)
        out.append(
            {
                "type": "OptionGranted",
                "company": GRANTED,
                "grant": grant,
                "holder": f"holder-{number % BIG_HOLDERS:04d}",
                "plan": PLAN,
                "quantity": quantity,
                "exercise_price": "0.25 USD",
                "expiration_date": (granted + timedelta(days=3_650)).isoformat(),
                "vesting": {"start": granted.isoformat(), "months": 48, "cliff_months": 12},
                "effective_date": granted.isoformat(),
            }
        )
        if number % EXERCISED_EVERY == 0:
            out.append(
                {
                    "type": "OptionExercised",
                    "company": GRANTED,
                    "grant": grant,
                    "quantity": quantity // 2,
                    "effective_date": (granted + timedelta(days=1_470)).isoformat(),
                }
            )
    return sorted(out, key=lambda e: e["effective_date"])


def write_companies(directory: Path) -> tuple[EventFile, EventFile]:
    """The company without grants and the one with them: the same share history (another
    name), the second also with a plan created after its class and the grants in date order."""
    plain = write_big(directory / "plain.jsonl", company=PLAIN)
    shares = write_big(directory / "granted-shares.jsonl", company=GRANTED)
    events = [json.loads(line) for line in shares.path.read_text(encoding="utf-8").splitlines()]
    shares.path.unlink()
    plan = {
        "type": "StockPlanCreated",
        "company": GRANTED,
        "plan": PLAN,
        "name": "2001 Stock Plan",
        "share_class": "common",
        "reserved": 20_000 * GRANTS,
        "effective_date": START.isoformat(),
    }
    # Stable: on a day with both, the day's share events come before its grants.
    timeline = sorted(
        events[2:] + _instruments(random.Random(13)), key=lambda e: e["effective_date"]
    )
    merged = [*events[:2], plan, *timeline]
    path = directory / "granted.jsonl"
    path.write_text("".join(_line(e) for e in merged), encoding="utf-8")
    last = date.fromisoformat(merged[-1]["effective_date"])
    return plain, EventFile(path, len(merged), 1, START, max(last, shares.last_date))


# --- raw driver ---


def _sql(shape: Shape, mark: str, hint: str = "", valid_to: str = "valid_to") -> str:
    columns = ", ".join((*shape.key_columns, *shape.value_columns))
    return (
        f"SELECT {columns} FROM {shape.table}{hint} WHERE company = {mark} AND known_to IS NULL "
        f"AND valid_from <= {mark} AND (valid_to IS NULL OR {valid_to} > {mark})"
    )


class RawReads:
    """The driver running the read models' SELECTs of a company on a date (the current
    knowledge), each fetched whole; on SQLite with valid_to compared without its affinity,
    on PostgreSQL in one pipeline and ended by a commit, as the read models send them."""

    def __init__(self, url: str) -> None:
        self.sqlite = url.startswith("sqlite:///")
        if self.sqlite:
            self.conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"))
            self.statements = {
                shape.table: _sql(
                    shape,
                    "?",
                    " INDEXED BY cap_table_history_now" if shape is CAP_TABLE else "",
                    "+valid_to",
                )
                for shape in CAP_TABLE_SHAPES
            }
        else:
            self.conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
            self.statements = {shape.table: _sql(shape, "%s") for shape in CAP_TABLE_SHAPES}

    def timed(self, shapes: tuple[Shape, ...], company: str, day: date) -> float:
        param: Any = day.isoformat() if self.sqlite else day
        started = time.perf_counter()
        if self.sqlite:
            for shape in shapes:
                self.conn.execute(self.statements[shape.table], (company, param, param)).fetchall()
        else:
            with self.conn.pipeline():
                cursors = []
                for shape in shapes:
                    cur = self.conn.cursor()
                    cur.execute(self.statements[shape.table], (company, param, param))
                    cursors.append(cur)
            for cur in cursors:
                cur.fetchall()
            self.conn.commit()
        return time.perf_counter() - started

    def close(self) -> None:
        self.conn.close()


# --- the measurement ---


def _vacuum_instruments(url: str) -> None:
    if url.startswith("sqlite:///"):
        return
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.autocommit = True
        for shape in GRANTS_SHAPES:
            conn.execute(f"VACUUM ANALYZE {shape.table}")


def grant_latency(engine: Engine, directory: Path, store_events: int, queries: int) -> GrantLatency:
    """Both companies' cap tables, and the grants, for ``queries`` random dates over their
    history, on one store of ``store_events`` events."""
    plain, granted = write_companies(directory)
    fillers = (store_events - plain.events - granted.events) // 100
    filler = write_filler(directory / "filler-instruments.jsonl", "i", max(fillers, 0))
    rng = random.Random(17)
    span = (granted.last_date - granted.first_date).days
    dates = [granted.first_date + timedelta(days=rng.randint(0, span)) for _ in range(queries)]
    url = engine.fresh()
    try:
        total = plain.events + granted.events + filler.events
        log(f"  {engine.name}: recording {total:,} events ({PLAIN}, {GRANTED} and filler)")
        for file in (plain, granted, filler):
            record(url, file.path)
        with Ledger.open(url) as ledger:
            read_models = ledger.read_models
            assert read_models is not None
            started = time.perf_counter()
            read_models.catch_up()
            result = GrantLatency(
                engine.name, total, plain.events, granted.events, time.perf_counter() - started
            )
            vacuum(url)
            _vacuum_instruments(url)
            with_grants = ledger.cap_table(GRANTED, as_of=granted.last_date)
            without = ledger.cap_table(PLAIN, as_of=granted.last_date)
            assert with_grants.fully_diluted_total > without.fully_diluted_total > 0
            assert len(ledger.grants(GRANTED, as_of=granted.last_date).grants) == GRANTS
            for day in dates:
                started = time.perf_counter()
                ledger.cap_table(PLAIN, as_of=day)
                result.plain.append(time.perf_counter() - started)
                started = time.perf_counter()
                ledger.cap_table(GRANTED, as_of=day)
                result.granted.append(time.perf_counter() - started)
            for day in dates:
                started = time.perf_counter()
                ledger.grants(GRANTED, as_of=day)
                result.grants.append(time.perf_counter() - started)
        raw = RawReads(url)
        try:
            for day in dates:
                result.raw_plain.append(raw.timed(CAP_TABLE_SHAPES, PLAIN, day))
                result.raw_granted.append(raw.timed(CAP_TABLE_SHAPES, GRANTED, day))
            for day in dates:
                result.raw_grants.append(raw.timed(GRANTS_SHAPES, GRANTED, day))
        finally:
            raw.close()
        log(
            f"  {engine.name}: cap table p50 {p50(result.granted) * 1000:.2f} ms with grants, "
            f"{p50(result.plain) * 1000:.2f} ms without ({result.ratio:.2f}×); grants p50 "
            f"{p50(result.grants) * 1000:.2f} ms; catch-up {result.catch_up_seconds:.1f} s"
        )
        return result
    finally:
        engine.drop(url)


# --- the report ---


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def _met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def targets(results: InstrumentResults) -> list[list[str]]:
    rows = []
    for name, lat in results.latency.items():
        rows.append(
            [
                f"cap-table p50 with {GRANTS:,} grants within {RATIO_TARGET}× of without "
                f"({BIG_HOLDERS:,} holders, {lat.store_events:,} events stored)",
                name,
                f"{lat.ratio:.2f}× ({_ms(p50(lat.granted))} vs {_ms(p50(lat.plain))} ms; raw SQL "
                f"{_ms(p50(lat.raw_granted))} vs {_ms(p50(lat.raw_plain))} ms)",
                _met(lat.ratio <= RATIO_TARGET),
            ]
        )
    for name, c in results.compared.items():
        for what, now, before in (
            ("recording", c.current.record, c.before.record),
            ("rebuild", c.current.rebuild, c.before.rebuild),
        ):
            slower = statistics.median(now) / statistics.median(before) - 1
            rows.append(
                [
                    f"{what} of the {c.events:,}-event file ≤ {SLOWER_TARGET:.0%} slower than "
                    "before issue 11",
                    name,
                    f"{slower:+.1%} ({c.events / statistics.median(now):,.0f} vs "
                    f"{c.events / statistics.median(before):,.0f} ev/s before)",
                    _met(slower <= SLOWER_TARGET),
                ]
            )
    return rows


def markdown(results: InstrumentResults, table: Any, heading: list[str] | None = None) -> list[str]:
    """The section of RESULTS.md (``table`` renders a Markdown table; ``heading``: lines
    saying how the section was run when it was run alone)."""
    if not (results.latency or results.compared):
        return []
    out = ["", "## Targets of issue 11 (equity instruments)", "", *(heading or [])]
    out += table(["target", "engine", "measured", ""], targets(results))
    if results.latency:
        out += [
            "",
            f"## Cap table and grants of a company with {BIG_HOLDERS:,} holders and "
            f"{GRANTS:,} grants (ms)",
            "",
            f"Two companies in one store with the same share history ({BIG_EVENTS:,} events: an "
            "issuance to each holder, then issuances and transfers in date order); "
            f"`{GRANTED}` also has a stock plan and {GRANTS:,} `OptionGranted` with vesting "
            f"(48 months, a 12-month cliff), one to each holder, one in {EXERCISED_EVERY} half "
            "exercised once vested; filler companies of 100 events make up the store. "
            "`ledger.cap_table(company, as_of=d)` on a warm ledger for random dates over the "
            "history, the two companies alternating on each date, then `ledger.grants"
            f"('{GRANTED}', as_of=d)`. On PostgreSQL the tables are vacuumed and analyzed "
            "first, as autovacuum soon does. Raw: the driver running the SELECTs the read "
            "models run for the same answer (five tables for a cap table, the instruments, "
            "plans and stakeholders for grants; PostgreSQL: in one pipeline) and fetching the "
            "rows, no report built.",
            "",
        ]
        rows = []
        for name, lat in results.latency.items():
            for query, company, events, seconds, raw in (
                ("cap_table", PLAIN, lat.plain_events, lat.plain, lat.raw_plain),
                ("cap_table", GRANTED, lat.granted_events, lat.granted, lat.raw_granted),
                ("grants", GRANTED, lat.granted_events, lat.grants, lat.raw_grants),
            ):
                rows.append(
                    [
                        name,
                        f"{lat.store_events:,}",
                        f"`{query}`",
                        f"`{company}`",
                        f"{events:,}",
                        str(len(seconds)),
                        _ms(p50(seconds)),
                        _ms(p99(seconds)),
                        _ms(p50(raw)),
                        _ms(p99(raw)),
                    ]
                )
        out += table(
            [
                "engine",
                "events stored",
                "query",
                "company",
                "its events",
                "queries",
                "p50",
                "p99",
                "raw SQL p50",
                "raw SQL p99",
            ],
            rows,
        )
    out += before_after.markdown(results.compared, table)
    return out


def measure(
    engines: list[Engine],
    directory: Path,
    *,
    quick: bool,
    repeat: int,
    queries: int,
    compare_with: Path | None,
    pg_url: str,
) -> InstrumentResults:
    """Every figure of the section on each engine (the before-and-after with ``compare_with``
    only)."""
    results = InstrumentResults()
    store = 20_000 if quick else 100_000
    for engine in engines:
        log(f"{engine.name}: cap table with {GRANTS:,} grants, {queries} queries")
        results.latency[engine.name] = grant_latency(engine, directory, store, queries)
    if compare_with is not None:
        companies = 100 if quick else 1_000
        file = write_multi(directory / "before-after.jsonl", companies, 100)
        for engine in engines:
            log(f"{engine.name}: recording and rebuilding, before issue 11 and now")
            results.compared[engine.name] = before_after.compare(
                compare_with, engine.key, file, repeat, directory, pg_url
            )
    return results


# --- run alone ---

SECTION = "## Targets of issue 11 (equity instruments)"


def write_section(path: Path, lines: list[str], heading: str = SECTION) -> None:
    """Put the section at the end of ``path``, in place of the one there (the section is the
    file's last: everything from its ``heading`` on is its own)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    kept = text.split("\n" + heading, 1)[0].rstrip("\n")
    path.write_text(kept + "\n" + "\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    from . import report
    from .__main__ import DEFAULT_OUTPUT, _default_pg_url, _open_engines

    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="python -m bench.instruments",
        description="Issue 11's figures alone, beside the raw drivers; written at the end of "
        "bench/RESULTS.md (not with --quick unless --output is given).",
    )
    parser.add_argument("--quick", action="store_true", help="a smaller store (a smoke test)")
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--pg-url", default=_default_pg_url())
    parser.add_argument("--repeat", type=int, default=3, help="runs per side (default 3)")
    parser.add_argument(
        "--compare-with",
        type=Path,
        help="a checkout of the code before issue 11, its .venv installed (make install)",
    )
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    names = [e.strip() for e in args.engines.split(",") if e.strip()]
    if not names or any(n not in ("sqlite", "postgres") for n in names) or args.repeat < 1:
        parser.error("--engines takes sqlite and/or postgres; --repeat at least 1")
    if args.compare_with is not None:
        problem = before_after.usable(args.compare_with)
        if problem:
            parser.error(problem)
    started, load = report.now(), report.load_average()
    with tempfile.TemporaryDirectory(prefix="corpledger-bench-") as tmp:
        engines = _open_engines(names, Path(tmp), args.pg_url)
        try:
            results = measure(
                engines,
                Path(tmp),
                quick=args.quick,
                repeat=args.repeat,
                queries=20 if args.quick else 200,
                compare_with=args.compare_with,
                pg_url=args.pg_url,
            )
        finally:
            for engine in engines:
                engine.close()
    heading = report.run_heading(
        started,
        load,
        " ".join(["python -m bench.instruments", *argv]),
        "a smaller store, a smoke test." if args.quick else None,
        ", apart from the sections above",
    )
    lines = markdown(results, report.table, heading)
    print("\n".join(lines))
    output: Path | None = args.output or (None if args.quick else DEFAULT_OUTPUT)
    if output is not None:
        write_section(output, lines)
        log(f"wrote the section into {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
