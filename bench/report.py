"""The machine, the versions, the figures against issue 2's targets, as Markdown.

The same Markdown is printed and written to ``bench/RESULTS.md``.
"""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from . import bulk, chain, instruments, issue15, read_models
from .measure import Latency, Profile, Throughput

API_VS_RAW_SQLITE = 0.15
"""Issue 2: the 100k file records at no less than 15% of raw sqlite3 executemany."""
CLI_VS_RAW = {"SQLite": ("executemany", 0.40), "PostgreSQL": ("COPY binary", 0.30)}
"""Issue 5: the 100k file through ``corpledger record`` against the raw driver."""
SINGLE_VS_MULTI = 0.5
"""Issue 2: the single company records at no less than half the multi-company rate."""
CAP_TABLE_P50_MS = 50.0
"""Issue 2: a cap-table query on the single company takes at most 50 ms at p50."""


@dataclass
class Results:
    command: str
    quick: bool
    started: datetime
    versions: dict[str, str]
    machine: dict[str, str]
    workload: dict[str, str]
    multi: dict[str, Throughput] = field(default_factory=dict)  # by engine name
    single: dict[str, Throughput] = field(default_factory=dict)
    latency: dict[str, Latency] = field(default_factory=dict)
    profile: Profile | None = None
    read_models: read_models.ReadModelResults = field(default_factory=read_models.ReadModelResults)
    bulk: bulk.BulkResults = field(default_factory=bulk.BulkResults)
    chain: dict[str, chain.ChainCost] = field(default_factory=dict)
    instruments: instruments.InstrumentResults = field(
        default_factory=instruments.InstrumentResults
    )
    issue15: issue15.Issue15Results = field(default_factory=issue15.Issue15Results)
    finished: datetime | None = None


def _cpuinfo() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                kib = int(line.split()[1])
                return f"{kib / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def load_average() -> str:
    """1, 5 and 15-minute load averages: other work on the machine shows here."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return " / ".join(f"{x:.2f}" for x in load)


def machine() -> dict[str, str]:
    return {
        "CPU": _cpuinfo(),
        "cores": str(os.cpu_count()),
        "RAM": _ram(),
        "OS": f"{platform.system()} {platform.release()}",
        "load average at start": load_average(),
    }


def _package(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def code_revision() -> str:
    """The git commit the ledger's code was measured at, and whether it had local changes."""
    root = Path(__file__).resolve().parents[1]

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    head = git("log", "-1", "--format=%h %s")
    if not head:
        return "unknown (not a git checkout)"
    if len(head) > 60:
        head = head[:59] + "…"
    dirty = git("status", "--porcelain", "--", "ledger", "migrations", "pyproject.toml")
    return head + (" (+ uncommitted changes in ledger/migrations)" if dirty else "")


def versions(engine_versions: dict[str, str]) -> dict[str, str]:
    found = {"corpledger": code_revision(), "Python": platform.python_version(), **engine_versions}
    for name in ("eventsourcing", "pydantic", "psycopg", "SQLAlchemy"):
        found[name] = _package(name)
    return found


# --- formatting ---


def _rate(events_per_second: float) -> str:
    return f"{events_per_second:,.0f}"


def _ratio(x: float) -> str:
    return f"{x:.2f}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def _failed(t: Throughput) -> str:
    """A target row's text for an engine whose one-batch API run did not finish."""
    batched = (
        f"; in batches of {t.batch_size:,}: {_rate(t.rate(t.batched))} ev/s" if t.batched else ""
    )
    return f"the one-batch {t.events:,}-event run failed (see Problems){batched}"


def targets(results: Results) -> list[list[str]]:
    """One row per target of issue 2 and engine it applies to. A one-batch API run that
    did not finish does not meet a target that needs it."""
    rows = []
    sqlite = results.multi.get("SQLite")
    if sqlite is not None:
        what = f"100k API ≥ {API_VS_RAW_SQLITE:.0%} of raw sqlite3 executemany"
        raw = sqlite.raw_rate("executemany")
        if sqlite.api_rate is None:
            rows.append([what, "SQLite", _failed(sqlite), _met(False)])
        else:
            ratio = sqlite.api_rate / raw
            measured = f"{ratio:.1%} ({_rate(sqlite.api_rate)} vs {_rate(raw)} ev/s)"
            rows.append([what, "SQLite", measured, _met(ratio >= API_VS_RAW_SQLITE)])
    for name, single in results.single.items():
        what = f"single-company rate ≥ {SINGLE_VS_MULTI} × multi-company rate"
        multi = results.multi[name]
        if single.api_rate is None or multi.api_rate is None:
            failed = multi if multi.api_rate is None else single
            rows.append([what, name, _failed(failed), _met(False)])
            continue
        ratio = single.api_rate / multi.api_rate
        measured = f"{ratio:.2f}× ({_rate(single.api_rate)} vs {_rate(multi.api_rate)} ev/s)"
        rows.append([what, name, measured, _met(ratio >= SINGLE_VS_MULTI)])
    for name, latency in results.latency.items():
        p50 = latency.percentile(50) * 1000
        what = f"cap-table p50 ≤ {CAP_TABLE_P50_MS:.0f} ms"
        rows.append([what, name, f"{p50:.1f} ms", _met(p50 <= CAP_TABLE_P50_MS)])
    return rows


