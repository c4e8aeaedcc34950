"""eventsourcing's application recorders, extended with the hash chain and the log's reader.

Writes keep the library's contract (its optimistic concurrency on ``(originator_id,
originator_version)``, positions in commit order, the positions returned) and add one thing:
each stored event's ``chain`` value (``ledger.persistence.chain``), computed in the same
transaction as the append, after the writer holds the lock that orders the log (PostgreSQL:
the library's EXCLUSIVE table lock; SQLite: the write lock, taken up front with ``BEGIN
IMMEDIATE``), from the chain value of the last stored event. Every read of the log goes
through the recorder's ``log`` (``ledger.persistence.log.EventLog``), on the recorder's
connections or, inside an append, on the append's.

``construct_create_table_statements`` gives the schema of the newest migration (table, indexes,
the append-only triggers), so eventsourcing's recorder test suites run on the same schema
production has; ``tests/contract/test_recorders.py`` checks that the two agree.

PostgreSQL's recorder is in ``ledger.persistence.postgres``, imported only by a ledger on
PostgreSQL: a SQLite process never loads psycopg and its pool.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from eventsourcing.persistence import OperationalError, StoredEvent
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteTransaction,
)

from ..switch_interval import switching_often
from .chain import GENESIS, NewRow, Row, chained_rows
from .log import EventLog, SQLiteEventLog, StreamRow
from .sqlite_writer import IN_FLIGHT, SQLiteWriter

if TYPE_CHECKING:
    from .postgres import LedgerPostgresRecorder


def new_rows(stored_events: Iterable[StoredEvent]) -> list[NewRow]:
    """Library ``StoredEvent``s as plain rows. Originator ids are text; a UUID is stored,
    and hashed, as its hex (as eventsourcing's SQLite recorder stores it)."""
    return [
        (
            e.originator_id if isinstance(e.originator_id, str) else e.originator_id.hex,
            e.originator_version,
            e.topic,
            e.state,
        )
        for e in stored_events
    ]


APPEND_ONLY = "is append-only"
"""The words of every refusal by the append-only triggers: ``stored_events is append-only: …``."""


A = TypeVar("A", bound="Append")


class Append:
    """One append transaction, holding the lock that orders the log from its start to its
    commit (SQLite: the write lock of ``BEGIN IMMEDIATE``; PostgreSQL: the library's
    EXCLUSIVE table lock). Rows written through it are chained onto the last stored event
    and become visible to others only at commit, all at once; reads through it see the
    store as it is under the lock (fresh: nobody else can append meanwhile) plus what it
    wrote. The ledger records every batch through one."""

    writes_behind = True
    """Whether ``write(behind=True)`` uses a thread (see ``write``)."""

    def __init__(self, last_position: int, last_chain: bytes) -> None:
        self.start = last_position
        self.last_chain = last_chain
        self.count = 0
        self._writer: ThreadPoolExecutor | None = None
        self._pending: deque[Future[None]] = deque()
        self._switching: AbstractContextManager[None] = nullcontext()

    def write(self, rows: Sequence[NewRow], *, behind: bool = False) -> None:
        """Append ``rows`` (in order) to the log.

        The rows are chained, and made ready for the driver, in the caller's thread. With
        ``behind``, they are then sent on a thread of this append's own while the caller
        goes on (checking the next chunk of a long batch): that thread only waits on the
        database, without the GIL, so both make progress. Up to ``IN_FLIGHT`` such writes
        wait their turn, in order; they are finished before any read, ``positions`` and the
        end of the transaction, and the first error, if any, is raised then."""
        if not rows:
            return
        chained = list(chained_rows(self.last_chain, rows))
        self.last_chain = chained[-1][4]
        self.count += len(chained)
        send = self._sender(chained)
        if not (behind and self.writes_behind):
            self.settle()
            send()
            return
        self.behind(send)

    def behind(self, write: Callable[[], None]) -> None:
        """Run ``write`` (statements of others in this transaction: ``connection``) after the
        writes in flight, in order: on the writing thread where writes go behind, else now.
        Its error, if any, is raised as theirs are."""
        if not self.writes_behind:
            write()
            return
        self.settle(keep=IN_FLIGHT - 1)
        if self._writer is None:
            self._switching = switching_often()
            self._switching.__enter__()  # left in ``close``
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="corpledger-append")
        self._pending.append(self._writer.submit(write))

    def settle(self, keep: int = 0) -> None:
        """Wait for the writes in flight, all but the last ``keep``; raise the first error."""
        while len(self._pending) > keep:
            self._pending.popleft().result()

    def close(self, *, failed: bool) -> None:
        """Finish the writes in flight before the transaction commits or rolls back."""
        try:
            if not failed:
                self.settle()
        finally:
            while self._pending:  # a failed transaction: its errors say nothing more
                with suppress(Exception):
                    self._pending.popleft().result()
            if self._writer is not None:
                self._writer.shutdown(wait=True)
                self._switching.__exit__(None, None, None)

    def _sender(self, rows: list[Row]) -> Callable[[], None]:
        """What sends ``rows`` (chained) to the database, everything the GIL is needed for
        done before it is returned."""
        raise NotImplementedError

    def select_streams(self, after: dict[str, int]) -> dict[str, list[StreamRow]]:
        """Each company's stored events with versions after ``after[company]``, in order."""
        raise NotImplementedError

    def select_unwritten_streams(self, after: dict[str, int]) -> dict[str, list[StreamRow]]:
        """``select_streams`` of companies this append has written nothing to. What is
        committed is all they hold (under the lock nobody else appends), so this need not
        wait for a write in flight."""
        return self.select_streams(after)

    def positions(self) -> Sequence[int]:
        """The positions of every row written, in order (call once, after the last write)."""
        raise NotImplementedError

    def connection(self) -> Any:
        """The driver connection of this transaction, for statements of others to run in it
        (the read models' ``projections.inline``): a ``sqlite3``-like or ``psycopg``
        connection; None where there is none to lend."""
        return None

    def first_position(self) -> int:
        """The position of the first row written (call after the first write)."""
        return self.start + 1


