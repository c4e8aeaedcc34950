"""The bitemporal writer: the fold plus a thin SQL writer (STYLE.md 8).

Events are taken in position order. At each position p of company c the writer works out c's
canonical history (``projections.history``) as known at p where it can have changed, and diffs
it with the rows believed until then: a believed row no longer in it gets ``known_to = p``, a
row of the new history not yet believed is inserted with ``known_from = p``, and a row in both
is left alone. Nothing is ever deleted (only a rebuild clears what it rebuilds).

- **In order** (effective on or after every event c had): the history before that date cannot
  change, so the writer folds the event onto c's end state and compares, for the keys the event
  can touch, the new end values with the open rows. An issuance touches one or two rows.
- **Back-dated**: c's history changes from the event's date on. The writer folds c's known
  events up to the day before, then on from that date (``segments_from``), and splices the
  result into the rows believed from that date on. From c's first back-dated event on, the
  writer keeps c's events, states part-way through them (``Book.marks``) and every row
  believed (``Book.whole``): the next back-dated event folds on from the last state before
  its date and reads nothing back, so a log with many of them costs each one the events
  after its date, not the company's whole history and a read of its rows.
- **A correction** (``EventRetracted``, ``EventCorrected``) is a back-dated change: the fold's
  ``correct`` takes the target out of the known events and puts the replacement in, and the
  history is written again from the earlier of the two dates.

The fold is ``apply_known``, ``replay_known``'s step: a position inside a recorded batch sees
only what can apply there, exactly as ``Ledger.cap_table(..., known_at=p)`` does; at batch
boundaries that is plain ``replay``.

A batch of events writes its rows and the tracking positions in one transaction. What the
writer remembers between positions (per company: the end state, the last date, the believed
rows reaching the last date or all of them; ``Book``) is a cache of what the tables say: it
is rebuilt from the log and the tables whenever it is missing, dropped whenever a
transaction fails or another worker moved the tracking rows, so a restarted worker resumes
exactly after the tracked position.
"""

from __future__ import annotations

import bisect
import json
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from operator import attrgetter
from typing import Any

from ledger.domain.corrections import correct, in_force
from ledger.domain.entry import Entry, key_of
from ledger.domain.events import Correction
from ledger.domain.rules import apply_known, replay_known
from ledger.domain.state import CompanyState
from ledger.persistence.mapper import decode_state
from ledger.ports import Known, ProjectionError, StuckEvent
from ledger.rows import Key, Value

from .database import Database
from .history import PROJECTIONS, SHAPES, Row, Shape, segments_from, splice

MAX_BOOKS = 5_000
"""Companies whose state the writer keeps between positions (least recently used go)."""
MAX_ENTRIES = 100_000
"""Events kept in memory for back-dated recomputation (of companies that have had a
back-dated event), across companies; past it they are dropped and read again from the log
when needed."""
MARK_EVERY = 64
"""The fewest kept events between two of a company's marks (``Book.marks``)."""
MAX_MARKS = 32
"""About the most marks a company has: past ``MARK_EVERY * MAX_MARKS`` events, its marks are
spaced so that there are no more (a mark is a copy of the state)."""


Check = tuple[Shape, Callable[[], int], int]
"""A close sent: its shape, what tells how many rows it changed, how many it named."""


@dataclass
class Book:
    """What the writer knows of one company at the last position it processed."""

    company: str
    state: CompanyState
    last_date: date | None
    tails: list[dict[Key, list[Row]]]
    """Per shape, per key: the believed rows ending on or after ``last_date`` or never."""
    entries: list[Entry] | None
    """The company's known events in timeline order, when kept (from its first back-dated
    event on, while ``MAX_ENTRIES`` allows)."""
    snapshots: list[dict[Key, Any] | None] = field(default_factory=list)
    """Per shape compared whole, its rows at the end state as last written (None: unknown)."""
    whole: bool = False
    """Whether ``tails`` hold every believed row of the company, whatever its dates: from
    its first back-dated event on, while its entries are kept. A back-dated event or a
    correction then reads nothing from the log or the tables."""
    marks: list[tuple[int, CompanyState]] = field(default_factory=list)
    """While ``entries`` are kept: states part-way through them, (n, the fold of the first
    n), n ascending. A back-dated event folds on from the last mark before its date, not
    from the company's first event."""


