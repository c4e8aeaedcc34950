"""Fixtures of the contract suite beyond the shared ones in ``tests/conftest.py``."""

from __future__ import annotations

import pytest

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
