"""eventsourcing's application recorders, extended with the hash chain and the reads the
ledger needs.

Writes keep the library's contract (its optimistic concurrency on ``(originator_id,
originator_version)``, positions in commit order, the positions returned) and add one thing:
each stored event's ``chain`` value (``ledger.persistence.chain``), computed in the same
transaction as the append, after the writer holds the lock that orders the log (PostgreSQL:
the library's EXCLUSIVE table lock; SQLite: the write lock, taken up front with ``BEGIN
IMMEDIATE``), from the chain value of the last stored event. The additions otherwise only
read: a company's stream with each event's position and ``recorded_at``, the position known at
a timestamp, the list of companies, and the log with its chain in pages (for ``verify``).

``construct_create_table_statements`` gives the schema of the newest migration (table, indexes,
the append-only triggers), so eventsourcing's recorder test suites run on the same schema
production has; ``tests/contract/test_recorders.py`` checks that the two agree.
"""

from __future__ import annotations

import sqlite3
import struct
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteTransaction,
)
from eventsourcing.utils import retry
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

from ..domain.errors import StoreError
from .chain import CHAIN_BYTES, GENESIS, NewRow, Row, chained_rows
from .sqlite_writer import IN_FLIGHT, SQLiteWriter

COPY_THRESHOLD = 1_000
"""A PostgreSQL write of at least this many rows uses binary ``COPY`` (about three times
faster than an ``INSERT`` of arrays); a smaller one a single ``INSERT`` (one round trip)."""


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


@dataclass(frozen=True, slots=True)
class StreamRow:
    """One stored event with the columns the library's StoredEvent leaves out."""

    position: int
    company: str
    version: int
    topic: str
    state: bytes
    recorded_at: datetime


class UnreadableEventError(StoreError):
    """A stored event the ledger cannot read: not what it wrote (an owner of the database
    changed it past the append-only triggers; ``verify`` says where and how), or what a
    newer version wrote (``newer`` says why: the mapper's ``NewerEventError``)."""

    def __init__(self, position: int, company: object, newer: str | None = None) -> None:
        why = newer or (
            "it is not what corpledger wrote; run `corpledger verify` to check the ledger"
        )
        super().__init__(
            f"cannot read the stored event at position {position} (company {company}): {why}"
        )


def stored_state(state: object, position: int, company: object) -> bytes:
    """A stored event's ``state`` as bytes, as the ledger writes it; anything else (text,
    NULL, a number: only an edit past the triggers makes one) is refused, not converted."""
    if isinstance(state, bytes | memoryview):
        return bytes(state)
    raise UnreadableEventError(position, company)


@dataclass(frozen=True, slots=True)
class ChainRow:
    """One stored event as the hash chain covers it, with its position and chain value.

    ``well_formed`` is False when a column holds another type than the ledger writes (text
    or a number for bytes, NULL, …): such a row is forged whatever its content. The fields
    then hold its values as near as they come to their types, to name it in the report."""

    position: int
    originator_id: str
    version: int
    topic: str
    state: bytes
    chain: bytes
    well_formed: bool = True

    @staticmethod
    def read(
        position: int, originator_id: Any, version: Any, topic: Any, state: Any, chain: Any
    ) -> ChainRow:
        """A row as the database returned it, whatever an edit past the triggers left in it:
        never a crash, so ``verify`` can report it."""
        well_formed = (
            isinstance(originator_id, str)
            and type(version) is int
            and isinstance(topic, str)
            and isinstance(state, bytes | memoryview)
            and isinstance(chain, bytes | memoryview)
        )
        if well_formed:
            return ChainRow(position, originator_id, version, topic, bytes(state), bytes(chain))
        return ChainRow(
            position,
            _as_text(originator_id),
            version if type(version) is int else 0,
            _as_text(topic),
            _as_bytes(state),
            _as_bytes(chain),
            well_formed=False,
        )


def _as_text(value: Any) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode(errors="replace")
    return "" if value is None else str(value)


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes | memoryview):
        return bytes(value)
    return b"" if value is None else str(value).encode()


