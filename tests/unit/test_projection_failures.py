"""Whose fault a failure to project is: the event's (the projections stop just before it and
name it) or the database's (it is raised as it is, naming no event)."""

from __future__ import annotations

import sqlite3

import psycopg
from psycopg import errors

from ledger.ports import ProjectionError, StuckEvent
from projections.database import PostgresDatabase, SQLiteDatabase
from projections.writer import Writer


def test_postgresql_errors_of_the_servers_state_do_not_blame_the_event() -> None:
    writer = Writer(PostgresDatabase())
    the_servers = [
        errors.AdminShutdown(),
        errors.ConnectionFailure(),
        errors.LockNotAvailable(),
        errors.QueryCanceled(),
        errors.SerializationFailure(),
        errors.DiskFull(),
        psycopg.OperationalError("consuming input failed: server closed the connection"),
        psycopg.InterfaceError("the connection is closed"),
    ]
    the_events = [
        errors.ProgramLimitExceeded(),  # an index entry too big: a long slug
        errors.NumericValueOutOfRange(),
        errors.CharacterNotInRepertoire(),  # a NUL in a text
        OverflowError("int too big to convert"),
    ]
    assert [writer.blames_the_event(e) for e in the_servers] == [False] * len(the_servers)
    assert [writer.blames_the_event(e) for e in the_events] == [True] * len(the_events)


def test_sqlite_errors_of_the_databases_state_do_not_blame_the_event() -> None:
    writer = Writer(SQLiteDatabase())
    assert [
        writer.blames_the_event(e)
        for e in (
            sqlite3.OperationalError("database is locked"),
            sqlite3.InterfaceError(),
            sqlite3.DataError("string or blob too big"),
            OverflowError("Python int too large to convert to SQLite INTEGER"),
        )
    ] == [False, False, True, True]


def test_a_projection_error_blames_the_event_only_when_it_names_one() -> None:
    writer = Writer(SQLiteDatabase())
    stuck = StuckEvent(4, "acme", None, None, None, "unreadable")
    assert writer.blames_the_event(ProjectionError("cannot read", stuck=stuck))
    assert not writer.blames_the_event(ProjectionError("the projections are out of step"))
