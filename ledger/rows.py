"""The one home of "how a company state becomes rows, and which rows a fact touches": every table
of the read models (``projections`` writes them as bitemporal history tables) and of the audit
(``reports.changes_between`` compares them from one day to the next).

A table has key columns and value columns; ``rows(state)`` is every key's value in a state.
``touched``, ``unchanged_by`` and ``behind`` say which rows a fact can change: the first two
spare the projections a comparison of every row (an optimization, checked by ``verify``), the
third names the events behind an audited change. Nothing here knows a rule: the states come
from the fold.

What depends on the date alone (vested, expired, outstanding, available) is not in a row:
the instruments' rows hold their stored terms, and the reports compute the rest at a date.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from .domain.events import (
    EVENT_TYPES,
    ConvertibleCancelled,
    ConvertibleConverted,
    ConvertibleIssued,
    Correction,
    Fact,
    InvestmentMade,
    OptionCancelled,
    OptionExercised,
    OptionGranted,
    SharesCancelled,
    SharesConverted,
    SharesIssued,
    SharesTransferred,
    StakeholderRecorded,
    StockPlanCreated,
    StockPlanReserveChanged,
    StockSplit,
    WarrantCancelled,
    WarrantExercised,
    WarrantIssued,
    fact_parties,
)
from .domain.state import Award, CompanyState, Convertible, Warrant
from .domain.values import decimal_text

Key = tuple[Hashable, ...]
Value = tuple[Hashable, ...]

ACTIONS = frozenset(name for name, kind in EVENT_TYPES.items() if not issubclass(kind, Correction))
"""Every event type that acts on a company (a correction changes rows through what it puts in
or takes out of the known events)."""


@dataclass(frozen=True)
class Table:
    """One table: its columns, a state's rows, and the rows a fact can change."""

    name: str
    """The audit's name of the table; the read model is ``<name>_history``."""
    key_columns: tuple[str, ...]
    value_columns: tuple[str, ...]
    rows: Callable[[CompanyState], dict[Key, Value]]
    """Every key's value in a state."""
    touched: Callable[[CompanyState, Fact], set[Key] | None]
    """The keys an applied fact can change (the state: just after it), or None for "any"
    (compare every row)."""
    value_of: Callable[[CompanyState, Key], Value | None]
    """One key's value in a state (None: the key has no row)."""
    behind: Callable[[CompanyState, Key, Fact], bool]
    """Whether a fact applied on a day can have changed the row ``key`` (the state: the end
    of that day)."""
    unchanged_by: frozenset[str] = frozenset()
    """Fact types that never change this table's rows."""
    nullable_keys: frozenset[str] = frozenset()
    audited: tuple[str, ...] | None = None
    """The value columns the audit shows (None: every one; None as a whole: not audited)."""

    def audit_value(self, value: Value) -> dict[str, Any]:
        row = dict(zip(self.value_columns, value, strict=True))
        return row if self.audited is None else {c: row[c] for c in self.audited}


def changed_only_by(*types: str) -> frozenset[str]:
    """``unchanged_by`` of a table that only facts of ``types`` can change."""
    return ACTIONS - frozenset(types)


def _from_rows(
    rows: Callable[[CompanyState], dict[Key, Value]],
) -> Callable[[CompanyState, Key], Value | None]:
    return lambda state, key: rows(state).get(key)


def _whole(state: CompanyState, fact: Fact) -> None:
    return None


# --- the cap table: one row per (party, share class) held ---

SHARE_MOVES = (SharesIssued, InvestmentMade, SharesTransferred, SharesCancelled)
"""Facts that move shares between named parties only."""
_ISSUED_BY_INSTRUMENTS = ("OptionExercised", "WarrantExercised", "ConvertibleConverted")


def _cap_rows(state: CompanyState) -> dict[Key, Value]:
    classes = state.classes
    return {
        (party, share_class): (shares, classes[share_class].votes_per_share)
        for party, held in state.holdings.items()
        for share_class, shares in held.items()
    }


