"""Issue 5's figures, each beside the raw driver in the same run.

- **A million events**: the multi-company workload ten times over (10,000 companies × 100),
  generated into the benchmark's temp directory, recorded by ``corpledger record`` (in a
  process of its own: its rate, and its peak resident set size, Linux ``VmHWM``).
- **Reading back**: ``ledger.replay.fold_log`` (the whole log read in position order,
  every state decoded by pydantic, every company folded), beside the driver selecting the
  same states in position order and decoding each with the ledger's own decoder
  (``decode_state``: pydantic-core, the one schema), the collector paused as ``fold_log``
  pauses it.
- **One event**: ``ledger.record([event])`` in-process on a warm ledger, one call at a
  time (with and without bringing the read models up to date), beside the driver inserting
  one row per transaction on a warm connection.

``python -m bench.bulk --record URL PATH`` is the million-event process.
"""

from __future__ import annotations

import gc
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger import Ledger
from ledger.app import gc_paused
from ledger.persistence.mapper import decode_state
from ledger.replay import fold_log

from .measure import cli_record, log
from .read_models import Rebuild, beside_raw, peak_megabytes
from .stores import Engine
from .workload import EventFile, write_multi

LARGE_EVENTS = 1_000_000
LARGE_MEMORY_MB = 1024.0
LARGE_RATE_DRIFT = 0.2
READBACK_RATE = 200_000.0
ONE_EVENT_P50_MS = {"SQLite": 5.0, "PostgreSQL": 10.0}
ACTOR = "bench"


@dataclass
class Large:
    engine: str
    events: int
    seconds: float
    peak_mb: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds


Readback = Rebuild
"""The same figures as a rebuild's: seconds of each run, and the raw driver's."""


@dataclass
class OneEvent:
    engine: str
    projected: list[float] = field(default_factory=list)
    unprojected: list[float] = field(default_factory=list)
    raw: list[float] = field(default_factory=list)


@dataclass
class BulkResults:
    large: dict[str, Large] = field(default_factory=dict)
    readback: dict[str, Readback] = field(default_factory=dict)
    one_event: dict[str, OneEvent] = field(default_factory=dict)


def write_large(directory: Path, events: int) -> EventFile:
    """The multi-company workload with ``events // 100`` companies (a different seed)."""
    return write_multi(directory / "large.jsonl", events // 100, 100, seed=5)


def large(engine: Engine, file: EventFile) -> Large:
    """One ``corpledger record`` of the large file in a process of its own."""
    url = engine.fresh()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.bulk", "--record", url, str(file.path)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the large run failed: {done.stderr.strip()[-2000:]}")
        measured = json.loads(done.stdout.strip().splitlines()[-1])
        stored = engine.count(url)
        if stored != file.events:
            raise RuntimeError(f"{stored} rows stored, expected {file.events}")
    finally:
        engine.drop(url)
    return Large(engine.name, file.events, measured["seconds"], measured["peak_mb"])


def readback(engine: Engine, url: str, events: int, repeat: int) -> Readback:
    """``fold_log`` of the store at ``url`` and the raw read of the same states, alternating."""
    result = Readback(engine.name, events)
    for _ in range(repeat):
        with Ledger.open(url) as ledger:
            gc.collect()
            started = time.perf_counter()
            states = fold_log(ledger)
            result.seconds.append(time.perf_counter() - started)
        if not states:
            raise RuntimeError("nothing read back")
        gc.collect()
        with gc_paused():  # as fold_log reads
            result.raw.append(engine.raw_read_log(url, decode_state))
    return result


def one_event(engine: Engine, calls: int) -> OneEvent:
    """``calls`` one-event ``record`` calls on a warm ledger, with and without the read
    models brought up to date; then the raw driver's one-row transactions."""
    result = OneEvent(engine.name)
    url = engine.fresh()
    try:
        with Ledger.open(url) as ledger:
            founded: list[dict[str, Any]] = [
                {
                    "type": "CompanyRegistered",
                    "company": "one-co",
                    "name": "One Co",
                    "effective_date": "2000-01-03",
                },
                {
                    "type": "ShareClassCreated",
                    "company": "one-co",
                    "share_class": "common",
                    "name": "Common",
                    "kind": "common",
                    "effective_date": "2000-01-03",
                },
            ]
            ledger.record(founded, actor=ACTOR)

            def issue(n: int) -> list[dict[str, Any]]:
                return [
                    {
                        "type": "SharesIssued",
                        "company": "one-co",
                        "holder": f"h{n % 50}",
                        "share_class": "common",
                        "shares": 1 + n % 1000,
                        "effective_date": "2001-01-01",
                    }
                ]

            for n in range(20):  # warm: caches, prepared statements, the read models
                ledger.record(issue(n), actor=ACTOR)
            for n in range(calls):
                for project, into in ((True, result.projected), (False, result.unprojected)):
                    started = time.perf_counter()
                    ledger.record(issue(n), actor=ACTOR, project=project)
                    into.append(time.perf_counter() - started)
        rows = engine.stored_rows(url)[-calls:]
    finally:
        engine.drop(url)
    url = engine.fresh()
    try:
        result.raw = engine.raw_single_inserts(url, rows)
    finally:
        engine.drop(url)
    return result


