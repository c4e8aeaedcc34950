"""The company page: the view's data for every step of its two sliders, and the page itself.

The page shows a company as of a date (the date slider: the company's effective dates) as
known at a position (the known-at slider: the positions of its events).
Every figure comes from the ledger's own report builders (``ledger.reports``) folded by
``Ledger.state``; the page only formats them, and computes the percentages of the cap
table from the share counts with the same rule (4 decimals, half-even).

The data of every (date, position) cell is embedded compactly, so the sliders redraw without
a server:
- a *state* is what the fold sees: the events in force known at the position that bear on
  the date (for a company with awards or warrants, the date too: vesting and expiry move
  with it). Cells with the same state share one snapshot; only distinct states are folded.
- each distinct row of a table (a holder's classes, options and warrants; a grant; an
  officer...) is stored once; a snapshot lists its rows by number, the holders and grants as
  a difference from a parent snapshot (the previous date at the same position).
- the grid of cells → snapshots is stored per position as the difference from the previous
  position's: the dates from the first that changes, run-length encoded.

That is the report's page (``render_company_page``). A served page (``render_served_page``)
embeds the cell it opens at alone, and fetches the line of each known-at step it moves to
from the server (``view_cells``: every date of that step, for its tables and its charts), in
the same shapes; a line is one fold advanced date by date (``fold_line``).
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache, cached_property
from importlib import resources
from threading import Lock
from typing import Any, TypeVar
from uuid import UUID
from weakref import WeakKeyDictionary

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from ..app import KnownAt, Ledger, today
from ..domain.entry import Entry
from ..domain.instruments import Standing
from ..domain.rules import apply_known
from ..domain.state import CompanyState, Stakeholder
from ..domain.values import decimal_text
from ..reports import (
    HistoryEvent,
    board_of,
    convertibles_of,
    grants_of,
    pools_of,
    roster_of,
    warrants_of,
)

_Value = TypeVar("_Value")

CORRECTIONS = frozenset({"EventRetracted", "EventCorrected"})

TIMED_TYPES = frozenset({"OptionGranted", "WarrantIssued"})
"""Events whose figures move with the date alone (vesting, expiry): a company with any of
them has a distinct state at every date."""

DELTA_SECTIONS = ("holders", "grants")
"""The long tables, stored as a difference from a parent snapshot."""

LISTED_SECTIONS = ("pools", "warrants", "convertibles", "officers", "directors")
"""The short tables, stored whole (a list of row numbers, in the report's order)."""


@dataclass(frozen=True)
class Recording:
    """A known-at step: the position of one of the company's events (when and by whom it was
    recorded), or a position asked for that is not one."""

    position: int
    recorded_at: str | None
    recorded_by: str | None


@dataclass
class Rows:
    """Each distinct row of each table, numbered once."""

    numbers: dict[str, dict[str, int]] = field(default_factory=dict)
    rows: dict[str, list[Any]] = field(default_factory=dict)

    def number(self, section: str, row: list[Any]) -> int:
        # A row holds plain values (text, numbers, booleans, None, a dict of counts): its repr
        # tells rows apart exactly, and costs a fraction of a JSON text.
        text = repr(row)
        numbered = self.numbers.setdefault(section, {})
        if text not in numbered:
            numbered[text] = len(numbered)
            self.rows.setdefault(section, []).append(row)
        return numbered[text]


def holder_row(state: CompanyState, standing: Standing, party: str) -> list[Any]:
    """A holder's row: its name, shares by class, outstanding awards and warrants (the page
    derives its totals and percentages)."""
    named = state.stakeholders.get(party)
    return [
        party,
        None if named is None else named.name,
        dict(sorted(state.holdings.get(party, {}).items())),
        standing.options.get(party, 0),
        standing.warrants.get(party, 0),
    ]


def listed_rows(state: CompanyState, standing: Standing, day: date) -> dict[str, list[Any]]:
    """The short tables of a state as rows of plain values, in the reports' order."""
    roster = roster_of(state, day, 0)
    board = board_of(state, day, 0)
    return {
        "pools": [
            [
                p.plan,
                p.name,
                p.share_class,
                p.reserved,
                p.exercised,
                p.outstanding,
                p.retired,
                p.available,
            ]
            for p in pools_of(state, standing)
        ],
        "warrants": [
            [
                w.warrant,
                w.holder,
                w.name,
                w.share_class,
                w.quantity,
                w.exercised,
                w.cancelled,
                w.outstanding,
                _money(w.exercise_price.amount, w.exercise_price.currency),
                _day(w.expiration_date),
            ]
            for w in warrants_of(state, day)
        ],
        "convertibles": [
            [
                c.convertible,
                c.holder,
                c.name,
                c.kind,
                _money(c.amount.amount, c.amount.currency),
                None
                if c.valuation_cap is None
                else _money(c.valuation_cap.amount, c.valuation_cap.currency),
                c.discount_percent,
                c.cap_basis,
            ]
            for c in convertibles_of(state)
        ],
        "officers": [
            [o.role, o.title, o.person, o.name, o.since.isoformat(), o.interim]
            for o in roster.officers
        ],
        "directors": [
            [d.person, d.name, d.seat, d.since.isoformat(), d.designated_by, d.executive]
            for d in board.directors
        ],
    }


def grant_rows(state: CompanyState, day: date) -> dict[str, list[Any]]:
    """The awards granted by ``day``, by grant id."""
    return {
        g.grant: [
            g.grant,
            g.holder,
            g.name,
            g.plan,
            g.kind,
            g.share_class,
            g.quantity,
            g.vested,
            g.exercised,
            g.cancelled,
            g.outstanding,
            g.exercisable,
        ]
        for g in grants_of(state, day, 0).grants
    }


def _money(amount: str, currency: str) -> str:
    """Money as the CLI's table writes it: thousands separators, then the currency."""
    whole, _, cents = amount.partition(".")
    sign = "-" if whole.startswith("-") else ""
    grouped = f"{int(whole.lstrip('-') or 0):,}"
    return f"{sign}{grouped}{'.' + cents if cents else ''} {currency}"


def _day(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def snapshot_scalars(state: CompanyState, standing: Standing) -> dict[str, Any]:
    v = state.valuation
    return {
        "total": state.outstanding,
        "diluted": standing.fully_diluted,
        "votes": {name: c.votes_per_share for name, c in state.classes.items()},
        "valuation": None
        if v is None
        else [_money(decimal_text(v.amount), v.currency), v.basis, v.effective_date.isoformat()],
    }


def affects_from(e: HistoryEvent) -> date:
    """The earliest date whose state an event can change: a correction's replacement may
    take effect before its target."""
    replacement = e.data.get("replacement")
    if isinstance(replacement, dict) and "effective_date" in replacement:
        return min(e.effective_date, date.fromisoformat(str(replacement["effective_date"])))
    return e.effective_date


def recordings(steps: Sequence[Recording], asked: int) -> list[Recording]:
    """The known-at steps: ``steps`` (the position of each of the company's events), and the
    position asked for if it is not one of them; in position order."""
    if all(s.position != asked for s in steps):
        return sorted([*steps, Recording(asked, None, None)], key=lambda s: s.position)
    return list(steps)


def _moment(e: HistoryEvent) -> str:
    return e.recorded_at.isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class EventRow:
    """One event as the page shows it: its row of the history (HTML), and what the page's
    script reads of it (``mark``)."""

    html: Markup
    mark: dict[str, Any]


def event_row(e: HistoryEvent, positions: dict[str, int]) -> EventRow:
    """``e`` as the page's history lists it (``positions``: each event's, by id)."""
    undone = e.retracted_by or e.corrected_by
    data = e.data
    row = {
        "position": e.position,
        "event_id": e.event_id,
        "type": e.type,
        "effective_date": e.effective_date.isoformat(),
        "recorded_at": _moment(e),
        "recorded_by": e.recorded_by,
        "source": e.source,
        "note": data.get("note"),
        "details": event_details(data),
        "round": data.get("round"),
        "undone": None
        if undone is None
        else {
            "how": "retracted" if e.retracted_by else "corrected",
            "by": undone,
            "position": positions.get(undone),
        },
    }
    mark = {
        "position": e.position,
        "type": e.type,
        "effective_date": row["effective_date"],
        "affects_from": affects_from(e).isoformat(),
        "round": row["round"],
        "person": data.get("person"),
        "undone_at": positions.get(undone) if undone else None,
    }
    return EventRow(Markup(history_macro()(row)), mark)


_COMMON_FIELDS = {"type", "company", "effective_date", "source", "note", "external_id"}


def event_details(data: dict[str, Any]) -> str:
    """The fields particular to an event type, as ``name=value`` pairs (a correction's
    replacement in brackets)."""
    parts = []
    for key, value in data.items():
        if key in _COMMON_FIELDS:
            continue
        if key == "replacement" and isinstance(value, dict):
            value = f"[{value.get('type')} of {value.get('effective_date')}: "
            value += f"{event_details(data[key])}]"
        elif isinstance(value, dict) and set(value) == {"amount", "currency"}:
            value = _money(str(value["amount"]), str(value["currency"]))
        elif isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int):
            value = f"{value:,}"
        parts.append(f"{key}={value}")
    return ", ".join(parts)


@dataclass
class Made:
    """A snapshot as the builder keeps it while it may be a parent (a cell of the position
    last built): its state, the latest effective date folded into it, its long tables' rows
    by key (party, grant), and each holder's outstanding awards and warrants. ``forget``
    drops them once no cell of that position has it."""

    number: int
    state: CompanyState | None
    last: date | None
    holders: dict[str, int]
    grants: dict[str, int]
    options: dict[str, int]
    warrants: dict[str, int]

    def forget(self) -> None:
        self.state, self.holders, self.grants = None, {}, {}


@dataclass
class Snapshots:
    """The grid's distinct states, each folded once (from a parent's state when one more
    event is all that differs) and stored as the page reads it."""

    rows: Rows = field(default_factory=Rows)
    stored: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self,
        state: CompanyState,
        day: date,
        last: date | None,
        parent: Made | None,
        moved: set[str] | None = None,
    ) -> Made:
        """The snapshot of ``state`` on ``day``, its long tables as a difference from
        ``parent``'s. ``moved``: the parties whose holdings or names may differ from the
        parent's, when ``state`` is the parent's own state folded further (``fold_line``);
        else the parent's kept state tells."""
        standing = Standing.of(state, day)
        numbers = self.rows.number
        before = parent.holders if parent is not None else {}
        was = parent.state if parent is not None else None
        if parent is not None and moved is not None:
            holders, holders_difference = _moved_holders(state, standing, parent, moved, numbers)
        else:
            if was is not None and was.stakeholders == state.stakeholders:
                was_standing = Standing.of(was, day)
                holders = _changed_holders(state, standing, was, was_standing, before, numbers)
            else:
                parties = state.holdings.keys() | standing.options.keys()
                parties |= standing.warrants.keys()
                holders = {p: numbers("holders", holder_row(state, standing, p)) for p in parties}
            holders_difference = _difference(before, holders)
        grants = (
            {grant: numbers("grants", row) for grant, row in grant_rows(state, day).items()}
            if state.awards
            else {}
        )
        snapshot: dict[str, Any] = {
            "parent": None if parent is None else parent.number,
            **snapshot_scalars(state, standing),
            **{
                name: [numbers(name, row) for row in table]
                for name, table in listed_rows(state, standing, day).items()
            },
            "holders": holders_difference,
            "grants": _difference(parent.grants if parent is not None else {}, grants),
        }
        self.stored.append(snapshot)
        return Made(
            len(self.stored) - 1,
            state,
            last,
            holders,
            grants,
            standing.options,
            standing.warrants,
        )


