"""Fixtures of the HTTP API tests: the acme-rockets ledger (tests/data) served in-process
(FastAPI's TestClient) on SQLite and PostgreSQL, with a reader's and a writer's token."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ledger import Ledger
from ledger.files import read_items
from ledger.http.app import create_app
from ledger.http.tokens import Role, TokenStore
from tests.conftest import DURABLE_BACKENDS, drop_pg_database, new_pg_database

"""Seconds a server may take to answer /healthz on a loaded machine."""

ACME = Path(__file__).parents[1] / "data" / "acme-rockets.yaml"
COMPANY = "acme-rockets"


@dataclass
class Served:
    """The API over one ledger, and a token of each role."""

    url: str
    client: TestClient
    reader: dict[str, str]
    writer: dict[str, str]

    def last_position(self) -> int:
        with Ledger.open(self.url) as ledger:
            return ledger.known_position()


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def acme_ledger(url: str) -> tuple[dict[str, str], dict[str, str]]:
    """Record acme-rockets at ``url``; the headers of a new reader's and writer's token."""
    with Ledger.open(url) as ledger:
        ledger.record(read_items(str(ACME)), actor="seed")
        tokens = TokenStore(ledger.engine)
        return (
            bearer(tokens.create("dashboard", Role.reader)),
            bearer(tokens.create("ci-bot", Role.writer)),
        )


@pytest.fixture(scope="module", params=DURABLE_BACKENDS)
def engine_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A ledger URL of this module's own, per engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('http')}/ledger.db"
        return
    url = new_pg_database(request.getfixturevalue("pg_server"))
    yield url
    drop_pg_database(url)


@pytest.fixture(scope="module")
def served(engine_url: str) -> Iterator[Served]:
    reader, writer = acme_ledger(engine_url)
    with TestClient(create_app(engine_url)) as client:
        yield Served(engine_url, client, reader, writer)