def measure(
    engine: Engine,
    multi_url: str,
    multi_events: int,
    large_file: EventFile,
    repeat: int,
    calls: int,
    results: BulkResults,
) -> None:
    """Every figure of this module for one engine; ``multi_url``: a store of the
    multi-company file (read back)."""
    log(f"{engine.name}: one-event record latency, {calls} calls")
    results.one_event[engine.name] = one_event(engine, calls)
    log(f"{engine.name}: reading back {multi_events:,} events and folding them")
    results.readback[engine.name] = readback(engine, multi_url, multi_events, repeat)
    log(f"{engine.name}: corpledger record of {large_file.events:,} events, own process")
    results.large[engine.name] = large(engine, large_file)


def p50_ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1000


def targets(results: BulkResults, multi_rates: dict[str, float]) -> list[list[str]]:
    rows = []
    for name, big in results.large.items():
        base = multi_rates.get(name)
        if base:
            drift = big.rate / base - 1
            rows.append(
                [
                    f"{big.events:,} events: rate within {LARGE_RATE_DRIFT:.0%} of the "
                    "multi-company file's",
                    name,
                    f"{drift:+.1%} ({big.rate:,.0f} vs {base:,.0f} ev/s)",
                    _met(abs(drift) <= LARGE_RATE_DRIFT or drift > 0),
                ]
            )
        rows.append(
            [
                f"{big.events:,} events: peak memory ≤ {LARGE_MEMORY_MB:.0f} MB",
                name,
                f"{big.peak_mb:.0f} MB",
                _met(big.peak_mb <= LARGE_MEMORY_MB),
            ]
        )
    for name, back in results.readback.items():
        rows.append(
            [
                f"read back in order and fold ≥ {READBACK_RATE:,.0f} events/s",
                name,
                f"{back.rate:,.0f} events/s ({back.rate / back.raw_rate:.2f} of raw select+decode)",
                _met(back.rate >= READBACK_RATE),
            ]
        )
    for name, one in results.one_event.items():
        limit = ONE_EVENT_P50_MS.get(name, 10.0)
        p50 = p50_ms(one.unprojected)
        rows.append(
            [
                f"one event through the API, p50 ≤ {limit:.0f} ms (`project=False`)",
                name,
                f"{p50:.2f} ms",
                _met(p50 <= limit),
            ]
        )
        p50 = p50_ms(one.projected)
        rows.append(
            [
                f"one event through the API, p50 ≤ {limit:.0f} ms (read models brought up to date)",
                name,
                f"{p50:.2f} ms",
                _met(p50 <= limit),
            ]
        )
    return rows


def _met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def markdown(results: BulkResults, table: Any) -> list[str]:
    out: list[str] = []
    if results.large:
        out += [
            "",
            "## The large file through `corpledger record`",
            "",
            "`corpledger record --no-project` of one JSON Lines file (the large file of the "
            "workload, generated at bench time), in a process of its own on a "
            "fresh database; one run per engine. Its peak resident set size (Linux `VmHWM`), "
            "the interpreter and imports included.",
            "",
        ]
        out += table(
            ["engine", "events", "seconds", "events/s", "peak MB"],
            [
                [n, f"{r.events:,}", f"{r.seconds:.1f}", f"{r.rate:,.0f}", f"{r.peak_mb:.0f}"]
                for n, r in results.large.items()
            ],
        )
    if results.readback:
        out += [
            "",
            "## Reading the log back and folding it (events/s; median of the runs)",
            "",
            "`ledger.replay.fold_log(ledger)` on the multi-company store: the log in pages of "
            "5,000 by position, each state decoded by pydantic-core, every company folded in "
            "timeline order. Raw: the driver selecting every state in position order and "
            "decoding it with the same decoder (`decode_state`: pydantic-core, the one "
            "schema), the garbage collector paused as in `fold_log`, on the same database in "
            "the same run.",
            "",
        ]
        out += table(*beside_raw("fold_log", results.readback))
    if results.one_event:
        out += [
            "",
            "## One event at a time (ms)",
            "",
            "`ledger.record([event])` on a warm ledger (one SharesIssued of an existing "
            "company), alternately with the read models brought up to date (the default) and "
            "without (`project=False`). Raw: the driver inserting the same rows one per "
            "transaction on a warm connection (fresh database).",
            "",
        ]
        out += table(
            ["engine", "calls", "p50 default", "p50 project=False", "p99 project=False", "raw p50"],
            [
                [
                    n,
                    str(len(r.unprojected)),
                    f"{p50_ms(r.projected):.2f}",
                    f"{p50_ms(r.unprojected):.2f}",
                    f"{statistics.quantiles(r.unprojected, n=100)[98] * 1000:.2f}",
                    f"{p50_ms(r.raw):.2f}",
                ]
                for n, r in results.one_event.items()
            ],
        )
    return out


def _record_in_this_process(url: str, path: str) -> None:
    gc.collect()
    started = time.perf_counter()
    cli_record(url, Path(path))
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_mb": peak_megabytes()}))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--record":
        _record_in_this_process(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit("usage: python -m bench.bulk --record URL PATH")
