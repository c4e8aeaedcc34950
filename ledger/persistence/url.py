"""One database URL configures everything: the eventsourcing recorder and SQLAlchemy."""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from ..domain.errors import InputError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

DEFAULT_URL = "sqlite:///corpledger.db"
MEMORY_URL = "memory://"

_SQLITE_FILE = re.compile(r"sqlite:///([^?]*)")
"""``sqlite:///FILE`` with no query string, read as SQLAlchemy reads it (the file is what
follows the third slash, unquoted), without loading SQLAlchemy: a query needs nothing else
of it. Any other URL is SQLAlchemy's to read (``tests/unit/test_url.py`` holds the two
readings together)."""

_DRIVERS = {"sqlite": "sqlite", "postgres": "postgresql+psycopg"}


@dataclass(frozen=True)
class StoreConfig:
    """Where the ledger lives, as the two libraries that touch it want to be told."""

    url: str
    kind: str  # "sqlite" or "postgres"
    display: str  # the URL as messages show it: the password, if any, hidden
    eventsourcing_env: dict[str, str]
    file: str | None = None
    """The SQLite file of a ``sqlite:///FILE`` URL with no query string: the sqlite3 driver
    opens it as SQLAlchemy would (``persistence.sqlite_files``). None for any other URL."""

    @cached_property
    def sqlalchemy_url(self) -> URL:
        from sqlalchemy.engine import make_url

        return make_url(self.url).set(drivername=_DRIVERS[self.kind])


def resolve_url(url: str | None) -> str:
    """``--db`` if given, else ``CORPLEDGER_DB``, else ``sqlite:///corpledger.db``."""
    return url or os.environ.get("CORPLEDGER_DB") or DEFAULT_URL


def store_config(url: str) -> StoreConfig:
    """Read a SQLAlchemy-style URL: ``sqlite:///relative.db``, ``sqlite:////abs.db``,
    ``postgresql://user@host:port/db`` (``postgresql+psycopg://`` too) or ``memory://``."""
    if url == MEMORY_URL:
        # A private in-memory SQLite database, shared by this process's connections.
        url = f"sqlite:///file:corpledger-{uuid.uuid4().hex}?mode=memory&cache=shared&uri=true"
    plain = _SQLITE_FILE.fullmatch(url)
    if plain is not None:
        database = unquote(plain[1])
        display = f"sqlite:///{quote(database, safe=' +/')}"
        return _sqlite_config(url, display, database, memory=False, file=database)
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InputError(
            f"cannot read database URL {url!r}: expected sqlite:///FILE or "
            "postgresql://USER@HOST:PORT/DB"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        display = parsed.set(drivername="sqlite").render_as_string(hide_password=True)
        memory = parsed.query.get("mode") == "memory"
        return _sqlite_config(url, display, parsed.database or "", memory=memory, file=None)
    if backend == "postgresql":
        display = parsed.set(drivername=_DRIVERS["postgres"]).render_as_string(hide_password=True)
        env = {
            **_COMMON_ENV,
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
        return StoreConfig(url, "postgres", display, env)
    raise InputError(
        f"unsupported database URL {url!r}: use sqlite:///FILE.db or postgresql://USER@HOST/DB"
    )


_COMMON_ENV = {"CREATE_TABLE": "no", "ORIGINATOR_ID_TYPE": "text"}


def _sqlite_config(
    url: str, display: str, database: str, *, memory: bool, file: str | None
) -> StoreConfig:
    if not database or database == ":memory:":
        raise InputError(
            f"database URL {url!r} names no file: use sqlite:///FILE.db (or memory://)"
        )
    env = {
        **_COMMON_ENV,
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": f"{database}?mode=memory&cache=shared" if memory else database,
        "SQLITE_LOCK_TIMEOUT": "30",
    }
    return StoreConfig(url, "sqlite", display, env, file)
