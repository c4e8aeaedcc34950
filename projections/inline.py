"""The read models of a long batch, written in the batch's own transaction.

``record`` of a long batch folds each piece of events into history rows right after handing
the piece to the store, from the facts it has just checked (nothing read back or decoded),
and the rows go into the append's transaction: on PostgreSQL through the append's
connection, on SQLite through the writer process that holds it
(``ledger.persistence.sqlite_writer.WriterConnection``), behind the piece's events. The rows
and the tracking positions commit with the events, or nothing does, and ``record`` returns
with the read models current without a catch-up of its own.

It starts only where the read models stand at the start of the batch (their tracking rows,
locked on PostgreSQL until the commit; SQLite's write lock is the append's): if they are
behind the log, nothing is done here and the ledger catches up after the commit, as for any
batch. A piece is folded in memory, then its rows sent; a piece whose fold must read the
tables (a company's first back-dated event or correction, a company first met in this
process) sends what it has first, inside a savepoint. The fold failing on an event (an event
the projections cannot apply) undoes its piece and stops here: the events still commit with
the tracking positions before that piece, and the catch-up after the commit names the event,
as it always does. A database error is the batch's: it fails, and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from functools import partial
from typing import Any

from ledger.domain.entry import Entry
from ledger.domain.errors import StoreError
from ledger.persistence.faults import read_models_write_failed
from ledger.ports import Known, ProjectionError

from .database import Database
from .history import PROJECTIONS
from .writer import Check, Writer, check


class InTransaction:
    """Writes the read models of the events of one append, in its transaction, through
    ``raw`` (its driver connection). ``start``: the position before the batch's first;
    ``settle``: waits for the append's writes in flight; ``behind``: runs a write after
    them, in order (PostgreSQL: on the append's writing thread, while the next piece is
    checked and folded); ``known``: the companies as the ledger read them to check the
    batch, which the fold starts from instead of reading their events again; ``outside``:
    a connection of the ledger's (as a context manager) on which the rows of companies not
    yet met in this batch are read, as committed, without waiting for the append's writes."""

    def __init__(
        self,
        db: Database,
        raw: Any,
        start: int,
        settle: Callable[[], None],
        behind: Callable[[Callable[[], None]], None],
        known: Known,
        outside: Callable[[], AbstractContextManager[Any]] | None = None,
    ) -> None:
        self.db = db
        self.raw = raw
        self.settle = settle
        self.behind = behind
        self.writer = Writer(db)
        self.writer.before_reading = self._guard
        self.writer.known = known
        self.writer.outside = outside
        self.guarded = False  # whether this piece has a savepoint (it sent statements)
        self.start = self.reached = start
        self.checks: list[Check] = []  # of the closes sent, made before the commit
        tracking = db.tracking(raw)
        names = {name for name, _, _ in tracking}
        self.projecting = names >= set(PROJECTIONS) and all(p == start for _, p, _ in tracking)

    def _guard(self) -> None:
        """Before the fold reads the log or the tables (and sends its rows so far, to read
        them back): the append's writes done (the fold reads what they wrote, on the same
        connection); then, before the piece's first statement, a savepoint (what the piece
        writes from here on can be undone). Reading the companies a piece meets before
        folding it sends nothing: the piece's rows can still follow the append's writes
        without waiting for them. A piece of in-order events of companies already folded in
        this batch, or new in it, never gets here."""
        if not self.guarded:
            self.settle()
            if self.writer.buffer:  # the rows are sent before the read
                self._write(partial(self.db.savepoint_begin, self.raw))
                self.guarded = True

    def fold(self, entries: Sequence[Entry], first: int) -> None:
        """Project ``entries``, the events just written at positions ``first``, ``first + 1``…:
        folded in memory, their rows then written behind the append's writes."""
        if not self.projecting or not entries:
            return
        if first != self.reached + 1:  # not what the read models stand just before
            self.projecting = False
            return
        writer, raw = self.writer, self.raw
        step = writer.step_naming
        try:
            firsts: dict[str, int] = {}
            for entry in entries:
                firsts.setdefault(entry.fact.company, entry.seq)
            writer.preload(raw, firsts)
            for position, entry in enumerate(entries, first):
                step(raw, position, entry.fact.company, entry)
        except Exception as e:
            writer.forget()
            # The fold's own failure comes named (``ProjectionError``, its cause the fold's);
            # what it met reading the tables, or waiting for the append's writes, is the
            # database's, and the batch fails with it as the append would.
            cause = e.__cause__ if isinstance(e, ProjectionError) and e.__cause__ else e
            if cause is e and not isinstance(e, ProjectionError):
                raise
            if self.db.driver_error(cause) or isinstance(cause, StoreError):
                raise cause from None
            if self.guarded:
                self._write(partial(self.db.savepoint_undo, raw))
                self.guarded = False
            self.projecting = False  # the catch-up after the commit names the event
            return
        buffer = writer.take()
        if self.guarded:
            self._write(partial(writer.write, raw, buffer, self.checks))
            self._write(partial(self.db.savepoint_end, raw))
            self.guarded = False
        elif buffer:
            self.behind(partial(self._write, partial(writer.write, raw, buffer, self.checks)))
        self.reached = first + len(entries) - 1

    def _write(self, write: Callable[[], None]) -> None:
        """Run ``write``; a database error there fails the batch, in words of the read models
        (a refused row is no conflict between writers of events)."""
        try:
            write()
        except Exception as e:
            if self.db.driver_error(e):
                raise read_models_write_failed(e) from e
            raise

    def finish(self) -> int:
        """Move the tracking positions to the last event projected (before the commit, after
        the append's writes); returns it (``start``: none was)."""
        self.settle()
        self._write(partial(check, self.checks))
        if self.reached > self.start:
            self._write(partial(self.db.set_tracking, self.raw, PROJECTIONS, self.reached, False))
        return self.reached
