"""A new SQLite ledger is switched to WAL by the migration step, which waits for another
process holding the file rather than failing: processes opening a new ledger together all
succeed (SQLite refuses a switch to WAL at once, without waiting, while the file is busy)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from ledger import Ledger
from ledger.persistence import schema
from ledger.persistence.url import store_config


def journal_mode(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])


def test_a_new_ledger_file_is_in_wal_mode_once_opened(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    with Ledger.open(f"sqlite:///{path}"):
        pass
    assert journal_mode(path) == "wal"


def test_the_switch_to_wal_waits_for_a_process_holding_the_file(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE other_tool (x INTEGER)")  # a file in rollback-journal mode
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO other_tool VALUES (1)")
    release = threading.Timer(0.5, holder.commit)
    release.start()
    engine = schema.engine_for(store_config(f"sqlite:///{path}"))
    try:
        schema.upgrade(engine)
        assert schema.current_revision(engine) == schema.HEAD
    finally:
        engine.dispose()
        release.join()
        holder.close()
    assert journal_mode(path) == "wal"
