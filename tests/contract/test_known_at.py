"""Transaction time on every backend: answers as known at a position, a timestamp or a date,
and late (back-dated) events that change the past only from the moment they are known."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ledger import InputError, Ledger, RuleViolation
from tests import builders as b

D = date.fromisoformat


def shares(ledger: Ledger, company: str, as_of: date, known_at: Any = None) -> dict[str, int]:
    table = ledger.cap_table(company, as_of=as_of, known_at=known_at)
    assert sum(h.shares for h in table.holders) == table.total_shares
    return {h.party: h.shares for h in table.holders}


def two_batches(ledger: Ledger) -> tuple[int, int]:
    """acme founded with ana 1,000 (batch 1); then ana sells ben 250 (batch 2). Returns the
    last position of each batch. The pause keeps their recorded_at apart even on SQLite,
    which stores milliseconds."""
    first = ledger.record(b.founded("acme", "2020-01-01", {"ana": 1_000}))
    time.sleep(0.01)
    second = ledger.record([b.transferred("acme", "ana", "ben", "common", 250, "2020-02-01")])
    p1, p2 = first.recorded[-1].position, second.recorded[-1].position
    assert p1 is not None
    assert p2 is not None
    return p1, p2


def recorded_at(ledger: Ledger, position: int) -> datetime:
    [event] = [e for e in ledger.history("acme").events if e.position == position]
    return event.recorded_at


def test_known_at_a_position_answers_as_the_log_stood_then(ledger: Ledger) -> None:
    p1, p2 = two_batches(ledger)
    as_of = D("2020-12-31")
    assert shares(ledger, "acme", as_of, known_at=p1) == {"ana": 1_000}
    assert shares(ledger, "acme", as_of, known_at=p2) == {"ana": 750, "ben": 250}
    assert shares(ledger, "acme", as_of) == {"ana": 750, "ben": 250}
    assert ledger.cap_table("acme", as_of=as_of, known_at=p1).known_at == p1
    assert ledger.cap_table("acme", as_of=as_of).known_at == p2 == ledger.known_position()
    assert [e.position for e in ledger.history("acme", known_at=p1).events] == list(
        range(1, p1 + 1)
    )


def test_known_at_a_timestamp_between_two_batches_answers_as_known_after_the_first(
    ledger: Ledger,
) -> None:
    p1, p2 = two_batches(ledger)
    t1, t2 = recorded_at(ledger, p1), recorded_at(ledger, p2)
    assert t1 < t2
    between = t1 + (t2 - t1) / 2
    as_of = D("2020-12-31")
    for moment in (t1, between, between.replace(tzinfo=None)):  # naive means UTC
        assert ledger.known_position(moment) == p1
        assert shares(ledger, "acme", as_of, known_at=moment) == {"ana": 1_000}
    assert ledger.known_position(t2) == p2
    assert shares(ledger, "acme", as_of, known_at=t2) == {"ana": 750, "ben": 250}
    # The same instant written in another zone is the same moment.
    eastern = between.astimezone(ZoneInfo("America/New_York"))
    assert ledger.known_position(eastern) == p1


def test_known_at_a_timestamp_before_anything_was_recorded_knows_nothing(
    ledger: Ledger,
) -> None:
    two_batches(ledger)
    before = recorded_at(ledger, 1) - timedelta(seconds=5)
    table = ledger.cap_table("acme", as_of=D("2020-12-31"), known_at=before)
    assert (table.known_at, table.total_shares, table.holders) == (0, 0, [])


def test_known_at_a_date_means_the_end_of_that_day_in_utc(ledger: Ledger) -> None:
    _, p2 = two_batches(ledger)
    # The UTC days of the first and last recording (the same day unless run at midnight).
    today = recorded_at(ledger, p2).date()
    assert ledger.known_position(today) == p2
    assert shares(ledger, "acme", D("2020-12-31"), known_at=today) == {"ana": 750, "ben": 250}
    yesterday = recorded_at(ledger, 1).date() - timedelta(days=1)
    assert ledger.known_position(yesterday) == 0
    assert shares(ledger, "acme", D("2020-12-31"), known_at=yesterday) == {}


def test_known_at_past_the_end_of_the_log_is_an_input_error(ledger: Ledger) -> None:
    _, p2 = two_batches(ledger)
    with pytest.raises(InputError, match=rf"past the end of the log \(last position {p2}\)"):
        ledger.cap_table("acme", known_at=p2 + 1)
    with pytest.raises(InputError, match="past the end"):
        ledger.history("acme", known_at=p2 + 1)


def test_known_at_in_the_future_or_a_negative_position_is_an_input_error(
    ledger: Ledger,
) -> None:
    two_batches(ledger)
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    with pytest.raises(InputError, match="in the future"):
        ledger.roster("acme", known_at=tomorrow)
    with pytest.raises(InputError, match="in the future"):
        ledger.board("acme", known_at=datetime.now(UTC) + timedelta(days=2))
    with pytest.raises(InputError, match="not a position"):
        ledger.cap_table("acme", known_at=-1)


def test_a_late_event_changes_the_past_only_as_known_after_it(ledger: Ledger) -> None:
    ledger.record(b.founded("acme", "2019-01-01", {"ana": 1_000}))
    before = ledger.record([b.issued("acme", "carl", "common", 500, "2020-01-01")])
    known_before = before.recorded[-1].position
    # Filed late: ana sold ben 300 back in mid-2019.
    late = ledger.record([b.transferred("acme", "ana", "ben", "common", 300, "2019-06-01")])
    known_after = late.recorded[-1].position
    for as_of, old, new in [
        (D("2019-05-31"), {"ana": 1_000}, {"ana": 1_000}),
        (D("2019-12-31"), {"ana": 1_000}, {"ana": 700, "ben": 300}),
        (D("2020-06-01"), {"ana": 1_000, "carl": 500}, {"ana": 700, "carl": 500, "ben": 300}),
    ]:
        assert shares(ledger, "acme", as_of, known_at=known_before) == old
        assert shares(ledger, "acme", as_of, known_at=known_after) == new
        assert shares(ledger, "acme", as_of) == new


def test_a_late_event_that_breaks_a_later_date_is_refused_and_nothing_is_stored(
    ledger: Ledger,
) -> None:
    ledger.record(
        [
            *b.founded("acme", "2020-01-01", {"ana": 1_000}),
            b.transferred("acme", "ana", "ben", "common", 800, "2020-06-01"),
        ]
    )
    before = ledger.known_position()
    # On 2020-03-01 ana holds 1,000, so cancelling 300 is fine then; but it leaves her 700
    # for the 800 she transfers on 2020-06-01.
    with pytest.raises(RuleViolation, match=r"rule 3 .*2020-06-01") as refused:
        ledger.record([b.cancelled("acme", "ana", "common", 300, "2020-03-01")])
    assert refused.value.rule == 3
    assert ledger.known_position() == before
    assert shares(ledger, "acme", D("2020-12-31")) == {"ben": 800, "ana": 200}


def test_a_late_ceo_appointment_that_overlaps_a_later_one_is_refused(ledger: Ledger) -> None:
    ledger.record(
        [
            b.registered("acme", "2020-01-01"),
            b.executive_appointed("acme", "ana", "ceo", "2020-01-01"),
            b.executive_departed("acme", "ana", "ceo", "2020-06-01"),
            b.executive_appointed("acme", "ben", "ceo", "2020-09-01"),
        ]
    )
    # carl CEO from 2020-07-01 overlaps ben from 2020-09-01 (nobody records carl leaving).
    with pytest.raises(RuleViolation, match="rule 4") as refused:
        ledger.record([b.executive_appointed("acme", "carl", "ceo", "2020-07-01")])
    assert refused.value.rule == 4
    # With his departure in the same batch the timeline stays valid.
    ledger.record(
        [
            b.executive_appointed("acme", "carl", "ceo", "2020-07-01"),
            b.executive_departed("acme", "carl", "ceo", "2020-08-31"),
        ]
    )
    roster = ledger.roster("acme", as_of=D("2020-08-01"))
    assert [(o.person, o.role, o.since) for o in roster.officers] == [
        ("carl", "ceo", D("2020-07-01"))
    ]


def test_events_on_the_same_date_apply_in_the_order_recorded(ledger: Ledger) -> None:
    ledger.record(
        [
            b.registered("acme", "2020-01-01"),
            b.executive_appointed("acme", "ana", "ceo", "2020-01-01"),
        ]
    )
    # A successor on the same day as the departure must come after it.
    with pytest.raises(RuleViolation, match="rule 4"):
        ledger.record(
            [
                b.executive_appointed("acme", "ben", "ceo", "2020-05-01"),
                b.executive_departed("acme", "ana", "ceo", "2020-05-01"),
            ]
        )
    ledger.record(
        [
            b.executive_departed("acme", "ana", "ceo", "2020-05-01"),
            b.executive_appointed("acme", "ben", "ceo", "2020-05-01"),
        ]
    )
    assert [o.person for o in ledger.roster("acme", as_of=D("2020-05-01")).officers] == ["ben"]


def test_known_at_a_position_inside_a_batch_leaves_out_what_cannot_apply_yet(
    ledger: Ledger,
) -> None:
    ledger.record(
        [b.registered("acme", "2020-01-01"), b.share_class("acme", "common", "2020-01-01")]
    )
    # One batch, written transfer first: valid, because the issuance is effective earlier.
    batch = ledger.record(
        [
            b.transferred("acme", "ana", "ben", "common", 100, "2020-02-01"),
            b.issued("acme", "ana", "common", 100, "2020-01-15"),
        ]
    )
    first, last = (r.position for r in batch.recorded)
    assert (first, last) == (3, 4)
    # Known at the transfer alone: it cannot apply (ana holds nothing yet), so it is left
    # out rather than shown as a negative holding; the position is the one asked for.
    table = ledger.cap_table("acme", as_of=D("2020-12-31"), known_at=first)
    assert (table.known_at, shares(ledger, "acme", D("2020-12-31"), known_at=first)) == (
        first,
        {},
    )
    assert shares(ledger, "acme", D("2020-12-31"), known_at=last) == {"ben": 100}
    assert [e.position for e in ledger.history("acme", known_at=first).events] == [1, 2, 3]


def test_known_at_a_position_inside_a_new_companys_batch_before_its_registration_is_empty(
    ledger: Ledger,
) -> None:
    ledger.record(
        [
            b.issued("acme", "ana", "common", 10, "2020-02-01"),
            b.share_class("acme", "common", "2020-01-02"),
            b.registered("acme", "2020-01-01"),
        ]
    )
    assert shares(ledger, "acme", D("2020-12-31"), known_at=1) == {}
    assert shares(ledger, "acme", D("2020-12-31"), known_at=3) == {"ana": 10}
    assert ledger.known_position(1) == 1