@dataclass
class Buffer:
    """The rows of one transaction not yet sent to the database."""

    inserts: dict[str, list[list[Any]]] = field(default_factory=dict)
    live: dict[int, tuple[Row, list[Any]]] = field(default_factory=dict)
    """The rows opened in this transaction, by identity (the writer closes the very Row
    objects it opened; holding them here keeps their ids from being reused)."""
    closes: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    parties: set[tuple[Any, str]] = field(default_factory=set)
    """(party, company) pairs for the holdings index."""
    day: Callable[[date], Any] = field(default=lambda day: day)
    """A row's valid_from or valid_to as the driver is given it (``Database.day``)."""

    def open(self, shape: Shape, company: str, row: Row, position: int) -> None:
        day, ends = self.day, row.valid_to
        record = [
            company, *row.key, *row.value, day(row.valid_from), None if ends is None else day(ends),
            position, None,
        ]  # fmt: skip
        self.inserts.setdefault(shape.table, []).append(record)
        self.live[id(row)] = (row, record)
        if shape.party_column is not None:
            self.parties.add((record[1 + shape.party_column], company))

    def close(self, shape: Shape, company: str, row: Row, position: int) -> None:
        pending = self.live.pop(id(row), None)
        if pending is not None:
            pending[1][-1] = position  # opened in this transaction: reaches the table closed
        else:
            self.closes.setdefault(shape.table, []).append(
                (company, *row.key, self.day(row.valid_from), position)
            )

    def cut(
        self, shape: Shape, company: str, last: Row, on: date, new: Value | None, position: int
    ) -> list[Row]:
        """The open row ``last`` (begun before ``on``) ends at ``on``, and from ``on`` the
        key holds ``new`` (None: no row): ``last`` is closed, its part before ``on`` opened,
        and ``new``'s row; returns the key's rows reaching ``on``. (``close`` and ``open``
        in one call: the step of nearly every in-order event.)"""
        live, day = self.live, self.day
        records = self.inserts.get(shape.table)
        if records is None:
            records = self.inserts[shape.table] = []
        pending = live.pop(id(last), None)
        if pending is not None:
            pending[1][-1] = position
        else:
            self.closes.setdefault(shape.table, []).append(
                (company, *last.key, day(last.valid_from), position)
            )
        key, value, since = last.key, last.value, last.valid_from
        before: Row = _new_row((key, value, since, on))
        on_day = day(on)
        record = [company, *key, *value, day(since), on_day, position, None]
        records.append(record)
        live[id(before)] = (before, record)  # its party is last's, indexed with it
        if new is None:
            return [before]
        after: Row = _new_row((key, new, on, None))
        record = [company, *key, *new, on_day, None, position, None]
        records.append(record)
        live[id(after)] = (after, record)
        if shape.party_column is not None:
            self.parties.add((record[1 + shape.party_column], company))
        return [before, after]

    def __bool__(self) -> bool:
        return bool(self.inserts or self.closes)


