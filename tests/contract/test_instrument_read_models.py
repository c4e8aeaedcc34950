"""The read models of the equity instruments on every backend: the state the queries rebuild
from ``security_history``, ``pool_history`` and ``stakeholder_history`` (and the answers
built from it) equals the fold's at every (as of D, known at T), through grants, exercises,
cancellations returned and retired, an expiry, a split, a warrant, a SAFE's conversion, a
class conversion, renames, a back-dated grant and a retracted one; ``verify`` agrees, and a
rebuild writes the rows the catch-ups wrote."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from ledger import Ledger
from ledger.domain.errors import LedgerError
from ledger.domain.state import CompanyState
from projections import queries
from projections.service import ReadModelService
from tests import builders as b
from tests.contract.test_read_models import answers, models, rows, tables

D = date.fromisoformat
PARTIES = ("ana", "cy", "dee", "eve", "fay", "fund", "angel")


def event(type_: str, on: str, **fields: Any) -> dict[str, Any]:
    return {"type": type_, "company": "acme", "effective_date": on, **fields}


def instrument_batches() -> list[list[dict[str, Any]]]:
    """acme's instruments over 2020-2022 in batches, the last two back-dated grants."""
    return [
        [
            *b.founded("acme", "2020-01-01", {"ana": 1_000, "ben": 500}),
            b.share_class("acme", "pref", "2020-01-01", kind="preferred"),
            b.executive_appointed("acme", "ana", "ceo", "2020-01-01"),
            b.director_appointed("acme", "ana", "2020-01-01"),
            event("StakeholderRecorded", "2020-01-01", party="ana", name="Ana", kind="individual"),
        ],
        [
            event(
                "StockPlanCreated",
                "2020-02-01",
                plan="main",
                name="2020 Plan",
                share_class="common",
                reserved=1_000,
            ),
            event(
                "StockPlanCreated",
                "2020-02-01",
                plan="rsus",
                name="RSU Plan",
                share_class="common",
                reserved=300,
                on_cancel="retire",
            ),
        ],
        [
            event(
                "OptionGranted",
                "2020-03-01",
                grant="g1",
                holder="cy",
                plan="main",
                quantity=400,
                exercise_price=b.usd("0.10"),
                expiration_date="2022-06-30",
                vesting={"start": "2020-03-01", "months": 48, "cliff_months": 12},
            ),
            event(
                "OptionGranted",
                "2020-03-01",
                grant="r1",
                holder="dee",
                plan="rsus",
                quantity=100,
                kind="rsu",
            ),
        ],
        [
            event(
                "WarrantIssued",
                "2020-04-01",
                warrant="w1",
                holder="fund",
                share_class="pref",
                quantity=200,
                exercise_price=b.usd("1.00"),
                expiration_date="2021-12-31",
            ),
            event(
                "ConvertibleIssued",
                "2020-05-01",
                convertible="s1",
                holder="angel",
                kind="safe",
                amount=b.usd(50_000),
                valuation_cap=b.usd(5_000_000),
            ),
        ],
        [event("OptionExercised", "2021-03-15", grant="g1", quantity=100)],
        [event("OptionCancelled", "2021-04-01", grant="r1", quantity=40, reason="other")],
        [event("OptionExercised", "2021-05-01", grant="r1", quantity=20)],
        [event("StockSplit", "2021-06-01", share_class="common", ratio="2:1")],
        [event("WarrantExercised", "2021-07-01", warrant="w1", quantity=50)],
        [
            event(
                "ConvertibleConverted",
                "2021-08-01",
                convertible="s1",
                share_class="pref",
                shares=10_000,
            )
        ],
        [
            event(
                "SharesConverted",
                "2021-09-01",
                holder="fund",
                from_class="pref",
                to_class="common",
                shares=25,
            ),
            event(
                "StakeholderRecorded",
                "2021-10-01",
                party="ana",
                name="Ana Smith",
                kind="individual",
            ),
            event("StockPlanReserveChanged", "2021-10-01", plan="main", reserved=2_500),
        ],
        [event("OptionCancelled", "2021-12-01", grant="g1", quantity=50, reason="forfeited")],
        # Late facts: a grant back in 2020, and one in 2021 (retracted by the history).
        [
            event(
                "OptionGranted",
                "2020-06-01",
                grant="g0",
                holder="eve",
                plan="main",
                quantity=50,
                exercise_price=b.usd("0.10"),
            )
        ],
        [
            event(
                "OptionGranted",
                "2021-02-01",
                grant="g2",
                holder="fay",
                plan="main",
                quantity=70,
                exercise_price=b.usd("0.20"),
            )
        ],
    ]