def _moved_holders(
    state: CompanyState,
    standing: Standing,
    parent: Made,
    moved: set[str],
    numbers: Callable[[str, list[Any]], int],
) -> tuple[dict[str, int], list[list[int]]]:
    """The holders' row numbers of ``state`` and their difference from its parent's: a new
    row only for a party the fold moved or whose awards or warrants differ. The parent hands
    its rows over: a running fold never comes back to it."""
    holders, parent.holders = parent.holders, {}
    moved = moved | _differing(standing.options, parent.options)
    moved |= _differing(standing.warrants, parent.warrants)
    gone, come = [], []
    for party in moved:
        was = holders.pop(party, None)
        now = None
        if party in state.holdings or party in standing.options or party in standing.warrants:
            now = holders[party] = numbers("holders", holder_row(state, standing, party))
        if now != was:
            gone += [] if was is None else [was]
            come += [] if now is None else [now]
    return holders, [sorted(gone), sorted(come)]


def _differing(now: dict[str, int], then: dict[str, int]) -> set[str]:
    if now == then:
        return set()
    return {key for key in now.keys() | then.keys() if now.get(key) != then.get(key)}


def _changed_holders(
    state: CompanyState,
    standing: Standing,
    was: CompanyState,
    was_standing: Standing,
    before: dict[str, int],
    numbers: Callable[[str, list[Any]], int],
) -> dict[str, int]:
    """The holders' row numbers of ``state``, from those of the state ``was`` (with the same
    names): a new row only for a party whose holdings or instruments differ. (A cap table of
    a thousand holders where one event moved one or two of them: the comparison is the cost.)"""
    now, then = state.holdings, was.holdings
    if standing.options == was_standing.options and standing.warrants == was_standing.warrants:
        changed = [party for party, classes in now.items() if then.get(party) != classes]
        parties = now.keys() | standing.options.keys() | standing.warrants.keys()
    else:
        parties = now.keys() | standing.options.keys() | standing.warrants.keys()
        changed = [
            party
            for party in parties
            if party not in before
            or now.get(party) != then.get(party)
            or standing.options.get(party) != was_standing.options.get(party)
            or standing.warrants.get(party) != was_standing.warrants.get(party)
        ]
    holders = {party: n for party, n in before.items() if party in parties}
    for party in changed:
        holders[party] = numbers("holders", holder_row(state, standing, party))
    return holders


