"""Threads sharing one ``Ledger`` (as the worker threads of a web server would) race
conflicting transfers for one company; the shared stream cache must never let a stale check
through. The same checks as the process race in ``test_race.py``."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest

from ledger import ConflictError, Ledger, RuleViolation
from tests import builders as b
from tests.integration.test_race import (
    COMPANY,
    FIRST_DAY,
    FOUNDER_SHARES,
    LOT,
    ONE,
    TAKERS,
    Report,
    check_the_aftermath,
    count_lost_appends,
)


def race_threads(url: str, threads: int, attempts: int) -> list[Report]:
    with Ledger.open(url) as ledger:
        ledger.record(b.founded(COMPANY, "2020-01-01", {"founder": FOUNDER_SHARES}))
        lost = count_lost_appends(ledger)
        barrier = threading.Barrier(threads)

        def transfer_in_a_loop(worker: int) -> Report:
            rng = random.Random(worker)
            report = Report([], [], 0)
            for attempt in range(attempts):
                barrier.wait(timeout=60)
                key = f"t{worker}-{attempt}"
                when = FIRST_DAY + timedelta(days=rng.randrange(365))
                event = b.transferred(
                    COMPANY, "founder", rng.choice(TAKERS), "common", LOT, when, external_id=key
                )
                try:
                    result = ledger.record([event], actor=f"thread-{worker}")
                except RuleViolation as refused:
                    report.outcomes.append(("refused", key, []))
                    report.refusals.append(str(refused))
                except ConflictError:
                    report.outcomes.append(("conflict", key, []))
                else:
                    report.outcomes.append(
                        ("stored", key, [str(r.event_id) for r in result.recorded])
                    )
            return report

        with ThreadPoolExecutor(threads) as pool:
            reports = list(pool.map(transfer_in_a_loop, range(threads)))
        # The appends lost by all threads together (one shared recorder).
        return [*reports, Report([], [], lost[0])]


@pytest.mark.postgres
def test_threads_sharing_one_ledger_on_postgresql_never_break_an_invariant(pg_url: str) -> None:
    reports = race_threads(pg_url, threads=4, attempts=10)
    check_the_aftermath(pg_url, ONE, reports, attempts=4 * 10)


def test_threads_sharing_one_ledger_on_sqlite_never_break_an_invariant(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/threads.db"
    reports = race_threads(url, threads=4, attempts=10)
    check_the_aftermath(url, ONE, reports, attempts=4 * 10)