def an_instrument_history(ledger: Ledger) -> None:
    """``instrument_batches`` recorded one batch at a time, then the last grant retracted."""
    for batch in instrument_batches():
        wrong = ledger.record(batch)
    ledger.record([b.retracted("acme", wrong.recorded[0].event_id)])


def instruments(state: CompanyState) -> dict[str, Any]:
    """What the report builders read of a state (a convertible only while it is open)."""
    return {
        "holdings": state.holdings,
        "outstanding": state.outstanding,
        "awards": state.awards,
        "warrants": state.warrants,
        "convertibles": {k: c for k, c in state.convertibles.items() if c.settled is None},
        "plans": state.plans,
        "stakeholders": state.stakeholders,
    }


def read_state(ledger: Ledger, as_of: date, known_at: int) -> CompanyState:
    service = models(ledger)
    assert isinstance(service, ReadModelService)
    with service._reading(known_at, "acme") as (raw, position, now):
        return queries.company_state(service.db, raw, "acme", as_of, position, now)


def days() -> list[date]:
    first = D("2019-12-31")
    every = [first + timedelta(days=n) for n in range(0, 1_000, 90)]
    crossings = ["2021-03-15", "2021-06-01", "2021-08-01", "2022-06-30", "2022-07-01"]
    return [*every, *map(D, crossings)]


def test_the_instrument_read_models_rebuild_the_folds_state_at_every_date_and_position(
    ledger: Ledger,
) -> None:
    an_instrument_history(ledger)
    last = ledger.known_position()
    for known_at in range(last + 1):
        for as_of in days():
            fold, _, _ = ledger.state("acme", as_of, known_at)
            assert instruments(read_state(ledger, as_of, known_at)) == instruments(fold), (
                as_of,
                known_at,
            )
            tables_say = answers(ledger, "acme", as_of, known_at, fold=False)
            assert tables_say == answers(ledger, "acme", as_of, known_at, fold=True)
            for holder in (None, "cy"):
                assert models(ledger).grants("acme", as_of, known_at, holder) == ledger.grants(
                    "acme", as_of, known_at, holder=holder
                )
        # Before the exercise and the conversion cy holds options only, angel a SAFE only.
        for party, as_of in itertools.product(PARTIES, (D("2020-07-01"), D("2021-11-01"))):
            assert ledger.holdings(party, as_of, known_at) == ledger.holdings(
                party, as_of, known_at, fold=True
            )


def test_the_rows_hold_the_stored_terms_and_an_open_convertible_only(ledger: Ledger) -> None:
    an_instrument_history(ledger)
    believed = [r for r in rows(ledger, "security_history") if r[-1] is None]
    now = {(r[1], r[2]): r[3:11] for r in believed if r[-3] is None}  # valid_to NULL
    assert now[("g1", "option")][:5] == ("cy", "main", "common", 800, 200)
    assert now[("g1", "option")][5] == 50  # cancelled after the split
    assert now[("r1", "rsu")][:6] == ("dee", "rsus", "common", 200, 40, 80)
    assert now[("w1", "warrant")][:6] == ("fund", None, "pref", 200, 50, 0)
    assert ("s1", "convertible") not in now  # converted
    assert ("g2", "option") not in now  # retracted
    assert str(now[("g1", "option")][6]) == "2022-06-30"  # expiration_date, its own column
    assert '"exercise_price":"0.05' in now[("g1", "option")][7]  # halved by the split
    pools = {r[1]: r[2:8] for r in rows(ledger, "pool_history") if r[-1] is None and r[-3] is None}
    assert pools["main"] == ("2020 Plan", "common", "return", 2_500, 200, 0)
    assert pools["rsus"] == ("RSU Plan", "common", "retire", 600, 40, 80)
    names = [r[2] for r in rows(ledger, "stakeholder_history") if r[-1] is None]
    assert sorted(names) == ["Ana", "Ana Smith"]


def test_verify_covers_the_instruments_and_a_rebuild_writes_what_the_catch_ups_wrote(
    ledger: Ledger,
) -> None:
    an_instrument_history(ledger)
    read_models = models(ledger)
    assert read_models.verify().startswith("read models match the fold")
    caught_up = tables(ledger)
    assert caught_up["security_history"]
    assert caught_up["pool_history"]
    read_models.rebuild()
    assert tables(ledger) == caught_up
    read_models.rebuild("acme")
    assert tables(ledger) == caught_up


