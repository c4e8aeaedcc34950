"""The read models from the command line: the SQL the README shows, run on the demo, gives the
answer the README documents; record --no-project, projections run/status/rebuild; verify
naming a read model that differs from the fold; a following worker stopped by SIGTERM."""

from __future__ import annotations

import json
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from ledger import Ledger

from .conftest import ACME, Cli, clean_env, prepare

README = Path(__file__).resolve().parents[2] / "README.md"
EXAMPLE = re.compile(
    r"<!-- readme-sql: (?P<name>[^>]+) -->\n```sh\n(?P<commands>.*?)```\n```text\n(?P<out>.*?)```",
    re.S,
)


def readme_examples() -> dict[str, tuple[str, str]]:
    """Each SQL example of the README: the SQL given to sqlite3, and the output shown."""
    found = {}
    for match in EXAMPLE.finditer(README.read_text(encoding="utf-8")):
        [sql] = re.findall(r'sqlite3 demo\.db "(.*?)"', match["commands"], re.S)
        found[match["name"]] = (sql, match["out"])
    return found


def sqlite3_cli(database: Path, sql: str) -> str:
    """What ``sqlite3 DATABASE "SQL"`` prints (the sqlite3 shell's list mode: ``|`` between
    values, nothing for NULL); through Python's sqlite3 when the shell is not installed."""
    shell = shutil.which("sqlite3")
    if shell is not None:
        done = subprocess.run(
            [shell, str(database), sql], capture_output=True, text=True, check=True
        )
        return done.stdout
    with sqlite3.connect(database) as conn:
        found = conn.execute(sql).fetchall()
    return "".join("|".join("" if v is None else str(v) for v in row) + "\n" for row in found)


def test_the_readme_sql_gives_the_documented_answers_on_the_demo(tmp_path: Path) -> None:
    cli = Cli(None, tmp_path)
    demo = cli("demo", "--db", "sqlite:///demo.db")
    assert demo.code == 0, demo.err
    examples = readme_examples()
    assert sorted(examples) == ["board", "cap table"]
    for name, (sql, documented) in examples.items():
        assert sqlite3_cli(tmp_path / "demo.db", sql) == documented, name


def test_record_without_projecting_then_a_worker_catches_up(cli: Cli) -> None:
    recorded = cli("record", str(ACME), "--no-project")
    assert recorded.code == 0, recorded.err
    status = cli("projections", "status", "--format", "json")
    assert json.loads(status.out) == [
        {"name": "board", "position": 0, "lag": 11, "stuck": None},
        {"name": "cap_table", "position": 0, "lag": 11, "stuck": None},
        {"name": "roster", "position": 0, "lag": 11, "stuck": None},
    ]
    ran = cli("projections", "run", "--batch-size", "4")
    assert (ran.code, ran.err) == (0, "")
    assert ran.out.splitlines() == [
        "projected up to position 4",
        "projected up to position 8",
        "projected up to position 11",
        "projections up to date at position 11",
    ]
    table = cli("projections", "status")
    assert table.lines == [
        "Projection Position Lag",
        "───────────────────────────",
        "board 11 0",
        "cap_table 11 0",
        "roster 11 0",
    ]
    again = cli("projections", "run")
    assert again.out == "projections up to date at position 11\n"
    verified = cli("verify")
    assert verified.code == 0, verified.err
    assert verified.out.splitlines()[1] == (
        "read models match the fold: 1 company, 10 rows, at every date and every position up to 11"
    )


def test_verify_exits_1_naming_a_read_model_row_changed_behind_its_back(acme: Cli) -> None:
    assert acme.url is not None
    with Ledger.open(acme.url) as ledger, ledger.engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE board_history SET seat = 'chair' WHERE person = 'ana' AND known_to IS NULL"
            )
        )
    run = acme("verify", "--company", "acme-rockets")
    assert run.code == 1
    assert run.out.startswith("11 events, chain intact, head ")
    assert run.err.startswith(
        "error: read model board (board_history) differs from the fold for acme-rockets as of "
    )
    assert "person ana: the table says seat chair" in run.err
    rebuilt = acme("projections", "rebuild", "--company", "acme-rockets")
    assert rebuilt.out == "rebuilt acme-rockets's rows up to position 11\n"
    assert acme("verify").code == 0
    assert acme("projections", "rebuild").out == "rebuilt the read models up to position 11\n"
    unknown = acme("projections", "rebuild", "--company", "nobody")
    assert (unknown.code, unknown.err) == (2, f"error: unknown company 'nobody' in {acme.url}\n")


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_following_worker_projects_new_events_and_stops_cleanly_on_sigterm(
    backend: str, cli: Cli, request: pytest.FixtureRequest
) -> None:
    url = cli.url if backend == "sqlite" else str(request.getfixturevalue("pg_url"))
    assert url is not None
    worker = subprocess.Popen(
        [sys.executable, "-m", "ledger", "--db", url, "projections", "run", "--follow",
         "--poll", "0.1"],
        cwd=cli.cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )  # fmt: skip
    try:
        prepare(Cli(url, cli.cwd), str(ACME))  # records, projecting on its own (read-your-writes)
        with Ledger.open(url) as ledger:
            ledger.record(
                [{"type": "SharesIssued", "company": "acme-rockets", "holder": "zed",
                  "share_class": "common", "shares": 5, "effective_date": "2022-01-01"}],
                project=False,
            )  # fmt: skip
            read_models = ledger.read_models
            assert read_models is not None
            deadline = time.monotonic() + 20
            while read_models.status()[0].lag and time.monotonic() < deadline:
                time.sleep(0.05)
            assert [s.lag for s in read_models.status()] == [0, 0, 0]
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=20)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert (worker.returncode, err) == (0, "")
    assert out.splitlines()[-1] == "projections stopped at position 12"
