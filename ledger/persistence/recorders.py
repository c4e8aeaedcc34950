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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteTransaction
from eventsourcing.utils import retry
from psycopg.sql import SQL, Composed, Identifier

from .chain import GENESIS, chained

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


@dataclass(frozen=True, slots=True)
class ChainRow:
    """One stored event as the hash chain covers it, with its position and chain value."""

    position: int
    originator_id: str
    version: int
    topic: str
    state: bytes
    chain: bytes


def _sqlite_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def sqlite_timestamp(moment: datetime) -> str:
    """The text form SQLite stores ``recorded_at`` in (UTC, milliseconds, sortable)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


class _ImmediateTransaction(SQLiteTransaction):
    """The library's SQLite transaction, begun with ``BEGIN IMMEDIATE``: the write lock is
    taken before the first read, so the last chain value read is still the last when the
    batch is inserted (a deferred transaction that reads, then writes, fails with
    SQLITE_BUSY_SNAPSHOT when another writer committed in between)."""

    def __enter__(self) -> SQLiteCursor:
        cursor = self.connection.cursor()
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

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return []
        with (
            self.datastore.get_connection(commit=True) as connection,
            _ImmediateTransaction(connection, commit=True) as c,
        ):
            return self._insert_events(c, stored_events, **kwargs)

    def _insert_events(
        self, c: Any, stored_events: Sequence[StoredEvent], **_: Any
    ) -> Sequence[int] | None:
        """Chain the batch onto the last stored event, then one ``executemany``.

        Inside this write transaction nobody else can insert, and SQLite gives each new row
        the largest rowid plus one (the table has no AUTOINCREMENT and is never deleted
        from), so the rowids of the batch are the last ones, contiguous."""
        c.execute(f"SELECT chain FROM {self.events_table_name} ORDER BY rowid DESC LIMIT 1")
        last = c.fetchone()
        c.executemany(
            self.insert_events_statement,
            chained(bytes(last[0]) if last else GENESIS, stored_events),
        )
        c.execute(f"SELECT MAX(rowid) FROM {self.events_table_name}")
        end = int(c.fetchone()[0])
        return list(range(end - len(stored_events) + 1, end + 1))

    def select_chain(self, after: int, stop: int, limit: int) -> list[ChainRow]:
        """Up to ``limit`` stored events with positions in (``after``, ``stop``], in order."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT rowid, originator_id, originator_version, topic, state, chain "
                f"FROM {self.events_table_name} WHERE rowid>? AND rowid<=? "
                "ORDER BY rowid LIMIT ?",
                (after, stop, limit),
            )
            return [
                # A missing chain value (only an owner past the constraints could make one)
                # reads as empty: a broken link, not a crash.
                ChainRow(r[0], r[1], r[2], r[3], bytes(r[4] or b""), bytes(r[5] or b""))
                for r in c.fetchall()
            ]

    def select_stream(self, company: str, after_version: int = 0) -> list[StreamRow]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT rowid, originator_id, originator_version, topic, state, recorded_at "
                "FROM stored_events WHERE originator_id=? AND originator_version>? "
                "ORDER BY originator_version",
                (company, after_version),
            )
            return [
                StreamRow(r[0], r[1], r[2], r[3], bytes(r[4]), _sqlite_time(r[5]))
                for r in c.fetchall()
            ]

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
            return [
                StreamRow(r[0], r[1], r[2], r[3], bytes(r[4]), _sqlite_time(r[5]))
                for r in c.fetchall()
            ]

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
        self.last_chain_statement = SQL(
            "SELECT chain FROM {schema}.{table} ORDER BY notification_id DESC LIMIT 1"
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

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> list[int]:
        """The library's append without pipeline mode: psycopg 3.3's pipeline deadlocks on a
        statement of more than ~10 MB (a batch of ~50,000 events), while one plain statement
        stores 100,000 in under two seconds. Same table lock and NOTIFY; then the last chain
        value is read (no other writer can append until this transaction ends) and the batch
        is inserted with its chain values."""
        if not stored_events:
            return []
        with self.datastore.transaction(commit=True) as curs:
            self._lock_table(curs)
            self._notify_channel(curs)
            curs.execute(self.last_chain_statement, prepare=True)
            last = curs.fetchone()
            rows = chained(bytes(last["chain"]) if last else GENESIS, stored_events)
            columns = [list(column) for column in zip(*rows, strict=True)]
            curs.execute(self.insert_events_statement, columns)
            return [row["notification_id"] for row in curs.fetchall()]

    def select_chain(self, after: int, stop: int, limit: int) -> list[ChainRow]:
        """Up to ``limit`` stored events with positions in (``after``, ``stop``], in order."""
        rows = self._rows(
            "SELECT notification_id, originator_id, originator_version, topic, state, chain "
            f"FROM {self.events_table_name} WHERE notification_id>%s AND notification_id<=%s "
            "ORDER BY notification_id LIMIT %s",
            (after, stop, limit),
        )
        return [
            ChainRow(
                r["notification_id"],
                r["originator_id"],
                r["originator_version"],
                r["topic"],
                bytes(r["state"] or b""),
                bytes(r["chain"] or b""),
            )
            for r in rows
        ]

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
                bytes(r["state"]),
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