def test_the_audit_lists_a_grant_an_exercise_and_a_pool_change_with_the_events_behind_them(
    ledger: Ledger,
) -> None:
    an_instrument_history(ledger)
    audit = ledger.audit("acme", D("2020-02-01"), D("2021-10-01"))
    changes = {
        (c.effective_date.isoformat(), c.table, *c.key.values()): (
            c.before,
            c.after,
            c.changed,
            [e.type for e in c.events],
        )
        for c in audit.changes
    }
    before, after, changed, behind = changes["2020-03-01", "security", "g1", "option"]
    assert (before, changed, behind) == (None, [*after], ["OptionGranted"])  # not r1's grant
    assert (after["holder"], after["plan"], after["quantity"], after["exercised"]) == (
        "cy",
        "main",
        400,
        0,
    )
    exercise = "2021-03-15"
    assert changes[exercise, "security", "g1", "option"][2:] == (["exercised"], ["OptionExercised"])
    assert changes[exercise, "pool", "main"][:2] == (
        {"name": "2020 Plan", "share_class": "common", "on_cancel": "return", "reserved": 1_000,
         "exercised": 0, "retired": 0},
        {"name": "2020 Plan", "share_class": "common", "on_cancel": "return", "reserved": 1_000,
         "exercised": 100, "retired": 0},
    )  # fmt: skip
    assert changes[exercise, "pool", "main"][3] == ["OptionExercised"]
    assert changes[exercise, "cap_table", "cy", "common"][1:] == (
        {"shares": 100},
        ["shares"],
        ["OptionExercised"],
    )
    reserve = changes["2021-10-01", "pool", "main"]
    assert (reserve[2], reserve[3]) == (["reserved"], ["StockPlanReserveChanged"])
    renamed = changes["2021-10-01", "stakeholder", "ana"]
    assert (renamed[1], renamed[3]) == (
        {"name": "Ana Smith", "kind": "individual"},
        ["StakeholderRecorded"],
    )
    # A split is behind the change of each instrument and plan of its class.
    split = [k for k in changes if k[0] == "2021-06-01" and k[1] in ("security", "pool")]
    assert sorted(split) == [
        ("2021-06-01", "pool", "main"),
        ("2021-06-01", "pool", "rsus"),
        ("2021-06-01", "security", "g0", "option"),
        ("2021-06-01", "security", "g1", "option"),
        ("2021-06-01", "security", "r1", "rsu"),
    ]
    assert {changes[k][3][0] for k in split} == {"StockSplit"}
    csv = audit.csv_rows()
    assert {(r["table"], r.get("security"), r.get("kind"), r.get("plan")) for r in csv} >= {
        ("security", "g1", "option", None),
        ("pool", None, None, "main"),
    }


def test_verify_names_an_instrument_row_changed_behind_its_back(ledger: Ledger) -> None:
    an_instrument_history(ledger)
    with ledger.engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE security_history SET quantity = quantity + 1 "
                "WHERE security = 'w1' AND known_to IS NULL AND valid_to IS NULL"
            )
        )
    differs = r"\(security_history\) differs .* security w1 kind warrant"
    with pytest.raises(LedgerError, match=differs):
        models(ledger).verify()


def test_an_exercise_that_restores_the_rows_last_compared_whole_is_still_written(
    ledger: Ledger,
) -> None:
    # The exercise is compared whole (its holder is the grant's), the cancellation by key:
    # the second exercise brings the cap table back to what the first left.
    ledger.record(b.founded("acme", "2020-01-01", {"ana": 1_000}))
    ledger.record(
        [
            event("StockPlanCreated", "2020-01-01", plan="p", name="P", share_class="common",
                  reserved=500),
            event("OptionGranted", "2020-01-01", grant="g", holder="cy", plan="p", quantity=100,
                  exercise_price=b.usd(1)),
        ]
    )  # fmt: skip
    ledger.record([event("OptionExercised", "2020-03-01", grant="g", quantity=50)])
    ledger.record([b.cancelled("acme", "cy", "common", 50, "2020-04-01")])
    ledger.record([event("OptionExercised", "2020-05-01", grant="g", quantity=50)])
    as_of = D("2020-06-01")
    assert {h.party: h.shares for h in ledger.cap_table("acme", as_of).holders} == {
        "ana": 1_000,
        "cy": 50,
    }
    assert models(ledger).verify().startswith("read models match the fold")