def _cap_touched(state: CompanyState, fact: Fact) -> set[Key] | None:
    """The moves' parties, an exercise's or a conversion's holder; None for a split (it
    reaches every holder of its class)."""
    if isinstance(fact, SHARE_MOVES):
        return {(party, fact.share_class) for party in fact_parties(fact)}
    if isinstance(fact, SharesConverted):
        return {(fact.holder, fact.from_class), (fact.holder, fact.to_class)}
    source: Award | Warrant | None = None
    if isinstance(fact, OptionExercised):
        source = state.awards.get(fact.grant)
    elif isinstance(fact, WarrantExercised):
        source = state.warrants.get(fact.warrant)
    elif isinstance(fact, ConvertibleConverted):
        found = state.convertibles.get(fact.convertible)
        return None if found is None else {(found.holder, fact.share_class)}
    return None if source is None else {(source.holder, source.share_class)}


def _cap_value(state: CompanyState, key: Key) -> Value | None:
    party, share_class = key
    held = state.holdings.get(str(party))
    if held is None:
        return None
    shares = held.get(str(share_class))
    if shares is None:
        return None
    return (shares, state.classes[str(share_class)].votes_per_share)


def _cap_behind(state: CompanyState, key: Key, fact: Fact) -> bool:
    """A move of the party's shares of the class, a split of the class, an exercise or a
    conversion issuing them to the party."""
    if isinstance(fact, StockSplit):
        return fact.share_class == key[1]
    touched = _cap_touched(state, fact)
    return touched is not None and key in touched


# --- the valuation, the roster and the board ---


def _valuation_rows(state: CompanyState) -> dict[Key, Value]:
    v = state.valuation
    if v is None:
        return {}
    return {(): (decimal_text(v.amount), v.currency, v.basis, v.effective_date)}


def _roster_rows(state: CompanyState) -> dict[Key, Value]:
    return {(o.person, o.role, o.title): (o.interim, o.since) for o in state.officers}


def _board_rows(state: CompanyState) -> dict[Key, Value]:
    return {
        (d.person,): (d.seat, d.designated_by, state.is_executive(d.person), d.since)
        for d in state.directors.values()
    }


_OFFICES = frozenset({"ExecutiveAppointed", "InterimCEOAppointed", "ExecutiveDeparted"})
_SEATS = frozenset({"DirectorAppointed", "DirectorDeparted", "BoardSeatRetained", *_OFFICES})
"""Events that change a person's roster rows; and their board row (an office makes a
director executive)."""


def _person_behind(types: frozenset[str]) -> Callable[[CompanyState, Key, Fact], bool]:
    return lambda state, key, fact: fact.type in types and getattr(fact, "person", None) == key[0]


VALUED = frozenset({"InvestmentMade", "ValuationRecorded"})
"""The facts that set the valuation."""


def _valuation_behind(state: CompanyState, key: Key, fact: Fact) -> bool:
    return fact.type in VALUED


# --- instruments: awards, warrants and open convertibles ---

AWARD_KINDS = ("option", "rsu")
SECURITY_EVENTS = frozenset(
    {
        "OptionGranted",
        "OptionExercised",
        "OptionCancelled",
        "WarrantIssued",
        "WarrantExercised",
        "WarrantCancelled",
        "ConvertibleIssued",
        "ConvertibleConverted",
        "ConvertibleCancelled",
        "StockSplit",
    }
)


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else decimal_text(amount)


def _day(on: date | None) -> str | None:
    return None if on is None else on.isoformat()


def _terms(terms: dict[str, Any]) -> str:
    return json.dumps(terms, sort_keys=True, separators=(",", ":"))


def award_row(a: Award) -> Value:
    vesting = a.vesting
    terms = {
        "exercise_price": _money(a.exercise_price),
        "currency": a.currency,
        "vesting": None
        if vesting is None
        else {
            "start": vesting[0].isoformat(),
            "months": vesting[1],
            "cliff_months": vesting[2],
            "every_months": vesting[3],
        },
        "granted": a.granted.isoformat(),
    }
    return (
        a.holder,
        a.plan,
        a.share_class,
        a.quantity,
        a.exercised,
        a.cancelled,
        a.expiration_date,
        _terms(terms),
    )


