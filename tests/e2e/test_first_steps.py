"""What a new user meets first, run as they run it: a mistyped --db (no new, empty ledger
left behind), --db after the command, the companies of a ledger, output cut short by
``| head``, shell completion, and the demo's next step run exactly as it is printed."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import psycopg
import pytest

from ledger.persistence.url import store_config
from tests.conftest import PG_URL, drop_pg_database

from .conftest import ACME, Cli, Run, assert_refused, at_once, clean_env, prepare

NO_LEDGER = "(run `corpledger init` or `record` first)"

QUERIES = {
    "cap-table": ["cap-table", "nimbus"],
    "roster": ["roster", "nimbus"],
    "board": ["board", "nimbus"],
    "holdings": ["holdings", "ana"],
    "history": ["history", "nimbus"],
    "party history": ["history", "--party", "ana"],
    "audit": ["audit", "nimbus"],
    "companies": ["companies"],
    "verify": ["verify"],
    "projections status": ["projections", "status"],
    "projections run": ["projections", "run"],
    "projections rebuild": ["projections", "rebuild"],
    "events": ["events"],
    "export": ["export", "events", "--format", "jsonl", "--out", "exported"],
}
"""Every command that reads a ledger and may not create one."""

GLOBEX = """\
- {type: CompanyRegistered, company: globex, name: Globex Corporation, jurisdiction: DE, effective_date: 2019-03-01}
- {type: ShareClassCreated, company: globex, share_class: common, name: Common Stock, kind: common, votes_per_share: 1, effective_date: 2019-03-01}
"""  # noqa: E501


def display(url: str) -> str:
    return store_config(url).display


# --- a database without a ledger ---------------------------------------------------------------


def test_a_query_on_a_mistyped_sqlite_file_says_there_is_no_ledger_and_creates_nothing(
    tmp_path: Path,
) -> None:
    cli = Cli("sqlite:///nimbs.db", tmp_path)
    runs = at_once([partial(cli, *args) for args in QUERIES.values()])
    for run in runs:
        assert_refused(run, f"no ledger at nimbs.db {NO_LEDGER}")
    assert list(tmp_path.iterdir()) == []  # no file, no -wal, no -shm


def test_init_and_record_create_the_ledger_a_query_then_finds(tmp_path: Path) -> None:
    made = Cli(f"sqlite:///{tmp_path}/made.db", tmp_path)
    assert made("init").code == 0
    assert made("companies", "-f", "json").json() == {"known_at": 0, "companies": []}
    recorded = Cli(f"sqlite:///{tmp_path}/recorded.db", tmp_path)
    assert recorded("record", str(ACME)).code == 0
    assert [c["company"] for c in recorded("companies", "-f", "json").json()["companies"]] == [
        "acme-rockets"
    ]


def test_an_empty_file_is_no_ledger_either_and_stays_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "empty.db").touch()
    assert_refused(
        Cli("sqlite:///empty.db", tmp_path)("verify"), f"no ledger at empty.db {NO_LEDGER}"
    )
    assert [(p.name, p.stat().st_size) for p in tmp_path.iterdir()] == [("empty.db", 0)]


@pytest.fixture
def empty_pg_database(pg_server: str) -> Iterator[str]:
    """A URL (with a password, which trust authentication ignores) of a new PostgreSQL
    database without the ledger's tables."""
    name = f"corpledger_test_{os.getpid()}_empty"
    server = PG_URL.rpartition("/")[0]
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = server.replace("://postgres@", "://postgres:s3cret@") + f"/{name}"
    yield url
    drop_pg_database(f"{server}/{name}")


@pytest.mark.postgres
def test_a_query_on_a_postgresql_database_without_the_ledger_says_so_and_creates_no_table(
    empty_pg_database: str, tmp_path: Path
) -> None:
    cli = Cli(empty_pg_database, tmp_path)
    runs = at_once([partial(cli, *args) for args in QUERIES.values()])
    shown = display(empty_pg_database)
    assert "s3cret" not in shown
    for run in runs:
        assert_refused(run, f"no ledger in {shown} {NO_LEDGER}")
    with psycopg.connect(empty_pg_database) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    assert tables == []


@pytest.mark.postgres
def test_a_postgresql_database_that_does_not_exist_is_named_with_what_to_do(
    pg_server: str, tmp_path: Path
) -> None:
    name = f"corpledger_test_{os.getpid()}_missing"
    url = f"{PG_URL.rpartition('/')[0]}/{name}"
    cli = Cli(url, tmp_path)
    expected = (
        f"no database '{name}' at {display(url)}: create it first (e.g. createdb {name}), "
        "then run `corpledger init`"
    )
    for run in at_once([partial(cli, "companies"), partial(cli, "init")]):
        assert_refused(run, expected)


