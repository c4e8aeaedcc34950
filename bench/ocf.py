"""Importing an Open Cap Table Format package, beside reading and parsing the same files.

- **The package**: ``company_events`` makes a valid company history (issuances, investments,
  transfers, cancellations, class conversions, splits, awards granted, exercised and
  cancelled, warrants, convertibles) over many stakeholders; it is recorded into a scratch
  SQLite ledger and written out by ``ledger.ocf.exporter.write_package`` into a temporary
  directory (100,000 OCF transactions; ``--quick``: 5,000). Nothing of it is kept.
- **Import rate**: ``import_package`` of that package into a fresh SQLite and a fresh
  PostgreSQL database, the package's objects per second, the median of ``--repeat`` runs.
- **Raw**: reading every file the manifest lists and ``json.loads``-ing it, objects per
  second, in the same run; the ratio is import over raw, objects against objects (the
  same package on both sides; target ≥ 0.25), with the events the objects become beside.
- **Peak memory**: each import runs in a process of its own; the largest resident set of
  those (Linux ``VmHWM``: the process's own high-water mark).

``python -m bench.ocf`` measures this section alone and, unless ``--quick``, writes it at the
end of ``bench/RESULTS.md`` in place of its previous figures.
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from ledger import Ledger
from ledger.ocf.exporter import MANIFEST, write_package

from .measure import CORES, best_ratio, log
from .stores import Engine

ROOT = Path(__file__).resolve().parents[1]
"""The directory ``bench`` is in, for the import's own process."""
COMPANY = "ocf-bench-corp"
TRANSACTIONS = 100_000
QUICK_TRANSACTIONS = 5_000
RATIO_TARGET = 0.25
START = date(2000, 1, 3)
YEARS = 24
"""The history spans this many years, whatever its length: nothing is dated in the future."""

MAX_SPLITS = 3

SECTION = "## OCF import"

Event = dict[str, Any]

OPERATIONS = {
    # name: weight in the mix
    "issue": 12,
    "invest": 4,
    "transfer": 22,
    "cancel": 4,
    "convert": 3,
    "grant": 16,
    "exercise": 12,
    "forfeit": 4,
    "warrant": 3,
    "warrant_exercise": 3,
    "warrant_cancel": 1,
    "safe": 2,
    "safe_convert": 1,
    "safe_cancel": 1,
    "stakeholder": 2,
    "reserve": 1,
    "split": 1,
}


def _usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


class Pool:
    """Keys picked at random and removed in O(1) (a list and each key's place in it)."""

    def __init__(self) -> None:
        self.keys: list[Any] = []
        self.at: dict[Any, int] = {}

    def add(self, key: Any) -> None:
        if key not in self.at:
            self.at[key] = len(self.keys)
            self.keys.append(key)

    def remove(self, key: Any) -> None:
        place = self.at.pop(key)
        last = self.keys.pop()
        if place < len(self.keys):
            self.keys[place] = last
            self.at[last] = place

    def pick(self, rng: random.Random) -> Any:
        return self.keys[rng.randrange(len(self.keys))] if self.keys else None


