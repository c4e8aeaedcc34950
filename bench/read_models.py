"""The read models' figures (issue 3), each beside the raw driver in the same run.

- **Rebuild throughput**: ``read_models.rebuild()`` of the multi-company file (every table
  cleared, then the log projected in batches of 1,000, one transaction each), beside the raw
  driver selecting the same rows in pages of 1,000 and decoding each state with the decoder
  the rebuild uses (``decode_state``: pydantic-core).
- **Cap-table latency** of one company with 1,000 holders (``big-corp``) from the read models,
  ``ledger.cap_table(company, as_of=d)`` for random dates, with 100,000 and then 1,000,000
  events in the store (the other events: filler companies), beside the raw driver running
  the statements the ledger runs for it (``bench.raw_reads``: the same SQL, index hint
  included, valuation and instruments too, same driver and connection settings), the two
  alternating query by query.
- **Peak memory** of a rebuild of the 1,000,000-event store, in a process of its own (its
  maximum resident set size, the interpreter and imports included).

``python -m bench.read_models --rebuild-memory URL`` is that process.
"""

from __future__ import annotations

import json
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg

from ledger import Ledger
from ledger.app import gc_paused
from ledger.files import read_items
from ledger.persistence.mapper import decode_state

from .measure import Busy, log
from .raw_reads import alternating, cap_table_reads
from .stores import Engine
from .workload import START, EventFile, _line

BIG_COMPANY = "big-corp"
BIG_HOLDERS = 1_000
BIG_EVENTS = 10_000
RECORD_BATCH = 50_000
REBUILD_MEMORY_MB = 500.0
REBUILD_RATE = 50_000.0
LATENCY_P50_MS = 5.0
LATENCY_GROWTH = 1.5


def p99(seconds: list[float]) -> float:
    """The 99th percentile, nearest rank."""
    return sorted(seconds)[max(0, round(len(seconds) * 0.99) - 1)]


@dataclass
class Rebuild:
    engine: str
    events: int
    seconds: list[float] = field(default_factory=list)
    raw: list[float] = field(default_factory=list)
    busy: list[float] = field(default_factory=list)
    """The machine's CPU seconds during each rebuild (``measure.Busy``)."""

    @property
    def rate(self) -> float:
        return self.events / statistics.median(self.seconds)

    @property
    def raw_rate(self) -> float:
        return self.events / statistics.median(self.raw)


@dataclass
class BigLatency:
    engine: str
    store_events: int
    company_events: int
    rows: int
    catch_up_seconds: float
    queries: list[float]
    raw: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.queries)

    @property
    def p99(self) -> float:
        return p99(self.queries)

    @property
    def raw_p50(self) -> float:
        return statistics.median(self.raw)


@dataclass
class Memory:
    engine: str
    events: int
    peak_mb: float
    seconds: float


@dataclass
class ReadModelResults:
    rebuild: dict[str, Rebuild] = field(default_factory=dict)
    latency: dict[str, list[BigLatency]] = field(default_factory=dict)
    memory: dict[str, Memory] = field(default_factory=dict)


# --- workload ---


