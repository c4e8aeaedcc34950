"""The pure half of the read models: what each history table holds for a company state, the
canonical valid-time history of a company, and how a change turns into rows closed and opened.

A company's **canonical history** in a table, as known at a position, is for each row key
(cap table: party and class; roster: person, role and title; board: person; valuation: the
company) the maximal intervals of effective dates over which the key's value (shares and
votes per share; interim and since; seat, designated_by, executive and since; the valuation)
stays the same, the value on a date being the fold's state at the end of that date. Nothing
here knows a rule: the states come from the fold's own ``apply_known`` (``replay_known``'s
step), and a shape only reads a ``CompanyState``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from ledger.domain.entry import Entry
from ledger.domain.events import (
    Fact,
    InvestmentMade,
    SharesCancelled,
    SharesIssued,
    SharesTransferred,
    fact_parties,
)
from ledger.domain.rules import apply_known
from ledger.domain.state import CompanyState
from ledger.domain.values import decimal_text

Key = tuple[Hashable, ...]
Value = tuple[Hashable, ...]


class Row(NamedTuple):
    """One row of a history table as the writer sees it (the company and the known_* columns
    are the writer's business)."""

    key: Key
    value: Value
    valid_from: date
    valid_to: date | None


@dataclass(frozen=True)
class Shape:
    """One history table: its projection, columns, and how to read a state into rows."""

    projection: str
    table: str
    key_columns: tuple[str, ...]
    value_columns: tuple[str, ...]
    snapshot: Callable[[CompanyState], dict[Key, Value]]
    """Every key's value in a state."""
    touched: Callable[[Fact], set[Key] | None]
    """The keys an applied fact can change, or None for "any" (compare the whole snapshot).
    An optimization only, checked by ``verify`` and the property tests: a fact type not
    named by a hint is compared whole."""
    value_of: Callable[[CompanyState, Key], Value | None]
    """One key's value in a state (None: the key has no row)."""
    value_types: tuple[str, ...] = ()
    """The PostgreSQL types of the value columns (the key columns are text)."""
    nullable_keys: frozenset[str] = frozenset()
    unchanged_by: frozenset[str] = frozenset()
    """Fact types that never change this table's rows (an optimization, like ``touched``)."""
    indexes_parties: bool = False
    """Whether the first key column is a party for the holdings index (``party_companies``)."""


# --- the cap table: one row per (party, share class) held ---

SHARE_MOVES = (SharesIssued, InvestmentMade, SharesTransferred, SharesCancelled)
"""Facts that move shares between named parties only. Any other fact (a split, say) may touch
every holder, so its whole cap table is compared."""


def _cap_snapshot(state: CompanyState) -> dict[Key, Value]:
    classes = state.classes
    return {
        (party, share_class): (shares, classes[share_class].votes_per_share)
        for party, held in state.holdings.items()
        for share_class, shares in held.items()
    }


def _cap_touched(fact: Fact) -> set[Key] | None:
    if isinstance(fact, SHARE_MOVES):
        return {(party, fact.share_class) for party in fact_parties(fact)}
    return None


def _cap_value(state: CompanyState, key: Key) -> Value | None:
    party, share_class = key
    held = state.holdings.get(str(party))
    if held is None:
        return None
    shares = held.get(str(share_class))
    if shares is None:
        return None
    return (shares, state.classes[str(share_class)].votes_per_share)


def _whole(fact: Fact) -> None:
    return None


SHARES_CHANGE_HANDS = frozenset({"SharesIssued", "SharesTransferred", "SharesCancelled"})
"""Facts that leave officers, directors and valuations alone (``_issued``, ``_transferred`` and
``_cancelled`` touch only holdings)."""


def _from_snapshot(
    snapshot: Callable[[CompanyState], dict[Key, Value]],
) -> Callable[[CompanyState, Key], Value | None]:
    return lambda state, key: snapshot(state).get(key)


def _valuation_snapshot(state: CompanyState) -> dict[Key, Value]:
    v = state.valuation
    if v is None:
        return {}
    return {(): (decimal_text(v.amount), v.currency, v.basis, v.effective_date)}


def _roster_snapshot(state: CompanyState) -> dict[Key, Value]:
    return {(o.person, o.role, o.title): (o.interim, o.since) for o in state.officers}


def _board_snapshot(state: CompanyState) -> dict[Key, Value]:
    return {
        (d.person,): (d.seat, d.designated_by, state.is_executive(d.person), d.since)
        for d in state.directors.values()
    }


CAP_TABLE = Shape(
    "cap_table",
    "cap_table_history",
    ("party", "share_class"),
    ("shares", "votes_per_share"),
    _cap_snapshot,
    _cap_touched,
    _cap_value,
    ("int8", "int8"),
    indexes_parties=True,
)
VALUATION = Shape(
    "cap_table",
    "valuation_history",
    (),
    ("amount", "currency", "basis", "effective_date"),
    _valuation_snapshot,
    _whole,
    _from_snapshot(_valuation_snapshot),
    ("text", "text", "text", "date"),
    unchanged_by=SHARES_CHANGE_HANDS,
)
ROSTER = Shape(
    "roster",
    "roster_history",
    ("person", "role", "title"),
    ("interim", "since"),
    _roster_snapshot,
    _whole,
    _from_snapshot(_roster_snapshot),
    ("bool", "date"),
    frozenset({"title"}),
    unchanged_by=SHARES_CHANGE_HANDS,
)
BOARD = Shape(
    "board",
    "board_history",
    ("person",),
    ("seat", "designated_by", "executive", "since"),
    _board_snapshot,
    _whole,
    _from_snapshot(_board_snapshot),
    ("text", "text", "bool", "date"),
    unchanged_by=SHARES_CHANGE_HANDS,
)

SHAPES = (CAP_TABLE, VALUATION, ROSTER, BOARD)
PROJECTIONS = ("cap_table", "roster", "board")
"""The projections (one tracking row each) and, in SHAPES, the tables each one writes."""


# --- histories ---


def segments_from(
    shapes: Sequence[Shape], state: CompanyState, entries: Iterable[Entry], start: date
) -> list[dict[Key, list[Row]]]:
    """The canonical history of every shape from ``start`` on.

    ``state`` is the company at the end of the day before ``start``; ``entries`` (timeline
    order, each effective on or after ``start``) are folded onto it with ``apply_known``, and
    ``state`` is left at the end of them. Per shape: every key that has a value on or after
    ``start``, with its maximal intervals from ``start`` on (a value held on the day before
    ``start`` too shows as beginning at ``start``; ``splice`` joins it to its earlier part)."""
    current = [shape.snapshot(state) for shape in shapes]
    since = [dict.fromkeys(values, start) for values in current]
    out: list[dict[Key, list[Row]]] = [{} for _ in shapes]
    dirty: list[set[Key] | None] = [set() for _ in shapes]
    day: date | None = None

    def settle(on: date) -> None:
        for i, shape in enumerate(shapes):
            keys = dirty[i]
            cur, began, rows = current[i], since[i], out[i]
            if keys is None:
                fresh = shape.snapshot(state)
                changes = [(k, fresh.get(k)) for k in fresh.keys() | cur.keys()]
            else:
                changes = [(k, shape.value_of(state, k)) for k in keys]
            for key, new in changes:
                old = cur.get(key)
                if new == old:
                    continue
                if old is not None:
                    if began[key] < on:
                        rows.setdefault(key, []).append(Row(key, old, began[key], on))
                    del cur[key], began[key]
                if new is not None:
                    cur[key], began[key] = new, on
            dirty[i] = set()

    for entry in entries:
        on = entry.fact.effective_date
        if day is not None and on != day:
            settle(day)
        day = on
        if apply_known(state, entry):
            for i, shape in enumerate(shapes):
                keys = dirty[i]
                if keys is not None and entry.fact.type not in shape.unchanged_by:
                    touched = shape.touched(entry.fact)
                    if touched is None:
                        dirty[i] = None
                    else:
                        keys |= touched
    if day is not None:
        settle(day)
    for i in range(len(shapes)):
        for key, value in current[i].items():
            out[i].setdefault(key, []).append(Row(key, value, since[i][key], None))
    return out


def splice(old: Sequence[Row], start: date, segments: Sequence[Row]) -> tuple[list[Row], list[Row]]:
    """Rows to close and rows to open for one key whose history changes from ``start`` on.

    ``old``: the key's believed rows that end on or after ``start`` or never (by valid_from);
    ``segments``: its new canonical intervals from ``start`` on (``segments_from``). The part
    before ``start`` is unchanged: the row reaching across ``start`` is cut there, or joined
    with the first segment when the value goes on. Rows in both stay untouched."""
    new: list[Row] = []
    rest = list(segments)
    head = old[0] if old and old[0].valid_from < start else None
    if head is not None:
        if rest and rest[0].valid_from == start and rest[0].value == head.value:
            first = rest.pop(0)
            new.append(head._replace(valid_to=first.valid_to))
        else:
            new.append(head._replace(valid_to=start))
    new.extend(rest)
    if new == list(old):
        return [], []
    kept, was = set(new), set(old)
    return [r for r in old if r not in kept], [r for r in new if r not in was]


def canonical(
    shapes: Sequence[Shape], company: str, entries: Sequence[Entry]
) -> list[dict[Key, list[Row]]]:
    """The whole canonical history of a company from its known entries (timeline order)."""
    if not entries:
        return [{} for _ in shapes]
    return segments_from(shapes, CompanyState(company), entries, entries[0].fact.effective_date)