@dataclass
class History:
    """A company's events and the little it needs to keep every next one valid."""

    company: str
    rng: random.Random
    parties: int
    events: list[Event] = field(default_factory=list)
    held: dict[tuple[str, str], int] = field(default_factory=dict)
    holdings: Pool = field(default_factory=Pool)
    awards: dict[str, int] = field(default_factory=dict)  # exercisable grants → unexercised
    exercisable: Pool = field(default_factory=Pool)
    warrants: dict[str, int] = field(default_factory=dict)
    open_warrants: Pool = field(default_factory=Pool)
    safes: Pool = field(default_factory=Pool)
    safe_holders: dict[str, str] = field(default_factory=dict)
    reserved: int = 10**12
    splits: int = 0
    today: date = START
    serial: int = 0

    def add(self, event_type: str, /, **fields: Any) -> None:
        self.events.append(
            {"type": event_type, "company": self.company, "effective_date": self.today.isoformat()}
            | {k: v for k, v in fields.items() if v is not None}
        )

    def party(self) -> str:
        return f"holder-{self.rng.randrange(self.parties):05d}"

    def next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.serial:06d}"

    def give(self, holder: str, share_class: str, shares: int) -> None:
        key = (holder, share_class)
        self.held[key] = self.held.get(key, 0) + shares
        self.holdings.add(key)

    def take(self, holder: str, share_class: str, shares: int) -> None:
        key = (holder, share_class)
        self.held[key] -= shares
        if not self.held[key]:
            del self.held[key]
            self.holdings.remove(key)

    # --- the operations: each adds one event, or none when it has nothing to act on ---

    def issue(self) -> None:
        holder, share_class = self.party(), self.rng.choice(("common", "series-a"))
        shares = self.rng.randrange(100, 100_000)
        self.add(
            "SharesIssued",
            holder=holder,
            share_class=share_class,
            shares=shares,
            price_per_share=_usd(f"0.{self.rng.randrange(1, 100):02d}"),
        )
        self.give(holder, share_class, shares)

    def invest(self) -> None:
        investor, shares = self.party(), self.rng.randrange(1_000, 1_000_000)
        self.add(
            "InvestmentMade",
            investor=investor,
            amount=_usd(str(shares * self.rng.randrange(1, 5))),
            share_class="series-a",
            round="Series A",
            shares=shares,
        )
        self.give(investor, "series-a", shares)

    def _moved(self) -> tuple[str, str, int] | None:
        key = self.holdings.pick(self.rng)
        if key is None:
            return None
        holder, share_class = key
        return holder, share_class, self.rng.randrange(1, self.held[key] + 1)

    def transfer(self) -> None:
        moved = self._moved()
        to = self.party()
        if moved is None or moved[0] == to:
            return
        holder, share_class, shares = moved
        self.add(
            "SharesTransferred", to=to, share_class=share_class, shares=shares, **{"from": holder}
        )
        self.take(holder, share_class, shares)
        self.give(to, share_class, shares)

    def cancel(self) -> None:
        moved = self._moved()
        if moved is not None:
            holder, share_class, shares = moved
            self.add(
                "SharesCancelled",
                holder=holder,
                share_class=share_class,
                shares=shares,
                reason="repurchased",
            )
            self.take(holder, share_class, shares)

    def convert(self) -> None:
        moved = self._moved()
        if moved is not None and moved[1] == "series-a":
            holder, _, shares = moved
            self.add(
                "SharesConverted",
                holder=holder,
                from_class="series-a",
                to_class="common",
                shares=shares,
            )
            self.take(holder, "series-a", shares)
            self.give(holder, "common", shares)

    def grant(self) -> None:
        grant, holder = self.next_id("grant"), self.party()
        quantity = self.rng.randrange(100, 50_000)
        rsu = self.rng.random() < 0.2
        # Half the grants vested when granted (exercisable at once), half on a 4-year
        # schedule starting now (never exercised here: nothing would be vested yet).
        vested = self.rng.random() < 0.5
        schedule = {"start": self.today.isoformat(), "months": 48, "cliff_months": 12}
        self.add(
            "OptionGranted",
            grant=grant,
            holder=holder,
            plan="equity-plan",
            quantity=quantity,
            kind="rsu" if rsu else "option",
            exercise_price=None if rsu else _usd("0.25"),
            vesting=None if vested else schedule,
        )
        if vested:
            self.awards[grant] = quantity
            self.exercisable.add(grant)

    def _part(self, left: dict[str, int], pool: Pool) -> tuple[str, int] | None:
        """Some of what is left of an award or warrant picked from ``pool`` (gone once
        nothing is left), or None when there is none."""
        key = pool.pick(self.rng)
        if key is None:
            return None
        quantity = self.rng.randrange(1, left[key] + 1)
        left[key] -= quantity
        if not left[key]:
            pool.remove(key)
        return key, quantity

    def exercise(self) -> None:
        part = self._part(self.awards, self.exercisable)
        if part is not None:
            self.add("OptionExercised", grant=part[0], quantity=part[1])

    def forfeit(self) -> None:
        part = self._part(self.awards, self.exercisable)
        if part is not None:
            self.add("OptionCancelled", grant=part[0], quantity=part[1], reason="forfeited")

    def warrant(self) -> None:
        warrant, quantity = self.next_id("warrant"), self.rng.randrange(1_000, 100_000)
        self.add(
            "WarrantIssued",
            warrant=warrant,
            holder=self.party(),
            share_class="common",
            quantity=quantity,
            exercise_price=_usd("1.50"),
        )
        self.warrants[warrant] = quantity
        self.open_warrants.add(warrant)

    def warrant_exercise(self) -> None:
        part = self._part(self.warrants, self.open_warrants)
        if part is not None:
            self.add("WarrantExercised", warrant=part[0], quantity=part[1])

    def warrant_cancel(self) -> None:
        part = self._part(self.warrants, self.open_warrants)
        if part is not None:
            self.add("WarrantCancelled", warrant=part[0], quantity=part[1], reason="lapsed")

    def safe(self) -> None:
        safe, holder = self.next_id("safe"), self.party()
        self.safe_holders[safe] = holder
        self.add(
            "ConvertibleIssued",
            convertible=safe,
            holder=holder,
            kind="safe",
            amount=_usd("250000"),
            valuation_cap=_usd("20000000"),
            discount_percent="20",
        )
        self.safes.add(safe)

    def safe_convert(self) -> None:
        safe = self.safes.pick(self.rng)
        if safe is not None:
            self.add(
                "ConvertibleConverted",
                convertible=safe,
                share_class="series-a",
                shares=self.rng.randrange(10_000, 200_000),
            )
            self.safes.remove(safe)
            self.give(self.safe_holders[safe], "series-a", self.events[-1]["shares"])

    def safe_cancel(self) -> None:
        safe = self.safes.pick(self.rng)
        if safe is not None:
            self.add("ConvertibleCancelled", convertible=safe, reason="repaid")
            self.safes.remove(safe)

    def stakeholder(self) -> None:
        party = self.party()
        self.add(
            "StakeholderRecorded",
            party=party,
            name=f"Holder {party[-5:]}",
            kind=self.rng.choice(("individual", "institution")),
        )

    def split(self) -> None:
        """A 2-for-1 split of common (three at the most): every count of common doubles,
        holdings, awards and warrants on it (every one here), and the plan's reserve."""
        if self.splits == MAX_SPLITS:
            return
        self.splits += 1
        self.add("StockSplit", share_class="common", ratio="2:1")
        for (holder, share_class), shares in self.held.items():
            if share_class == "common":
                self.held[(holder, share_class)] = shares * 2
        for left in (self.awards, self.warrants):
            for key in left:
                left[key] *= 2
        self.reserved *= 2

    def reserve(self) -> None:
        self.reserved += 10**6
        self.add("StockPlanReserveChanged", plan="equity-plan", reserved=self.reserved)