def write_big(
    path: Path, holders: int = BIG_HOLDERS, events: int = BIG_EVENTS, company: str = BIG_COMPANY
) -> EventFile:
    """One company: a share issuance to each of ``holders`` parties, then issuances and
    transfers among them in date order (a transfer never exceeds its sender's holding)."""
    rng = random.Random(5)
    held: dict[str, int] = {}
    day = START
    with path.open("w", encoding="utf-8") as out:
        out.write(
            _line(
                {
                    "type": "CompanyRegistered",
                    "company": company,
                    "name": company.replace("-", " ").title(),
                    "effective_date": day.isoformat(),
                }
            )
        )
        out.write(_line({"type": "ShareClassCreated", "company": company,
                         "share_class": "common", "name": "Common Stock", "kind": "common",
                         "effective_date": day.isoformat()}))  # fmt: skip
        for n in range(2, events):
            day = START + timedelta(days=n // 3)
            if n - 2 < holders:
                holder = f"holder-{n - 2:04d}"
            elif rng.random() < 0.5:
                holder = f"holder-{rng.randrange(holders):04d}"
            else:
                sender = f"holder-{rng.randrange(holders):04d}"
                receiver = f"holder-{rng.randrange(holders):04d}"
                if sender != receiver and held[sender] > 1:
                    shares = rng.randint(1, held[sender] // 2)
                    held[sender] -= shares
                    held[receiver] += shares
                    out.write(
                        _line(
                            {
                                "type": "SharesTransferred",
                                "company": company,
                                "from": sender,
                                "to": receiver,
                                "share_class": "common",
                                "shares": shares,
                                "effective_date": day.isoformat(),
                            }
                        )
                    )
                    continue  # fmt: skip
                holder = receiver
            shares = rng.randint(100, 10_000)
            held[holder] = held.get(holder, 0) + shares
            out.write(_line({"type": "SharesIssued", "company": company, "holder": holder,
                             "share_class": "common", "shares": shares,
                             "effective_date": day.isoformat()}))  # fmt: skip
    return EventFile(path, events, 1, START, day)


def write_filler(path: Path, prefix: str, companies: int, per_company: int = 100) -> EventFile:
    """``companies`` small companies of ``per_company`` events (as ``write_multi``)."""
    rng = random.Random(prefix)
    last = START
    with path.open("w", encoding="utf-8") as out:
        for number in range(companies):
            company = f"{prefix}{number:05d}"
            day = START + timedelta(days=number % 365)
            out.write(
                _line(
                    {
                        "type": "CompanyRegistered",
                        "company": company,
                        "name": company,
                        "effective_date": day.isoformat(),
                    }
                )
            )
            out.write(_line({"type": "ShareClassCreated", "company": company,
                             "share_class": "common", "name": "Common", "kind": "common",
                             "effective_date": day.isoformat()}))  # fmt: skip
            for _ in range(per_company - 2):
                day += timedelta(days=rng.randint(1, 5))
                out.write(_line({"type": "SharesIssued", "company": company,
                                 "holder": f"h{rng.randint(1, 4)}", "share_class": "common",
                                 "shares": rng.randint(1, 10_000),
                                 "effective_date": day.isoformat()}))  # fmt: skip
            last = max(last, day)
    return EventFile(path, companies * per_company, companies, START, last)


def record(url: str, path: Path) -> None:
    """Record a file without projecting, a ledger per batch (keeps the process small)."""
    items = read_items(str(path))
    while True:
        batch = [item for _, item in zip(range(RECORD_BATCH), items, strict=False)]
        if not batch:
            return
        with Ledger.open(url) as ledger:
            ledger.record(batch, actor="bench", project=False)


# --- raw driver ---


def _raw_connect(url: str) -> Any:
    if url.startswith("sqlite:///"):
        return sqlite3.connect(url.removeprefix("sqlite:///"))
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))


def raw_select_and_decode(url: str) -> tuple[int, float]:
    """The raw driver reading the whole log in pages of 1,000 and decoding each state with the
    rebuild's decoder (``decode_state``: pydantic-core, the events' one schema), the garbage
    collector paused as the rebuild pauses it."""
    sqlite = url.startswith("sqlite:///")
    position = "rowid" if sqlite else "notification_id"
    mark = "?" if sqlite else "%s"
    conn = _raw_connect(url)
    try:
        started = time.perf_counter()
        after, rows = 0, 0
        while True:
            cur = conn.cursor()
            cur.execute(
                f"SELECT {position}, originator_id, originator_version, state FROM stored_events "
                f"WHERE {position} > {mark} ORDER BY {position} LIMIT 1000",
                (after,),
            )
            page = cur.fetchall()
            if not page:
                break
            with gc_paused():
                for row in page:
                    decode_state(bytes(row[3]))
            rows += len(page)
            after = page[-1][0]
        return rows, time.perf_counter() - started
    finally:
        conn.close()


# --- measurements ---


def rebuild_throughput(engine: Engine, file: EventFile, repeat: int) -> Rebuild:
    result = Rebuild(engine.name, file.events)
    url = engine.fresh()
    try:
        record(url, file.path)
        with Ledger.open(url) as ledger:
            read_models = ledger.read_models
            assert read_models is not None
            for run in range(1, repeat + 1):
                busy = Busy()
                busy.start()
                started = time.perf_counter()
                read_models.rebuild()
                result.seconds.append(time.perf_counter() - started)
                busy.stop()
                if busy.seconds is not None:
                    result.busy.append(busy.seconds)
                rows, seconds = raw_select_and_decode(url)
                assert rows == file.events, (rows, file.events)
                result.raw.append(seconds)
                log(
                    f"  {engine.name} rebuild run {run}: {result.seconds[-1]:.2f} s; raw "
                    f"select+decode {seconds:.2f} s"
                )
    finally:
        engine.drop(url)
    return result


