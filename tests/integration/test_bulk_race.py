"""A race on PostgreSQL between a long batch (the streaming path) and small writers on the
companies it touches.

The long batch takes the append lock before it reads anything, so it never conflicts: it is
stored whole, its positions contiguous (nothing interleaves). Small writers check their
transfers on what they last read, wait on the lock, lose the append (the stream version
they counted on is taken), and re-check on fresh state, which now includes the batch's own
transfer out of the founder's holding: the ones that no longer fit are refused (rule 3),
the others stored exactly once. No holding is ever negative.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from ledger import Ledger, RuleViolation
from ledger.integrity import verify_chain
from tests import builders as b
from tests.integration.test_race import count_lost_appends

pytestmark = pytest.mark.postgres

SHARED = ("shared-a", "shared-b")
FOUNDER = 1_000
WRITERS = 3
TRIES = 6
LOT = 60


def long_batch(started: threading.Event) -> Iterator[dict[str, Any]]:
    """Three chunks of 50; the batch moves 500 of each founder's shares in its first chunk,
    back-dated to before every small writer's transfer."""
    for company in SHARED:
        yield b.transferred(company, "founder", "bulk-buyer", "common", 500, "2020-06-01")
    for n in range(148):
        if n == 40:
            started.set()  # the lock is held: let the small writers go
        company = SHARED[n % 2]
        yield b.issued(company, f"holder-{n}", "common", 1, date(2022, 1, 1) + timedelta(n))
        if n % 50 == 0:
            threading.Event().wait(0.15)  # small writers pile up on the lock meanwhile


def test_a_long_batch_and_small_writers_on_shared_companies_keep_every_invariant(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ledger.app.CHUNK", 50)
    with Ledger.open(pg_url) as setup:
        for company in SHARED:
            setup.record(b.founded(company, "2020-01-01", {"founder": FOUNDER}), project=False)
    started = threading.Event()
    outcomes: list[tuple[str, str, str]] = []  # (stored|refused, external_id, company)
    refusals: list[str] = []
    lost = [0]
    bulk_positions: list[int] = []
    failures: list[BaseException] = []

    def bulk() -> None:
        try:
            with Ledger.open(pg_url) as ledger:
                result = ledger.record(long_batch(started), project=False)
                bulk_positions.extend(r.position or 0 for r in result.recorded)
        except BaseException as e:  # reported below
            failures.append(e)
            started.set()

    def small(worker: int) -> None:
        try:
            with Ledger.open(pg_url) as ledger:
                counter = count_lost_appends(ledger)
                for company in SHARED:
                    ledger.cap_table(company, fold=True)  # read the streams before the batch
                started.wait(30)
                for attempt in range(TRIES):
                    key = f"w{worker}-{attempt}"
                    company = SHARED[(worker + attempt) % 2]
                    event = b.transferred(
                        company,
                        "founder",
                        f"taker-{worker}",
                        "common",
                        LOT,
                        date(2021, 1, 1) + timedelta(days=attempt),
                        external_id=key,
                    )
                    try:
                        ledger.record([event], project=False)
                        outcomes.append(("stored", key, company))
                    except RuleViolation as e:
                        outcomes.append(("refused", key, company))
                        refusals.append(str(e))
                lost[0] += counter[0]
        except BaseException as e:  # reported below
            failures.append(e)

    threads = [threading.Thread(target=bulk)] + [
        threading.Thread(target=small, args=(w,)) for w in range(WRITERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    # The long batch: stored whole, positions contiguous, nothing interleaved.
    assert len(bulk_positions) == 150
    assert bulk_positions == list(range(bulk_positions[0], bulk_positions[0] + 150))
    # The small writers raced it: they lost appends and re-checked on fresh state.
    assert lost[0] > 0
    assert len(outcomes) == WRITERS * TRIES
    assert all("rule 3" in message and "from founder exceeds" in message for message in refusals)
    with Ledger.open(pg_url) as ledger:
        assert verify_chain(ledger).intact  # versions 1, 2, … n per company, chain whole
        for company in SHARED:
            events = ledger.history(company).events
            keys = [e.data["external_id"] for e in events if e.data.get("external_id")]
            # Every transfer reported stored is stored, once; no other is.
            assert sorted(keys) == sorted(
                k for kind, k, c in outcomes if (kind, c) == ("stored", company)
            )
            # No holding is ever negative, at any effective date.
            for event in events:
                table = ledger.cap_table(company, as_of=event.effective_date, fold=True)
                assert all(h.shares >= 0 for h in table.holders)
            final = ledger.cap_table(company, as_of=date(2030, 1, 1), fold=True)
            founder = {h.party: h.shares for h in final.holders}["founder"]
            assert founder == FOUNDER - 500 - LOT * len(keys)
