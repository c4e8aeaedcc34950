"""The audit's changes (``reports.changes_between``): each row whose value at the end of a
day differs from the day before, with the events of that day that can change it. No I/O."""

from __future__ import annotations

from datetime import date

import pytest

from ledger import Ledger
from ledger.app import today as utc_today
from ledger.batch import validate
from ledger.domain.entry import Entry
from ledger.domain.errors import InputError
from ledger.reports import DayChange, changes_between
from tests import builders as b

D = date.fromisoformat


def timeline(*events: dict[str, object]) -> list[Entry]:
    facts = [validate(e, n)[0] for n, e in enumerate(events, start=1)]
    return sorted(
        (Entry(f, n, f"item {n}") for n, f in enumerate(facts, start=1)), key=lambda e: e.key
    )


def summary(changes: list[DayChange]) -> list[tuple[object, ...]]:
    return [(c.on, *c.key, c.before, c.after, [e.seq for e in c.events]) for c in changes]


def test_every_changed_row_is_listed_with_the_events_behind_it_within_the_period() -> None:
    entries = timeline(
        *b.founded("acme", "2020-01-01", {"ana": 100}),  # 1-3
        b.executive_appointed("acme", "ana", "ceo", "2020-01-01"),  # 4
        b.director_appointed("acme", "ben", "2020-02-01"),  # 5
        b.transferred("acme", "ana", "ben", "common", 40, "2020-03-01"),  # 6
        b.valuation("acme", 1_000, "2020-03-01"),  # 7: no row changes
        b.executive_departed("acme", "ana", "ceo", "2020-04-01"),  # 8
        b.issued("acme", "cy", "common", 1, "2021-01-01"),  # 9: after the period
    )
    changes = list(changes_between("acme", entries, D("2020-02-01"), D("2020-12-31")))
    since = D("2020-01-01")
    assert summary(changes) == [
        (
            D("2020-02-01"),
            "board",
            ("ben",),
            None,
            {
                "seat": "director",
                "designated_by": None,
                "executive": False,
                "since": D("2020-02-01"),
            },
            [5],
        ),
        (D("2020-03-01"), "cap_table", ("ana", "common"), {"shares": 100}, {"shares": 60}, [6]),
        (D("2020-03-01"), "cap_table", ("ben", "common"), None, {"shares": 40}, [6]),
        (
            D("2020-04-01"),
            "roster",
            ("ana", "ceo", None),
            {"interim": False, "since": since},
            None,
            [8],
        ),
    ]


def test_a_split_is_behind_the_change_of_every_holder_of_its_class() -> None:
    entries = timeline(
        *b.founded("acme", "2020-01-01", {"ana": 100, "ben": 10}),
        {"type": "StockSplit", "company": "acme", "share_class": "common", "ratio": "2:1",
         "effective_date": "2020-06-01"},
    )  # fmt: skip
    changes = list(changes_between("acme", entries, D("2020-06-01"), D("2020-06-01")))
    assert summary(changes) == [
        (D("2020-06-01"), "cap_table", ("ana", "common"), {"shares": 100}, {"shares": 200}, [5]),
        (D("2020-06-01"), "cap_table", ("ben", "common"), {"shares": 10}, {"shares": 20}, [5]),
    ]


def test_the_audit_of_a_company_still_to_come_is_an_empty_period_by_default() -> None:
    with Ledger.open("memory://") as ledger:
        ledger.record(b.founded("later", "2999-12-01", {"ana": 10}))
        audit = ledger.audit("later")
        today = utc_today()
        assert (audit.from_, audit.to, audit.changes) == (today, today, [])
        # A date given wins over the default: from it, the period is that day.
        day = date(2999, 12, 1)
        assert ledger.audit("later", start=day).to == day
        assert ledger.audit("later", start=day).changes != []
        with pytest.raises(InputError, match="--from 2999-12-01 is after --to 2999-11-30"):
            ledger.audit("later", start=day, end=date(2999, 11, 30))
