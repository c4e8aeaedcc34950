"""The SQLite writer process's rollback ends its transaction however many statements failed
in flight: a catch-up's writer process outlives a failed batch, and the next batch (its own,
or one at a time in this process) must find the write lock free."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ledger.persistence.sqlite_writer import SQLiteWriter


def test_a_rollback_after_failed_statements_in_flight_frees_the_write_lock(
    tmp_path: Path,
) -> None:
    database = str(tmp_path / "ledger.db")
    with sqlite3.connect(database) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE t (n INTEGER NOT NULL)")
    process = SQLiteWriter(database, 1.0, for_events=False)
    try:
        connection = process.connection()
        connection.execute("BEGIN IMMEDIATE")
        # Each fails (the first: a value past 64 bits; the rest: the first error again),
        # none of them awaited.
        for _ in range(5):
            connection.executemany("INSERT INTO t (n) VALUES (?)", [(10**20,)])
        process.rollback()
        other = sqlite3.connect(database, timeout=0.1, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # "database is locked" if the rollback did not run
        other.execute("INSERT INTO t (n) VALUES (1)")
        other.execute("COMMIT")
        other.close()
        # The process goes on: its next transaction commits.
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany("INSERT INTO t (n) VALUES (?)", [(2,), (3,)])
        process.commit()
    finally:
        process.close()
    with sqlite3.connect(database) as check:
        assert sorted(n for (n,) in check.execute("SELECT n FROM t")) == [1, 2, 3]
