"""The hash chain's cost (issue 4), beside the same recording without it, in the same run.

The multi-company file is recorded by ``corpledger record --no-project`` on fresh databases,
alternately as shipped and with the chain's computation replaced by a constant (the same
rows and the same 32 bytes written per event: what is left out is the SHA-256 chaining).
The append-only triggers fire only on UPDATE, DELETE and TRUNCATE, so an append never runs
them: their cost to recording is nil by construction, and both runs have them.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ledger.persistence import recorders, sqlite_writer

from . import constant_chain
from .measure import api_record, log
from .stores import Engine
from .workload import EventFile

CHAIN_COST = 0.15
"""The most of recording throughput the chain and the triggers may cost."""


@dataclass
class ChainCost:
    engine: str
    events: int
    chained: list[float] = field(default_factory=list)
    unchained: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.events / statistics.median(self.chained)

    @property
    def unchained_rate(self) -> float:
        return self.events / statistics.median(self.unchained)

    @property
    def cost(self) -> float:
        """The share of throughput the chain costs (negative: within the noise, faster)."""
        return 1 - self.rate / self.unchained_rate


@contextmanager
def chain_left_out() -> Iterator[None]:
    """Recorders, and the SQLite writer process, that write a constant where the chain
    value goes."""
    shipped, shipped_module = recorders.chained_rows, sqlite_writer.CHAIN_MODULE
    recorders.chained_rows = constant_chain.chained_rows
    sqlite_writer.CHAIN_MODULE = constant_chain.__file__
    try:
        yield
    finally:
        recorders.chained_rows = shipped
        sqlite_writer.CHAIN_MODULE = shipped_module


def measure(engine: Engine, file: EventFile, repeat: int, timeout: float) -> ChainCost:
    """``repeat`` runs of each, alternating (chained first, then unchained first)."""
    result = ChainCost(engine.name, file.events)
    for run in range(repeat):
        order = [True, False] if run % 2 == 0 else [False, True]
        for chained in order:
            url = engine.fresh()
            try:
                if chained:
                    result.chained.append(api_record(engine, url, file.path, timeout=timeout))
                else:
                    with chain_left_out():
                        seconds = api_record(engine, url, file.path, timeout=timeout)
                    result.unchained.append(seconds)
            finally:
                engine.drop(url)
    log(
        f"{engine.name}: with the chain {result.rate:,.0f} ev/s, without "
        f"{result.unchained_rate:,.0f} ev/s ({result.cost:+.1%})"
    )
    return result


def targets(results: dict[str, ChainCost]) -> list[list[str]]:
    return [
        [
            f"hash chain and triggers cost ≤ {CHAIN_COST:.0%} of recording",
            name,
            f"{r.cost:.1%} ({r.rate:,.0f} with vs {r.unchained_rate:,.0f} ev/s without)",
            "**met**" if r.cost <= CHAIN_COST else "**not met**",
        ]
        for name, r in results.items()
    ]


def markdown(results: dict[str, ChainCost], table: Any) -> list[str]:
    if not results:
        return []
    out = [
        "",
        "## The hash chain's cost (events/s; median of the runs)",
        "",
        "`corpledger record --no-project` of the multi-company file on fresh databases, "
        "alternately as shipped and with the chain's SHA-256 replaced by a constant (the same "
        "rows and bytes written). The append-only triggers run only on UPDATE, DELETE and "
        "TRUNCATE, never on an append.",
        "",
    ]
    out += table(
        ["engine", "events", "with the chain", "without", "cost", "seconds with", "without"],
        [
            [
                name,
                f"{r.events:,}",
                f"{r.rate:,.0f}",
                f"{r.unchained_rate:,.0f}",
                f"{r.cost:.1%}",
                ", ".join(f"{s:.2f}" for s in r.chained),
                ", ".join(f"{s:.2f}" for s in r.unchained),
            ]
            for name, r in results.items()
        ],
    )
    return out
