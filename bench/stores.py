"""The engines under test: fresh databases, the raw-driver baselines, version and settings.

Every database, the API's and the raw baseline's alike, is made the same way: a fresh,
empty database migrated by ``Ledger.open`` (every Alembic revision), so both write the same
``stored_events`` table with the same indexes, defaults, constraints and triggers. The raw
writers insert pre-serialised rows (``originator_id, originator_version, topic, state,
chain`` as the ledger stored them, hash chain included: the rows are read back from an API
run) in one transaction, and are timed from the transaction's start to its commit. Each
writes the way the ledger writes a long batch at its best:

- SQLite ``executemany``: a connection made as the ledger's writer process makes its own
  (autocommit, explicit transactions; the file in WAL mode, which the migration set), the
  write lock taken up front with ``BEGIN IMMEDIATE`` as the ledger takes it, then one
  ``executemany`` of every row, the same named columns (``recorded_at`` takes its default).
- PostgreSQL binary ``COPY``: the rows in the format the ledger sends
  (``ledger.persistence.recorders.copy_binary``), built before the timing as the rows are
  serialised before it (formatting them is the ledger's work), sent in one ``write`` of one
  ``COPY``: the wire and the server's work alone.
- PostgreSQL ``executemany``: psycopg's own, one parameterised ``INSERT`` per row
  (pipelined by psycopg); shown for reference, not a target's baseline.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable
from itertools import count
from pathlib import Path
from typing import Any, Protocol

import psycopg

from ledger import Ledger
from ledger.persistence.postgres import LedgerPostgresRecorder, copy_binary
from ledger.persistence.recorders import LedgerSQLiteRecorder

Row = tuple[str, int, str, bytes, bytes]
"""A stored event as the ledger wrote it: originator_id, originator_version, topic, state,
chain."""

RawWriter = Callable[[str, list[Row]], float]
"""Writes the rows into the fresh database at a URL; returns the seconds it took."""

COLUMNS = "originator_id, originator_version, topic, state, chain"


class Engine(Protocol):
    name: str
    key: str

    def fresh(self) -> str:
        """The URL of a new, empty, migrated database."""

    def drop(self, url: str) -> None: ...

    def abort(self, url: str) -> None:
        """Make a hung writer on this database fail (called from a watchdog thread)."""

    def version(self) -> str: ...

    def stored_rows(self, url: str) -> list[Row]:
        """Every stored event of the database, in position order."""

    def count(self, url: str) -> int: ...

    def raw_writers(self) -> dict[str, RawWriter]: ...

    def api_settings(self, ledger: Ledger) -> dict[str, str]:
        """The connection settings that matter for write speed, as the ledger has them."""

    def raw_settings(self, url: str) -> dict[str, str]:
        """The same settings on a raw-driver connection."""

    def raw_read_log(self, url: str, decode: Callable[[Any], object] = json.loads) -> float:
        """Seconds to select every state in position order and ``decode`` each."""

    def raw_single_inserts(self, url: str, rows: list[Row]) -> list[float]:
        """Seconds of each row inserted in a transaction of its own, on a warm connection."""

    def close(self) -> None: ...


def _migrate(url: str) -> None:
    Ledger.open(url).close()


# --- SQLite ---


class SQLiteEngine:
    """A fresh database file in the benchmark's temp directory for each run."""

    name = "SQLite"
    key = "sqlite"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._numbers = count(1)

    def _path(self, url: str) -> str:
        return url.removeprefix("sqlite:///")

    def fresh(self) -> str:
        path = self.directory / f"bench-{next(self._numbers)}.db"
        url = f"sqlite:///{path}"
        _migrate(url)
        return url

    def drop(self, url: str) -> None:
        path = self._path(url)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(path + suffix).unlink(missing_ok=True)

    def abort(self, url: str) -> None:
        # Nothing reaches into another thread's sqlite3 connection; a hung SQLite run stays
        # hung (none has been seen: SQLite writes in the calling thread, without a protocol).
        pass

    def version(self) -> str:
        return sqlite3.sqlite_version

    def _connect(self, url: str) -> sqlite3.Connection:
        # As eventsourcing's SQLite datastore connects: autocommit, explicit BEGIN.
        return sqlite3.connect(self._path(url), isolation_level=None)

    def stored_rows(self, url: str) -> list[Row]:
        conn = self._connect(url)
        try:
            return [
                (r[0], r[1], r[2], bytes(r[3]), bytes(r[4]))
                for r in conn.execute(f"SELECT {COLUMNS} FROM stored_events ORDER BY rowid")
            ]
        finally:
            conn.close()

    def count(self, url: str) -> int:
        conn = self._connect(url)
        try:
            return int(conn.execute("SELECT count(*) FROM stored_events").fetchone()[0])
        finally:
            conn.close()

    def raw_writers(self) -> dict[str, RawWriter]:
        return {"executemany": self._executemany}

    def _executemany(self, url: str, rows: list[Row]) -> float:
        """One ``executemany`` of every row in a ``BEGIN IMMEDIATE`` transaction, on a
        connection made as the ledger's writer process makes its own."""
        conn = self._connect(url)
        try:
            conn.execute("PRAGMA journal_mode=WAL")  # as eventsourcing sets it (persistent)
            started = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                f"INSERT INTO stored_events ({COLUMNS}) VALUES (?,?,?,?,?)",
                rows,
            )
            conn.execute("COMMIT")
            return time.perf_counter() - started
        finally:
            conn.close()

    @staticmethod
    def _pragmas(query: Callable[[str], Any]) -> dict[str, str]:
        return {
            name: str(query(f"PRAGMA {name}"))
            for name in ("journal_mode", "synchronous", "page_size", "cache_size")
        }

    def api_settings(self, ledger: Ledger) -> dict[str, str]:
        store = ledger.store
        assert isinstance(store, LedgerSQLiteRecorder)

        def query(sql: str) -> Any:
            with store.datastore.transaction(commit=False) as cursor:
                cursor.execute(sql)
                return cursor.fetchone()[0]

        return self._pragmas(query)

    def raw_settings(self, url: str) -> dict[str, str]:
        conn = self._connect(url)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return self._pragmas(lambda sql: conn.execute(sql).fetchone()[0])
        finally:
            conn.close()

    def raw_read_log(self, url: str, decode: Callable[[Any], object] = json.loads) -> float:
        conn = self._connect(url)
        try:
            started = time.perf_counter()
            decoded = [
                decode(r[0]) for r in conn.execute("SELECT state FROM stored_events ORDER BY rowid")
            ]
            seconds = time.perf_counter() - started
            assert decoded
            return seconds
        finally:
            conn.close()

    def raw_single_inserts(self, url: str, rows: list[Row]) -> list[float]:
        conn = self._connect(url)
        sql = f"INSERT INTO stored_events ({COLUMNS}) VALUES (?,?,?,?,?)"
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            seconds = []
            for row in rows:
                started = time.perf_counter()
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(sql, row)
                conn.execute("COMMIT")
                seconds.append(time.perf_counter() - started)
            return seconds
        finally:
            conn.close()

    def close(self) -> None:
        pass


