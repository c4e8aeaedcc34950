"""A SQLite ledger file through the sqlite3 driver alone: what a query needs of it, without
SQLAlchemy (a fifth of a one-shot query's start).

A ``sqlite:///FILE`` URL with no query string (``StoreConfig.file``) is opened as
SQLAlchemy's pysqlite dialect opens it (``connect``), and ``schema.engine_for`` makes its
engine's connections with ``connect`` too. A file at the newest schema revision, in WAL mode
(``at_head``), needs no migration: the ledger then makes its engine only when something
asks for it (recording, catching the read models up), and its queries read through
``Connections``."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

BUSY_TIMEOUT = 30.0
"""Seconds a connection waits for another process's lock before it fails."""


def connect(file: str) -> sqlite3.Connection:
    """A connection to the ledger file, made as SQLAlchemy makes one for ``sqlite:///FILE``:
    the absolute path, the busy timeout, usable from any thread (a pool hands it on)."""
    return sqlite3.connect(os.path.abspath(file), timeout=BUSY_TIMEOUT, check_same_thread=False)


def at_head(file: str, head: str) -> bool:
    """Whether the file is in WAL mode and at schema revision ``head``: looked at read-only,
    changing nothing. Any doubt (no file, no revision table, a lock, an error) answers no,
    and ``schema.upgrade`` does what it always did, and says what is wrong."""
    try:
        uri = f"{Path(file).resolve().as_uri()}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT)) as conn:
            mode: tuple[str] = conn.execute("PRAGMA journal_mode").fetchone()
            revision: tuple[str] | None = conn.execute(
                "SELECT version_num FROM alembic_version"
            ).fetchone()
    except (sqlite3.Error, OSError, ValueError):
        return False
    return mode == ("wal",) and revision == (head,)


class Connections:
    """Connections to one ledger file for reading, kept open between queries (their page
    caches stay warm) as SQLAlchemy's pool keeps them; safe to share between threads."""

    def __init__(self, file: str) -> None:
        self.file = file
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """A connection of the pool; what the borrower leaves of a transaction is rolled
        back when it returns (a connection that cannot roll back is closed instead)."""
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = connect(self.file)
        try:
            yield conn
        finally:
            try:
                conn.rollback()
            except sqlite3.Error:
                conn.close()
            else:
                with self._lock:
                    self._idle.append(conn)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