def _difference(before: dict[str, int], after: dict[str, int]) -> list[list[int]]:
    """[rows gone, rows come] from ``before`` to ``after``."""
    was, now = set(before.values()), set(after.values())
    return [sorted(was - now), sorted(now - was)]


@dataclass(frozen=True)
class Frame:
    """What every step of a company's page shares: its events (known at the end of the log),
    the known-at steps, the date steps, and the step asked for."""

    company: str
    log: CompanyLog
    steps: list[Recording]
    dates: list[date]
    as_of: date
    position: int
    latest: int


@dataclass
class CompanyLog:
    """A company's events known at the end of the log (``latest``), and the page's rows of
    them, made once. ``made``: the rows of a former log of the company, by event and how it
    was undone: the log is append-only, so an event's row changes only when it is undone."""

    latest: int
    events: list[HistoryEvent]
    made: dict[tuple[str, str | None, str | None], EventRow] = field(default_factory=dict)

    @cached_property
    def rows(self) -> list[EventRow]:
        positions = {e.event_id: e.position for e in self.events}
        made = {}
        for e in self.events:
            key = (e.event_id, e.retracted_by, e.corrected_by)
            made[key] = self.made.get(key) or event_row(e, positions)
        self.made = made
        return list(made.values())

    @cached_property
    def marks(self) -> list[dict[str, Any]]:
        return [row.mark for row in self.rows]

    @cached_property
    def steps(self) -> list[Recording]:
        """Where each event was recorded: the known-at steps."""
        return [Recording(e.position, _moment(e), e.recorded_by) for e in self.events]

    @cached_property
    def dates(self) -> set[date]:
        """The effective dates, a replacement's included: the date steps."""
        return {e.effective_date for e in self.events} | set(map(affects_from, self.events))


