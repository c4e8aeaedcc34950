"""Issue 15's figures: speed as a user feels it, each beside the raw driver in the same run.

- **`corpledger record` as users run it**: the multi-company file recorded by the command
  line with its default, the read models brought up to date before it returns (checked:
  they stand at the last position after each run), alternating with the raw driver writing
  the same rows (SQLite ``executemany``, PostgreSQL binary ``COPY``). ``--no-project`` is
  the main recording figure (``measure.throughput``).
- The other targets gather figures measured elsewhere in the same run: the rebuild and its
  memory, the 1,000-holder cap table (``read_models``). Start-up is its own section
  (``bench.startup``, a fresh process per run).
- Beside each throughput ratio, the most it could be on this machine: the same run's CPU time
  (every process, ``measure.Busy``) spread evenly over the cores. A target above it cannot be
  met by running the same work in parallel; only by doing less of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ledger import Ledger

from .measure import CORES, Throughput, best_ratio, throughput
from .read_models import BIG_HOLDERS, ReadModelResults
from .stores import Engine
from .workload import EventFile

RAW = {"SQLite": "executemany", "PostgreSQL": "COPY binary"}
"""The raw writer each engine's recording is set beside."""
PROJECTED_VS_RAW = 0.25
UNPROJECTED_VS_RAW = 0.6
REBUILD_VS_RAW = 0.4
REBUILD_MEMORY_MB = 300.0
CAP_TABLE_P50_MS = 2.0
CAP_TABLE_P99_MS = 10.0


@dataclass
class Issue15Results:
    projected: dict[str, Throughput] = field(default_factory=dict)


def projected_record(
    engine: Engine, file: EventFile, repeat: int, *, timeout: float, batch_size: int
) -> Throughput:
    """``corpledger record FILE`` with the read models current on return, beside raw."""
    result, kept = throughput(
        engine,
        file,
        "multi-company, read models current",
        repeat,
        timeout=timeout,
        batch_size=batch_size,
        keep_last=True,
        project=True,
    )
    assert kept is not None
    try:
        with Ledger.open(kept) as ledger:
            tables = ledger.read_models
            assert tables is not None, "the read models are not installed"
            tracked, last = tables.tracked(), ledger.known_position()
        if tracked != last:
            raise RuntimeError(
                f"{engine.name}: after `corpledger record` the read models stand at {tracked}, "
                f"not at the last position {last}"
            )
    finally:
        engine.drop(kept)
    return result


def _met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def _versus(
    what: str, name: str, rate: float | None, raw: float, share: float, best: float | None
) -> list[str]:
    """A target row; ``best``: the ratio the run's CPU time allows on this machine's cores
    (``measure.best_ratio``)."""
    if rate is None:
        return [what, name, "the one-batch run failed (see Problems)", _met(False)]
    ratio = rate / raw
    bound = "" if best is None else f"; at most {best:.2f} on {CORES} cores"
    return [
        what,
        name,
        f"{ratio:.2f} of raw ({rate:,.0f} vs {raw:,.0f} ev/s){bound}",
        _met(ratio >= share),
    ]


def targets(
    results: Issue15Results, unprojected: dict[str, Throughput], read_models: ReadModelResults
) -> list[list[str]]:
    rows = []
    for name, t in results.projected.items():
        writer = RAW[name]
        rows.append(
            _versus(
                f"`corpledger record` of {t.events:,} events, read models current, "
                f"≥ {PROJECTED_VS_RAW} of raw {writer}",
                name,
                t.api_rate,
                t.raw_rate(writer),
                PROJECTED_VS_RAW,
                best_ratio(t.events, t.api_busy, t.raw_rate(writer)),
            )
        )
    for name, t in unprojected.items():
        writer = RAW[name]
        rows.append(
            _versus(
                f"`corpledger record --no-project` of {t.events:,} events "
                f"≥ {UNPROJECTED_VS_RAW} of raw {writer}",
                name,
                t.api_rate,
                t.raw_rate(writer),
                UNPROJECTED_VS_RAW,
                best_ratio(t.events, t.api_busy, t.raw_rate(writer)),
            )
        )
    for name, r in read_models.rebuild.items():
        rows.append(
            _versus(
                f"`projections rebuild` of {r.events:,} events ≥ {REBUILD_VS_RAW} of raw "
                "select + decode",
                name,
                r.rate,
                r.raw_rate,
                REBUILD_VS_RAW,
                best_ratio(r.events, r.busy, r.raw_rate),
            )
        )
    for name, memory in read_models.memory.items():
        rows.append(
            [
                f"peak memory of a {memory.events:,}-event rebuild < {REBUILD_MEMORY_MB:.0f} MB",
                name,
                f"{memory.peak_mb:.0f} MB",
                _met(memory.peak_mb < REBUILD_MEMORY_MB),
            ]
        )
    for name, latencies in read_models.latency.items():
        for lat in latencies:
            p50, p99 = lat.p50 * 1000, lat.p99 * 1000
            rows.append(
                [
                    f"cap table of {BIG_HOLDERS:,} holders, warm API, "
                    f"{lat.store_events:,} events stored: p50 ≤ {CAP_TABLE_P50_MS:.0f} ms, "
                    f"p99 ≤ {CAP_TABLE_P99_MS:.0f} ms",
                    name,
                    f"p50 {p50:.2f} ms, p99 {p99:.2f} ms",
                    _met(p50 <= CAP_TABLE_P50_MS and p99 <= CAP_TABLE_P99_MS),
                ]
            )
    return rows