# --- PostgreSQL ---


def _conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


class PostgresEngine:
    """A fresh database on the server for each run, created and dropped here."""

    name = "PostgreSQL"
    key = "postgres"

    def __init__(self, server_url: str) -> None:
        self.server_url = _conninfo(server_url)
        self.admin = psycopg.connect(self.server_url, autocommit=True, connect_timeout=5)
        self._numbers = count(1)
        self._created: set[str] = set()

    def _url(self, name: str) -> str:
        base, _, _ = self.server_url.partition("?")[0].rpartition("/")
        return f"{base}/{name}"

    def fresh(self) -> str:
        name = f"corpledger_bench_{os.getpid()}_{next(self._numbers)}"
        self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.execute(f'CREATE DATABASE "{name}"')
        self._created.add(name)
        url = self._url(name)
        _migrate(url)
        return url

    def drop(self, url: str) -> None:
        name = url.rpartition("/")[2]
        self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._created.discard(name)

    def abort(self, url: str) -> None:
        # Dropping the database ends its sessions and keeps the library's reconnecting
        # retries from starting the same write again. A connection of its own: this runs
        # in the watchdog's thread.
        name = url.rpartition("/")[2]
        with psycopg.connect(self.server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def version(self) -> str:
        row = self.admin.execute("SHOW server_version").fetchone()
        assert row is not None
        return str(row[0])

    def stored_rows(self, url: str) -> list[Row]:
        with psycopg.connect(url) as conn:
            return [
                (r[0], r[1], r[2], bytes(r[3]), bytes(r[4]))
                for r in conn.execute(
                    f"SELECT {COLUMNS} FROM stored_events ORDER BY notification_id"
                )
            ]

    def count(self, url: str) -> int:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT count(*) FROM stored_events").fetchone()
            assert row is not None
            return int(row[0])

    def raw_writers(self) -> dict[str, RawWriter]:
        return {"executemany": self._executemany, "COPY binary": self._copy_binary}

    def _executemany(self, url: str, rows: list[Row]) -> float:
        with psycopg.connect(url) as conn:
            started = time.perf_counter()
            with conn.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO stored_events ({COLUMNS}) VALUES (%s,%s,%s,%s,%s)", rows
                )
            conn.commit()
            return time.perf_counter() - started

    def _copy_binary(self, url: str, rows: list[Row]) -> float:
        """Binary ``COPY`` of every row as one payload, sent in one ``write``: the payload
        built before the timing, as the ledger builds its own (``copy_binary``), as the rows
        themselves are serialised before it."""
        payload = copy_binary(rows)
        with psycopg.connect(url) as conn:
            started = time.perf_counter()
            with (
                conn.cursor() as cursor,
                cursor.copy(f"COPY stored_events ({COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy,
            ):
                copy.write(payload)
            conn.commit()
            return time.perf_counter() - started

    _SETTINGS = ("synchronous_commit", "fsync", "wal_level", "shared_buffers")

    def api_settings(self, ledger: Ledger) -> dict[str, str]:
        store = ledger.store
        assert isinstance(store, LedgerPostgresRecorder)
        with store.datastore.get_connection() as conn, conn.cursor() as cursor:
            settings = {}
            for name in self._SETTINGS:
                cursor.execute(f"SHOW {name}")
                row = cursor.fetchone()  # the library's connections return dict rows
                assert row is not None
                settings[name] = str(next(iter(row.values())))
            return settings

    def raw_settings(self, url: str) -> dict[str, str]:
        with psycopg.connect(url) as conn:
            settings = {}
            for name in self._SETTINGS:
                row = conn.execute(f"SHOW {name}").fetchone()
                assert row is not None
                settings[name] = str(row[0])
            return settings

    def raw_read_log(self, url: str, decode: Callable[[Any], object] = json.loads) -> float:
        with psycopg.connect(url) as conn, conn.cursor(binary=True) as cursor:
            started = time.perf_counter()
            cursor.execute("SELECT state FROM stored_events ORDER BY notification_id")
            decoded = [decode(r[0]) for r in cursor.fetchall()]
            seconds = time.perf_counter() - started
            assert decoded
            conn.rollback()
            return seconds

    def raw_single_inserts(self, url: str, rows: list[Row]) -> list[float]:
        sql = f"INSERT INTO stored_events ({COLUMNS}) VALUES (%s,%s,%s,%s,%s)"
        with psycopg.connect(url) as conn:
            seconds = []
            for row in rows:
                started = time.perf_counter()
                with conn.transaction():
                    conn.execute(sql, row)
                seconds.append(time.perf_counter() - started)
            return seconds

    def close(self) -> None:
        for name in list(self._created):
            self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._created.clear()
        self.admin.close()