LOGS_KEPT = 16
"""Companies whose log is kept per open ledger (``company_log``)."""

_logs: WeakKeyDictionary[Ledger, OrderedDict[str, CompanyLog]] = WeakKeyDictionary()
_logs_lock = Lock()


def company_log(ledger: Ledger, company: str) -> CompanyLog:
    """The company's log, kept while the ledger's log has not grown: a page and every line
    its sliders fetch read it, and reading a thousand events takes tens of milliseconds.
    (A server answers from several threads: the lock keeps the kept logs whole.)"""
    latest = ledger.known_position()
    with _logs_lock:
        kept = _logs.setdefault(ledger, OrderedDict())
        log = kept.get(company)
    if log is None or log.latest != latest:
        events = ledger.history(company, latest).events  # raises for an unknown company
        log = CompanyLog(latest, events, {} if log is None else log.made)
    with _logs_lock:
        if company not in kept or kept[company].latest <= log.latest:
            kept[company] = log
        kept.move_to_end(company)
        while len(kept) > LOGS_KEPT:
            kept.popitem(last=False)
    return log


def frame_of(ledger: Ledger, company: str, as_of: date | None, known_at: KnownAt) -> Frame:
    """The steps of a page of ``company`` opened at (``as_of``, ``known_at``)."""
    position = ledger.known_position(known_at)
    as_of = as_of or today()
    log = company_log(ledger, company)
    dates = sorted(log.dates | {as_of})
    return Frame(company, log, recordings(log.steps, position), dates, as_of, position, log.latest)


