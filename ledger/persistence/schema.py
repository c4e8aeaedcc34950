"""Create or migrate a ledger's schema with the Alembic migrations in ``migrations/``."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import migrations

from ..domain.errors import InputError, LedgerError, StoreError
from . import sqlite_files
from .url import StoreConfig

# SQLAlchemy is imported by the functions that use it: a query on a SQLite file at HEAD
# never does (``sqlite_files``).
if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy.engine import URL, Engine

HEAD = "0006"
"""The newest migration; a database at HEAD needs nothing."""

EVENTS_TABLE = "stored_events"
"""The events table, of the same name on both engines (the migrations own it)."""

RUN_INIT = "run `corpledger init` or `record` first"


class NoLedgerError(InputError):
    """The database holds no ledger, and the command may not create one."""


def require_ledger(config: StoreConfig) -> None:
    """Refuse a database that holds no ledger, creating and changing nothing: a mistyped
    ``--db`` must not leave a new, empty ledger behind (only the commands that record may
    create one). A private in-memory database is always new, and always allowed."""
    if config.kind == "sqlite":
        if config.file is not None:
            _require_sqlite_ledger(config.file)
        elif config.sqlalchemy_url.query.get("mode") != "memory":
            _require_sqlite_ledger(config.sqlalchemy_url.database or "")
        return
    import sqlalchemy as sa

    engine = engine_for(config)
    try:
        with engine.connect() as conn:
            found = sa.inspect(conn).has_table(EVENTS_TABLE)
    except sa.exc.OperationalError as e:
        raise unreachable(config.sqlalchemy_url, e) from None
    finally:
        engine.dispose()
    if not found:
        raise NoLedgerError(f"no ledger in {config.display} ({RUN_INIT})")


def _require_sqlite_ledger(path: str) -> None:
    if not Path(path).is_file():
        raise NoLedgerError(f"no ledger at {path} ({RUN_INIT})")
    # Read-only, and no WAL switch: looking must not change the file or add -wal/-shm.
    try:
        uri = f"{Path(path).resolve().as_uri()}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True)) as conn:
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (EVENTS_TABLE,)
            ).fetchone()
    except sqlite3.DatabaseError as e:
        if "not a database" in str(e):
            raise NoLedgerError(f"no ledger at {path}: it is not a SQLite database") from None
        raise StoreError(f"cannot read the database at {path}: {e}") from None
    if found is None:
        raise NoLedgerError(f"no ledger at {path} ({RUN_INIT})")


def unreachable(url: URL, error: sa.exc.OperationalError) -> LedgerError:
    """The error for a database that cannot be reached: a PostgreSQL database that does not
    exist is a mistyped URL (or a step missed), not a failure of the server."""
    name = url.database
    if f'database "{name}" does not exist' in str(error.orig):
        shown = url.render_as_string(hide_password=True)
        return InputError(
            f"no database {name!r} at {shown}: create it first (e.g. createdb {name}), "
            "then run `corpledger init`"
        )
    return StoreError(f"cannot reach the database: {error.orig}")


def engine_for(config: StoreConfig) -> Engine:
    import sqlalchemy as sa

    if config.kind == "sqlite":
        # A static pool keeps one connection open: an in-memory database lives as long as
        # a connection to it does.
        if config.file is not None:  # connected as the queries' own connections are
            creator = partial(sqlite_files.connect, config.file)
            return sa.create_engine(config.sqlalchemy_url, creator=creator)
        memory = config.sqlalchemy_url.query.get("mode") == "memory"
        return sa.create_engine(
            config.sqlalchemy_url,
            connect_args={"timeout": sqlite_files.BUSY_TIMEOUT},
            poolclass=sa.pool.StaticPool if memory else sa.pool.QueuePool,
        )
    return sa.create_engine(config.sqlalchemy_url, connect_args={"connect_timeout": 10})


def at_head(config: StoreConfig) -> bool:
    """Whether opening the ledger needs no migration, known without SQLAlchemy: a SQLite file
    in WAL mode at HEAD. Anything else is for ``upgrade`` to look at."""
    return config.file is not None and sqlite_files.at_head(config.file, HEAD)


def current_revision(engine: Engine) -> str | None:
    import sqlalchemy as sa

    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Run every migration the database lacks (safe to run again); returns the revision
    it was at before. ``revision`` stops earlier (tests build old databases with it)."""
    import sqlalchemy as sa

    try:
        if engine.dialect.name == "sqlite":
            _use_wal(engine)
        before = current_revision(engine)
        if before == HEAD or (before is not None and before == revision):
            return before
        # Imported only when there is work to do: alembic costs every command ~0.15 s.
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Two processes running init at once: the second waits, then finds HEAD.
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(7403512241)"))
            else:
                # SQLite: hold the write lock for the whole run, so every revision is one
                # transaction (Python's sqlite3 would otherwise run DDL before the first
                # write outside any), and a second process waits, then finds HEAD.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
        return before
    except sa.exc.OperationalError as e:
        if "already exists" in str(e.orig) and _migrated_meanwhile(engine):
            return None
        raise unreachable(engine.url, e) from None


def _use_wal(engine: Engine, wait: float = 30.0) -> None:
    """Put a SQLite file in WAL mode before anything else touches it.

    eventsourcing switches each new file to WAL from its first connection; SQLite refuses
    that switch at once (no busy wait) while another process holds the file, so processes
    opening a new ledger together could fail with "database is locked". Switched here first,
    the library's connections find WAL and change nothing. (An in-memory database answers
    "memory", which is as good.)"""
    import sqlalchemy as sa

    deadline = time.monotonic() + wait
    while True:
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            return
        except sa.exc.OperationalError as e:
            if "locked" not in str(e.orig) or time.monotonic() > deadline:
                raise
        time.sleep(0.02)


def _migrated_meanwhile(engine: Engine, wait: float = 30.0) -> bool:
    """Whether another process brought the database to HEAD while this one tried to.

    Of two processes opening a new SQLite file at once, the second may fail on CREATE
    TABLE (it read no revision before the first took the write lock); it then waits for
    the first to finish rather than failing."""
    import sqlalchemy as sa

    deadline = time.monotonic() + wait
    while True:
        try:
            if current_revision(engine) == HEAD:
                return True
        except sa.exc.OperationalError:
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