def warrant_row(w: Warrant) -> Value:
    terms = {
        "exercise_price": decimal_text(w.exercise_price),
        "currency": w.currency,
        "issued": w.issued.isoformat(),
    }
    return (
        w.holder,
        None,
        w.share_class,
        w.quantity,
        w.exercised,
        w.cancelled,
        w.expiration_date,
        _terms(terms),
    )


def convertible_row(c: Convertible) -> Value:
    terms = {
        "kind": c.kind,
        "amount": decimal_text(c.amount),
        "currency": c.currency,
        "valuation_cap": _money(c.valuation_cap),
        "discount_percent": _money(c.discount_percent),
        "cap_basis": c.cap_basis,
        "interest_rate_percent": _money(c.interest_rate_percent),
        "maturity_date": _day(c.maturity_date),
        "issued": c.issued.isoformat(),
    }
    return (c.holder, None, None, None, None, None, None, _terms(terms))


def _security_rows(state: CompanyState) -> dict[Key, Value]:
    rows: dict[Key, Value] = {(a.grant, a.kind): award_row(a) for a in state.awards.values()}
    rows.update({(w.warrant, "warrant"): warrant_row(w) for w in state.warrants.values()})
    rows.update(
        {
            (c.convertible, "convertible"): convertible_row(c)
            for c in state.convertibles.values()
            if c.settled is None
        }
    )
    return rows


def _security_value(state: CompanyState, key: Key) -> Value | None:
    security, kind = str(key[0]), key[1]
    if kind == "warrant":
        w = state.warrants.get(security)
        return None if w is None else warrant_row(w)
    if kind == "convertible":
        c = state.convertibles.get(security)
        return None if c is None or c.settled is not None else convertible_row(c)
    a = state.awards.get(security)
    return None if a is None or a.kind != kind else award_row(a)


def _security_of(state: CompanyState, fact: Fact) -> set[Key] | None:
    """The keys of the instrument a fact names (an award's kind is not in its exercise or
    cancellation: both kinds), or None (a split: every instrument of its class)."""
    if isinstance(fact, OptionGranted):
        return {(fact.grant, fact.kind)}
    if isinstance(fact, OptionExercised | OptionCancelled):
        return {(fact.grant, kind) for kind in AWARD_KINDS}
    if isinstance(fact, WarrantIssued | WarrantExercised | WarrantCancelled):
        return {(fact.warrant, "warrant")}
    if isinstance(fact, ConvertibleIssued | ConvertibleConverted | ConvertibleCancelled):
        return {(fact.convertible, "convertible")}
    return None


def _security_behind(state: CompanyState, key: Key, fact: Fact) -> bool:
    if fact.type not in SECURITY_EVENTS:
        return False
    if isinstance(fact, StockSplit):
        value = _security_value(state, key)
        return value is not None and value[2] == fact.share_class
    named = _security_of(state, fact)
    return named is not None and key in named


# --- stock plans ---

POOL_EVENTS = frozenset(
    {
        "StockPlanCreated",
        "StockPlanReserveChanged",
        "OptionExercised",
        "OptionCancelled",
        "StockSplit",
    }
)


def _pool_rows(state: CompanyState) -> dict[Key, Value]:
    return {
        (p.plan,): (p.name, p.share_class, p.on_cancel, p.reserved, p.exercised, p.retired)
        for p in state.plans.values()
    }


def _pool_value(state: CompanyState, key: Key) -> Value | None:
    p = state.plans.get(str(key[0]))
    if p is None:
        return None
    return (p.name, p.share_class, p.on_cancel, p.reserved, p.exercised, p.retired)


