"""The pure half of the read models: the history tables (the tables of ``ledger.rows``, kept
bitemporally), the canonical valid-time history of a company, and how a change turns into
rows closed and opened.

A company's **canonical history** in a table, as known at a position, is for each row key the
maximal intervals of effective dates over which the key's value stays the same, the value on
a date being the fold's state at the end of that date. Nothing here knows a rule: the states
come from the fold's own ``apply_known`` (``replay_known``'s step), and what a state's rows
are is ``ledger.rows``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import NamedTuple

from ledger import rows
from ledger.domain.entry import Entry
from ledger.domain.rules import apply_known
from ledger.domain.state import CompanyState
from ledger.rows import Key, Table, Value


class Row(NamedTuple):
    """One row of a history table as the writer sees it (the company and the known_* columns
    are the writer's business)."""

    key: Key
    value: Value
    valid_from: date
    valid_to: date | None


@dataclass(frozen=True, kw_only=True)
class Shape(Table):
    """One history table: a table of ``ledger.rows`` kept bitemporally by a projection."""

    projection: str
    table: str
    value_types: tuple[str, ...]
    """The PostgreSQL types of the value columns (the key columns are text)."""
    party_column: int | None = None
    """The position among the key and value columns of a party for the holdings index
    (``party_companies``), if the table has one."""


def _history(
    table: Table, projection: str, value_types: tuple[str, ...], party: str | None = None
) -> Shape:
    columns = (*table.key_columns, *table.value_columns)
    return Shape(
        **{f.name: getattr(table, f.name) for f in fields(Table)},
        projection=projection,
        table=f"{table.name}_history",
        value_types=value_types,
        party_column=None if party is None else columns.index(party),
    )


CAP_TABLE = _history(rows.CAP_TABLE, "cap_table", ("int8", "int8"), party="party")
VALUATION = _history(rows.VALUATION, "cap_table", ("text", "text", "text", "date"))
ROSTER = _history(rows.ROSTER, "roster", ("bool", "date"))
BOARD = _history(rows.BOARD, "board", ("text", "text", "bool", "date"))
SECURITY = _history(
    rows.SECURITY,
    "cap_table",
    ("text", "text", "text", "int8", "int8", "int8", "date", "text"),
    party="holder",
)
POOL = _history(rows.POOL, "cap_table", ("text", "text", "text", "int8", "int8", "int8"))
STAKEHOLDER = _history(rows.STAKEHOLDER, "cap_table", ("text", "text"))

SHAPES = (CAP_TABLE, VALUATION, ROSTER, BOARD, SECURITY, POOL, STAKEHOLDER)
PROJECTIONS = ("cap_table", "roster", "board")
"""The projections (one tracking row each) and, in SHAPES, the tables each one writes: the
instruments, their pools and the stakeholders are the cap table's (its fully diluted columns
and names read them)."""


# --- histories ---


def segments_from(
    shapes: Sequence[Shape],
    state: CompanyState,
    entries: Iterable[Entry],
    start: date,
    after: Callable[[int], None] | None = None,
    every: int = 1,
) -> list[dict[Key, list[Row]]]:
    """The canonical history of every shape from ``start`` on.

    ``state`` is the company at the end of the day before ``start``; ``entries`` (timeline
    order, each effective on or after ``start``) are folded onto it with ``apply_known``, and
    ``state`` is left at the end of them. Per shape: every key that has a value on or after
    ``start``, with its maximal intervals from ``start`` on (a value held on the day before
    ``start`` too shows as beginning at ``start``; ``splice`` joins it to its earlier part).
    ``after(n)``, if given, is called each time ``n``, a multiple of ``every``, entries are
    folded (``state`` holds them)."""
    current = [shape.rows(state) for shape in shapes]
    since = [dict.fromkeys(values, start) for values in current]
    out: list[dict[Key, list[Row]]] = [{} for _ in shapes]
    # Per shape changed since the last day settled, the keys that may differ (None: any).
    # Only those shapes are compared at the end of a day: most events change one table.
    dirty: dict[int, set[Key] | None] = {}
    changing: dict[str, tuple[int, ...]] = {}  # per event type, the shapes it can change
    day: date | None = None

    def settle(on: date) -> None:
        for i, keys in dirty.items():
            shape, cur, began, rows = shapes[i], current[i], since[i], out[i]
            if keys is None:
                fresh = shape.rows(state)
                changes = [(k, fresh.get(k)) for k in fresh.keys() | cur.keys()]
            else:
                value_of = shape.value_of
                changes = [(k, value_of(state, k)) for k in keys]
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
        dirty.clear()

    for count, entry in enumerate(entries, 1):
        fact = entry.fact
        on = fact.effective_date
        if on != day:
            if dirty:
                assert day is not None
                settle(day)
            day = on
        applied = apply_known(state, entry)
        if after is not None and count % every == 0:
            after(count)
        if not applied:
            continue
        shaped = changing.get(fact.type)
        if shaped is None:
            shaped = changing[fact.type] = tuple(
                i for i, shape in enumerate(shapes) if fact.type not in shape.unchanged_by
            )
        for i in shaped:
            if i in dirty and dirty[i] is None:
                continue  # the whole shape is compared already
            touched = shapes[i].touched(state, fact)
            if touched is None:
                dirty[i] = None
            else:
                keys = dirty.get(i)
                if keys is None:
                    dirty[i] = set(touched)
                else:
                    keys |= touched
    if dirty:
        assert day is not None
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
