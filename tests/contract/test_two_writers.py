"""Two ``Ledger`` instances on one SQLite file or PostgreSQL database writing to one company.

To make the race deterministic, the second ledger's recorder (its port to the database) is
wrapped so that the first ledger's write lands between the second one's check and its own
append (exactly the
window a real race hits). Both writes are real; the conflict is the database's. The race with
real processes is in ``tests/integration/test_race.py``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest

from ledger import ConflictError, Ledger, RuleViolation
from ledger.app import MAX_ATTEMPTS
from ledger.domain.company import Company
from tests import builders as b

D = date.fromisoformat


class LetOtherWriterIn:
    """Wraps the ``append`` of a ledger's real recorder (the one way the ledger writes):
    before each append it first runs the next of the other writer's writes (while there are
    any), and counts appends."""

    def __init__(self, ledger: Ledger, meanwhile: Sequence[Callable[[], object]]) -> None:
        self.meanwhile = deque(meanwhile)
        self.appends = 0
        recorder = ledger.store
        self._append = recorder.append
        # On the recorder object itself, so every path to the database goes through it.
        recorder.append = self.append  # type: ignore[method-assign,assignment]

    @contextmanager
    def append(self) -> Iterator[Any]:
        self.appends += 1
        if self.meanwhile:
            self.meanwhile.popleft()()
        with self._append() as append:
            yield append


@pytest.fixture
def pair(durable_url: str) -> Iterator[tuple[Ledger, Ledger]]:
    with Ledger.open(durable_url) as first, Ledger.open(durable_url) as second:
        first.record(b.founded("acme", "2020-01-01", {"ana": 1_000}))
        yield first, second


def stale(ledger: Ledger, *meanwhile: Callable[[], object]) -> LetOtherWriterIn:
    return LetOtherWriterIn(ledger, meanwhile)


def shares(ledger: Ledger, as_of: str = "2021-12-31") -> dict[str, int]:
    return {h.party: h.shares for h in ledger.cap_table("acme", as_of=D(as_of)).holders}


def test_a_second_ledger_sees_the_first_ones_writes_on_its_next_query(
    pair: tuple[Ledger, Ledger],
) -> None:
    first, second = pair
    assert shares(second) == {"ana": 1_000}
    first.record([b.transferred("acme", "ana", "ben", "common", 300, "2021-01-01")])
    assert shares(second) == {"ana": 700, "ben": 300}
    assert second.known_position() == first.known_position() == 4


def test_a_write_on_a_stale_stream_conflicts_and_is_retried_on_fresh_state(
    pair: tuple[Ledger, Ledger],
) -> None:
    first, second = pair
    assert shares(second) == {"ana": 1_000}  # the second ledger has read the stream
    theirs: list[Any] = []
    port = stale(
        second,
        lambda: theirs.append(
            first.record([b.transferred("acme", "ana", "ben", "common", 300, "2021-01-01")])
        ),
    )
    ours = second.record([b.transferred("acme", "ana", "carl", "common", 600, "2021-02-01")])
    assert port.appends == 2  # the first write conflicted; the retry went through
    [their_event], [our_event] = theirs[0].recorded, ours.recorded
    # On PostgreSQL the rolled-back append used up a position: positions may skip.
    assert their_event.position == 4
    assert our_event.position == second.known_position() > 4
    assert shares(first) == shares(second) == {"ana": 100, "carl": 600, "ben": 300}
    company: Company = first.repository.get("acme")
    assert [(e.originator_version, e.event_id) for e in company.events[3:]] == [
        (4, their_event.event_id),
        (5, our_event.event_id),
    ]


def test_a_retry_that_would_break_an_invariant_is_refused_and_nothing_of_it_is_stored(
    pair: tuple[Ledger, Ledger],
) -> None:
    first, second = pair
    assert shares(second) == {"ana": 1_000}
    port = stale(
        second,
        lambda: first.record([b.transferred("acme", "ana", "ben", "common", 1_000, "2021-01-01")]),
    )
    # Both try to transfer ana's whole holding: checked on fresh state, the second cannot.
    with pytest.raises(RuleViolation, match=r"rule 3 .*exceeds their holding of 0") as refused:
        second.record([b.transferred("acme", "ana", "carl", "common", 1_000, "2021-01-01")])
    assert refused.value.rule == 3
    assert port.appends == 1
    assert shares(second) == shares(first) == {"ben": 1_000}
    assert [e.type for e in second.history("acme").events] == [
        "CompanyRegistered",
        "ShareClassCreated",
        "SharesIssued",
        "SharesTransferred",
    ]
    assert second.known_position() == 4


def test_a_conflicting_batch_across_two_companies_is_retried_whole_and_stored_once(
    pair: tuple[Ledger, Ledger],
) -> None:
    first, second = pair
    first.record(b.founded("globex", "2020-01-01", {"carl": 50}))
    port = stale(
        second, lambda: first.record([b.issued("globex", "dora", "common", 5, "2021-01-01")])
    )
    result = second.record(
        [
            b.transferred("acme", "ana", "ben", "common", 10, "2021-01-01"),
            b.transferred("globex", "carl", "ben", "common", 20, "2021-01-01"),
        ]
    )
    assert port.appends == 2
    ours = {str(r.event_id) for r in result.recorded}
    stored = [
        e.event_id
        for company in ("acme", "globex")
        for e in first.history(company).events
        if e.event_id in ours
    ]
    assert sorted(stored) == sorted(ours)
    assert {
        p.company: p.shares for p in first.holdings("ben", as_of=D("2021-12-31")).positions
    } == {"acme": 10, "globex": 20}


def test_a_writer_that_keeps_losing_the_race_gives_up_with_a_conflict_error(
    pair: tuple[Ledger, Ledger],
) -> None:
    first, second = pair
    port = stale(
        second,
        *[
            lambda n=n: first.record([b.issued("acme", f"p{n}", "common", 1, "2021-01-01")])
            for n in range(MAX_ATTEMPTS)
        ],
    )
    with pytest.raises(ConflictError, match=rf"gave up after {MAX_ATTEMPTS} attempts.*acme"):
        second.record([b.transferred("acme", "ana", "ben", "common", 10, "2021-01-01")])
    assert port.appends == MAX_ATTEMPTS
    assert "ben" not in shares(first)
    assert len(first.history("acme").events) == 3 + MAX_ATTEMPTS
    # The other writer done, the same batch now goes through at once.
    second.record([b.transferred("acme", "ana", "ben", "common", 10, "2021-01-01")])
    assert port.appends == MAX_ATTEMPTS + 1
    assert shares(first)["ben"] == 10