def _latency(
    engine: Engine, url: str, big: EventFile, store_events: int, queries: int
) -> BigLatency:
    rng = random.Random(11)
    span = (big.last_date - big.first_date).days
    dates = [big.first_date + timedelta(days=rng.randint(0, span)) for _ in range(queries)]
    with Ledger.open(url) as ledger:
        read_models = ledger.read_models
        assert read_models is not None
        started = time.perf_counter()
        read_models.catch_up()
        caught_up = time.perf_counter() - started
        vacuum(url)
        assert len(ledger.cap_table(BIG_COMPANY, as_of=big.last_date).holders) == BIG_HOLDERS
        read, close = cap_table_reads(url, BIG_COMPANY)
        try:
            assert read(big.last_date) == BIG_HOLDERS
            timings, raw = alternating(
                lambda d: ledger.cap_table(BIG_COMPANY, as_of=d), read, dates
            )
        finally:
            close()
        with ledger.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                f"SELECT COUNT(*) FROM cap_table_history WHERE company = '{BIG_COMPANY}'"
            ).scalar()
    result = BigLatency(
        engine.name, store_events, big.events, int(rows or 0), caught_up, timings, raw
    )
    log(
        f"  {engine.name} cap-table of {BIG_COMPANY} with {store_events:,} events stored: p50 "
        f"{result.p50 * 1000:.2f} ms (raw reads {result.raw_p50 * 1000:.2f} ms); catch-up "
        f"{caught_up:.1f} s"
    )
    return result


def vacuum(url: str) -> None:
    """PostgreSQL: what autovacuum does to freshly written tables within a minute or so (the
    visibility map lets the covering index answer without visiting the table)."""
    if url.startswith("sqlite:///"):
        return
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE cap_table_history")
        conn.execute("VACUUM ANALYZE valuation_history")


def rebuild_memory(url: str, events: int, engine: str) -> Memory:
    done = subprocess.run(
        [sys.executable, "-m", "bench.read_models", "--rebuild-memory", url],
        capture_output=True,
        text=True,
        check=True,
    )
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    return Memory(engine, events, measured["peak_mb"], measured["seconds"])