@contextmanager
def closing_append(append: A) -> Iterator[A]:
    try:
        yield append
    except BaseException:
        append.close(failed=True)
        raise
    append.close(failed=False)


class SQLiteAppend(Append):
    # No thread: the sqlite3 module binds every row's parameters holding the GIL, and most
    # of an insert's time is there (measured: no gain). A writer process (``elsewhere``)
    # returns from ``executemany`` at once instead.
    writes_behind = False

    def __init__(
        self, recorder: LedgerSQLiteRecorder, cursor: Any, *, elsewhere: bool = False
    ) -> None:
        self.recorder = recorder
        self.cursor = cursor
        self.elsewhere = elsewhere
        table = recorder.events_table_name
        cursor.execute(f"SELECT rowid, chain FROM {table} ORDER BY rowid DESC LIMIT 1")
        last = cursor.fetchone()
        if last:
            super().__init__(int(last[0]), bytes(last[1]))
        else:
            super().__init__(0, GENESIS)

    def write(self, rows: Sequence[NewRow], *, behind: bool = False) -> None:
        if not self.elsewhere:
            super().write(rows, behind=behind)
        elif rows:
            # The writer process chains them (``SQLiteWriter.append``): off this core.
            if self.count == 0:
                self.cursor.chain_from(self.last_chain)
            self.cursor.append(self.recorder.insert_events_statement, list(rows))
            self.count += len(rows)

    def _sender(self, rows: list[Row]) -> Callable[[], None]:
        return partial(self.cursor.executemany, self.recorder.insert_events_statement, rows)

    def connection(self) -> Any:
        # Only a writer process's: in this process, the library's connection wrapper.
        return self.cursor.connection() if self.elsewhere else None

    def select_streams(self, after: dict[str, int]) -> dict[str, list[StreamRow]]:
        self.settle()
        return self.recorder.log.on(self.cursor).streams(after)

    def select_unwritten_streams(self, after: dict[str, int]) -> dict[str, list[StreamRow]]:
        if self.elsewhere:
            # On a connection of this process (WAL: readers go on while another writes),
            # without waiting for the writer process's insert in flight.
            return self.recorder.log.streams(after)
        return self.select_streams(after)

    def positions(self) -> Sequence[int]:
        """Inside this write transaction nobody else can insert, and SQLite gives each new
        row the largest rowid plus one (the table has no AUTOINCREMENT and is never deleted
        from), so the rowids written are the ones after the last, contiguous."""
        self.settle()
        self.cursor.execute(f"SELECT MAX(rowid) FROM {self.recorder.events_table_name}")
        end = int(self.cursor.fetchone()[0] or 0)
        assert end == self.start + self.count, (end, self.start, self.count)
        return range(self.start + 1, end + 1)