def _sqlite_stream_row(r: Any) -> StreamRow:
    return StreamRow(r[0], r[1], r[2], r[3], stored_state(r[4], r[0], r[1]), _sqlite_time(r[5]))


def _sqlite_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def sqlite_timestamp(moment: datetime) -> str:
    """The text form SQLite stores ``recorded_at`` in (UTC, milliseconds, sortable)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


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
        self.settle(keep=IN_FLIGHT - 1)
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="corpledger-append")
        self._pending.append(self._writer.submit(send))

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


_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, no header extension
_COPY_TRAILER = b"\xff\xff"
_COPY_ROW = struct.Struct(">hi")  # 5 fields; len(originator_id)
_COPY_VERSION = struct.Struct(">iqi")  # 8, originator_version (int8); len(topic)
_COPY_LENGTH = struct.Struct(">i")
_COPY_CHAIN = _COPY_LENGTH.pack(CHAIN_BYTES)


def copy_binary(rows: Iterable[Row]) -> bytes:
    """``rows`` in PostgreSQL's binary ``COPY`` format, for the columns (originator_id text,
    originator_version int8, topic text, state bytea, chain bytea): built in one piece, so
    that sending it needs no GIL (psycopg's ``write_row`` formats each row as it sends)."""
    row, version_topic, length = _COPY_ROW.pack, _COPY_VERSION.pack, _COPY_LENGTH.pack
    parts = [_COPY_SIGNATURE]
    extend = parts.extend
    for oid, version, topic, state, chain in rows:
        o, t = oid.encode(), topic.encode()
        extend((row(5, len(o)), o, version_topic(8, version, len(t)), t, length(len(state)), state))
        extend((_COPY_CHAIN, chain))
    parts.append(_COPY_TRAILER)
    return b"".join(parts)


@contextmanager
def _closing(append: A) -> Iterator[A]:
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

    def select_streams(self, after: dict[str, int]) -> dict[str, list[StreamRow]]:
        self.settle()
        return self.recorder.streams_with(self.cursor, after)

    def select_unwritten_streams(self, after: dict[str, int]) -> dict[str, list[StreamRow]]:
        if self.elsewhere:
            # On a connection of this process (WAL: readers go on while another writes),
            # without waiting for the writer process's insert in flight.
            return self.recorder.select_streams(after)
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


class PostgresAppend(Append):
    def __init__(self, recorder: LedgerPostgresRecorder, cursor: Any) -> None:
        self.recorder = recorder
        self.cursor = cursor
        cursor.execute(recorder.last_row_statement, prepare=True)
        last = cursor.fetchone()
        if last:
            super().__init__(int(last["notification_id"]), bytes(last["chain"]))
        else:
            super().__init__(0, GENESIS)
        self.returned: list[int] = []
        self.copied = False

    def _sender(self, rows: list[Row]) -> Callable[[], None]:
        if len(rows) >= COPY_THRESHOLD:
            self.copied = True
            return partial(self._copy, copy_binary(rows))
        columns = [list(column) for column in zip(*rows, strict=True)]
        return partial(self._insert, columns)

    def _insert(self, columns: list[list[Any]]) -> None:
        self.cursor.execute(self.recorder.insert_events_statement, columns)
        self.returned += [row["notification_id"] for row in self.cursor.fetchall()]

    def _copy(self, data: bytes) -> None:
        """Binary ``COPY``: each row takes its notification_id from the sequence as it is
        copied, in order; nobody else can take one meanwhile (every inserter holds the
        table lock first), so they are contiguous (``positions`` checks)."""
        with self.cursor.copy(self.recorder.copy_statement) as copy:
            copy.write(data)

    def select_streams(self, after: dict[str, int]) -> dict[str, list[StreamRow]]:
        self.settle()
        return self.recorder.streams_with(self.cursor, after)

    def select_unwritten_streams(self, after: dict[str, int]) -> dict[str, list[StreamRow]]:
        # On a connection of the pool: this one may be busy copying.
        return self.recorder.select_streams(after)

    def positions(self) -> Sequence[int]:
        self.settle()
        if not self.copied:
            return self.returned
        # Every row after the last one before this append is one of ours (we hold the lock
        # every inserter takes, and rows of rolled-back writers are invisible): so the rows
        # are contiguous when the span from the first to the last holds exactly as many.
        self.cursor.execute(self.recorder.written_span_statement, (self.start,))
        span = self.cursor.fetchone()
        first, last = span["first"], span["last"]
        if last - first + 1 != self.count:
            raise AssertionError(f"positions not contiguous: {first}..{last}, {self.count} rows")
        return range(first, last + 1)


def _after_clause(after: dict[str, int], mark: str) -> tuple[str, list[Any]]:
    """``WHERE`` of a read of several companies' streams: one ``IN`` list when every
    version is 0 (companies not seen yet), else one condition per company."""
    if all(v == 0 for v in after.values()):
        return f"originator_id IN ({','.join([mark] * len(after))})", list(after)
    conditions = " OR ".join([f"(originator_id={mark} AND originator_version>{mark})"] * len(after))
    return conditions, [x for item in after.items() for x in item]


_STREAMS_AT_ONCE = 400
"""Companies read per statement by ``streams_with`` (SQLite allows 32,766 parameters)."""


def _read_streams(
    cursor: Any,
    after: dict[str, int],
    select: str,
    mark: str,
    stream_rows: Callable[[list[Any]], list[StreamRow]],
) -> dict[str, list[StreamRow]]:
    """Several companies' streams, ``_STREAMS_AT_ONCE`` companies per statement."""
    found: dict[str, list[StreamRow]] = {company: [] for company in after}
    companies = list(after)
    for i in range(0, len(companies), _STREAMS_AT_ONCE):
        part = {c: after[c] for c in companies[i : i + _STREAMS_AT_ONCE]}
        where, params = _after_clause(part, mark)
        cursor.execute(f"{select} WHERE {where} ORDER BY originator_id, originator_version", params)
        for row in stream_rows(list(cursor.fetchall())):
            if row.version > part[row.company]:
                found[row.company].append(row)
    return found


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
                    _closing(SQLiteAppend(self, c)) as append,
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
                    _closing(SQLiteAppend(self, c, elsewhere=True)) as append,
                ):
                    yield append
            finally:
                writer.close()

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        return _append_stored(self, stored_events)

    def _insert_events(
        self, c: Any, stored_events: Sequence[StoredEvent], **_: Any
    ) -> Sequence[int] | None:
        append = SQLiteAppend(self, c)
        append.write(new_rows(stored_events))
        return list(append.positions())

    def streams_with(self, cursor: Any, after: dict[str, int]) -> dict[str, list[StreamRow]]:
        """Several companies' streams through ``cursor`` (see ``Append.select_streams``)."""
        return _read_streams(
            cursor,
            after,
            "SELECT rowid, originator_id, originator_version, topic, state, recorded_at "
            f"FROM {self.events_table_name}",
            "?",
            lambda rows: [_sqlite_stream_row(r) for r in rows],
        )

    def select_streams(self, after: dict[str, int]) -> dict[str, list[StreamRow]]:
        """Several companies' streams, read in one transaction."""
        with self.datastore.transaction(commit=False) as c:
            return self.streams_with(c, after)

    def select_chain(self, after: int, stop: int, limit: int) -> list[ChainRow]:
        """Up to ``limit`` stored events with positions in (``after``, ``stop``], in order."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT rowid, originator_id, originator_version, topic, state, chain "
                f"FROM {self.events_table_name} WHERE rowid>? AND rowid<=? "
                "ORDER BY rowid LIMIT ?",
                (after, stop, limit),
            )
            return [ChainRow.read(*r) for r in c.fetchall()]

    def read_log(self, page: int) -> Iterator[list[tuple[str, int, bytes]]]:
        """The whole log in position order, ``page`` rows at a time (company, version,
        state), from one query in one read transaction."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT originator_id, originator_version, state "
                f"FROM {self.events_table_name} ORDER BY rowid"
            )
            while rows := c.sqlite_cursor.fetchmany(page):  # the library's wrapper has none
                yield rows

    def select_stream(self, company: str, after_version: int = 0) -> list[StreamRow]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT rowid, originator_id, originator_version, topic, state, recorded_at "
                "FROM stored_events WHERE originator_id=? AND originator_version>? "
                "ORDER BY originator_version",
                (company, after_version),
            )
            return [_sqlite_stream_row(r) for r in c.fetchall()]

    def select_positions(self, positions: Sequence[int]) -> list[StreamRow]:
        """Rows at the given positions (to learn their recorded_at after an append)."""
        if not positions:
            return []
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT rowid, originator_id, originator_version, topic, state, recorded_at "
                f"FROM stored_events WHERE rowid IN ({','.join('?' * len(positions))}) "
                "ORDER BY rowid",
                list(positions),
            )
            return [_sqlite_stream_row(r) for r in c.fetchall()]

    def recorded_times(self, first: int, last: int) -> dict[int, datetime]:
        """recorded_at of the positions from ``first`` to ``last``."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT rowid, recorded_at FROM stored_events WHERE rowid BETWEEN ? AND ?",
                (first, last),
            )
            return {r[0]: _sqlite_time(r[1]) for r in c.fetchall()}

    def last_position(self) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT MAX(rowid) FROM stored_events")
            return int(c.fetchone()[0] or 0)

    def position_at(self, moment: datetime) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT MAX(rowid) FROM stored_events WHERE recorded_at<=?",
                (sqlite_timestamp(moment),),
            )
            return int(c.fetchone()[0] or 0)

    def companies(self) -> list[str]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT DISTINCT originator_id FROM stored_events "
                "WHERE originator_version=1 ORDER BY originator_id"
            )
            return [r[0] for r in c.fetchall()]


class LedgerPostgresRecorder(PostgresApplicationRecorder):
    _COLUMNS = "notification_id, originator_id, originator_version, topic, state, recorded_at"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = {
            "schema": Identifier(self.datastore.schema),
            "table": Identifier(self.events_table_name),
            "id_type": Identifier(self.datastore.originator_id_type),
        }
        self.sql_create_statements = self._create_statements()
        self.last_row_statement = SQL(
            "SELECT notification_id, chain FROM {schema}.{table} "
            "ORDER BY notification_id DESC LIMIT 1"
        ).format(**names)
        self.copy_statement = SQL(
            "COPY {schema}.{table} (originator_id, originator_version, topic, state, chain) "
            "FROM STDIN (FORMAT BINARY)"
        ).format(**names)
        self.written_span_statement = SQL(
            "SELECT min(notification_id) AS first, max(notification_id) AS last "
            "FROM {schema}.{table} WHERE notification_id > %s"
        ).format(**names)
        # Parallel arrays, one per column: the rows are inserted, and given their positions, in
        # array order (unnest is scanned in order, as the library's own insert relies on),
        # which is the order they were chained in; verify would show any other.
        self.insert_events_statement = SQL(
            "INSERT INTO {schema}.{table} "
            "(originator_id, originator_version, topic, state, chain) "
            "SELECT * FROM unnest(%s::{id_type}[], %s::bigint[], %s::text[], %s::bytea[], "
            "%s::bytea[]) "
            "RETURNING notification_id"
        ).format(**names)

    def _create_statements(self) -> list[Composed]:
        """The schema of the newest migration (``migrations/versions``), for tables the
        library's test suites create: the table and its indexes, the composite type the
        library registers, and the append-only triggers. (Not the library's optional insert
        function: it would insert without a chain.)"""
        table = self.events_table_name
        names = {
            "schema": Identifier(self.datastore.schema),
            "table": Identifier(table),
            "id_type": Identifier(self.datastore.originator_id_type),
            "type": Identifier(self.stored_event_type_name),
            "chain_length": Identifier(f"{table}_chain_length"),
            "notification_id_idx": Identifier(self.notification_id_index_name),
            "recorded_at_idx": Identifier(f"{table}_recorded_at_idx"),
            "function": Identifier(f"{table}_append_only"),
            "no_update": Identifier(f"{table}_no_update"),
            "no_delete": Identifier(f"{table}_no_delete"),
            "no_truncate": Identifier(f"{table}_no_truncate"),
        }
        statements = [
            "CREATE TABLE IF NOT EXISTS {schema}.{table} ("
            "originator_id {id_type} NOT NULL, "
            "originator_version bigint NOT NULL, "
            "topic text, "
            "state bytea, "
            "notification_id bigserial, "
            "recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(), "
            "chain bytea NOT NULL CONSTRAINT {chain_length} CHECK (octet_length(chain) = 32), "
            "PRIMARY KEY (originator_id, originator_version))",
            "CREATE UNIQUE INDEX IF NOT EXISTS {notification_id_idx} "
            "ON {schema}.{table} (notification_id ASC)",
            "CREATE INDEX IF NOT EXISTS {recorded_at_idx} ON {schema}.{table} (recorded_at)",
            "CREATE TYPE {schema}.{type} AS ("
            "originator_id {id_type}, originator_version bigint, topic text, state bytea)",
            "CREATE OR REPLACE FUNCTION {schema}.{function}() RETURNS trigger LANGUAGE plpgsql "
            "AS $$ BEGIN RAISE EXCEPTION USING MESSAGE = "
            f"TG_TABLE_NAME || ' {APPEND_ONLY}: ' || TG_OP || ' is refused'; END $$",
            *(
                f"CREATE OR REPLACE TRIGGER {{no_{op.lower()}}} BEFORE {op} "
                "ON {schema}.{table} FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{function}()"
                for op in ("UPDATE", "DELETE", "TRUNCATE")
            ),
        ]
        return [SQL(statement).format(**names) for statement in statements]

    @contextmanager
    def append(self, *, bulk: bool = False) -> Iterator[PostgresAppend]:
        """One append transaction (``Append``): the library's EXCLUSIVE table lock and
        NOTIFY first, then the last row is read (no other writer can append until this
        transaction ends); binary ``COPY`` for writes of ``COPY_THRESHOLD`` rows or more,
        else one ``INSERT`` of arrays. No pipeline mode: psycopg 3.3's pipeline deadlocks
        on a statement of more than ~10 MB."""
        with self.datastore.transaction(commit=True) as curs:
            self._lock_table(curs)
            self._notify_channel(curs)
            with _closing(PostgresAppend(self, curs)) as append:
                yield append

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> list[int]:
        """The library's append through ``append`` (same lock, NOTIFY and positions)."""
        return _append_stored(self, stored_events)

    def streams_with(self, cursor: Any, after: dict[str, int]) -> dict[str, list[StreamRow]]:
        """Several companies' streams through ``cursor`` (see ``Append.select_streams``)."""
        return _read_streams(
            cursor,
            after,
            f"SELECT {self._COLUMNS} FROM {self.events_table_name}",
            "%s",
            self._stream_rows,
        )

    def select_streams(self, after: dict[str, int]) -> dict[str, list[StreamRow]]:
        """Several companies' streams, read in one transaction."""
        with self.datastore.transaction(commit=False) as c:
            return self.streams_with(c, after)

    def select_chain(self, after: int, stop: int, limit: int) -> list[ChainRow]:
        """Up to ``limit`` stored events with positions in (``after``, ``stop``], in order."""
        rows = self._rows(
            "SELECT notification_id, originator_id, originator_version, topic, state, chain "
            f"FROM {self.events_table_name} WHERE notification_id>%s AND notification_id<=%s "
            "ORDER BY notification_id LIMIT %s",
            (after, stop, limit),
        )
        return [
            ChainRow.read(
                r["notification_id"],
                r["originator_id"],
                r["originator_version"],
                r["topic"],
                r["state"],
                r["chain"],
            )
            for r in rows
        ]

    def read_log(self, page: int) -> Iterator[list[tuple[str, int, bytes]]]:
        """The whole log in position order, ``page`` rows at a time (company, version,
        state), from one server-side cursor (one query, one plan, one snapshot). The next
        page is fetched on a thread while the caller works on this one: the server prepares
        it meanwhile, on the other core."""
        return _read_ahead(self._read_log(page))

    def _read_log(self, page: int) -> Generator[list[tuple[str, int, bytes]], None, None]:
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor("corpledger_read_log", row_factory=tuple_row, binary=True) as curs,
        ):
            curs.itersize = page
            curs.execute(
                "SELECT originator_id, originator_version, state "
                f"FROM {self.events_table_name} ORDER BY notification_id"
            )
            while rows := curs.fetchmany(page):
                yield rows

    def _rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(sql, params)
            return list(curs.fetchall())

    def _stream_rows(self, rows: list[Any]) -> list[StreamRow]:
        return [
            StreamRow(
                r["notification_id"],
                r["originator_id"],
                r["originator_version"],
                r["topic"],
                stored_state(r["state"], r["notification_id"], r["originator_id"]),
                r["recorded_at"],
            )
            for r in rows
        ]

    def select_stream(self, company: str, after_version: int = 0) -> list[StreamRow]:
        return self._stream_rows(
            self._rows(
                f"SELECT {self._COLUMNS} FROM stored_events "
                "WHERE originator_id=%s AND originator_version>%s ORDER BY originator_version",
                (company, after_version),
            )
        )

    def select_positions(self, positions: Sequence[int]) -> list[StreamRow]:
        if not positions:
            return []
        return self._stream_rows(
            self._rows(
                f"SELECT {self._COLUMNS} FROM stored_events "
                "WHERE notification_id = ANY(%s) ORDER BY notification_id",
                (list(positions),),
            )
        )

    def recorded_times(self, first: int, last: int) -> dict[int, datetime]:
        rows = self._rows(
            "SELECT notification_id, recorded_at FROM stored_events "
            "WHERE notification_id BETWEEN %s AND %s",
            (first, last),
        )
        return {r["notification_id"]: r["recorded_at"] for r in rows}

    def last_position(self) -> int:
        rows = self._rows("SELECT MAX(notification_id) AS p FROM stored_events", ())
        return int(rows[0]["p"] or 0)

    def position_at(self, moment: datetime) -> int:
        rows = self._rows(
            "SELECT MAX(notification_id) AS p FROM stored_events WHERE recorded_at<=%s",
            (moment,),
        )
        return int(rows[0]["p"] or 0)

    def companies(self) -> list[str]:
        rows = self._rows(
            "SELECT originator_id FROM stored_events WHERE originator_version=1 "
            "ORDER BY originator_id",
            (),
        )
        return [r["originator_id"] for r in rows]


def _read_ahead(pages: Generator[list[Any], None, None]) -> Iterator[list[Any]]:
    """``pages``, each next one read on a thread while the caller has the one before."""
    with ThreadPoolExecutor(1, thread_name_prefix="corpledger-read-ahead") as reader:
        ahead = reader.submit(next, pages, None)
        try:
            while (rows := ahead.result()) is not None:
                ahead = reader.submit(next, pages, None)
                yield rows
        finally:
            ahead.cancel()
            with suppress(Exception):
                ahead.result()  # the thread is done with the generator before it closes
            pages.close()


def _append_stored(
    recorder: LedgerSQLiteRecorder | LedgerPostgresRecorder, stored_events: Sequence[StoredEvent]
) -> list[int]:
    """The library's ``insert_events``, in one append transaction of ours."""
    if not stored_events:
        return []
    with recorder.append() as append:
        append.write(new_rows(stored_events))
        return list(append.positions())
