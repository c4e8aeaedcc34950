"""Fixtures of the HTTP API tests: the acme-rockets ledger (tests/data) served in-process
(FastAPI's TestClient) on SQLite and PostgreSQL, with a reader's and a writer's token."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ledger import Ledger
from ledger.files import read_items
from ledger.http.app import create_app
from ledger.http.tokens import Role, TokenStore
from tests.conftest import DURABLE_BACKENDS, drop_pg_database, new_pg_database

STARTUP = 30.0
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fetch_json(
    url: str, headers: dict[str, str] | None = None, body: object = None
) -> tuple[int, Any]:
    """A request to a server in another process (a POST of ``body`` as JSON if given, else a
    GET): its status and its JSON body."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def wait_until_up(base: str, server: subprocess.Popen[str]) -> tuple[int, Any]:
    """``GET /healthz`` of the server at ``base`` once it answers (it fails if ``server``
    exits first, or takes longer than ``STARTUP``)."""
    deadline = time.monotonic() + STARTUP
    while True:
        try:
            return fetch_json(f"{base}/healthz")
        except (urllib.error.URLError, ConnectionError):
            assert server.poll() is None, server.communicate()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)


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
