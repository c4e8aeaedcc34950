"""The timed runs.

- ``api_record``: ``corpledger record --no-project FILE`` run in this process on a fresh,
  migrated database: one call, one batch, one transaction; timed from the command's start
  (opening the ledger, reading the file) to its return (the commit, the summary printed).
  The raw writers' connecting is not timed. A watchdog
  aborts a run that outlives ``--run-timeout`` and reports where it was stuck.
- ``throughput``: for one file, the API run and each raw writer, ``repeat`` times, alternating
  (API, raw, raw, API, ...) so drift on a noisy machine hits both sides; a fresh database for
  every run; the raw rows are those the first API run stored, read back. If the one-batch
  API run fails, the file is recorded in batches instead, and the failure is reported.
- ``cap_table_latency``: a freshly opened ledger over the single company's database; the
  first query (which brings the read models up to date) is reported apart and excluded; then
  one ``cap_table`` per random as-of date, each timed, each followed by the raw driver doing
  the same reads (``bench.raw_reads``: the statements the ledger runs on the read models for
  that date, same driver and connection settings, no report built).
- ``profile_api``: one more, untimed API run under cProfile.
- ``Busy``: the CPU time the whole machine spent during a run (every process: the ledger's
  threads, its SQLite writer process, PostgreSQL's server processes), from ``/proc/stat``.
  Divided by the machine's cores, it is the least time the same work could take on them,
  however it were spread: a target above what that allows needs less work, not more
  parallelism (``best_ratio``).
"""

from __future__ import annotations

import contextlib
import cProfile
import gc
import io
import os
import pstats
import random
import statistics
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import islice
from pathlib import Path
from types import FrameType

from ledger import Ledger
from ledger.cli import run as cli_run  # imported here: importing is not recording
from ledger.files import Item, read_items

from .raw_reads import alternating, cap_table_reads
from .stores import Engine, Row
from .workload import EventFile

ACTOR = "bench"
CORES = os.cpu_count() or 1


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Throughput:
    """Seconds per run of one file on one engine, through the API and each raw writer.

    When the one-batch API run fails (``api_failure``), the file is recorded through the
    API in batches of ``batch_size`` instead (``batched``), so that the engine still has an
    API figure and the raw writers still have the rows the API stores."""

    engine: str
    workload: str
    events: int
    api: list[float] = field(default_factory=list)
    api_busy: list[float] = field(default_factory=list)
    """The machine's CPU seconds during each one-batch API run (``Busy``)."""
    api_failure: str | None = None
    batch_size: int = 0
    batched: list[float] = field(default_factory=list)
    raw: dict[str, list[float]] = field(default_factory=dict)
    state_bytes: float = 0.0  # mean size of a stored state
    api_settings: dict[str, str] = field(default_factory=dict)
    raw_settings: dict[str, str] = field(default_factory=dict)

    def rate(self, seconds: list[float]) -> float:
        return self.events / statistics.median(seconds)

    @property
    def api_rate(self) -> float | None:
        return self.rate(self.api) if self.api and not self.api_failure else None

    @property
    def batched_rate(self) -> float | None:
        return self.rate(self.batched) if self.batched else None

    def raw_rate(self, writer: str) -> float:
        return self.rate(self.raw[writer])


def best_ratio(events: int, busy: list[float], raw_rate: float) -> float | None:
    """The ratio to ``raw_rate`` of runs that took ``busy`` CPU seconds (median) had that
    work been spread evenly over every core (None: not measured)."""
    if not busy:
        return None
    return events / (statistics.median(busy) / CORES) / raw_rate


class Busy:
    """The machine's CPU seconds (user and system, every process) between ``start`` and
    ``stop``, read from ``/proc/stat``; ``seconds`` stays None where there is none."""

    def __init__(self) -> None:
        self.seconds: float | None = None
        self._started: float | None = None

    @staticmethod
    def _read() -> float | None:
        try:
            with open("/proc/stat", encoding="ascii") as stat:
                fields = [int(n) for n in stat.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        # user nice system idle iowait irq softirq steal ...: all but idle and iowait.
        busy = sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)
        return busy / os.sysconf("SC_CLK_TCK")

    def start(self) -> None:
        self._started = self._read()

    def stop(self) -> None:
        ended = self._read()
        if ended is not None and self._started is not None:
            self.seconds = ended - self._started


@dataclass
class Latency:
    engine: str
    events: int
    queries: list[float]
    first_query: float
    raw_reads: list[float]
    span: tuple[date, date]

    def percentile(self, p: int) -> float:
        """The p-th percentile (inclusive method, interpolated) of the timed queries."""
        if len(self.queries) == 1:
            return self.queries[0]
        return statistics.quantiles(self.queries, n=100, method="inclusive")[p - 1]

    @property
    def raw_median(self) -> float:
        return statistics.median(self.raw_reads)