def frame_json(ledger: Ledger, frame: Frame) -> dict[str, Any]:
    """The page's steps, history and the step it opens at (``start``)."""
    return {
        "company": frame.company,
        "name": ledger.state(frame.company, date.max, frame.latest)[0].name,
        "dates": [d.isoformat() for d in frame.dates],
        "recordings": [
            {"position": s.position, "recorded_at": s.recorded_at, "recorded_by": s.recorded_by}
            for s in frame.steps
        ],
        "latest": frame.latest,
        "start": {
            "date": frame.dates.index(frame.as_of),
            "known": [s.position for s in frame.steps].index(frame.position),
        },
        "events": frame.log.marks,
    }


def company_view(
    ledger: Ledger, company: str, as_of: date | None = None, known_at: KnownAt = None
) -> dict[str, Any]:
    """Everything the page shows, for every step of its sliders: a JSON-ready dict.
    ``start`` names the step of (``as_of``, ``known_at``) (defaults: today, now)."""
    frame = frame_of(ledger, company, as_of, known_at)
    snapshots = Snapshots()
    grid = build_grid(ledger, company, frame.log.events, frame.steps, frame.dates, snapshots)
    return {
        **frame_json(ledger, frame),
        "rows": snapshots.rows.rows,
        "snapshots": snapshots.stored,
        "grid": encode_grid(grid),
    }


def view_cells(
    ledger: Ledger, company: str, as_of: date | None, known_at: KnownAt, *, line: bool
) -> dict[str, Any]:
    """The cells of one known-at step: the cell of ``as_of`` (one fold, as a query's: what a
    served page embeds), or with ``line`` every date step of a page opened at ``as_of`` (what
    a served page fetches for a known-at step: its tables and its charts). Rows and snapshots
    are numbered within the answer; the page renumbers them as it adds them to its own."""
    position = ledger.known_position(known_at)
    as_of = as_of or today()
    snapshots = Snapshots()
    if line:
        frame = frame_of(ledger, company, as_of, position)
        dates = frame.dates
        cells = fold_line(
            ledger, company, position, dates, snapshots, timed=is_timed(frame.log.events)
        )
    else:
        state, _, _ = ledger.state(company, as_of, position)  # raises for an unknown company
        dates, cells = [as_of], [snapshots.add(state, as_of, None, None).number]
    return {
        "known_at": position,
        "dates": [d.isoformat() for d in dates],
        "rows": snapshots.rows.rows,
        "snapshots": snapshots.stored,
        "cells": cells,
    }


def is_timed(events: Iterable[HistoryEvent]) -> bool:
    """Whether the company's figures move with the date alone (``TIMED_TYPES``)."""
    return any(
        e.type in TIMED_TYPES or (e.data.get("replacement") or {}).get("type") in TIMED_TYPES
        for e in events
    )


def build_grid(
    ledger: Ledger,
    company: str,
    events: Sequence[HistoryEvent],
    steps: Sequence[Recording],
    dates: Sequence[date],
    snapshots: Snapshots,
) -> list[list[int]]:
    """The snapshot number of each cell: a list per position step, of one per date step.

    A cell's state is the set of events known at its position that bear on its date (as the
    bits of an integer: an event's bit is its place in position order, so the events known
    at a position are the low bits), and the date too for a company whose figures move with
    it. Position by position, only the cells from the first date the position's event bears
    on can change; a new state is folded from the cell above it when it holds one event more
    that comes after all it folded, else by folding that position's events up to the date."""
    by_date = is_timed(events)
    positions = [e.position for e in events]
    known = [(1 << bisect_right(positions, step.position)) - 1 for step in steps]
    starts = [affects_from(e) for e in events]
    bearing, mask, k = [], 0, 0
    by_start = sorted(range(len(events)), key=starts.__getitem__)
    for day in dates:
        while k < len(by_start) and starts[by_start[k]] <= day:
            mask |= 1 << by_start[k]
            k += 1
        bearing.append(mask)
    by_position = dict(zip(positions, events, strict=True))
    entries = {entry.event_id: entry for entry in ledger.entries(company)}

    states: dict[tuple[int, date | None], Made] = {}
    grid: list[list[int]] = []
    above: list[Made] = []  # the cells of the previous position
    for j, step in enumerate(steps):
        event = by_position.get(step.position)
        if not above:
            first = 0
        elif event is None:
            first = len(dates)  # a position asked for between events: nothing new is known
        else:
            first = bisect_left(dates, affects_from(event))
        single = None
        if event is not None and event.type not in CORRECTIONS:
            single = entries.get(UUID(event.event_id))
        row = above[:first]
        cursor: _Cursor | None = None
        for i in range(first, len(dates)):
            day = dates[i]
            key = (known[j] & bearing[i], day if by_date else None)
            made = states.get(key)
            if made is None:
                last: date | None
                parent = above[i] if above else (row[-1] if row else None)
                if parent is None or parent.state is None:
                    parent = None
                if (
                    single is not None
                    and parent is not None
                    and parent.state is not None
                    and above
                    and _comes_after(single.fact.effective_date, parent.last, day)
                ):
                    state, last = parent.state.copy(), single.fact.effective_date
                    apply_known(state, single)
                else:
                    if cursor is None:
                        cursor = _Cursor(company, ledger.entries(company, step.position))
                    state, last = cursor.at(day)
                made = states[key] = snapshots.add(state, day, last, parent)
            row.append(made)
        grid.append([m.number for m in row])
        kept = {id(m) for m in row}
        for made in above:
            if id(made) not in kept:
                made.forget()
        above = row
    return grid


