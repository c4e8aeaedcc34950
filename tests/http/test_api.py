"""The HTTP API in-process, on SQLite and PostgreSQL: every query's body is the command
line's ``--format json`` byte for byte; a POST is one atomic batch with the CLI's rules and
messages; tokens, statuses, caching and read-your-writes as docs/http.md says."""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from ledger import Ledger
from ledger.cli import run
from ledger.http import app as http_app
from ledger.http.app import create_app
from ledger.http.tokens import Role, TokenStore
from tests import builders as b
from tests.http.conftest import COMPANY, Served, bearer

LONG = 20.0
"""A wait no passing test sits through."""

QUERIES = [  # (path, the command line's arguments)
    ("/v1/companies", ["companies"]),
    ("/v1/companies?known_at=5", ["companies", "--known-at", "5"]),
    (f"/v1/companies/{COMPANY}/cap-table", ["cap-table", COMPANY]),
    (
        f"/v1/companies/{COMPANY}/cap-table?as_of=2020-06-01&known_at=7",
        ["cap-table", COMPANY, "--as-of", "2020-06-01", "--known-at", "7"],
    ),
    (f"/v1/companies/{COMPANY}/grants?holder=ana", ["grants", COMPANY, "--holder", "ana"]),
    (
        f"/v1/companies/{COMPANY}/roster?as_of=2021-05-01",
        ["roster", COMPANY, "--as-of", "2021-05-01"],
    ),
    (
        f"/v1/companies/{COMPANY}/board?known_at=2020-01-01",
        ["board", COMPANY, "--known-at", "2020-01-01"],
    ),
    (
        f"/v1/companies/{COMPANY}/history?as_of=2020-06-01",
        ["history", COMPANY, "--as-of", "2020-06-01"],
    ),
    (
        f"/v1/companies/{COMPANY}/audit?from=2021-01-01&to=2021-12-31",
        ["audit", COMPANY, "--from", "2021-01-01", "--to", "2021-12-31"],
    ),
    ("/v1/parties/ana/holdings?as_of=2021-01-01", ["holdings", "ana", "--as-of", "2021-01-01"]),
    ("/v1/parties/ben/history", ["history", "--party", "ben"]),
]  # fmt: skip


def cli_json(url: str, args: list[str], capsys: pytest.CaptureFixture[str]) -> bytes:
    capsys.readouterr()
    assert run(["--db", url, *args, "--format", "json"]) == 0
    return capsys.readouterr().out.encode()


