"""``corpledger serve`` as a user starts it (a subprocess, per engine: start, /healthz, a
query with a token, stop), and the ``tokens`` commands in-process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.cli import run
from tests.e2e.conftest import clean_env, fetch_json, serving
from tests.http.conftest import COMPANY, acme_ledger


def test_serve_starts_answers_and_stops(engine_url: str) -> None:
    reader, _ = acme_ledger(engine_url)
    with serving(engine_url) as server:
        assert fetch_json(f"{server.base}/healthz") == (200, {"status": "ok", "position": 11})
        status, table = fetch_json(
            f"{server.base}/v1/companies/{COMPANY}/cap-table?as_of=2021-01-01", reader
        )
        assert status == 200
        assert (table["known_at"], table["total_shares"]) == (11, 12_500_000)
        assert fetch_json(f"{server.base}/v1/companies")[0] == 401
    # uvicorn shuts down gracefully, then lets the signal end the process as it would have.
    assert server.code == -signal.SIGTERM, server.err
    assert server.err.startswith("corpledger serve: "), server.err
    assert f"on {server.base}\n" in server.err
    assert "Traceback" not in server.err


def test_no_auth_is_refused_off_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["serve", "--no-auth", "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "error: --no-auth is refused on host 0.0.0.0: only a loopback address (127.0.0.1, "
        "::1, localhost) may serve without tokens\n"
    )


def test_tokens_create_prints_the_token_alone_then_list_and_revoke(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ["--db", f"sqlite:///{tmp_path}/tokens.db"]
    assert run([*db, "tokens", "create", "--role", "writer", "--name", "importer"]) == 0
    out, err = capsys.readouterr()
    assert (out.count("\n"), out.startswith("clt_"), len(out.strip()), err) == (1, True, 47, "")
    assert run([*db, "tokens", "create", "--role", "reader", "--name", "importer"]) == 2
    assert capsys.readouterr().err == ("error: token name 'importer' is taken: choose another\n")
    assert run([*db, "tokens", "revoke", "importer"]) == 0
    assert capsys.readouterr().out == "revoked token importer\n"
    assert run([*db, "tokens", "list", "--format", "json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)["tokens"]
    assert (listed["name"], listed["role"]) == ("importer", "writer")
    assert listed["revoked_at"] is not None
    assert out.strip() not in json.dumps(listed)


HEAVY = ("sqlalchemy", "psycopg", "eventsourcing", "pydantic", "fastapi", "starlette",
         "uvicorn", "pyarrow", "plotly", "jinja2", "alembic", "yaml", "ledger.app",
         "ledger.domain.events", "ledger.reports")  # fmt: skip
"""What the command line must start without: each loads when a command that needs it runs
(FastAPI and uvicorn with ``serve`` only)."""


def test_the_command_line_starts_without_its_heavy_libraries() -> None:
    """``--help``, ``--version`` and a usage mistake answer before any database, model, web or
    export library loads (issue 15: a start a few times the bare interpreter's). Typer itself
    loads pydantic to parse a command's arguments, so only the first two are without it."""
    script = (
        "import sys; from ledger.cli import run\n"
        f"def loaded(): return sorted(m for m in {HEAVY!r} if m in sys.modules)\n"
        "print([run(['--help']), run(['--version'])], loaded(), file=sys.stderr)\n"
        "print(run(['no-such-command']), loaded(), file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True,
        env=clean_env(),
    )  # fmt: skip
    assert "Usage: corpledger" in done.stdout
    assert done.stderr.splitlines() == [
        "[0, 0] []",
        "error: No such command 'no-such-command'. (see corpledger --help)",
        "2 ['pydantic']",
    ]


def test_a_query_on_sqlite_loads_nothing_of_postgresql(tmp_path: Path) -> None:
    """A one-shot query on a SQLite ledger never imports psycopg, its pool, eventsourcing's
    PostgreSQL module or SQLAlchemy's PostgreSQL dialect (a fifth of such a process's start)."""
    postgres = ("psycopg", "psycopg_pool", "eventsourcing.postgres",
                "sqlalchemy.dialects.postgresql")  # fmt: skip
    assert one_shot_query(tmp_path, postgres) == "0 []"


def test_a_query_on_a_sqlite_file_loads_no_sqlalchemy_and_builds_no_event_model(
    tmp_path: Path,
) -> None:
    """A one-shot query on a SQLite file at the newest schema revision reads through the
    sqlite3 driver alone (``ledger.persistence.sqlite_files``), answers from the read models
    without building the model of any event, and loads neither PyYAML (no file read) nor
    Rich (no table shown): issue 15's one-shot query within 15x the bare interpreter's
    start."""
    unneeded = ("sqlalchemy", "alembic", "yaml", "pycountry", "rich")
    built = (
        "from ledger.domain.events import EVENT_TYPES\n"
        "built = [name for name, model in EVENT_TYPES.items() if model.__pydantic_complete__]"
    )
    assert one_shot_query(tmp_path, unneeded, built) == "0 [] []"


def one_shot_query(tmp_path: Path, modules: tuple[str, ...], built: str = "") -> str:
    """``cap-table --format json`` of acme in a fresh process; checks the answer and returns
    what it reports: its exit code, which of ``modules`` it loaded, and (given ``built``,
    code setting ``built``) that list."""
    url = f"sqlite:///{tmp_path}/acme.db"
    acme_ledger(url)
    script = (
        "import sys; from ledger.cli import run\n"
        f"code = run(['--db', {url!r}, 'cap-table', {COMPANY!r}, '--format', 'json'])\n"
        f"{built}\n"
        f"loaded = sorted(m for m in {modules!r} if m in sys.modules)\n"
        f"print(code, loaded, *([built] if {bool(built)!r} else []), file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True,
        env=clean_env(),
    )  # fmt: skip
    assert json.loads(done.stdout)["company"] == COMPANY
    [reported] = done.stderr.splitlines()
    return reported