# --- every answer names the ledger it looked in ------------------------------------------------


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def acme_cli(request: pytest.FixtureRequest, tmp_path: Path) -> Cli:
    """A ledger holding acme-rockets (positions 1-11) and globex (12-13), on each engine."""
    url = (
        f"sqlite:///{tmp_path}/ledger.db"
        if request.param == "sqlite"
        else str(request.getfixturevalue("pg_url"))
    )
    cli = Cli(url, tmp_path)
    return prepare(cli, str(ACME), str(tmp_path / cli.write("globex.yaml", GLOBEX)))


def test_an_unknown_company_is_refused_naming_the_database_looked_in(acme_cli: Cli) -> None:
    asked = [
        ["cap-table", "nimbus"],
        ["roster", "nimbus"],
        ["board", "nimbus"],
        ["history", "nimbus"],
        ["audit", "nimbus"],
        ["projections", "rebuild", "--company", "nimbus"],
    ]
    assert acme_cli.url is not None
    shown = display(acme_cli.url)
    *runs, verified = at_once(
        [partial(acme_cli, *args) for args in asked]
        + [partial(acme_cli, "verify", "--company", "nimbus")]
    )
    for run in runs:
        assert_refused(run, f"unknown company 'nimbus' in {shown}")
    # verify checks the chain first, then refuses the company it cannot find.
    assert (verified.code, verified.err) == (2, f"error: unknown company 'nimbus' in {shown}\n")


# --- --db before or after the command ----------------------------------------------------------


def test_db_after_the_command_answers_as_db_before_it(acme_cli: Cli) -> None:
    asked = [
        ["cap-table", "acme-rockets", "-f", "json"],
        ["roster", "acme-rockets", "-f", "csv"],
        ["board", "acme-rockets"],
        ["holdings", "ana", "-f", "json"],
        ["history", "acme-rockets", "-f", "json"],
        ["audit", "acme-rockets", "-f", "json"],
        ["companies", "-f", "json"],
        ["verify"],
        ["projections", "status", "-f", "json"],
    ]
    assert acme_cli.url is not None
    after = Cli(None, acme_cli.cwd)
    runs = at_once(
        [partial(acme_cli, *args) for args in asked]
        + [partial(after, *args, "--db", acme_cli.url) for args in asked]
    )
    before, behind = runs[: len(asked)], runs[len(asked) :]
    assert [run.code for run in before] == [0] * len(asked)
    assert behind == before


def test_record_and_init_take_db_after_the_command_and_its_help_says_so(tmp_path: Path) -> None:
    cli = Cli(None, tmp_path)
    url = f"sqlite:///{tmp_path}/after.db"
    assert cli("init", "--db", url).out.startswith("created the ledger schema")
    recorded = cli("record", str(ACME), "--db", url)
    assert (recorded.code, recorded.lines[0]) == (
        0,
        "recorded 11 events for acme-rockets (positions 1-11)",
    )
    assert not (tmp_path / "corpledger.db").exists()  # the default ledger was never touched
    assert "--db" in cli("cap-table", "--help").out


# --- corpledger companies ----------------------------------------------------------------------

COMPANIES = [
    {
        "company": "acme-rockets",
        "name": "Acme Rockets, Inc.",
        "registered": "2020-01-01",
        "events": 11,
        "last_position": 11,
    },
    {
        "company": "globex",
        "name": "Globex Corporation",
        "registered": "2019-03-01",
        "events": 2,
        "last_position": 13,
    },
]


def test_companies_lists_every_company_by_slug_as_json_csv_and_a_table(acme_cli: Cli) -> None:
    as_json, as_csv, as_table, known_at_3 = at_once(
        [
            partial(acme_cli, "companies", "--format", "json"),
            partial(acme_cli, "companies", "-f", "csv"),
            partial(acme_cli, "companies"),
            partial(acme_cli, "companies", "-f", "json", "--known-at", "3"),
        ]
    )
    assert as_json.json() == {"known_at": 13, "companies": COMPANIES}
    assert (as_csv.code, as_csv.out.splitlines()) == (
        0,
        [
            "known_at,company,name,registered,events,last_position",
            '13,acme-rockets,"Acme Rockets, Inc.",2020-01-01,11,11',
            "13,globex,Globex Corporation,2019-03-01,2,13",
        ],
    )
    assert as_table.lines == [
        "Companies",
        "known at position 13, 2 companies",
        "Company Name Registered Events Last position",
        "─" * len(as_table.lines[3]),
        "acme-rockets Acme Rockets, Inc. 2020-01-01 11 11",
        "globex Globex Corporation 2019-03-01 2 13",
    ]
    assert known_at_3.json() == {
        "known_at": 3,
        "companies": [{**COMPANIES[0], "events": 3, "last_position": 3}],
    }