def company_events(
    company: str, events: int, *, seed: int = 0, parties: int = 2_000
) -> list[Event]:
    """A valid history of ``company`` in about ``events`` events, dated from ``START`` over
    ``YEARS`` years: a realistic mix (``OPERATIONS``) over ``parties`` stakeholders, with a
    board appointment and a valuation the OCF export leaves out."""
    history = History(company, random.Random(seed), parties)
    history.add("CompanyRegistered", name="OCF Bench Corp", jurisdiction="US-DE")
    history.add("ShareClassCreated", share_class="common", name="Common", kind="common")
    history.add(
        "ShareClassCreated",
        share_class="series-a",
        name="Series A Preferred",
        kind="preferred",
        authorized=10**15,
    )
    history.add(
        "StockPlanCreated",
        plan="equity-plan",
        name="Equity Incentive Plan",
        share_class="common",
        reserved=history.reserved,
    )
    history.add("DirectorAppointed", person="founder-1")
    names, weights = zip(*OPERATIONS.items(), strict=True)
    span = YEARS * 365
    while len(history.events) < events:
        history.today = START + timedelta(days=len(history.events) * span // events)
        getattr(history, history.rng.choices(names, weights)[0])()
    history.add("ValuationRecorded", valuation=_usd("50000000"), basis="409a")
    return history.events


def write_bench_package(directory: Path, transactions: int, seed: int = 0) -> Path:
    """An OCF package of about ``transactions`` transactions, written under ``directory``
    (through a scratch SQLite ledger); returns the package's directory."""
    # About 2.3 OCF transactions an event (transfers consume lots, exercises leave balances).
    events = company_events(COMPANY, transactions * 3 // 7, seed=seed)
    with Ledger.open(f"sqlite:///{directory / 'source.db'}") as ledger:
        ledger.record(events)
        write_package(ledger, COMPANY, directory / "package")
    return directory / "package"


def parse_files(package: Path) -> int:
    """Read and ``json.loads`` every file of the package; the number of objects in them."""
    manifest = json.loads((package / MANIFEST).read_bytes())
    objects = 1  # the issuer
    for key, listed in manifest.items():
        if key.endswith("_files"):
            for entry in listed:
                objects += len(json.loads((package / entry["filepath"]).read_bytes())["items"])
    return objects


@dataclass
class Figures:
    engine: str
    objects: int
    events: int
    imports: list[float] = field(default_factory=list)
    parses: list[float] = field(default_factory=list)
    busy: list[float] = field(default_factory=list)
    """The machine's CPU seconds during each import's process (``measure.Busy``)."""
    peak_mb: float = 0.0

    @property
    def rate(self) -> float:
        """Objects of the package imported a second: the same count as the raw side's (the
        events they become are fewer, and shown beside)."""
        return self.objects / statistics.median(self.imports)

    @property
    def event_rate(self) -> float:
        return self.events / statistics.median(self.imports)

    @property
    def raw_rate(self) -> float:
        return self.objects / statistics.median(self.parses)

    @property
    def ratio(self) -> float:
        return self.rate / self.raw_rate

    @property
    def best(self) -> float | None:
        """The ratio the imports' CPU time allows on this machine's cores
        (``measure.best_ratio``)."""
        return best_ratio(self.objects, self.busy, self.raw_rate)


IMPORT = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[3])
from bench.measure import Busy
from ledger import Ledger
from ledger.ocf.importer import import_package
with Ledger.open(sys.argv[1]) as ledger:
    busy = Busy()
    busy.start()
    started = time.perf_counter()
    result = import_package(ledger, sys.argv[2], company="imported")
    seconds = time.perf_counter() - started
    busy.stop()
try:
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except OSError:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(
    {"seconds": seconds, "stored": result.stored, "peak_kib": peak, "busy": busy.seconds}
))
"""
"""One import into the database at argv[1], in a process of its own: its time (the import
alone), the events stored, the process's peak resident set in KiB and the machine's CPU
seconds during the import (argv[3]: the directory ``bench`` is in). On Linux that is the
process's own high-water mark (VmHWM): ``ru_maxrss`` keeps the parent's across the exec, so
it read the benchmark's own size (the scratch ledger that wrote the package), not the
import's."""


