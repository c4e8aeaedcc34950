"""A real race: several processes open the same database and record conflicting transfers
of one holder's shares at once.

The founder of ``race-co`` holds 1,000 shares. Each process tries, round after round (a
barrier starts every round in all processes at once), to transfer 60 of them to a random
party on a random date (so some transfers are back-dated before others), each with its own
external_id. The ledger's optimistic concurrency makes the losers of each round re-check on
fresh state and retry. Afterwards: exactly 1,000 // 60 = 16 transfers are stored, each
accepted one exactly once, no holding is negative at any date, the total is unchanged, every
refusal was a RuleViolation of rule 3 (or, if retries ran out, a ConflictError that stored
nothing), appends did lose races (it was a race), and no process crashed. A second variant
races batches that transfer in two companies at once: each is stored whole or not at all.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import date, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from eventsourcing.persistence import IntegrityError

from ledger import ConflictError, Ledger, RuleViolation
from tests import builders as b

COMPANY = "race-co"
FOUNDER_SHARES = 1_000
LOT = 60
ACCEPTED = FOUNDER_SHARES // LOT  # 16 transfers fit; the 17th would overdraw the founder
TAKERS = ("ana", "ben", "cy", "dee", "eve")
FIRST_DAY = date(2021, 1, 1)

Outcome = tuple[str, str, list[str]]  # (stored|refused|conflict, external_id, event ids)


class Report(NamedTuple):
    outcomes: list[Outcome]
    refusals: list[str]  # the RuleViolation messages
    lost_appends: int  # appends the database refused because another writer came first


def count_lost_appends(ledger: Ledger) -> list[int]:
    """Count the appends of this ledger that lose a race (the database's IntegrityError on
    the stream version), by looking over its recorder's shoulder; the append is unchanged."""
    lost = [0]
    recorder = ledger.store
    append = recorder.append

    @contextmanager
    def counted() -> Iterator[Any]:
        try:
            with append() as appending:
                yield appending
        except IntegrityError:
            lost[0] += 1
            raise

    recorder.append = counted  # type: ignore[method-assign,assignment]
    return lost


def transfer_in_a_loop(
    url: str, companies: tuple[str, ...], worker: int, attempts: int, barrier: Any
) -> Report:
    """Run in a child process: open the ledger, then race the others round by round (all
    start each attempt at the same moment, so they all read the same stream versions).
    Each attempt is one batch: a transfer of a lot from the founder of every company."""
    rng = random.Random(worker)
    report = Report([], [], 0)
    with Ledger.open(url) as ledger:
        lost = count_lost_appends(ledger)
        for attempt in range(attempts):
            barrier.wait(timeout=60)
            key = f"w{worker}-{attempt}"
            batch = [
                b.transferred(
                    company, "founder", rng.choice(TAKERS), "common", LOT,
                    FIRST_DAY + timedelta(days=rng.randrange(365)), external_id=key,
                )
                for company in companies
            ]  # fmt: skip
            try:
                result = ledger.record(batch, actor=f"worker-{worker}")
            except RuleViolation as refused:
                report.outcomes.append(("refused", key, []))
                report.refusals.append(str(refused))
            except ConflictError:
                report.outcomes.append(("conflict", key, []))
            else:
                ids = [str(r.event_id) for r in result.recorded]
                report.outcomes.append(("stored", key, ids))
    return report._replace(lost_appends=lost[0])


def race(url: str, founders: dict[str, int], workers: int, attempts: int) -> list[Report]:
    """Found each company with its founder's shares, then let the workers race."""
    with Ledger.open(url) as ledger:
        for company, shares in founders.items():
            ledger.record(b.founded(company, "2020-01-01", {"founder": shares}))
    spawn = get_context("spawn")
    with spawn.Manager() as manager, ProcessPoolExecutor(workers, mp_context=spawn) as pool:
        barrier = manager.Barrier(workers)
        futures = [
            pool.submit(transfer_in_a_loop, url, tuple(founders), worker, attempts, barrier)
            for worker in range(workers)
        ]
        # .result() re-raises anything a worker did not expect: a crash fails the test.
        return [future.result(timeout=240) for future in futures]


def check_the_aftermath(
    url: str, founders: dict[str, int], reports: list[Report], attempts: int
) -> None:
    outcomes = [outcome for report in reports for outcome in report.outcomes]
    assert len(outcomes) == attempts
    assert {kind for kind, _, _ in outcomes} <= {"stored", "refused", "conflict"}
    # It was a race: appends lost to another writer and were re-checked and retried.
    assert sum(report.lost_appends for report in reports) > 0
    refusals = [message for report in reports for message in report.refusals]
    assert all(
        "rule 3 (no holding is ever negative)" in message and "from founder exceeds" in message
        for message in refusals
    ), refusals
    stored = {key: ids for kind, key, ids in outcomes if kind == "stored"}
    assert len(stored) == ACCEPTED
    stored_ids: list[str] = []
    with Ledger.open(url) as ledger:
        for company, shares in founders.items():
            history = ledger.history(company).events
            transfers = [e for e in history if e.type == "SharesTransferred"]
            # Every accepted batch stored exactly once, whole, and nothing else: no refused
            # or conflicting batch left any of its events behind, in any company.
            assert sorted(e.data["external_id"] for e in transfers) == sorted(stored)
            stored_ids += [e.event_id for e in transfers]
            positions = [e.position for e in history]
            assert positions == sorted(set(positions))
            # No holding negative at any date, recomputed from the stored facts alone…
            founder = shares
            for e in sorted(transfers, key=lambda e: (e.effective_date, e.position)):
                founder -= e.data["shares"]
                assert founder >= 0
            # …and in the ledger's own answer at every date where something changed.
            for when in sorted({e.effective_date for e in transfers}):
                table = ledger.cap_table(company, as_of=when)
                assert table.total_shares == shares
                assert all(h.shares > 0 for h in table.holders)
                assert sum(h.shares for h in table.holders) == shares
            final = ledger.cap_table(company, as_of=date(2022, 1, 1))
            held = {h.party: h.shares for h in final.holders}
            assert held.get("founder", 0) == shares - ACCEPTED * LOT
    assert sorted(stored_ids) == sorted(i for ids in stored.values() for i in ids)


ONE = {COMPANY: FOUNDER_SHARES}
# The second company could give 33 lots: only the batches the first one allows are stored.
TWO = {COMPANY: FOUNDER_SHARES, "race-two": 2_000}


@pytest.mark.postgres
def test_racing_processes_on_postgresql_never_break_an_invariant(pg_url: str) -> None:
    reports = race(pg_url, ONE, workers=6, attempts=20)
    check_the_aftermath(pg_url, ONE, reports, attempts=6 * 20)


@pytest.mark.postgres
def test_racing_batches_across_two_companies_on_postgresql_are_stored_whole_or_not_at_all(
    pg_url: str,
) -> None:
    reports = race(pg_url, TWO, workers=4, attempts=10)
    check_the_aftermath(pg_url, TWO, reports, attempts=4 * 10)


def test_racing_processes_on_one_sqlite_file_never_break_an_invariant(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/race.db"
    reports = race(url, ONE, workers=3, attempts=12)
    check_the_aftermath(url, ONE, reports, attempts=3 * 12)


def test_racing_batches_across_two_companies_on_sqlite_are_stored_whole_or_not_at_all(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/race.db"
    reports = race(url, TWO, workers=3, attempts=12)
    check_the_aftermath(url, TWO, reports, attempts=3 * 12)