def fold_line(
    ledger: Ledger,
    company: str,
    position: int,
    dates: Sequence[date],
    snapshots: Snapshots,
    *,
    timed: bool,
) -> list[int]:
    """The snapshot number of each date of one known-at step: one fold of the entries known
    at ``position``, advanced date by date and never copied; a new snapshot where an entry
    was folded (at every date for a ``timed`` company), its holders' rows made again only
    for the parties the fold moved."""
    state = CompanyState(company)
    holdings: _Noted[dict[str, int]] = _Noted()
    stakeholders: _Noted[Stakeholder] = _Noted()
    state.holdings, state.stakeholders = holdings, stakeholders
    entries = ledger.entries(company, position)
    cells: list[int] = []
    made: Made | None = None
    k = 0
    for day in dates:
        folded = False
        while k < len(entries) and entries[k].fact.effective_date <= day:
            apply_known(state, entries[k])
            k += 1
            folded = True
        if made is None or folded or timed:
            moved = holdings.take() | stakeholders.take()
            made = snapshots.add(state, day, None, made, moved)
            made.state = None  # folded further at the next date: no parent state to keep
        cells.append(made.number)
    return cells


class _Noted(dict[str, _Value]):
    """A dict of a running fold's state (holdings, stakeholders) that notes each key the
    fold reads by key, sets or deletes: the parties a step may have moved, without comparing
    every holder. (The fold changes a party's holdings only through such an access:
    ``domain.equity`` takes its classes with ``setdefault``.)"""

    def __init__(self) -> None:
        super().__init__()
        self.noted: set[str] = set()

    def take(self) -> set[str]:
        """The keys noted since the last ``take``."""
        noted, self.noted = self.noted, set()
        return noted

    def __getitem__(self, key: str) -> _Value:
        self.noted.add(key)
        return super().__getitem__(key)

    def __setitem__(self, key: str, value: _Value) -> None:
        self.noted.add(key)
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.noted.add(key)
        super().__delitem__(key)

    def setdefault(self, key: str, default: _Value) -> _Value:
        self.noted.add(key)
        return super().setdefault(key, default)

    def pop(self, key: str, *default: _Value) -> _Value:  # type: ignore[override]
        self.noted.add(key)
        return super().pop(key, *default)


def _comes_after(effective: date, last: date | None, day: date) -> bool:
    """Whether an event effective then, recorded after every event a state folded (the last
    of them effective ``last``), extends that state on ``day``."""
    return effective <= day and (last is None or effective >= last)


class _Cursor:
    """The fold of one position's entries, advanced date by date; each state it hands out
    is a copy."""

    def __init__(self, company: str, entries: list[Entry]) -> None:
        self.state = CompanyState(company)
        self.entries = entries
        self.next = 0
        self.last: date | None = None

    def at(self, day: date) -> tuple[CompanyState, date | None]:
        while self.next < len(self.entries) and self.entries[self.next].fact.effective_date <= day:
            entry = self.entries[self.next]
            apply_known(self.state, entry)
            self.last = entry.fact.effective_date
            self.next += 1
        return self.state.copy(), self.last