def measure(engine: Engine, package: Path, repeat: int) -> Figures:
    objects = parse_files(package)
    figures = Figures(engine.name, objects, 0)
    for _ in range(repeat):
        started = time.perf_counter()
        parse_files(package)
        figures.parses.append(time.perf_counter() - started)
        url = engine.fresh()
        try:
            done = subprocess.run(
                [sys.executable, "-c", IMPORT, url, str(package), str(ROOT)],
                check=True,
                capture_output=True,
                text=True,
            )
        finally:
            engine.drop(url)
        run = json.loads(done.stdout.splitlines()[-1])
        if run["busy"] is not None:
            figures.busy.append(run["busy"])
        figures.imports.append(run["seconds"])
        figures.events = run["stored"]
        figures.peak_mb = max(figures.peak_mb, run["peak_kib"] / 1024)
    log(
        f"  {engine.name}: import {figures.rate:,.0f} objects/s ({figures.event_rate:,.0f} "
        f"events/s), parse {figures.raw_rate:,.0f} objects/s ({figures.ratio:.3f}×), peak "
        f"{figures.peak_mb:,.0f} MB"
    )
    return figures


def markdown(
    results: list[Figures], transactions: int, table: Any, heading: list[str]
) -> list[str]:
    rows = [
        [
            f"OCF import rate ≥ {RATIO_TARGET}× reading + json.loads of the same files "
            f"({transactions:,} transactions)",
            f.engine,
            f"{f.ratio:.3f}× ({f.rate:,.0f} vs {f.raw_rate:,.0f} objects/s; {f.objects:,} "
            f"objects become {f.events:,} events, {f.event_rate:,.0f} events/s; peak RSS "
            f"{f.peak_mb:,.0f} MB)"
            + ("" if f.best is None else f"; at most {f.best:.3f}× on {CORES} cores"),
            "**met**" if f.ratio >= RATIO_TARGET else "**not met**",
        ]
        for f in results
    ]
    return ["", SECTION, "", *heading, *table(["target", "engine", "measured", ""], rows)]


def main(argv: list[str] | None = None) -> int:
    from .sections import SectionRun

    run = SectionRun(
        "ocf",
        "The OCF import rate beside reading and parsing the same files; written "
        "at the end of bench/RESULTS.md (not with --quick unless --output is given).",
        "a smaller package",
        "imports per engine",
        sys.argv[1:] if argv is None else argv,
    )
    transactions = QUICK_TRANSACTIONS if run.quick else TRANSACTIONS
    with tempfile.TemporaryDirectory(prefix="corpledger-bench-") as tmp:
        log(f"writing an OCF package of about {transactions:,} transactions")
        package = write_bench_package(Path(tmp), transactions)
        results = run.on_engines(Path(tmp), lambda e: measure(e, package, run.repeat))
    run.publish(
        SECTION,
        "a smaller package, a smoke test.",
        f"; median of {run.repeat} imports",
        lambda table, heading: markdown(results, transactions, table, heading),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