class _ImmediateTransaction(SQLiteTransaction):
    """The library's SQLite transaction, begun with ``BEGIN IMMEDIATE``: the write lock is
    taken before the first read, so the last chain value read is still the last when the
    batch is inserted (a deferred transaction that reads, then writes, fails with
    SQLITE_BUSY_SNAPSHOT when another writer committed in between)."""

    def __init__(self, connection: SQLiteConnection | SQLiteWriter) -> None:
        super().__init__(connection, commit=True)  # type: ignore[arg-type]

    def __enter__(self) -> Any:
        # A writer process is its own cursor (and commits and rolls back as a connection).
        connection: Any = self.connection
        cursor = connection if isinstance(connection, SQLiteWriter) else connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            # Translated to the library's exceptions as errors inside the transaction are.
            self.__exit__(type(e), e, e.__traceback__)
        return cursor


class LedgerSQLiteRecorder(SQLiteApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Name the columns: recorded_at takes the database's default.
        self.insert_events_statement = (
            f"INSERT INTO {self.events_table_name} "
            "(originator_id, originator_version, topic, state, chain) VALUES (?,?,?,?,?)"
        )
        self.log: EventLog = SQLiteEventLog(self._reading)
        """Every read of the log (``ledger.persistence.log``)."""

    @contextmanager
    def _reading(self) -> Iterator[Any]:
        """A cursor of one read transaction."""
        with self.datastore.transaction(commit=False) as c:
            yield c.sqlite_cursor  # the library's wrapper has no fetchmany

    def construct_create_table_statements(self) -> list[str]:
        """The schema of the newest migration (``migrations/versions``), for tables the
        library's test suites create: the table, its index and the append-only triggers."""
        table = self.events_table_name
        refuse = f"SELECT RAISE(ABORT, '{table} {APPEND_ONLY}: {{}} is refused'); END"
        return [
            f"CREATE TABLE IF NOT EXISTS {table} ("
            "originator_id TEXT, "
            "originator_version INTEGER, "
            "topic TEXT, "
            "state BLOB, "
            "recorded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), "
            "chain BLOB NOT NULL CHECK (length(chain) = 32), "
            "PRIMARY KEY (originator_id, originator_version))",
            f"CREATE INDEX IF NOT EXISTS {table}_recorded_at_idx ON {table} (recorded_at)",
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN {refuse.format('UPDATE')}",
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN {refuse.format('DELETE')}",
        ]

    @contextmanager
    def append(self, *, bulk: bool = False) -> Iterator[SQLiteAppend]:
        """One append transaction (``Append``): ``BEGIN IMMEDIATE`` takes the write lock
        before the first read, so the last chain value read is still the last when rows are
        inserted; ``executemany`` per write; commit on leaving, rollback on an exception.

        ``bulk`` (a long batch, written chunk after chunk): the transaction runs in a writer
        process of its own (``sqlite_writer``), so that inserting a chunk overlaps checking
        the next; not for an in-memory database, which no other process can open."""
        pool = self.datastore.pool
        with self.datastore.get_connection(commit=True) as connection:
            if not bulk or pool.is_sqlite_memory_mode:
                with (
                    _ImmediateTransaction(connection) as c,
                    closing_append(SQLiteAppend(self, c)) as append,
                ):
                    yield append
                return
            # The pool's writer connection stays taken: this process's other writers wait
            # for it, as they would for an append of their own thread.
            try:
                writer = SQLiteWriter(pool.db_name, pool.lock_timeout or 5)
            except OSError as e:
                raise OperationalError(f"cannot start the SQLite writer process: {e}") from e
            try:
                with (
                    _ImmediateTransaction(writer) as c,
                    closing_append(SQLiteAppend(self, c, elsewhere=True)) as append,
                ):
                    yield append
            finally:
                writer.close()

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        return append_stored(self, stored_events)

    def _insert_events(
        self, c: Any, stored_events: Sequence[StoredEvent], **_: Any
    ) -> Sequence[int] | None:
        append = SQLiteAppend(self, c)
        append.write(new_rows(stored_events))
        return list(append.positions())


def append_stored(
    recorder: LedgerSQLiteRecorder | LedgerPostgresRecorder, stored_events: Sequence[StoredEvent]
) -> list[int]:
    """The library's ``insert_events``, in one append transaction of ours."""
    if not stored_events:
        return []
    with recorder.append() as append:
        append.write(new_rows(stored_events))
        return list(append.positions())