def _pool_touched(state: CompanyState, fact: Fact) -> set[Key] | None:
    """The plan a fact names, or its award's; None for a split (every plan of its class)."""
    if isinstance(fact, StockPlanCreated | StockPlanReserveChanged):
        return {(fact.plan,)}
    if isinstance(fact, OptionExercised | OptionCancelled):
        award = state.awards.get(fact.grant)
        return None if award is None else {(award.plan,)}
    return None


def _pool_behind(state: CompanyState, key: Key, fact: Fact) -> bool:
    if fact.type not in POOL_EVENTS:
        return False
    if isinstance(fact, StockSplit):
        plan = state.plans.get(str(key[0]))
        return plan is not None and plan.share_class == fact.share_class
    touched = _pool_touched(state, fact)
    return touched is not None and key in touched


# --- stakeholders ---


def _stakeholder_rows(state: CompanyState) -> dict[Key, Value]:
    return {(party,): (s.name, s.kind) for party, s in state.stakeholders.items()}


def _stakeholder_value(state: CompanyState, key: Key) -> Value | None:
    s = state.stakeholders.get(str(key[0]))
    return None if s is None else (s.name, s.kind)


def _stakeholder_touched(state: CompanyState, fact: Fact) -> set[Key] | None:
    return {(fact.party,)} if isinstance(fact, StakeholderRecorded) else None


def _stakeholder_behind(state: CompanyState, key: Key, fact: Fact) -> bool:
    return isinstance(fact, StakeholderRecorded) and fact.party == key[0]


CAP_TABLE = Table(
    "cap_table",
    ("party", "share_class"),
    ("shares", "votes_per_share"),
    _cap_rows,
    _cap_touched,
    _cap_value,
    _cap_behind,
    changed_only_by(
        *(kind.model_fields["type"].default for kind in SHARE_MOVES),
        "StockSplit",
        "SharesConverted",
        *_ISSUED_BY_INSTRUMENTS,
    ),
    audited=("shares",),
)
VALUATION = Table(
    "valuation",
    (),
    ("amount", "currency", "basis", "effective_date"),
    _valuation_rows,
    _whole,
    _from_rows(_valuation_rows),
    _valuation_behind,
    changed_only_by(*VALUED),
)
ROSTER = Table(
    "roster",
    ("person", "role", "title"),
    ("interim", "since"),
    _roster_rows,
    _whole,
    _from_rows(_roster_rows),
    _person_behind(_OFFICES),
    changed_only_by(*_OFFICES),
    frozenset({"title"}),
)
BOARD = Table(
    "board",
    ("person",),
    ("seat", "designated_by", "executive", "since"),
    _board_rows,
    _whole,
    _from_rows(_board_rows),
    _person_behind(_SEATS),
    changed_only_by(*_SEATS),
)
SECURITY = Table(
    "security",
    ("security", "kind"),
    (
        "holder",
        "plan",
        "share_class",
        "quantity",
        "exercised",
        "cancelled",
        "expiration_date",
        "terms",
    ),
    _security_rows,
    _security_of,
    _security_value,
    _security_behind,
    changed_only_by(*SECURITY_EVENTS),
)
"""An award (kind option or rsu), a warrant, or a convertible while it is open: its stored
terms (``terms``: the rest, as JSON text), never what they amount to on a date."""
POOL = Table(
    "pool",
    ("plan",),
    ("name", "share_class", "on_cancel", "reserved", "exercised", "retired"),
    _pool_rows,
    _pool_touched,
    _pool_value,
    _pool_behind,
    changed_only_by(*POOL_EVENTS),
)
STAKEHOLDER = Table(
    "stakeholder",
    ("party",),
    ("name", "kind"),
    _stakeholder_rows,
    _stakeholder_touched,
    _stakeholder_value,
    _stakeholder_behind,
    changed_only_by("StakeholderRecorded"),
)

AUDITED = (CAP_TABLE, ROSTER, BOARD, SECURITY, POOL, STAKEHOLDER)
"""The tables an audit compares, in the order its changes of one day are listed."""
BY_NAME = {table.name: table for table in (CAP_TABLE, VALUATION, *AUDITED[1:])}
