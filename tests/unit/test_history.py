"""The pure half of the read models (no I/O): canonical histories from the fold, and the splice
of a change into the rows believed until then; the reports' trusted models and percentages."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.batch import validate
from ledger.domain.entry import Entry
from ledger.domain.instruments import Standing
from ledger.domain.state import CompanyState, ShareClass
from ledger.domain.values import percent, percent_text
from ledger.reports import Holder, OneClass, holders_of
from projections.history import BOARD, CAP_TABLE, ROSTER, Row, canonical, splice
from tests import builders as b

D = date.fromisoformat
KEY = ("ana", "common")


def entries(*events: dict[str, object]) -> list[Entry]:
    facts = [validate(e, n)[0] for n, e in enumerate(events, start=1)]
    timeline = [Entry(f, n, f"item {n}") for n, f in enumerate(facts, start=1)]
    return sorted(timeline, key=lambda e: e.key)


def test_the_canonical_history_holds_maximal_intervals_of_unchanged_value() -> None:
    timeline = entries(
        *b.founded("acme", "2020-01-01", {"ana": 100}),
        b.issued("acme", "ben", "common", 5, "2020-02-01"),  # ana unchanged
        b.issued("acme", "ana", "common", 10, "2020-03-01"),
        b.transferred("acme", "ana", "ben", "common", 10, "2020-03-01"),  # back to 100, same day
        b.cancelled("acme", "ben", "common", 5, "2020-04-01"),
    )
    [cap] = canonical([CAP_TABLE], "acme", timeline)
    assert cap == {
        ("ana", "common"): [Row(("ana", "common"), (100, 1), D("2020-01-01"), None)],
        ("ben", "common"): [
            Row(("ben", "common"), (5, 1), D("2020-02-01"), D("2020-03-01")),
            Row(("ben", "common"), (15, 1), D("2020-03-01"), D("2020-04-01")),
            Row(("ben", "common"), (10, 1), D("2020-04-01"), None),
        ],
    }


def test_a_directors_row_ends_where_executive_changes_and_keeps_the_seats_date() -> None:
    timeline = entries(
        b.registered("acme", "2020-01-01"),
        b.director_appointed("acme", "ana", "2020-01-01"),
        b.executive_appointed("acme", "ana", "ceo", "2020-06-01"),
        b.executive_departed("acme", "ana", "ceo", "2021-01-01"),
    )
    board, roster = canonical([BOARD, ROSTER], "acme", timeline)
    since = D("2020-01-01")
    assert board == {
        ("ana",): [
            Row(("ana",), ("director", None, False, since), since, D("2020-06-01")),
            Row(("ana",), ("director", None, True, since), D("2020-06-01"), D("2021-01-01")),
            Row(("ana",), ("director", None, False, since), D("2021-01-01"), None),
        ]
    }
    assert roster == {
        ("ana", "ceo", None): [
            Row(("ana", "ceo", None), (False, D("2020-06-01")), D("2020-06-01"), D("2021-01-01"))
        ]
    }


def test_an_open_row_is_cut_where_the_value_changes() -> None:
    open_row = Row(KEY, (100, 1), D("2020-01-01"), None)
    closed, opened = splice([open_row], D("2020-03-01"), [Row(KEY, (90, 1), D("2020-03-01"), None)])
    assert closed == [open_row]
    assert opened == [
        Row(KEY, (100, 1), D("2020-01-01"), D("2020-03-01")),
        Row(KEY, (90, 1), D("2020-03-01"), None),
    ]


def test_a_value_that_goes_on_from_the_cut_joins_the_row_before_it() -> None:
    before = Row(KEY, (100, 1), D("2020-01-01"), D("2020-03-01"))
    after = Row(KEY, (90, 1), D("2020-03-01"), None)
    # On 2020-03-01 a later event of the same day restores 100: one row again.
    closed, opened = splice(
        [before, after], D("2020-03-01"), [Row(KEY, (100, 1), D("2020-03-01"), None)]
    )
    assert closed == [before, after]
    assert opened == [Row(KEY, (100, 1), D("2020-01-01"), None)]


def test_rows_that_stay_true_are_left_alone() -> None:
    rows = [
        Row(KEY, (100, 1), D("2020-01-01"), D("2020-03-01")),
        Row(KEY, (90, 1), D("2020-03-01"), D("2020-05-01")),
        Row(KEY, (80, 1), D("2020-05-01"), None),
    ]
    # A back-dated change from 2020-04-01: the row reaching across is cut, the later replaced.
    new = [
        Row(KEY, (95, 1), D("2020-04-01"), D("2020-05-01")),
        Row(KEY, (80, 1), D("2020-05-01"), None),
    ]
    closed, opened = splice(rows[1:], D("2020-04-01"), new)  # the rows reaching 2020-04-01
    assert closed == [rows[1]]
    assert opened == [
        Row(KEY, (90, 1), D("2020-03-01"), D("2020-04-01")),
        Row(KEY, (95, 1), D("2020-04-01"), D("2020-05-01")),
    ]
    # Nothing changes from 2020-06-01 (the value goes on): nothing to do.
    assert splice(rows[2:], D("2020-06-01"), [Row(KEY, (80, 1), D("2020-06-01"), None)]) == (
        [],
        [],
    )


def test_a_key_that_ends_closes_its_row_at_the_date() -> None:
    open_row = Row(KEY, (100, 1), D("2020-01-01"), None)
    assert splice([open_row], D("2020-02-01"), []) == (
        [open_row],
        [Row(KEY, (100, 1), D("2020-01-01"), D("2020-02-01"))],
    )


@pytest.mark.parametrize(
    ("part", "whole"),
    [(1, 3), (2, 3), (49, 100), (1, 2 * 10**6), (3, 2 * 10**6), (5, 2 * 10**6), (0, 7), (7, 0)],
)
def test_percent_text_is_the_percentage_as_its_decimal_prints(part: int, whole: int) -> None:
    value = percent(part, whole)
    assert percent_text(part, whole) == (None if value is None else str(value))


def test_holders_built_without_validation_equal_validated_ones() -> None:
    """``holders_of`` skips pydantic's validation (a cap table of a thousand holders): the
    models must be those validation gives."""
    state = CompanyState("acme")
    state.classes = {
        "common": ShareClass("common", "Common", "common", None, 1, 1_500),
        "pref": ShareClass("pref", "Pref", "preferred", None, 0, 300),
    }
    state.holdings = {"ben": {"pref": 300, "common": 500}, "ana": {"common": 1_000}}
    state.outstanding = 1_800
    trusted = holders_of(state, date.max)
    validated = [Holder.model_validate(dict(holder)) for holder in trusted]
    assert trusted == validated
    assert [h.model_dump(mode="json") for h in trusted] == [
        {"party": "ana", "shares": 1000, "ownership_percent": "55.5556",
         "voting_percent": "66.6667", "classes": {"common": 1000},
         "ownership_percent_by_class": {"common": "55.5556"},
         "voting_percent_by_class": {"common": "66.6667"}, "name": None, "options": 0,
         "warrants": 0, "fully_diluted_shares": 1000, "fully_diluted_percent": "55.5556"},
        {"party": "ben", "shares": 800, "ownership_percent": "44.4444",
         "voting_percent": "33.3333", "classes": {"common": 500, "pref": 300},
         "ownership_percent_by_class": {"common": "27.7778", "pref": "16.6667"},
         "voting_percent_by_class": {"common": "33.3333", "pref": "0.0000"}, "name": None,
         "options": 0, "warrants": 0, "fully_diluted_shares": 800,
         "fully_diluted_percent": "44.4444"},
    ]  # fmt: skip


def test_holders_of_one_class_given_as_rows_are_those_of_the_states_holdings() -> None:
    """The read models hand a company of one class its holdings as the rows they fetch: the
    same holders, in the same order, as from ``CompanyState.holdings``, holders of options or
    warrants only among them."""
    state = CompanyState("acme")
    state.classes = {"common": ShareClass("common", "Common", "common", None, 1, 1_200)}
    held = {"ana": 500, "ben": 300, "cy": 300, "dee": 100}
    state.outstanding = 1_200
    dilution = Standing({"ben": 200, "eve": 50}, {"dee": 100, "fay": 50}, {}, 1_600)
    rows = [(party, "common", shares, 1) for party, shares in held.items()]
    fetched = holders_of(state, dilution, OneClass("common", rows))
    state.holdings = {party: {"common": shares} for party, shares in held.items()}
    assert [h.model_dump() for h in fetched] == [
        h.model_dump() for h in holders_of(state, dilution)
    ]
    assert [(h.party, h.shares, h.fully_diluted_shares) for h in fetched] == [
        ("ana", 500, 500), ("ben", 300, 500), ("cy", 300, 300), ("dee", 100, 200),
        ("eve", 0, 50), ("fay", 0, 50),
    ]  # fmt: skip
