"""The ledger's recorders pass eventsourcing's own recorder test suites, on SQLite and
PostgreSQL, and create the same schema the migrations do.

eventsourcing ships the contract of its recorders as abstract test cases
(``eventsourcing.tests.persistence``); its own tests subclass them once per backend, and so do
these, for ``LedgerSQLiteRecorder`` and ``LedgerPostgresRecorder`` (which add the hash chain to
every append). The suites create their table with the recorder's ``create_table()``, whose
statements are the newest migration's schema: columns (``recorded_at``, ``chain``), indexes
and the append-only triggers (the suites never update or delete a stored event). The last
tests check that a table created so and one created by the migrations are the same.

Run here: ``ApplicationRecorderTestCase`` (SQLite file, SQLite in memory, PostgreSQL) and
``NonInterleavingNotificationIDsBaseCase`` (SQLite file, PostgreSQL). Not run:
``AggregateRecorderTestCase``, the contract of *aggregate* recorders, whose ``insert_events``
returns None (it asserts so); application recorders return the positions, which the ledger
needs. Ids are text, as the ledger's are (``ORIGINATOR_ID_TYPE=text``).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from eventsourcing.tests.persistence import (
    ApplicationRecorderTestCase,
    NonInterleavingNotificationIDsBaseCase,
)
from sqlalchemy.engine import make_url

from ledger import Ledger
from ledger.persistence.chain import GENESIS, chain_link
from ledger.persistence.postgres import LedgerPostgresRecorder
from ledger.persistence.recorders import LedgerSQLiteRecorder
from tests.conftest import drop_pg_database, new_pg_database


def chained_events(recorder: LedgerSQLiteRecorder | LedgerPostgresRecorder) -> int:
    """How many events the recorder stored, each linked to the one before by its chain
    value. (Not ``verify_chain``: the suites' versions start at 0, the ledger's at 1.)"""
    rows = recorder.log.chain_page(0, recorder.log.last_position(), 1_000_000)
    previous = GENESIS
    for row in rows:
        assert chain_link(previous, row.originator_id, row.version, row.topic, row.state) == (
            row.chain
        ), row.position
        previous = row.chain
    return len(rows)


class TextIds:
    """Text originator ids, as the ledger's (the suites default to UUIDs)."""

    def new_originator_id(self) -> str:
        return f"test-{uuid4()}"


def _join_the_suites_threads() -> None:
    """eventsourcing's concurrency tests set their readers' stop flag but return without
    joining them; closing the datastore under a reader still in a query crashes sqlite3.
    Wait for the (non-daemon) threads the test started before closing anything."""
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join(timeout=10)


# --- SQLite ----------------------------------------------------------------------------------


class SQLiteSuite:
    """A fresh database for each test: a file in the test's directory, or a private in-memory
    database (named, so the pool's connections share it)."""

    db_uri: str
    in_memory: ClassVar[bool] = False
    recorders: list[LedgerSQLiteRecorder]

    @pytest.fixture(autouse=True)
    def _database(self, tmp_path: Path) -> Iterator[None]:
        if self.in_memory:
            self.db_uri = f"file:ledger-{uuid4().hex}?mode=memory&cache=shared"
        else:
            self.db_uri = f"file:{tmp_path / 'events.db'}"
        self.recorders = []
        yield
        _join_the_suites_threads()
        for recorder in self.recorders:
            recorder.datastore.close()

    def create_recorder(self) -> LedgerSQLiteRecorder:
        datastore = SQLiteDatastore(self.db_uri, pool_size=100, originator_id_type="text")
        recorder = LedgerSQLiteRecorder(datastore)
        recorder.create_table()
        self.recorders.append(recorder)
        return recorder


class TestLedgerSQLiteRecorderOnAFile(
    TextIds, SQLiteSuite, ApplicationRecorderTestCase[LedgerSQLiteRecorder]
):
    def test_the_suites_appends_leave_an_intact_chain(self) -> None:
        self.test_concurrent_no_conflicts()
        assert chained_events(self.recorders[0]) == 100 * 100


class TestLedgerSQLiteRecorderInMemory(
    TextIds, SQLiteSuite, ApplicationRecorderTestCase[LedgerSQLiteRecorder]
):
    in_memory = True


class TestLedgerSQLiteRecorderNonInterleaving(
    TextIds, SQLiteSuite, NonInterleavingNotificationIDsBaseCase
):
    insert_num = 2000


# --- PostgreSQL ------------------------------------------------------------------------------


def postgres_datastore(url: str, pool_size: int) -> PostgresDatastore:
    parsed = make_url(url)
    return PostgresDatastore(
        parsed.database or "postgres",
        parsed.host or "127.0.0.1",
        parsed.port or 5432,
        parsed.username or "postgres",
        parsed.password or "",
        pool_size=pool_size,
        originator_id_type="text",
    )