def big_company(
    engine: Engine, directory: Path, small: int, large: int, queries: int
) -> tuple[list[BigLatency], Memory]:
    """The 1,000-holder company's latency with ``small`` then ``large`` events stored, and
    the peak memory of rebuilding the large store."""
    big = write_big(directory / "big.jsonl")
    first = write_filler(directory / "filler-1.jsonl", "f", (small - big.events) // 100)
    second = write_filler(directory / "filler-2.jsonl", "g", (large - small) // 100)
    url = engine.fresh()
    try:
        log(f"  {engine.name}: recording {small:,} events ({BIG_COMPANY} and filler)")
        record(url, big.path)
        record(url, first.path)
        latencies = [_latency(engine, url, big, big.events + first.events, queries)]
        log(f"  {engine.name}: recording {second.events:,} more events")
        record(url, second.path)
        total = big.events + first.events + second.events
        latencies.append(_latency(engine, url, big, total, queries))
        log(f"  {engine.name}: rebuilding {total:,} events in a process of its own")
        memory = rebuild_memory(url, total, engine.name)
        log(f"  {engine.name}: peak {memory.peak_mb:.0f} MB, {memory.seconds:.1f} s")
        return latencies, memory
    finally:
        engine.drop(url)


# --- the report ---


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def targets(results: ReadModelResults) -> list[list[str]]:
    rows = []
    for name, r in results.rebuild.items():
        ok = r.rate >= REBUILD_RATE
        rows.append(
            [
                f"rebuild of {r.events:,} events ≥ {REBUILD_RATE:,.0f} events/s",
                name,
                f"{r.rate:,.0f} events/s ({r.rate / r.raw_rate:.2f} of raw select+decode)",
                "**met**" if ok else "**not met**",
            ]
        )
    for name, measured in results.latency.items():
        for lat in measured:
            rows.append(
                [
                    f"cap-table p50 ≤ {LATENCY_P50_MS:g} ms, {BIG_HOLDERS:,} holders, "
                    f"{lat.store_events:,} events stored",
                    name,
                    f"{lat.p50 * 1000:.2f} ms",
                    "**met**" if lat.p50 * 1000 <= LATENCY_P50_MS else "**not met**",
                ]
            )
        if len(measured) == 2:
            growth = measured[1].p50 / measured[0].p50
            rows.append(
                [
                    f"p50 with {measured[1].store_events:,} within {LATENCY_GROWTH}× of "
                    f"{measured[0].store_events:,}",
                    name,
                    f"{growth:.2f}×",
                    "**met**" if growth <= LATENCY_GROWTH else "**not met**",
                ]
            )
    for name, m in results.memory.items():
        rows.append(
            [
                f"peak memory of a {m.events:,}-event rebuild ≤ {REBUILD_MEMORY_MB:.0f} MB",
                name,
                f"{m.peak_mb:.0f} MB",
                "**met**" if m.peak_mb <= REBUILD_MEMORY_MB else "**not met**",
            ]
        )
    return rows


def beside_raw(what: str, results: dict[str, Rebuild]) -> tuple[list[str], list[list[str]]]:
    """The header and rows of a table of ``what``'s rate beside the raw select+decode."""
    header = ["engine", "events", what, "raw select+decode", f"{what}/raw", "seconds"]
    rows = [
        [
            name,
            f"{r.events:,}",
            f"{r.rate:,.0f}",
            f"{r.raw_rate:,.0f}",
            f"{r.rate / r.raw_rate:.2f}",
            ", ".join(f"{s:.2f}" for s in r.seconds),
        ]
        for name, r in results.items()
    ]
    return header, rows


def markdown(results: ReadModelResults, table: Any) -> list[str]:
    """The read models' section of RESULTS.md (``table`` renders a Markdown table)."""
    if not (results.rebuild or results.latency or results.memory):
        return []
    out = ["", "## Targets of issue 3 (read models)", ""]
    out += table(["target", "engine", "measured", ""], targets(results))
    if results.rebuild:
        out += [
            "",
            "## Read-model rebuild (events/s; median of the runs)",
            "",
            "`read_models.rebuild()` of the multi-company file: every table cleared, then the "
            "log projected in batches of 1,000 events, one transaction each (rows and tracking "
            "positions). Raw: the driver selecting the same rows in pages of 1,000 and "
            "decoding each state with the rebuild's decoder (`decode_state`: pydantic-core, "
            "the garbage collector paused as in the rebuild), on the same database in the "
            "same run.",
            "",
        ]
        out += table(*beside_raw("rebuild", results.rebuild))
    if results.latency:
        out += [
            "",
            f"## Cap-table latency of a {BIG_HOLDERS:,}-holder company from the read models (ms)",
            "",
            f"`ledger.cap_table('{BIG_COMPANY}', as_of=d)` on a warm ledger for random dates "
            f"over the company's history ({BIG_EVENTS:,} events: an issuance to each holder, "
            "then issuances and transfers in date order), with filler companies making up the "
            "store. The catch-up of the store's events is timed apart; on PostgreSQL the "
            "tables are then vacuumed and analyzed, as autovacuum soon does. Raw: the driver "
            "running the statements the ledger runs for the query in its read transaction "
            "(`bench.raw_reads`: the probe, then the holdings through the same index, the "
            "valuation, instruments, plans, names and award counts; the same driver and "
            "connection settings), every row fetched, no report built; the two sides "
            "alternate query by query.",
            "",
        ]
        out += table(
            [
                "engine",
                "events stored",
                "company rows",
                "p50",
                "p99",
                "raw reads p50",
                "catch-up s",
            ],
            [
                [
                    name,
                    f"{lat.store_events:,}",
                    f"{lat.rows:,}",
                    _ms(lat.p50),
                    _ms(lat.p99),
                    _ms(lat.raw_p50),
                    f"{lat.catch_up_seconds:.1f}",
                ]
                for name, measured in results.latency.items()
                for lat in measured
            ],
        )
    if results.memory:
        out += [
            "",
            "## Peak memory of a full rebuild",
            "",
            "`read_models.rebuild()` in a process of its own on the large store; its peak "
            "resident set size (Linux `VmHWM`), interpreter and imports included.",
            "",
        ]
        out += table(
            ["engine", "events", "peak MB", "seconds"],
            [
                [name, f"{m.events:,}", f"{m.peak_mb:.0f}", f"{m.seconds:.1f}"]
                for name, m in results.memory.items()
            ],
        )
    return out


def _rebuild_in_this_process(url: str) -> None:
    with Ledger.open(url) as ledger:
        read_models = ledger.read_models
        assert read_models is not None
        started = time.perf_counter()
        read_models.rebuild()
        seconds = time.perf_counter() - started
    print(json.dumps({"peak_mb": peak_megabytes(), "seconds": seconds}))


def peak_megabytes() -> float:
    """This process's peak resident set size. Linux's ``VmHWM`` belongs to the program now
    running; ``ru_maxrss`` survives ``exec`` and so may be the parent's, from before it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--rebuild-memory":
        _rebuild_in_this_process(sys.argv[2])
    else:
        raise SystemExit("usage: python -m bench.read_models --rebuild-memory URL")