# --- output cut short, completion --------------------------------------------------------------


def test_output_cut_short_by_head_exits_quietly_with_0(acme_cli: Cli) -> None:
    """The reader closes the pipe before anything is written: every write fails."""
    assert acme_cli.url is not None
    for fmt in ("table", "json", "csv"):
        reader = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ledger",
                "--db",
                acme_cli.url,
                "history",
                "acme-rockets",
                "-f",
                fmt,
            ],
            cwd=acme_cli.cwd,
            env=clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert reader.stdout is not None
        assert reader.stderr is not None
        reader.stdout.close()
        assert (reader.wait(timeout=120), reader.stderr.read()) == (0, ""), fmt
        reader.stderr.close()


def test_show_completion_prints_a_bash_completion_script(tmp_path: Path) -> None:
    # The shell is the one corpledger runs under; "; true" keeps bash from exec'ing it.
    command = f"{shlex.quote(sys.executable)} -m ledger --show-completion; true"
    done = subprocess.run(
        ["bash", "-c", command], cwd=tmp_path, env=clean_env(), capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    run = Run(done.returncode, done.stdout, done.stderr)
    assert (run.code, run.err) == (0, "")
    assert run.out.startswith("_corpledger_completion() {")
    assert run.out.rstrip().endswith("complete -o default -F _corpledger_completion corpledger")


# --- the demo's next step ----------------------------------------------------------------------


def test_the_demo_prints_a_next_step_that_runs_as_printed_and_reuses_one_ledger(
    tmp_path: Path,
) -> None:
    """After ``make demo`` the virtualenv is not on the PATH: the demo names its program by
    the path it was started with, and says how to put it on the PATH."""
    program = Path(sys.executable).parent / "corpledger"
    cache, temporary = tmp_path / "cache", tmp_path / "tmp"
    temporary.mkdir()
    env = {
        **clean_env(),
        "PATH": "/usr/bin:/bin",
        "XDG_CACHE_HOME": str(cache),
        "TMPDIR": str(temporary),
    }

    def demo() -> Run:
        done = subprocess.run(
            [str(program), "demo"], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        return Run(done.returncode, done.stdout, done.stderr)

    first, second = demo(), demo()
    assert (first.code, first.err, second.code, second.err) == (0, "", 0, "")
    ledger_file = cache / "corpledger" / "demo.db"
    url = f"sqlite:///{ledger_file}"
    assert second.lines[-4:] == [
        f"The demo ledger stays at {ledger_file}. Explore it:",
        f"{program} --db '{url}' history scale-ai",
        f"{program} --db '{url}' cap-table scale-ai --as-of 2024-06-01",
        f"(or put corpledger on your PATH first: source {program.parent}/activate)",
    ]
    assert second.lines[1] == first.lines[1]  # a fresh ledger each run, not the last one's
    assert sorted(p.name for p in (cache / "corpledger").iterdir()) == ["demo.db"]
    assert list(temporary.iterdir()) == []
    for command in second.lines[-3:-1]:
        explored = subprocess.run(
            ["/bin/sh", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert (explored.returncode, explored.stderr) == (0, ""), command
        assert explored.stdout.startswith(
            "scale-ai: history" if "history" in command else "Scale AI"
        )


def test_the_demo_run_as_a_module_prints_the_interpreter_to_run_again(tmp_path: Path) -> None:
    run = Cli(None, tmp_path, {"XDG_CACHE_HOME": str(tmp_path)})("demo")
    assert run.code == 0, run.err
    url = f"sqlite:///{tmp_path}/corpledger/demo.db"
    program = f"{shlex.quote(sys.executable)} -m ledger"
    assert run.lines[-1] == f"{program} --db '{url}' cap-table scale-ai --as-of 2024-06-01"


@pytest.mark.parametrize(
    "command", [[], ["record"], ["cap-table"], ["history"], ["projections", "run"], ["demo"]],
    ids=["main", "record", "cap-table", "history", "projections-run", "demo"],
)  # fmt: skip
def test_help_shows_metavars_and_choices_never_python_types(
    tmp_path: Path, command: list[str]
) -> None:
    run = Cli(None, tmp_path)(*command, "--help")
    assert (run.code, run.err) == (0, "")
    shown = set(re.findall(r"<[^>\s]+>", run.out))
    assert shown <= {"<table|json|csv>", "<yaml|json|jsonl>", "<text|json>"}, shown