def targets_5(results: Results) -> list[list[str]]:
    """Issue 5's targets: recording speed beside the raw driver, the large file, reading
    back, one event at a time."""
    rows = []
    for name, t in results.multi.items():
        writer, share = CLI_VS_RAW[name]
        what = f"{t.events:,} events by `corpledger record` ≥ {share:.0%} of raw {writer}"
        if t.api_rate is None:
            rows.append([what, name, _failed(t), _met(False)])
            continue
        raw = t.raw_rate(writer)
        ratio = t.api_rate / raw
        measured = f"{ratio:.1%} ({_rate(t.api_rate)} vs {_rate(raw)} ev/s)"
        rows.append([what, name, measured, _met(ratio >= share)])
    rates = {n: t.api_rate for n, t in results.multi.items() if t.api_rate is not None}
    return rows + bulk.targets(results.bulk, rates)


def _throughput_rows(runs: dict[str, Throughput]) -> list[list[str]]:
    rows = []
    for name, t in runs.items():
        copy = "COPY binary" in t.raw
        series: list[tuple[str, float | None]] = [("one batch", t.api_rate)]
        if t.batched:
            series.append((f"batches of {t.batch_size:,}", t.batched_rate))
        for how, rate in series:
            rows.append(
                [
                    name,
                    t.workload,
                    f"{t.events:,}",
                    how,
                    "failed" if rate is None else _rate(rate),
                    _rate(t.raw_rate("executemany")),
                    "–" if rate is None else _ratio(rate / t.raw_rate("executemany")),
                    _rate(t.raw_rate("COPY binary")) if copy else "–",
                    "–" if rate is None or not copy else _ratio(rate / t.raw_rate("COPY binary")),
                ]
            )
    return rows


def _runs_rows(runs: dict[str, Throughput]) -> list[list[str]]:
    rows = []
    for name, t in runs.items():
        series = [("API, one batch", t.api)]
        if t.batched:
            series.append((f"API, batches of {t.batch_size:,}", t.batched))
        series += [(f"raw {w}", s) for w, s in t.raw.items()]
        for what, seconds in series:
            shown = ", ".join(f"{s:.3f}" for s in seconds)
            if what == "API, one batch" and t.api_failure:
                shown = (shown + ", " if shown else "") + "failed"
            rows.append([name, t.workload, what, shown])
    return rows


def problems(results: Results) -> list[str]:
    found = []
    for t in [*results.multi.values(), *results.single.values()]:
        if t.api_failure:
            found.append(
                f"- **{t.engine}, {t.workload} file, one batch**: {t.api_failure}. The one-batch "
                f"run was not tried again; the API figures of this file are of batches of "
                f"{t.batch_size:,} (`ledger.record` once per batch), and the raw writers wrote "
                "the rows those runs stored."
            )
    return found


