"""The tables of ``ledger.rows``: for every fact of a history touching every table, the rows
it changes are among those its ``touched`` names, none when its type is ``unchanged_by``, and
its table's ``behind`` names it; ``value_of`` agrees with ``rows``. No I/O."""

from __future__ import annotations

from itertools import chain

from ledger.batch import validate
from ledger.domain.entry import Entry
from ledger.domain.rules import apply_known
from ledger.domain.state import CompanyState
from ledger.rows import BY_NAME
from tests import builders as b
from tests.contract.test_instrument_read_models import instrument_batches


def history() -> list[Entry]:
    events = [
        *chain.from_iterable(instrument_batches()),
        b.valuation("acme", 9_000_000, "2021-12-01"),
        b.transferred("acme", "ana", "ben", "common", 100, "2022-01-01"),
        b.executive_departed("acme", "ana", "ceo", "2022-02-01"),
        b.invested("acme", "fund", "pref", 1_000_000, "2022-03-01", shares=300),
    ]
    facts = [validate(e, n)[0] for n, e in enumerate(events, start=1)]
    return sorted(
        (Entry(f, n, f"item {n}") for n, f in enumerate(facts, start=1)), key=lambda e: e.key
    )


def test_every_table_names_the_rows_a_fact_can_change() -> None:
    state = CompanyState("acme")
    seen: dict[str, set[str]] = {name: set() for name in BY_NAME}
    for entry in history():
        fact = entry.fact
        before = {name: table.rows(state) for name, table in BY_NAME.items()}
        assert apply_known(state, entry), fact
        for name, table in BY_NAME.items():
            after = table.rows(state)
            changed = {
                k for k in before[name].keys() | after.keys() if before[name].get(k) != after.get(k)
            }
            if changed:
                seen[name].add(fact.type)
            if fact.type in table.unchanged_by:
                assert not changed, (name, fact.type)
            touched = table.touched(state, fact)
            if touched is not None:
                assert changed <= touched, (name, fact.type, changed - touched)
            for key in changed:
                assert table.behind(state, key, fact), (name, fact.type, key)
            for key in after.keys() | (touched or set()):
                assert table.value_of(state, key) == after.get(key), (name, key)
    assert seen["security"] >= {
        "OptionGranted",
        "OptionExercised",
        "OptionCancelled",
        "WarrantIssued",
        "WarrantExercised",
        "ConvertibleIssued",
        "ConvertibleConverted",
        "StockSplit",
    }
    assert seen["pool"] >= {
        "StockPlanCreated",
        "StockPlanReserveChanged",
        "OptionExercised",
        "OptionCancelled",
        "StockSplit",
    }
    assert seen["cap_table"] >= {
        "SharesConverted",
        "OptionExercised",
        "WarrantExercised",
        "ConvertibleConverted",
        "StockSplit",
        "SharesTransferred",
    }
    assert seen["stakeholder"] == {"StakeholderRecorded"}
    assert seen["valuation"] == {"InvestmentMade", "ValuationRecorded"}
