"""Shared fixtures: a ledger URL per backend, PostgreSQL isolation, hypothesis profiles.

PostgreSQL tests take their server from CORPLEDGER_TEST_PG_URL (default
postgresql://postgres@127.0.0.1:5432/postgres). Each test session makes a template database
migrated once; each test gets its own database cloned from it and dropped afterwards.
Without a reachable server they skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import psycopg
import pytest
from hypothesis import HealthCheck, settings

from ledger import Ledger
from ledger.persistence.url import MEMORY_URL

settings.register_profile(
    "default", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "slow", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

PG_URL = os.environ.get("CORPLEDGER_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
UNDER_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_counter = itertools.count()


def _admin_conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The PostgreSQL server URL and a migrated template database on it."""
    try:
        admin = psycopg.connect(_admin_conninfo(PG_URL), autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as e:
        reason = f"no PostgreSQL at {PG_URL} (set CORPLEDGER_TEST_PG_URL): {e}".splitlines()[0]
        if UNDER_CI:
            pytest.fail(f"CI=true needs PostgreSQL: {reason}")
        pytest.skip(reason)
    template = f"corpledger_test_{os.getpid()}_template"
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{template}"')
        Ledger.open(_with_database(PG_URL, template)).close()
        yield template
        admin.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')


def new_pg_database(template: str) -> str:
    """A fresh database cloned from the migrated template; returns its URL."""
    name = f"corpledger_test_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(_admin_conninfo(PG_URL), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
    return _with_database(PG_URL, name)


def drop_pg_database(url: str) -> None:
    name = url.rpartition("/")[2]
    with psycopg.connect(_admin_conninfo(PG_URL), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A URL of a fresh, migrated PostgreSQL database of this test's own."""
    url = new_pg_database(pg_server)
    yield url
    drop_pg_database(url)


@pytest.fixture
def sqlite_url(tmp_path: object) -> str:
    return f"sqlite:///{tmp_path}/ledger.db"


BACKENDS = [
    pytest.param("memory", id="memory"),
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


DURABLE_BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=DURABLE_BACKENDS)
def durable_url(request: pytest.FixtureRequest) -> str:
    """A URL that outlives a ``Ledger`` instance and can be opened by several at once:
    a SQLite file or a PostgreSQL database (``memory://`` is private to one instance)."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(name))


@pytest.fixture(params=BACKENDS)
def ledger_url(request: pytest.FixtureRequest) -> str:
    """One URL per backend: in-memory SQLite, a SQLite file, a PostgreSQL database."""
    if request.param == "memory":
        return MEMORY_URL
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    with Ledger.open(ledger_url) as opened:
        yield opened