def markdown(results: Results) -> str:
    out: list[str] = ["# corpledger benchmark results", ""]
    if results.quick:
        out += [
            "> **--quick**: a workload ten times smaller, for a smoke test. These figures are "
            "not the benchmark.",
            "",
        ]
    finished = results.finished or results.started
    out += [
        f"Run {results.started:%Y-%m-%d %H:%M} UTC ({(finished - results.started).seconds} s) "
        f"with `{results.command}` (`make bench` runs the full benchmark on both engines).",
        "",
        "## Machine and versions",
        "",
    ]
    out += table(["machine", ""], [[k, v] for k, v in results.machine.items()])
    out.append("")
    out += table(["software", "version"], [[k, v] for k, v in results.versions.items()])
    out += ["", "## Workload", ""]
    out += [f"- {k}: {v}" for k, v in results.workload.items()]
    out += ["", "## Targets of issue 2", ""]
    out += table(["target", "engine", "measured", ""], targets(results))
    if results.chain:
        out += ["", "## Targets of issue 4 (the hash chain)", ""]
        out += table(["target", "engine", "measured", ""], chain.targets(results.chain))
    out += ["", "## Targets of issue 5 (the bulk path)", ""]
    out += table(["target", "engine", "measured", ""], targets_5(results))
    rows_15 = issue15.targets(results.issue15, results.multi, results.read_models)
    if rows_15:
        out += ["", "## Targets of issue 15 (speed as users feel it)", ""]
        out += table(["target", "engine", "measured", ""], rows_15)
        out += [
            "",
            "Start-up (`--help` ≤ 8×, a one-shot JSON query ≤ 15× the bare interpreter) is in "
            "its own section below.",
        ]
    found = problems(results)
    if found:
        out += ["", "## Problems", "", *found]
    out += [
        "",
        "## Recording throughput (events/s; median of the runs, a fresh database each)",
        "",
        "API = `corpledger record --no-project FILE` run in-process on a fresh, migrated "
        "database, opening the ledger and reading and parsing the file included, the whole "
        "file as one batch (or, where that failed, one `ledger.record` call per batch); the "
        "read models are measured apart, below. "
        "Raw = the driver inserting the rows the API stored (read back from the first API "
        "run) into a fresh database migrated the same way, in one transaction, the way the "
        "ledger writes at its best: SQLite, one `executemany` after `BEGIN IMMEDIATE` on a "
        "connection made as the ledger's writer process makes its own; PostgreSQL, binary "
        "`COPY` of one payload in the ledger's format, built before the timing as the rows "
        "are serialised before it, sent in one write; or psycopg's `executemany` (for "
        "reference).",
        "",
    ]
    out += table(
        [
            "engine",
            "file",
            "events",
            "API call",
            "API",
            "raw executemany",
            "API/raw",
            "raw COPY binary",
            "API/COPY",
        ],
        _throughput_rows(results.multi)
        + _throughput_rows(results.single)
        + _throughput_rows(results.issue15.projected),
    )
    if results.issue15.projected:
        out += [
            "",
            "The last rows (read models current): `corpledger record FILE` as users run it, "
            "the read models brought up to date before it returns.",
        ]
    out += ["", "Seconds of every run:", ""]
    out += table(
        ["engine", "file", "writer", "seconds"],
        _runs_rows(results.multi)
        + _runs_rows(results.single)
        + _runs_rows(results.issue15.projected),
    )
    stored = [*results.multi.values(), *results.single.values()]
    if stored:
        out += ["", "Mean stored `state` size and the settings each side wrote with:", ""]
        out += table(
            ["engine", "file", "state bytes", "API connection", "raw connection"],
            [
                [
                    t.engine,
                    t.workload,
                    f"{t.state_bytes:.0f}",
                    ", ".join(f"{k}={v}" for k, v in t.api_settings.items()),
                    ", ".join(f"{k}={v}" for k, v in t.raw_settings.items()),
                ]
                for t in stored
            ],
        )
    if results.latency:
        out += [
            "",
            "## Cap-table latency, single company (ms)",
            "",
            "`ledger.captable(company, as_of=d)` in-process on a warm `Ledger` (opened fresh "
            "on the recorded database; its first query, which brings the read models up to "
            "date with the recorded events, is shown apart and excluded), one per random as-of "
            "date, answered from the read models. Raw: the driver running the statements the "
            "ledger runs for the same date in its read transaction (`bench.raw_reads`: the "
            "read models' rows as of the date, known now; the same driver and connection "
            "settings), every row fetched, no report built; the two sides alternate query by "
            "query.",
            "",
        ]
        out += table(
            [
                "engine",
                "events",
                "queries",
                "p50",
                "p99",
                "max",
                "first query",
                "raw reads p50",
            ],
            [
                [
                    name,
                    f"{lat.events:,}",
                    str(len(lat.queries)),
                    _ms(lat.percentile(50)),
                    _ms(lat.percentile(99)),
                    _ms(max(lat.queries)),
                    _ms(lat.first_query),
                    _ms(lat.raw_median),
                ]
                for name, lat in results.latency.items()
            ],
        )
    out += bulk.markdown(results.bulk, table)
    out += chain.markdown(results.chain, table)
    out += read_models.markdown(results.read_models, table)
    if results.profile is not None:
        p = results.profile
        out += [
            "",
            "## Where the time goes: cProfile of one SQLite API run",
            "",
            f"{p.events:,} events (the multi-company file) in {p.seconds:.2f} s under the "
            "profiler (which slows it; an extra run, not one of the timed ones).",
            "",
            "Top 15 by cumulative time:",
            "",
        ]
        out += table(
            ["calls", "tottime s", "cumtime s", "function"],
            [
                [e.calls, f"{e.tottime:.3f}", f"{e.cumtime:.3f}", f"`{e.function}`"]
                for e in p.by_cumulative
            ],
        )
        out += ["", "Top 15 by own time:", ""]
        out += table(
            ["calls", "tottime s", "cumtime s", "function"],
            [
                [e.calls, f"{e.tottime:.3f}", f"{e.cumtime:.3f}", f"`{e.function}`"]
                for e in p.by_tottime
            ],
        )
    # Last: ``python -m bench.instruments`` replaces it alone (bench/instruments.py).
    out += instruments.markdown(results.instruments, table)
    out.append("")
    return "\n".join(out)


def now() -> datetime:
    return datetime.now(UTC)


def run_heading(
    started: datetime, load: str, command: str, quick: str | None, aside: str = ""
) -> list[str]:
    """A section's first lines: when it ran, for how long, with which command (and ``aside``
    about it), code and load (``load`` at the start); ``quick``, what --quick changed, if it
    was given."""
    finished = now()
    lines = [
        f"Run {started:%Y-%m-%d %H:%M} UTC ({(finished - started).seconds} s) with "
        f"`{command}`{aside}; corpledger {code_revision()}; load average {load} at start, "
        f"{load_average()} at end.",
        "",
    ]
    if quick is not None:
        lines += [f"> **--quick**: {quick}", ""]
    return lines


def command_line(argv: list[str]) -> str:
    return " ".join(["python -m bench", *argv]).strip()


__all__ = ["Results", "command_line", "machine", "markdown", "now", "versions"]
