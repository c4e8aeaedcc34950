"""One database URL configures everything: the eventsourcing recorder and SQLAlchemy."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from urllib.parse import unquote

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from ..domain.errors import InputError

DEFAULT_URL = "sqlite:///corpledger.db"
MEMORY_URL = "memory://"


@dataclass(frozen=True)
class StoreConfig:
    """Where the ledger lives, as the two libraries that touch it want to be told."""

    url: str
    kind: str  # "sqlite" or "postgres"
    sqlalchemy_url: URL
    eventsourcing_env: dict[str, str]

    @property
    def display(self) -> str:
        return self.sqlalchemy_url.render_as_string(hide_password=True)


def resolve_url(url: str | None) -> str:
    """``--db`` if given, else ``CORPLEDGER_DB``, else ``sqlite:///corpledger.db``."""
    return url or os.environ.get("CORPLEDGER_DB") or DEFAULT_URL


def store_config(url: str) -> StoreConfig:
    """Read a SQLAlchemy-style URL: ``sqlite:///relative.db``, ``sqlite:////abs.db``,
    ``postgresql://user@host:port/db`` (``postgresql+psycopg://`` too) or ``memory://``."""
    if url == MEMORY_URL:
        # A private in-memory SQLite database, shared by this process's connections.
        url = f"sqlite:///file:corpledger-{uuid.uuid4().hex}?mode=memory&cache=shared&uri=true"
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InputError(
            f"cannot read database URL {url!r}: expected sqlite:///FILE or "
            "postgresql://USER@HOST:PORT/DB"
        ) from None
    backend = parsed.get_backend_name()
    common = {"CREATE_TABLE": "no", "ORIGINATOR_ID_TYPE": "text"}
    if backend == "sqlite":
        database = parsed.database or ""
        if not database or database == ":memory:":
            raise InputError(
                f"database URL {url!r} names no file: use sqlite:///FILE.db (or memory://)"
            )
        if parsed.query.get("mode") == "memory":
            database = f"{database}?mode=memory&cache=shared"
        env = {
            **common,
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": database,
            "SQLITE_LOCK_TIMEOUT": "30",
        }
        return StoreConfig(url, "sqlite", parsed.set(drivername="sqlite"), env)
    if backend == "postgresql":
        env = {
            **common,
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": parsed.database or "postgres",
            "POSTGRES_HOST": parsed.host or "127.0.0.1",
            "POSTGRES_PORT": str(parsed.port or 5432),
            "POSTGRES_USER": unquote(parsed.username or os.environ.get("PGUSER", "postgres")),
            "POSTGRES_PASSWORD": unquote(parsed.password or os.environ.get("PGPASSWORD", "")),
            "POSTGRES_CONNECT_TIMEOUT": "10",
            # A writer waits this long for the events table's append lock, then retries.
            "POSTGRES_LOCK_TIMEOUT": "30",
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "60",
        }
        return StoreConfig(url, "postgres", parsed.set(drivername="postgresql+psycopg"), env)
    raise InputError(
        f"unsupported database URL {url!r}: use sqlite:///FILE.db or postgresql://USER@HOST/DB"
    )