class PostgresSuite:
    """A fresh, empty database for each test (the suites create the table themselves)."""

    pool_size: ClassVar[int] = 1
    datastore: PostgresDatastore

    @pytest.fixture(autouse=True)
    def _database(self, pg_server: str) -> Iterator[None]:
        url = new_pg_database("template0")
        self.datastore = postgres_datastore(url, self.pool_size)
        try:
            yield
            _join_the_suites_threads()
        finally:
            self.datastore.close()
            drop_pg_database(url)

    def create_recorder(self) -> LedgerPostgresRecorder:
        recorder = LedgerPostgresRecorder(self.datastore, events_table_name="stored_events")
        recorder.create_table()
        return recorder

    def resize(self, size: int) -> None:
        self.datastore.pool.open()
        self.datastore.pool.resize(size, size)


@pytest.mark.postgres
class TestLedgerPostgresRecorder(
    TextIds, PostgresSuite, ApplicationRecorderTestCase[LedgerPostgresRecorder]
):
    def test_insert_subscribe(self) -> None:
        self.resize(2)
        self.optional_test_insert_subscribe()

    def test_concurrent_no_conflicts(self, initial_position: int = 0) -> None:  # noqa: PT028
        self.resize(12)
        super().test_concurrent_no_conflicts()
        assert chained_events(self.create_recorder()) == 100 * 100

    def test_concurrent_throughput(self) -> None:
        self.resize(10)
        super().test_concurrent_throughput()


@pytest.mark.postgres
class TestLedgerPostgresRecorderNonInterleaving(
    TextIds, PostgresSuite, NonInterleavingNotificationIDsBaseCase
):
    pool_size = 2
    insert_num = 1000


del ApplicationRecorderTestCase, NonInterleavingNotificationIDsBaseCase


# --- the suites' schema is the migrations' ---------------------------------------------------


def sqlite_schema(path: Path) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'stored_events' "
            "ORDER BY type, name"
        ).fetchall()
    finally:
        conn.close()


def test_a_sqlite_table_the_recorder_creates_is_the_one_the_migrations_create(
    tmp_path: Path,
) -> None:
    Ledger.open(f"sqlite:///{tmp_path / 'migrated.db'}").close()
    recorder = LedgerSQLiteRecorder(SQLiteDatastore(str(tmp_path / "created.db")))
    recorder.create_table()
    recorder.datastore.close()
    migrated = sqlite_schema(tmp_path / "migrated.db")
    assert [(kind, name) for kind, name, _ in migrated] == [
        ("index", "sqlite_autoindex_stored_events_1"),
        ("index", "stored_events_recorded_at_idx"),
        ("table", "stored_events"),
        ("trigger", "stored_events_no_delete"),
        ("trigger", "stored_events_no_update"),
    ]
    assert sqlite_schema(tmp_path / "created.db") == migrated


POSTGRES_CATALOG = {
    "columns": "SELECT column_name, data_type, is_nullable, column_default "
    "FROM information_schema.columns WHERE table_name = 'stored_events' "
    "ORDER BY ordinal_position",
    "indexes": "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'stored_events' "
    "ORDER BY indexname",
    "constraints": "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
    "WHERE conrelid = 'stored_events'::regclass ORDER BY conname",
    "triggers": "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger "
    "WHERE tgrelid = 'stored_events'::regclass AND NOT tgisinternal ORDER BY tgname",
    "functions": "SELECT proname, prosrc FROM pg_proc WHERE pronamespace = 'public'::regnamespace "
    "ORDER BY proname",
    "types": "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
    "WHERE attrelid = 'stored_event_text'::regclass AND attnum > 0 ORDER BY attnum",
}


def postgres_schema(url: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(url) as conn:
        return {name: conn.execute(sql).fetchall() for name, sql in POSTGRES_CATALOG.items()}


@pytest.mark.postgres
def test_a_postgresql_table_the_recorder_creates_is_the_one_the_migrations_create(
    pg_url: str,
) -> None:
    created_url = new_pg_database("template0")
    try:
        datastore = postgres_datastore(created_url, 1)
        LedgerPostgresRecorder(datastore, events_table_name="stored_events").create_table()
        datastore.close()
        created, migrated = postgres_schema(created_url), postgres_schema(pg_url)
    finally:
        drop_pg_database(created_url)
    assert [name for name, _ in migrated["triggers"]] == [
        "stored_events_no_delete",
        "stored_events_no_truncate",
        "stored_events_no_update",
    ]
    assert [name for name, *_ in migrated["columns"]][-2:] == ["recorded_at", "chain"]
    assert created == migrated