@pytest.mark.parametrize(("path", "args"), QUERIES, ids=[q[0] for q in QUERIES])
def test_every_query_answers_the_clis_json_byte_for_byte(
    served: Served, path: str, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    answer = served.client.get(path, headers=served.reader)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.content == cli_json(served.url, args, capsys)


def test_a_writer_posts_a_batch_recorded_by_its_token_and_a_reader_may_not(
    served: Served,
) -> None:
    events = b.founded("hooli", "2022-03-01", {"gavin": 1_000})
    assert served.client.post("/v1/events", json=events, headers=served.reader).status_code == 403
    before = served.last_position()
    answer = served.client.post("/v1/events", json=events, headers=served.writer)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert [e["position"] for e in body["recorded"]] == [before + 1, before + 2, before + 3]
    assert [e["type"] for e in body["recorded"]] == [e["type"] for e in events]
    assert (body["dry_run"], body["skipped"], body["lagging"]) == (False, [], None)
    history = served.client.get("/v1/companies/hooli/history", headers=served.reader).json()
    assert {e["recorded_by"] for e in history["events"]} == {"ci-bot"}
    assert [e["event_id"] for e in history["events"]] == [e["event_id"] for e in body["recorded"]]
    table = served.client.get("/v1/companies/hooli/cap-table", headers=served.reader).json()
    assert [(h["party"], h["shares"]) for h in table["holders"]] == [("gavin", 1_000)]


def test_json_lines_are_a_batch_too_and_a_repeat_with_external_ids_stores_nothing(
    served: Served,
) -> None:
    events = [
        {**e, "external_id": f"pied-{n}"}
        for n, e in enumerate(b.founded("pied-piper", "2022-04-01", {"richard": 500}))
    ]
    lines = "".join(json.dumps(e) + "\n" for e in events)
    headers = {**served.writer, "Content-Type": "application/x-ndjson"}
    first = served.client.post("/v1/events", content=lines, headers=headers)
    assert first.status_code == 201, first.text
    assert len(first.json()["recorded"]) == 3
    again = served.client.post("/v1/events", content=lines, headers=headers)
    assert again.status_code == 200, again.text
    assert again.json()["recorded"] == []
    assert [s["where"] for s in again.json()["skipped"]] == [
        "body line 1",
        "body line 2",
        "body line 3",
    ]


REFUSED = [
    pytest.param(
        [b.issued(COMPANY, "ana", "common", True, "2022-01-01")], "shares-true", id="bool-shares"
    ),
    pytest.param(
        [b.issued(COMPANY, "ana", "common", "12", "2022-01-01")], "shares-string", id="text-shares"
    ),
    pytest.param(
        [b.issued(COMPANY, "ana", "common", 10**19, "2022-01-01")], "too-big", id="out-of-bounds"
    ),
    pytest.param(
        [b.issued("hooli-x", "ana", "common", 5, "2022-01-01")], "unknown", id="unknown-company"
    ),
    pytest.param(
        [
            b.transferred(COMPANY, "ben", "ana", "common", 1_000, "2022-01-01"),
            b.transferred(COMPANY, "ben", "ana", "common", 9_000_000, "2022-01-02"),
        ],
        "rule",
        id="rule-violated-by-the-second",
    ),
]


@pytest.mark.parametrize(("events", "name"), REFUSED)
def test_a_refused_batch_stores_nothing_and_says_what_the_cli_says(
    served: Served,
    events: list[dict[str, Any]],
    name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = served.last_position()
    answer = served.client.post("/v1/events", json=events, headers=served.writer)
    assert answer.status_code == 422, answer.text
    assert served.last_position() == before
    # The CLI reading a file named "body" names the items as the API does.
    monkeypatch.chdir(tmp_path)
    Path("body").write_text(json.dumps(events), encoding="utf-8")
    capsys.readouterr()
    assert run(["--db", served.url, "record", "body", "--input-format", "json"]) == 2
    cli_lines = [line.removeprefix("error: ") for line in capsys.readouterr().err.splitlines()]
    assert answer.json() == {"status": 422, "errors": cli_lines}


@pytest.mark.parametrize(
    ("content", "content_type", "status", "message"),
    [
        ("[{]", "application/json", 400, "body: malformed JSON at line 1, column 3"),
        ('{"type": "x"}', "application/json", 400, "body: expected a list of events, found dict"),
        ('[{"a": 1, "a": 2}]', "application/json", 400, "body item 1: duplicate key 'a'"),
        ('{"type": }\n', "application/x-ndjson", 400, "body line 1: malformed JSON at column 10"),
        ("[]", "text/plain", 415, "Content-Type text/plain: send application/json"),
        ("[]", "", 415, "Content-Type none"),
    ],
    ids=["malformed", "not-a-list", "duplicate-key", "malformed-line", "text", "none"],
)
def test_bodies_that_do_not_parse(
    served: Served, content: str, content_type: str, status: int, message: str
) -> None:
    headers = {**served.writer, "Content-Type": content_type}
    answer = served.client.post("/v1/events", content=content.encode(), headers=headers)
    assert answer.status_code == status, answer.text
    assert answer.json()["errors"][0].startswith(message)


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [
        ("GET", "/v1/nothing", 404, "Not Found"),
        ("GET", "/v1/companies/no-such/roster", 404, "unknown company 'no-such'"),
        ("DELETE", "/v1/companies", 405, "Method Not Allowed"),
        ("PUT", "/v1/events", 405, "Method Not Allowed"),
        ("GET", f"/v1/companies/{COMPANY}/board?as_of=2021-02-30", 422,
         "as_of '2021-02-30' is not a valid date: day is out of range for month"),
        ("GET", f"/v1/companies/{COMPANY}/board?known_at=yesterday", 422,
         "known_at 'yesterday' is not a position (an integer), an ISO 8601 timestamp"),
        ("GET", f"/v1/companies/{COMPANY}/board?known_at=99999", 422,
         "known_at 99999 is past the end of the log"),
        ("GET", f"/v1/companies/{COMPANY}/board?known_at=0001-01-01T00:00:00%2B01:00", 422,
         "known_at 0001-01-01 00:00:00+01:00 is out of range once in UTC"),
        ("GET", f"/v1/companies/{COMPANY}/board?known_at=%EF%BC%91%EF%BC%92", 422,
         "known_at '１２' is not a position (an integer)"),
        ("GET", f"/v1/companies/{COMPANY}/audit?from=2021-06-01&to=2021-01-01", 422,
         "from 2021-06-01 is after to 2021-01-01"),
        ("GET", "/v1/events?after=99999", 422, "after 99999 is past the end of the log"),
        ("GET", f"/v1/companies/{COMPANY}/audit?from=2021", 422,
         "from '2021' is not a date: write YYYY-MM-DD"),
        ("GET", f"/v1/companies/{COMPANY}/board?min_position=0", 422,
         "query min_position: Input should be greater than or equal to 1"),
        ("GET", f"/v1/companies/{COMPANY}/board?min_position=true", 422,
         "query min_position: Input should be a valid integer"),
    ],
)  # fmt: skip
def test_wrong_requests_get_a_status_and_one_line(
    served: Served, method: str, path: str, status: int, message: str
) -> None:
    answer = served.client.request(method, path, headers=served.reader)
    assert answer.status_code == status, answer.text
    (line,) = answer.json()["errors"]
    assert line.startswith(message), line
    if status == 405:  # every method the path takes, whichever of its routes came first
        assert answer.headers["allow"] == {"/v1/events": "GET, POST"}.get(path, "GET")


def test_tokens_no_token_a_wrong_one_and_a_revoked_one_get_401(served: Served) -> None:
    path = f"/v1/companies/{COMPANY}/roster"
    for headers in [{}, bearer("clt_not-a-token"), {"Authorization": "Basic YTpi"}]:
        answer = served.client.get(path, headers=headers)
        assert answer.status_code == 401, headers
        assert answer.headers["www-authenticate"] == "Bearer"
    with Ledger.open(served.url) as ledger:
        store = TokenStore(ledger.engine)
        secret = store.create("short-lived", Role.reader)
        assert served.client.get(path, headers=bearer(secret)).status_code == 200
        assert store.revoke("short-lived")
        assert served.client.get(path, headers=bearer(secret)).status_code == 401
    for public in ["/healthz", "/openapi.json", "/docs"]:
        assert served.client.get(public).status_code == 200, public


def test_the_docs_load_nothing_from_outside_the_server(served: Served) -> None:
    page = served.client.get("/docs").text
    loaded = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert loaded
    assert all(url.startswith("/") for url in loaded), loaded
    for url in loaded:
        assert served.client.get(url).status_code == 200, url
    assert "https://" not in page.split("<script>")[-1]


def test_an_answer_fixed_in_time_is_immutable_and_revalidates_to_304(served: Served) -> None:
    path = f"/v1/companies/{COMPANY}/cap-table?as_of=2021-01-01&known_at=8"
    first = served.client.get(path, headers=served.reader)
    assert first.headers["cache-control"] == "public, max-age=31536000, immutable"
    etag = first.headers["etag"]
    again = served.client.get(path, headers={**served.reader, "If-None-Match": etag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    other = served.client.get(path, headers={**served.reader, "If-None-Match": '"other"'})
    assert other.status_code == 200
    # A day long past is settled; today, or an answer without as_of, may still change.
    settled = served.client.get(
        f"/v1/companies/{COMPANY}/board?as_of=2021-01-01&known_at=2025-01-01", headers=served.reader
    )
    assert settled.headers["cache-control"].endswith("immutable")
    a_minute_ago = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    for changing in [
        {"as_of": "2021-01-01", "known_at": a_minute_ago},
        {"known_at": "8"},
        {"as_of": "2021-01-01"},
    ]:
        board = f"/v1/companies/{COMPANY}/board"
        answer = served.client.get(board, params=changing, headers=served.reader)
        assert answer.headers["cache-control"] == "no-cache", changing


def test_read_your_writes_without_projection_on_post(engine_url: str, served: Served) -> None:
    """A server that does not project on POST answers as of the read models' position; a read
    with ``min_position`` waits for them to reach it (here no worker comes: it catches them
    up itself at once); a position the log does not hold is refused at once."""
    with TestClient(create_app(engine_url, project=False, read_wait=0)) as client:
        events = [b.issued(COMPANY, "ben", "common", 7, "2021-06-01")]
        posted = client.post("/v1/events", json=events, headers=served.writer)
        assert posted.status_code == 201, posted.text
        position = posted.json()["recorded"][0]["position"]
        path = f"/v1/companies/{COMPANY}/cap-table?as_of=2021-06-02"
        with Ledger.open(engine_url) as ledger:
            assert ledger.read_models is not None
            projected = ledger.read_models.tracked()
            assert projected < position
            stale = client.get(path, headers=served.reader).json()
            assert stale["known_at"] == projected
            assert ledger.read_models.tracked() == projected  # the query did not project
            table = client.get(f"{path}&min_position={position}", headers=served.reader).json()
            assert ledger.read_models.tracked() >= position
        assert (stale["total_shares"], table["total_shares"]) == (12_500_000, 12_500_007)
        assert table["known_at"] >= position
        late = client.get(
            f"/v1/companies/{COMPANY}/roster?min_position={position + 10**6}",
            headers=served.reader,
        )
        assert late.status_code == 422
        assert late.json()["errors"] == [
            f"min_position {position + 10**6} is past the end of the log (last position {position})"
        ]


def test_a_read_with_min_position_waits_for_the_projections_worker(
    engine_url: str, served: Served
) -> None:
    """Without projection on POST, a read for a position the read models have not reached
    waits for the worker (here a thread catching up a moment later), and does not project."""
    with TestClient(create_app(engine_url, project=False, read_wait=LONG)) as client:
        events = [b.issued(COMPANY, "cy", "common", 5, "2021-06-03")]
        posted = client.post("/v1/events", json=events, headers=served.writer)
        position = posted.json()["recorded"][0]["position"]
        with Ledger.open(engine_url) as ledger:
            assert ledger.read_models is not None
            worker = threading.Timer(0.3, ledger.read_models.catch_up)
            worker.start()
            started = time.monotonic()
            path = f"/v1/parties/cy/holdings?as_of=2021-06-04&min_position={position}"
            holdings = client.get(path, headers=served.reader)
            waited = time.monotonic() - started
            worker.join()
    assert holdings.status_code == 200, holdings.text
    assert holdings.json()["known_at"] >= position
    assert 0.25 < waited < LONG


def test_without_auth_every_request_is_let_in_and_recorded_by_the_actor(
    engine_url: str, served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORPLEDGER_ACTOR", "local-admin")
    with TestClient(create_app(engine_url, auth=False)) as client:
        events = [b.executive_appointed(COMPANY, "cleo", "cfo", "2021-07-01")]
        posted = client.post("/v1/events", json=events)
        assert posted.status_code == 201, posted.text
        history = client.get(f"/v1/companies/{COMPANY}/history").json()
    assert history["events"][-1]["recorded_by"] == "local-admin"


@pytest.mark.postgres
def test_a_lost_database_connection_is_a_503_and_the_server_recovers(pg_url: str) -> None:
    # The handler of unforeseen errors answers, then re-raises for the server's log.
    with TestClient(create_app(pg_url, auth=False), raise_server_exceptions=False) as client:
        assert client.get("/healthz").status_code == 200
        with psycopg.connect(pg_url, autocommit=True) as other:
            other.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        statuses = []
        for _ in range(12):  # the pool drops its broken connections as it meets them
            answer = client.get("/v1/companies")
            statuses.append(answer.status_code)
            if answer.status_code == 503:
                assert answer.json()["errors"] == ["the connection to PostgreSQL was lost"]
        assert statuses[0] == 503
        assert statuses[-1] == 200
        assert set(statuses) == {200, 503}


def test_a_body_over_the_limit_is_a_413_declared_or_chunked(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http_app, "MAX_FILE_BYTES", 1_000)
    headers = {**served.writer, "Content-Type": "application/json"}
    body = json.dumps([b.issued(COMPANY, "ana", "common", 1, "2022-01-01")] * 20).encode()
    assert len(body) > 1_000
    declared = served.client.post("/v1/events", content=body, headers=headers)
    chunked = served.client.post(
        "/v1/events", content=(body[n : n + 100] for n in range(0, len(body), 100)), headers=headers
    )
    for answer in (declared, chunked):
        assert (answer.status_code, answer.json()["errors"]) == (413, ["body larger than 0 MiB"])