class Writer:
    """Projects events into the history tables of ``shapes`` through ``db``."""

    def __init__(self, db: Database, shapes: Sequence[Shape] = SHAPES) -> None:
        self.db = db
        self.shapes = tuple(shapes)
        self.books: OrderedDict[str, Book] = OrderedDict()
        self.kept = 0  # events held in books' entries
        self.buffer = Buffer(day=self.db.day)
        self._latest: Book | None = None  # the last book used (the most recent in LRU order)
        self._changed_by: dict[str, tuple[tuple[int, Shape], ...]] = {}
        """Per event type, the shapes (with their index) it can change."""
        self.before_reading: Callable[[], None] = _nothing
        """Called before the writer reads the log or the tables, and before it sends its rows
        to read them back: a writer sharing its connection with other writes waits for
        them there."""
        self.known: Known = _unknown
        """Companies as someone else already read them, which a book starts from instead
        of the log (the ledger recording a batch read them to check it)."""
        self.outside: Callable[[], AbstractContextManager[Any]] | None = None
        """A connection outside the transaction the writer writes in, when others write in
        it too (``projections.inline``): the books of companies the writer has not met
        are read there, as committed before the transaction began, without waiting for
        the writes in flight."""
        self.met: set[str] = set()
        """With ``outside``: the companies whose books the writer made."""

    def forget(self) -> None:
        """Drop every cache (after a failed transaction, or another worker's progress)."""
        self.books.clear()
        self.kept = 0
        self.buffer = Buffer(day=self.db.day)
        self._latest = None

    # --- a batch ---

    def apply(self, raw: Any, log: Sequence[Any]) -> None:
        """Project ``log`` rows (position, company, version, state) in order, then flush."""
        firsts: dict[str, int] = {}
        for _, company, version, _ in log:
            firsts.setdefault(company, int(version))
        self.preload(raw, firsts)
        step = self.step_naming
        for position, company, version, state in log:
            step(raw, position, company, _entry(position, company, version, state))
        self.flush(raw)

    def apply_each(self, raw: Any, log: Sequence[Any]) -> tuple[int | None, ProjectionError | None]:
        """Project ``log`` rows one at a time, each sent to the database at once inside a
        savepoint, up to the first the projections cannot apply (its rows undone, the caches
        dropped). Returns the last position projected (None: not even the first) and the
        error naming the event it stopped at (None: all of them). ``apply`` finds out only
        at its flush that a value does not fit, without knowing whose it is; this is the
        slow way that does, taken after a batch failed."""
        done: int | None = None
        for position, company, version, state in log:
            entry: Entry | None = None
            try:
                with self.db.savepoint(raw):
                    entry = _entry(position, company, version, state)
                    self.step_naming(raw, position, company, entry)
                    self.flush(raw)
            except Exception as e:
                self.forget()
                if not self.blames_the_event(e):
                    raise
                if isinstance(e, ProjectionError):
                    return done, e
                assert entry is not None  # an event that cannot be read raises ProjectionError
                return done, _cannot_apply(position, company, entry, e)
            done = int(position)
        return done, None

    def blames_the_event(self, error: Exception) -> bool:
        """Whether a failure to project is the event's (the fold fails on it, a value of it
        does not fit a column), not the database's (unreachable, locked, the tables out of
        step or changed behind the projections' back)."""
        if isinstance(error, ProjectionError):
            return error.stuck is not None
        return not self.db.unavailable(error)

    def apply_ahead(self, log: Sequence[Any]) -> tuple[Buffer, int | None]:
        """Project ``log`` rows in memory, as far as it can without reading the tables (a
        company seen first since its start, or its first back-dated event or correction,
        needs them: ``needs_tables``); returns the rows to write and the last position
        projected (None: not even the first)."""
        done: int | None = None
        for position, company, version, state in log:
            entry = _entry(position, company, version, state)
            if self.needs_tables(company, entry):
                break
            self.step_naming(None, int(position), company, entry)
            done = int(position)
        buffer, self.buffer = self.buffer, Buffer(day=self.db.day)
        return buffer, done

    def needs_tables(self, company: str, entry: Entry) -> bool:
        """Whether projecting ``entry`` reads the log or the tables."""
        book = self.books.get(company)
        if book is None:
            return entry.seq != 1
        if isinstance(entry.fact, Correction) or (
            book.last_date is not None and entry.fact.effective_date < book.last_date
        ):
            return not book.whole  # a whole book holds what the rewrite reads
        return False

    def step_naming(self, raw: Any, position: int, company: str, entry: Entry) -> None:
        try:
            self.step(raw, position, company, entry)
        except Exception as e:
            if isinstance(e, ProjectionError) or self.db.unavailable(e):
                raise
            raise _cannot_apply(position, company, entry, e) from e

    def step(self, raw: Any, position: int, company: str, entry: Entry) -> None:
        book = self.book(raw, company, entry.seq)
        on = entry.fact.effective_date
        if isinstance(entry.fact, Correction):
            self._corrected(raw, book, position, entry)
        elif book.last_date is None or on >= book.last_date:
            self._in_order(book, position, entry)
        else:
            self._back_dated(raw, book, position, entry)

    # --- the two paths ---

    def _in_order(self, book: Book, position: int, entry: Entry) -> None:
        fact = entry.fact
        on = fact.effective_date
        applied = apply_known(book.state, entry)
        book.last_date = on
        if book.entries is not None:
            self._keep(book, entry)
        if not applied:
            return  # nothing changes where it cannot apply (inside a batch only)
        changed = self._changed_by.get(fact.type)
        if changed is None:
            changed = self._changed_by[fact.type] = tuple(
                (i, shape)
                for i, shape in enumerate(self.shapes)
                if fact.type not in shape.unchanged_by
            )
        if not changed:
            return
        state = book.state
        if not book.snapshots:
            book.snapshots = [None] * len(self.shapes)
        snapshots = book.snapshots
        company, whole = book.company, book.whole
        for i, shape in changed:
            tail = book.tails[i]
            touched = shape.touched(state, fact)
            snapshot = snapshots[i]
            if touched is None:
                fresh = shape.rows(state)
                if fresh == snapshot:
                    continue  # the end values are those the open rows hold
                snapshots[i] = fresh
                if snapshot is None:
                    keys = fresh.keys() | {k for k, r in tail.items() if r[-1].valid_to is None}
                else:  # the open rows are the snapshot's: only the keys that differ change
                    keys = {
                        k for k in fresh.keys() | snapshot.keys() if fresh.get(k) != snapshot.get(k)
                    }
                for key in keys:
                    self._set(shape, company, tail, key, fresh.get(key), on, position, whole)
                continue
            value_of = shape.value_of
            for key in touched:
                new = value_of(state, key)
                if snapshot is not None:  # kept equal to the open rows
                    if new is None:
                        snapshot.pop(key, None)
                    else:
                        snapshot[key] = new
                self._set(shape, company, tail, key, new, on, position, whole)

    def _set(
        self,
        shape: Shape,
        company: str,
        tail: dict[Key, list[Row]],
        key: Key,
        new: Any,
        on: date,
        position: int,
        whole: bool,
    ) -> None:
        """The key's value at the end changes to ``new`` (None: no row) from ``on``, on or
        after every date of the company: close and open rows accordingly. ``whole``: the
        book's tails keep the rows ending before ``on`` too."""
        rows = tail.get(key)
        last = rows[-1] if rows else None
        old = last.value if last is not None and last.valid_to is None else None
        if new == old:
            return
        # The common cases first, without the general splice: a key with no row reaching
        # the last date, and a key whose open row began before ``on``.
        if last is None:
            opened = Row(key, new, on, None)
            self.buffer.open(shape, company, opened, position)
            tail[key] = [opened]
            return
        assert rows is not None
        if last.valid_to is None and last.valid_from < on:
            cut = self.buffer.cut(shape, company, last, on, new, position)
            if whole:
                rows[-1:] = cut
            else:
                tail[key] = cut
            return
        earlier: list[Row] = []
        if rows[0].valid_to is not None and rows[0].valid_to < on:
            at = bisect.bisect_left(rows, on, key=_end)
            earlier, rows = (rows[:at] if whole else []), rows[at:]
        closed, opened_rows = splice(rows, on, [Row(key, new, on, None)] if new is not None else [])
        self._emit(shape, company, position, closed, opened_rows)
        left = earlier + sorted([r for r in rows if r not in closed] + opened_rows, key=_by_start)
        if left:
            tail[key] = left
        else:
            tail.pop(key, None)

    def _back_dated(self, raw: Any, book: Book, position: int, entry: Entry) -> None:
        if not book.whole:
            self._to_read(raw)  # the believed rows are read from the tables below
        kept = book.entries is not None
        entries = book.entries if book.entries is not None else self._load(raw, book, entry.seq)
        bisect.insort(entries, entry, key=key_of)
        self._rewrite(raw, book, position, entries, entry.fact.effective_date, 1 if kept else None)

    def _corrected(self, raw: Any, book: Book, position: int, entry: Entry) -> None:
        if not book.whole:
            self._to_read(raw)
        kept = book.entries is not None
        entries = book.entries if book.entries is not None else self._load(raw, book, entry.seq)
        count = len(entries)
        on = correct(entries, entry)
        if on is None:  # its target is not known here: nothing changes
            if not kept:
                book.entries = entries
                self.kept += len(entries)
            return
        self._rewrite(raw, book, position, entries, on, len(entries) - count if kept else None)

    def _rewrite(
        self,
        raw: Any,
        book: Book,
        position: int,
        entries: list[Entry],
        on: date,
        added: int | None,
    ) -> None:
        """Write the company's history again from ``on`` on, ``entries`` being its known
        events now (timeline order); ``added`` is how many more there are than the book
        kept (None: the book kept none, ``entries`` were read from the log)."""
        # The last date never moves back (a retraction of the last-dated event leaves it):
        # an event before it then takes this path again, which is correct, only slower.
        ends = [on, *(d for d in (book.last_date,) if d is not None)]
        book.last_date = max([*ends, *(e.fact.effective_date for e in entries[-1:])])
        cut = bisect.bisect_left(entries, on, key=_effective_date)
        # The entries before ``cut`` are those of the marks at or before it: fold on from
        # the last of them, marking as the fold goes (the entries from ``cut`` on changed).
        marks = book.marks if added is not None else []
        while marks and marks[-1][0] > cut:
            marks.pop()
        if marks:
            folded, marked = marks[-1]
            state = marked.copy()
        else:
            folded, state = 0, CompanyState(book.company)
        every = max(MARK_EVERY, len(entries) // MAX_MARKS)
        for count in range(folded + 1, cut + 1):
            apply_known(state, entries[count - 1])
            if count - folded >= every:
                marks.append((count, state.copy()))
                folded = count
        histories = segments_from(
            self.shapes,
            state,
            entries[cut:],
            on,
            after=lambda n: marks.append((cut + n, state.copy())),
            every=every,
        )
        # The company's believed rows: a whole book holds them; else they are read, every
        # one if the book is to be kept whole from here on.
        whole = len(entries) <= MAX_ENTRIES
        assert book.last_date is not None
        for i, shape in enumerate(self.shapes):
            if book.whole:
                now = book.tails[i]
            else:
                now = _by_key(self.db.believed(raw, shape, book.company, None if whole else on))
            tail, believed = _split(now, on)
            if not whole:
                tail = {}
            for key in believed.keys() | histories[i].keys():
                rows = believed.get(key, [])
                closed, opened = splice(rows, on, histories[i].get(key, []))
                self._emit(shape, book.company, position, closed, opened)
                left = [*(r for r in rows if r not in closed), *opened]
                if not whole:
                    left = [r for r in left if r.valid_to is None or r.valid_to >= book.last_date]
                if left:
                    left.sort(key=_by_start)
                    tail[key] = tail[key] + left if key in tail else left
            book.tails[i] = tail
        book.state = state
        book.snapshots = []
        book.whole = whole
        book.marks = marks
        if added is None:
            book.entries = entries
            self.kept += len(entries)
        else:
            self.kept += added
        self._trim(book)

    # --- companies ---

    def book(self, raw: Any, company: str, seq: int) -> Book:
        """The company as known just before its event ``seq``: from the cache, else from
        the log and the tables."""
        book = self.books.get(company)
        if book is not None:
            if book is not self._latest:  # a company's events often come in a row
                self.books.move_to_end(company)
                self._latest = book
            return book
        if seq == 1:
            return self._add(Book(company, CompanyState(company), None, self._no_tails(), None))
        self._to_read(raw)
        return self._loaded(raw, {company: seq})[0]

    def preload(self, raw: Any, firsts: Mapping[str, int]) -> None:
        """Read at once the books of the companies of ``firsts`` (company: the version of
        its first event to come) that are not cached: what ``book`` would read for each, in
        a few statements instead of a round trip per company and table (the books of a
        batch meeting many companies already recorded)."""
        wanted = {c: seq for c, seq in firsts.items() if seq != 1 and c not in self.books}
        wanted = dict(list(wanted.items())[: MAX_BOOKS // 2])  # none pushed out before use
        if self.outside is not None:
            # A company whose book was made (and then pushed out) may have rows written in
            # this transaction: only the others' are as committed.
            apart = {c: seq for c, seq in wanted.items() if c not in self.met}
            wanted = {c: seq for c, seq in wanted.items() if c in self.met}
            if apart:
                try:
                    with self.outside() as other:
                        self._loaded(other, apart)
                except Exception:
                    # Reading there only spares waiting for the writes in flight: whatever
                    # stops it (no connection to be had, say), the transaction's read answers.
                    wanted.update(apart)
        if wanted:
            self._to_read(raw)
            self._loaded(raw, wanted)

    def _loaded(self, raw: Any, firsts: dict[str, int]) -> list[Book]:
        """The books of ``firsts`` (company: the version of its next event) from the log and
        the tables, cached."""
        books, unread = [], {}
        for company, seq in firsts.items():
            known = self.known(company, seq)
            if known is None:
                unread[company] = seq
            else:
                entries, state = known
                books.append(self._book(company, entries, state.copy()))
        if unread:
            for company, rows in self.db.log(raw).company_logs(unread).items():
                books.append(self._book(company, _in_force(rows)))
        since = {book.company: book.last_date for book in books}
        for i, shape in enumerate(self.shapes):
            believed = self.db.believed_of(raw, shape, since)
            for book in books:
                book.tails[i] = _by_key(believed[book.company])
        for book in books:
            self._add(book)
        return books

    def _book(
        self, company: str, entries: Sequence[Entry], state: CompanyState | None = None
    ) -> Book:
        """A company's book at the end of ``entries`` (its events in force, in timeline
        order; ``state``: their fold, if known, else they are folded); its rows still to be
        read. (Stored, the events are whole batches: each applies, so the ledger's fold of
        them, which checks nothing, is the writer's.)"""
        last = max((e.fact.effective_date for e in entries), default=None)
        if state is None:
            state = replay_known(entries, company)
        # The events themselves are kept only from a company's first back-dated event on:
        # most companies never have one, and holding every event alive made each catch-up
        # pay a garbage-collector pass over them (about 15% of a rebuild).
        return Book(company, state, last, self._no_tails(), None)

    def _no_tails(self) -> list[dict[Key, list[Row]]]:
        return [{} for _ in self.shapes]

    def _add(self, book: Book) -> Book:
        """Cache ``book`` as the most recent (the least recent go past ``MAX_BOOKS``)."""
        self.books[book.company] = book
        if self.outside is not None:
            self.met.add(book.company)
        self._latest = book
        while len(self.books) > MAX_BOOKS:
            _, gone = self.books.popitem(last=False)
            if gone.entries is not None:
                self.kept -= len(gone.entries)
        self._trim(book)
        return book

    def _load(self, raw: Any, book: Book, seq: int) -> list[Entry]:
        """The company's events in force before its event ``seq``, in timeline order."""
        self._to_read(raw)
        return _in_force(self.db.log(raw).company_log(book.company, before_version=seq))

    def _keep(self, book: Book, entry: Entry) -> None:
        assert book.entries is not None
        book.entries.append(entry)  # in order: it goes last
        self.kept += 1
        if self.kept > MAX_ENTRIES:
            self._trim(book)

    def _trim(self, current: Book) -> None:
        """Past the budget, forget the other companies' events (read again when needed)."""
        if self.kept <= MAX_ENTRIES:
            return
        for book in self.books.values():
            if book is not current and book.entries is not None:
                _forget_entries(book)
        self.kept = len(current.entries or [])
        if self.kept > MAX_ENTRIES:
            _forget_entries(current)
            self.kept = 0

    # --- rows ---

    def _emit(
        self, shape: Shape, company: str, position: int, closed: list[Row], opened: list[Row]
    ) -> None:
        for row in closed:
            self.buffer.close(shape, company, row, position)
        for row in opened:
            self.buffer.open(shape, company, row, position)

    def _to_read(self, raw: Any) -> None:
        """Before reading the log or the tables: what it reads must hold every row so far."""
        self.before_reading()
        self.flush(raw)

    def take(self) -> Buffer:
        """The buffered rows, to be written (``write``) by the caller; the buffer empties."""
        buffer, self.buffer = self.buffer, Buffer(day=self.db.day)
        return buffer

    def flush(self, raw: Any) -> None:
        """Send the buffered rows (``write``)."""
        self.write(raw, self.take())

    def write(self, raw: Any, buffer: Buffer, checks: list[Check] | None = None) -> None:
        """Send rows: closes first (a row re-opened with the same valid_from must not meet
        its predecessor still believed), then inserts. Each close is checked to have met
        every row it names; given ``checks``, not here but by the caller (``check``), later:
        a writer sharing the append's connection goes on folding meanwhile."""
        if not buffer:
            return
        by_table = {shape.table: shape for shape in self.shapes}
        pending = [] if checks is None else checks
        for table, closes in buffer.closes.items():
            shape = by_table[table]
            pending.append((shape, self.db.close(raw, shape, closes), len(closes)))
        if checks is None:
            check(pending)
        for table, rows in buffer.inserts.items():
            self.db.insert(raw, by_table[table], rows)
        if buffer.parties:
            self.db.index_parties(raw, sorted(buffer.parties))


def check(closes: Sequence[Check]) -> None:
    """Each close changed the rows it named: else the table was changed behind the
    projection's back."""
    for shape, changed, expected in closes:
        count = changed()
        if count != expected:
            raise ProjectionError(
                f"projection {shape.projection}: {shape.table} holds {count} believed rows "
                f"where {expected} were expected to be closed: the table was changed behind "
                "the projection's back; rebuild it (corpledger projections rebuild)"
            )


_new_row = partial(tuple.__new__, Row)
"""``Row(key, value, valid_from, valid_to)`` from a tuple of those, without the Python-level
``__new__`` of a named tuple (the in-order step builds two rows per event)."""


_new_entry = partial(tuple.__new__, Entry)
"""``Entry(fact, seq, where, event_id)`` from a tuple of those, in C (one per event read)."""


def _nothing() -> None:
    pass


def _unknown(company: str, seq: int) -> None:
    return None


def _in_force(log: Sequence[Any]) -> list[Entry]:
    """A company's log rows (position, company, version, state) as its events in force, in
    timeline order."""
    entries = []
    for _, _, version, state in log:
        event_id, _, fact = decode_state(bytes(state))
        entries.append(Entry(fact, int(version), "", event_id))  # stored: named by id
    return in_force(entries)


def _by_start(row: Row) -> date:
    return row.valid_from


def _end(row: Row) -> date:
    """A row's end, for bisecting a key's believed rows (in order, so ending in order)."""
    return date.max if row.valid_to is None else row.valid_to


_effective_date = attrgetter("fact.effective_date")


def _split(
    rows: Mapping[Key, list[Row]], on: date
) -> tuple[dict[Key, list[Row]], dict[Key, list[Row]]]:
    """Each key's rows (by valid_from) as those ending before ``on``, and the rest."""
    before: dict[Key, list[Row]] = {}
    since: dict[Key, list[Row]] = {}
    for key, held in rows.items():
        if held[0].valid_to is None or held[0].valid_to >= on:
            since[key] = held
            continue
        at = bisect.bisect_left(held, on, key=_end)
        before[key] = held[:at]
        if at < len(held):
            since[key] = held[at:]
    return before, since


def _forget_entries(book: Book) -> None:
    """Drop a book's kept events and what depends on them: its marks, and the rows of its
    tails that end before its last date (a book is whole only while its events are kept)."""
    book.entries = None
    book.marks = []
    if book.whole:
        book.whole = False
        last = book.last_date
        for i, tail in enumerate(book.tails):
            _, book.tails[i] = _split(tail, last) if last is not None else ({}, tail)


def _entry(position: Any, company: str, version: Any, state: Any) -> Entry:
    try:
        event_id, _, fact = decode_state(bytes(state))
    except Exception as e:
        retyped = not isinstance(state, bytes | bytearray | memoryview)
        reason = (
            "its row is not what corpledger wrote (run `corpledger verify`)"
            if retyped
            else _one_line(e)
        )
        stuck = StuckEvent(int(position), company, _event_id(state), None, None, reason)
        raise ProjectionError(
            f"projections {', '.join(PROJECTIONS)} cannot read the event at "
            f"{stuck.place()}: {stuck.reason}",
            stuck=stuck,
        ) from e
    return _new_entry((fact, int(version), f"position {position}", event_id))


def _cannot_apply(position: Any, company: str, entry: Entry, error: Exception) -> ProjectionError:
    """The error naming the event ``entry`` at ``position``, which ``error`` stopped."""
    fact = entry.fact
    stuck = StuckEvent(
        int(position),
        company,
        str(entry.event_id),
        fact.type,
        fact.effective_date,
        f"{type(error).__name__}: {_one_line(error)}",
    )
    return ProjectionError(
        f"projections {', '.join(PROJECTIONS)} cannot apply the event at {stuck.place()}: "
        f"{stuck.reason}",
        stuck=stuck,
    )


def _by_key(rows: list[Row]) -> dict[Key, list[Row]]:
    grouped: dict[Key, list[Row]] = {}
    for row in rows:
        grouped.setdefault(row.key, []).append(row)
    return grouped


def _event_id(state: Any) -> str | None:
    """The event id of an undecodable stored event, if its JSON has one."""
    try:
        event_id = json.loads(state if isinstance(state, str) else bytes(state)).get("event_id")
    except (ValueError, TypeError, AttributeError):  # tampered: text, NULL, a number...
        event_id = None
    return event_id if isinstance(event_id, str) else None


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())