def encode_grid(grid: list[list[int]]) -> list[list[Any]]:
    """Each position's snapshots by date, as [the first date that differs from the previous
    position's, [snapshot, how many dates, ...]] (run-length encoded)."""
    encoded: list[list[Any]] = []
    before: list[int] = []
    for line in grid:
        start = next(
            (i for i, (a, b) in enumerate(zip(line, before, strict=False)) if a != b),
            min(len(line), len(before)),
        )
        runs: list[int] = []
        for snapshot in line[start:]:
            if runs and runs[-2] == snapshot:
                runs[-1] += 1
            else:
                runs += [snapshot, 1]
        encoded.append([start, runs])
        before = line
    return encoded


# --- the page ------------------------------------------------------------------------------


def script_json(value: Any) -> Markup:
    """JSON to embed in a <script> element: ``<``, ``>`` and ``&`` escaped, so no stored
    text can close the element (``</script>``) or open a comment (``<!--``)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


VIEWS_KEPT = 8
"""Views kept per open ledger by ``render_company_page``."""

_views: WeakKeyDictionary[Ledger, OrderedDict[tuple[str, date, int, int], dict[str, Any]]] = (
    WeakKeyDictionary()
)


@cache
def history_macro() -> Any:
    """The macro that writes an event's row of the history (templates/history.html)."""
    return environment().get_template("history.html").module.row  # type: ignore[attr-defined]


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("ledger.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["script_json"] = script_json
    return env


def static_text(name: str) -> str:
    """One of the page's own assets (ledger/web/static)."""
    return (resources.files("ledger.web") / "static" / name).read_text(encoding="utf-8")


@cache
def plotly_js() -> str:
    """plotly.js as the installed plotly package bundles it: the charts' library, served or
    inlined from the package, never from a network."""
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def render_company_page(
    ledger: Ledger,
    company: str,
    as_of: date | None = None,
    known_at: KnownAt = None,
    *,
    assets_url: str | None = None,
) -> str:
    """The company page as one HTML document, as of ``as_of`` as known at ``known_at``.

    ``assets_url`` None inlines every asset (plotly.js, the page's script and style): the
    self-contained report. Otherwise the page loads ``plotly.min.js``, ``view.js`` and
    ``view.css`` from that URL (a server's route for ``plotly_js`` and ``static_text``).

    The view's data is kept for the next page of the same company, date and position while
    the log has not grown (``VIEWS_KEPT`` of them per ledger): the log is append-only, so the
    data cannot have changed, and folding every step of a large company takes seconds."""
    position = ledger.known_position(known_at)
    as_of = as_of or today()
    kept = _views.setdefault(ledger, OrderedDict())
    key = (company, as_of, position, ledger.known_position())
    view = kept.get(key)
    if view is None:
        view = kept[key] = company_view(ledger, company, as_of, position)
        while len(kept) > VIEWS_KEPT:
            kept.popitem(last=False)
    kept.move_to_end(key)
    return _page(view, [row.html for row in company_log(ledger, company).rows], assets_url)


def render_served_page(
    ledger: Ledger,
    company: str,
    as_of: date | None,
    known_at: KnownAt,
    *,
    assets_url: str,
    cells_url: str,
    sign_out: bool,
) -> str:
    """The company page as a server serves it: the assets from ``assets_url``, and only the
    cell shown embedded; the page fetches the line of each known-at step it moves to from
    ``cells_url`` (the server's route for ``view_cells``). Folding every step of a large
    company takes seconds; one cell, milliseconds. ``sign_out`` shows the sign-out button."""
    frame = frame_of(ledger, company, as_of, known_at)
    view = {
        **frame_json(ledger, frame),
        "rows": {},
        "snapshots": [],
        "parts": [view_cells(ledger, company, frame.as_of, frame.position, line=False)],
        "cells_url": cells_url,
    }
    return _page(view, [row.html for row in frame.log.rows], assets_url, sign_out=sign_out)


def _page(
    view: dict[str, Any],
    history: list[Markup],
    assets_url: str | None,
    *,
    sign_out: bool = False,
) -> str:
    inline = assets_url is None
    return (
        environment()
        .get_template("company.html")
        .render(
            view=view,
            history=history,
            title=view["name"] or view["company"],
            assets_url=assets_url,
            sign_out=sign_out,
            plotly=Markup(plotly_js().replace("</script", "<\\/script")) if inline else None,
            script=Markup(static_text("view.js")) if inline else None,
            style=Markup(static_text("view.css")) if inline else None,
        )
    )
