"""The one place a driver's failure becomes a sentence: a write that failed, read as the fault
a person can act on (a full disk, a read-only database, a lost connection to PostgreSQL, the
SQLite writer process gone), else the driver's own words.

The library wraps a driver exception in its own (``eventsourcing.persistence``) with the
driver's as the cause; both are looked at. SQLite is recognised by its messages, which are
fixed (``sqlite3_errstr``): the writer process (``sqlite_writer``) passes errors back as
class name and message only.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator

from ..domain.errors import StoreError

DISK_FULL = "the disk is full"
READ_ONLY = "the database is read-only"
CONNECTION_LOST = "the connection to PostgreSQL was lost"


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    found: BaseException | None = error
    while found is not None and id(found) not in seen:
        seen.add(id(found))
        yield found
        found = found.__cause__ or found.__context__


def fault(error: BaseException) -> str | None:
    """The fault behind ``error`` in a person's words, or None if it is none of those."""
    # psycopg is imported only by a process that opened PostgreSQL: where it is not loaded,
    # no error can be its own (and a SQLite command need not pay for importing it).
    psycopg = sys.modules.get("psycopg")
    for cause in _causes(error):
        text = str(cause)
        if isinstance(cause, sqlite3.Error):
            if "database or disk is full" in text:
                return DISK_FULL
            if "readonly database" in text:
                return READ_ONLY
            if "SQLite writer process ended unexpectedly" in text:
                return text
        if psycopg is not None and isinstance(cause, psycopg.Error):
            pg = psycopg.errors
            if isinstance(cause, pg.DiskFull):
                return f"{DISK_FULL} (PostgreSQL's)"
            if isinstance(cause, pg.ReadOnlySqlTransaction):
                return READ_ONLY
            # The session ended (pg_terminate_backend, a server shutdown or crash; its
            # idle-in-transaction timeout says why in its own words), or, with no SQLSTATE,
            # the client found the connection broken (closed, reset, gone).
            if isinstance(cause, pg.AdminShutdown | pg.CrashShutdown) or (
                isinstance(cause, psycopg.OperationalError) and cause.sqlstate is None
            ):
                return CONNECTION_LOST
    return None


def write_failed(error: BaseException, *, committing: bool) -> StoreError:
    """The ``StoreError`` of a batch whose append failed. Before its commit nothing of it is
    stored; a connection lost while committing leaves that unknown (SQLite's own failures at
    commit roll back, so only a lost connection or writer process does)."""
    found = fault(error)
    if found is None:
        return StoreError(
            f"cannot write to the event store: {error}; nothing of this batch was stored"
        )
    if committing and (found == CONNECTION_LOST or "writer process" in found):
        return StoreError(
            f"{found} while the batch was committing: it may or may not be stored; "
            "corpledger history shows which (recorded again, events with an external_id are "
            "stored once)"
        )
    return StoreError(f"{found}; nothing of this batch was stored")


def read_models_write_failed(error: BaseException) -> StoreError:
    """The ``StoreError`` of a batch whose read models, written in its transaction, could not
    be: the batch fails with them."""
    found = fault(error) or f"cannot write the read models: {error}"
    return StoreError(f"{found}; nothing of this batch was stored")


def read_failed(error: BaseException) -> StoreError:
    found = fault(error)
    return StoreError(f"cannot read the event store: {found or error}")