class RunFailed(Exception):
    """An API run that raised, or did not finish in time and was aborted."""


def _stack(frame: FrameType | None, depth: int = 6) -> str:
    """Where a thread is, innermost first: what a hung run was waiting in."""
    if frame is None:
        return "unknown"
    frames = traceback.extract_stack(frame)[-depth:]
    return " ← ".join(_where(f.filename, f.lineno or 0, f.name) for f in reversed(frames))


def _batches(items: Iterator[Item], size: int) -> Iterator[list[Item]]:
    while batch := list(islice(items, size)):
        yield batch


def cli_record(url: str, path: Path, *, project: bool = False) -> str:
    """``corpledger record --no-project`` of one file (with ``project``, ``corpledger
    record``: the read models brought up to date before it returns), in this process; its
    stdout."""
    out = io.StringIO()
    how = [] if project else ["--no-project"]
    with contextlib.redirect_stdout(out):
        code = cli_run(["--db", url, "record", *how, "--actor", ACTOR, str(path)])
    if code != 0:
        raise RuntimeError(f"corpledger record {path} exited {code}")
    return out.getvalue()


def api_record(
    engine: Engine,
    url: str,
    path: Path,
    *,
    timeout: float,
    batch_size: int | None = None,
    settings: dict[str, str] | None = None,
    project: bool = False,
    busy: Busy | None = None,
) -> float:
    """Seconds to record the file with ``corpledger record`` (in this process, opening the
    ledger included), or, with ``batch_size``, through the API with one ``record`` call per
    ``batch_size`` items on a ledger opened untimed.

    A run still going after ``timeout`` seconds is aborted (the engine drops its database,
    which makes the ledger's connection fail) and raises ``RunFailed`` naming where it was
    stuck; so does a run that raises or skips events. With ``project`` the read models are
    brought up to date in the run (``corpledger record`` as a user runs it), else not.
    ``busy`` is started and stopped with the timing."""
    caller = threading.get_ident()
    stuck: list[str] = []

    def abort() -> None:
        stuck.append(_stack(sys._current_frames().get(caller)))
        engine.abort(url)

    if settings is not None:
        with Ledger.open(url) as ledger:
            settings.update(engine.api_settings(ledger))
    watchdog = threading.Timer(timeout, abort)
    watchdog.daemon = True
    gc.collect()
    watchdog.start()
    try:
        if busy is not None:
            busy.start()
        started = time.perf_counter()
        if batch_size is None:
            # What a user runs: the command line, in this process (it opens the ledger).
            said = cli_record(url, path, project=project)
            skipped = int("already recorded" in said)
        else:
            with Ledger.open(url) as ledger:
                skipped = sum(
                    len(ledger.record(batch, actor=ACTOR, project=project).skipped)
                    for batch in _batches(read_items(str(path)), batch_size)
                )
        seconds = time.perf_counter() - started
        if busy is not None:
            busy.stop()
    except Exception as e:
        if stuck:
            raise RunFailed(
                f"did not finish in {timeout:.0f} s: stuck in {stuck[0]}; aborted by "
                f"dropping the database, after which it raised {type(e).__name__}: {e}"
            ) from None
        raise RunFailed(f"raised {type(e).__name__}: {e}") from e
    finally:
        watchdog.cancel()
    if stuck:
        raise RunFailed(f"did not finish in {timeout:.0f} s: stuck in {stuck[0]}")
    if skipped:
        raise RunFailed(f"{path}: {skipped} events were skipped, not recorded")
    return seconds


def _check_count(engine: Engine, url: str, expected: int, what: str) -> None:
    stored = engine.count(url)
    if stored != expected:
        raise RuntimeError(f"{engine.name} {what}: {stored} rows stored, expected {expected}")


