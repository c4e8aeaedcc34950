"""PostgreSQL's application recorder (``ledger.persistence.recorders`` has the rest): the
library's, extended with the hash chain, binary ``COPY`` for large appends and the log's
reader. In a module of its own, imported only by a ledger on PostgreSQL, so that a SQLite
process never loads psycopg and its pool.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

from .chain import CHAIN_BYTES, GENESIS, Row
from .log import EventLog, PostgresEventLog, StreamRow, pg_cursor
from .recorders import APPEND_ONLY, Append, append_stored, closing_append

COPY_THRESHOLD = 1_000
"""A PostgreSQL write of at least this many rows uses binary ``COPY`` (about three times
faster than an ``INSERT`` of arrays); a smaller one a single ``INSERT`` (one round trip)."""


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


class TupleRows:
    """An append's connection as others' statements expect one: its cursors give tuples
    (the library's connections give dicts)."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def cursor(self, *args: Any, **kwargs: Any) -> Any:
        return self.connection.cursor(*args, row_factory=tuple_row, **kwargs)

    def pipeline(self) -> Any:
        return self.connection.pipeline()


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
        return self.recorder.log.on(pg_cursor(self.cursor.connection)).streams(after)

    def select_unwritten_streams(self, after: dict[str, int]) -> dict[str, list[StreamRow]]:
        # On a connection of the pool: this one may be busy copying.
        return self.recorder.log.streams(after)

    def connection(self) -> Any:
        return TupleRows(self.cursor.connection)

    def first_position(self) -> int:
        self.settle()
        if self.returned:
            return self.returned[0]
        self.cursor.execute(self.recorder.written_span_statement, (self.start,))
        return int(self.cursor.fetchone()["first"])

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


class LedgerPostgresRecorder(PostgresApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.log: EventLog = PostgresEventLog(self._reading, self._reading_all)
        """Every read of the log (``ledger.persistence.log``)."""
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
    def _reading(self) -> Iterator[Any]:
        """A cursor of a connection of the pool, for one read."""
        with self.datastore.get_connection() as conn, pg_cursor(conn) as cur:
            yield cur

    @contextmanager
    def _reading_all(self) -> Iterator[Any]:
        """A server-side cursor in a transaction of its own: one query, one plan, one
        snapshot, rows sent as they are fetched."""
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            pg_cursor(conn, "corpledger_read_log") as cur,
        ):
            yield cur

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
            with closing_append(PostgresAppend(self, curs)) as append:
                yield append

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> list[int]:
        """The library's append through ``append`` (same lock, NOTIFY and positions)."""
        return append_stored(self, stored_events)