def throughput(
    engine: Engine,
    file: EventFile,
    workload: str,
    repeat: int,
    *,
    timeout: float,
    batch_size: int,
    keep_last: bool = False,
    project: bool = False,
) -> tuple[Throughput, str | None]:
    """The API and raw runs of one file, alternating; a fresh database for every run.

    With ``keep_last`` the database of the last API run is kept (for the latency run) and
    its URL returned. ``project``: the API runs bring the read models up to date
    (``api_record``). Once a one-batch API run fails, it is not tried again: that run and
    the remaining ones record the file in batches of ``batch_size`` (see ``Throughput``).
    A database left behind by an error is dropped by ``engine.close()``."""
    result = Throughput(engine.name, workload, file.events, batch_size=batch_size)
    rows: list[Row] = []
    kept: str | None = None
    writers = engine.raw_writers()
    for run in range(1, repeat + 1):
        batched = result.api_failure is not None
        url = engine.fresh()
        settings = None if result.api_settings else result.api_settings
        busy = Busy()
        try:
            seconds = api_record(
                engine,
                url,
                file.path,
                timeout=timeout,
                batch_size=batch_size if batched else None,
                settings=settings,
                project=project,
                busy=busy,
            )
        except RunFailed as e:
            engine.drop(url)
            if batched:
                raise
            result.api_failure = str(e)
            log(f"  {engine.name} {workload} API run {run}, one batch: FAILED: {e}")
            batched = True
            url = engine.fresh()
            seconds = api_record(
                engine,
                url,
                file.path,
                timeout=timeout,
                batch_size=batch_size,
                settings=settings,
                project=project,
            )
        _check_count(engine, url, file.events, "API run")
        (result.batched if batched else result.api).append(seconds)
        if not batched and busy.seconds is not None:
            result.api_busy.append(busy.seconds)
        how = f"batches of {batch_size:,}" if batched else "one batch"
        log(f"  {engine.name} {workload} API run {run}, {how}: {seconds:.2f} s")
        if not rows:
            rows = engine.stored_rows(url)
            result.state_bytes = statistics.fmean(len(r[3]) for r in rows)
        if keep_last:
            if kept is not None:
                engine.drop(kept)
            kept = url
        else:
            engine.drop(url)
        for writer, write in writers.items():
            url = engine.fresh()
            if not result.raw_settings:
                result.raw_settings = engine.raw_settings(url)
            gc.collect()
            seconds = write(url, rows)
            _check_count(engine, url, file.events, f"raw {writer}")
            engine.drop(url)
            result.raw.setdefault(writer, []).append(seconds)
            log(f"  {engine.name} {workload} raw {writer} run {run}: {seconds:.2f} s")
    return result, kept


def cap_table_latency(
    engine: Engine, url: str, file: EventFile, company: str, queries: int, seed: int = 3
) -> Latency:
    rng = random.Random(seed)
    days = (file.last_date - file.first_date).days
    dates = [file.first_date + timedelta(days=rng.randint(0, days)) for _ in range(queries)]
    with Ledger.open(url) as ledger:
        started = time.perf_counter()
        ledger.cap_table(company, as_of=file.last_date)
        first = time.perf_counter() - started
        read, close = cap_table_reads(url, company)
        try:
            read(file.last_date)  # warm, as the ledger's first query
            timings, raw = alternating(lambda d: ledger.cap_table(company, as_of=d), read, dates)
        finally:
            close()
    return Latency(engine.name, file.events, timings, first, raw, (file.first_date, file.last_date))


@dataclass
class ProfileEntry:
    calls: str
    tottime: float
    cumtime: float
    function: str


@dataclass
class Profile:
    seconds: float
    events: int
    by_cumulative: list[ProfileEntry]
    by_tottime: list[ProfileEntry]


def _where(filename: str, line: int, name: str) -> str:
    if filename == "~":
        return name  # a built-in
    for marker in ("site-packages/", "/lib/python3.11/"):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
            break
    else:
        root = str(Path(__file__).resolve().parents[1]) + "/"
        filename = filename.removeprefix(root)
    return f"{filename}:{line}({name})"


def profile_api(engine: Engine, file: EventFile, top: int = 15) -> Profile:
    """One API run of the file under cProfile (not one of the timed runs)."""
    url = engine.fresh()
    try:
        with Ledger.open(url) as ledger:
            profiler = cProfile.Profile()
            gc.collect()
            started = time.perf_counter()
            profiler.enable()
            ledger.record(read_items(str(file.path)), actor=ACTOR)
            profiler.disable()
            seconds = time.perf_counter() - started
    finally:
        engine.drop(url)
    stats = pstats.Stats(profiler)
    raw_stats = stats.stats  # type: ignore[attr-defined]
    entries = []
    for (filename, line, name), (primitive, calls, tottime, cumtime, _) in raw_stats.items():
        shown = str(calls) if calls == primitive else f"{calls}/{primitive}"
        entries.append(ProfileEntry(shown, tottime, cumtime, _where(filename, line, name)))
    by_cumulative = sorted(entries, key=lambda e: -e.cumtime)
    by_cumulative = [e for e in by_cumulative if "cProfile" not in e.function][:top]
    by_tottime = sorted(entries, key=lambda e: -e.tottime)[:top]
    return Profile(seconds, file.events, by_cumulative, by_tottime)
