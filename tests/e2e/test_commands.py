"""The command line as a whole: help, init, schema, the demo, usage mistakes (exit 2) and
failures that are nobody's input mistake (exit 1, a message, a traceback only with
--debug)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema_specifications import REGISTRY as SPECIFICATIONS

import ledger
from ledger.files import read_items
from ledger.persistence.schema import HEAD

from .conftest import ACME, Cli, Run, assert_refused, at_once, clean_env

COMMANDS = {
    "init": "Create the ledger's schema, or migrate it to the newest revision",
    "record": "Validate event files and store them as one atomic batch",
    "cap-table": "Holders, shares by class, ownership % and voting %",
    "roster": "Officers in office: role, person, title, since, interim.",
    "board": "Directors: person, seat, since, designated by, executive or not.",
    "holdings": "Every position of a party across the companies of the ledger.",
    "history": "The audit trail: every event with its effective date",
    "schema": "Print the JSON Schema of an event file (a list of events).",
    "verify": "Check that nobody has changed the stored events",
    "projections": "The read models (bitemporal history tables): run the worker",
    "demo": "Record the Scale AI story in a fresh ledger and show it before and after",
    "events": "The change feed: every event after --after in log order",
    "export": "Files for downstream tools (docs/exports.md)",
}
DETAILED = ("record", "cap-table", "history")
"""Commands whose own help is checked here (the main help shows every summary)."""
DEMO = Path(ledger.__file__).parent / "demo" / "scale-ai.yaml"


def flat(run: Run) -> str:
    """Standard output with the help's box drawing and line breaks folded to single spaces."""
    return " ".join(run.out.replace("│", " ").split())


@pytest.fixture(scope="module")
def helps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    cli = Cli(None, tmp_path_factory.mktemp("help"))
    asked = {"": ["--help"], "none": [], **{name: [name, "--help"] for name in DETAILED}}
    return dict(zip(asked, at_once([partial(cli, *args) for args in asked.values()]), strict=True))


def test_the_main_help_lists_every_command_with_its_summary(helps: dict[str, Run]) -> None:
    run = helps[""]
    assert (run.code, run.err) == (0, "")
    text = flat(run)
    assert "Usage: corpledger [OPTIONS] COMMAND [ARGS]..." in text
    for name, summary in COMMANDS.items():
        assert f"{name} {summary}" in text
    for option in ("--db", "--debug", "--version", "--help"):
        assert option in text


def test_corpledger_alone_shows_the_help(helps: dict[str, Run]) -> None:
    assert (helps["none"].code, flat(helps["none"])) == (0, flat(helps[""]))


@pytest.mark.parametrize("name", DETAILED)
def test_a_command_has_a_help_of_its_own(helps: dict[str, Run], name: str) -> None:
    run = helps[name]
    assert (run.code, run.err) == (0, "")
    assert f"Usage: corpledger {name} [OPTIONS]" in flat(run)
    assert COMMANDS[name] in flat(run)


def test_query_commands_document_as_of_known_at_and_format(helps: dict[str, Run]) -> None:
    for name in ("cap-table", "history"):
        text = flat(helps[name])
        assert "--as-of DATE" in text
        assert "--known-at POSITION|TIMESTAMP|DATE" in text
        assert "--format -f <table|json|csv>" in text


def test_init_creates_the_schema_then_finds_it_up_to_date(cli: Cli) -> None:
    first = cli("init")
    second = cli("init")
    url = f"sqlite:///{cli.cwd}/ledger.db"
    assert (first.code, first.out) == (
        0,
        f"created the ledger schema (revision {HEAD}) at {url}\nthe log is empty\n",
    )
    assert (second.code, second.out) == (
        0,
        f"the ledger at {url} is up to date (schema revision {HEAD})\nthe log is empty\n",
    )


@pytest.mark.postgres
def test_init_on_postgresql_never_prints_the_password(pg_url: str, tmp_path: Path) -> None:
    with_password = pg_url.replace("postgresql://postgres@", "postgresql://postgres:s3cret@")
    assert with_password != pg_url
    run = Cli(with_password, tmp_path)("init")
    assert run.code == 0, run.err
    assert "s3cret" not in run.out + run.err
    assert run.out.splitlines()[0] == (
        "the ledger at "
        + with_password.replace(
            "postgresql://postgres:s3cret@", "postgresql+psycopg://postgres:***@"
        )
        + f" is up to date (schema revision {HEAD})"
    )


def test_schema_prints_the_json_schema_of_an_event_file(cli: Cli) -> None:
    run = cli("schema")
    schema = json.loads(run.out)
    assert (run.code, schema["type"], schema["title"]) == (0, "array", "corpledger event file")
    types = [
        schema["$defs"][ref["$ref"].rsplit("/", 1)[1]]["properties"]["type"]["const"]
        for ref in schema["items"]["oneOf"]
    ]
    assert sorted(types) == sorted(
        [
            "CompanyRegistered",
            "ShareClassCreated",
            "SharesIssued",
            "InvestmentMade",
            "SharesTransferred",
            "SharesCancelled",
            "StockSplit",
            "AuthorizedSharesChanged",
            "ValuationRecorded",
            "ExecutiveAppointed",
            "InterimCEOAppointed",
            "ExecutiveDeparted",
            "DirectorAppointed",
            "DirectorDeparted",
            "BoardSeatRetained",
            "BoardSizeSet",
            "StakeholderRecorded",
            "StockPlanCreated",
            "StockPlanReserveChanged",
            "OptionGranted",
            "OptionExercised",
            "OptionCancelled",
            "WarrantIssued",
            "WarrantExercised",
            "WarrantCancelled",
            "ConvertibleIssued",
            "ConvertibleConverted",
            "ConvertibleCancelled",
            "SharesConverted",
            "EventRetracted",
            "EventCorrected",
        ]
    )
    retracted = schema["$defs"]["EventRetracted"]
    # The target by its event id (or the first characters of it) or by its external_id.
    assert set(retracted["required"]) == {"company", "reason"}
    assert {"target", "target_external_id"} <= set(retracted["properties"])
    assert "effective_date" not in retracted["properties"]  # it acts on its target's date
    issued = schema["$defs"]["SharesIssued"]
    assert issued["additionalProperties"] is False
    assert set(issued["required"]) == {
        "company",
        "effective_date",
        "holder",
        "share_class",
        "shares",
    }


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(
            ["cap-tabel", "acme"],
            "No such command 'cap-tabel'. Did you mean 'cap-table'? (see corpledger --help)",
            id="a misspelled command",
        ),
        pytest.param(
            ["roster", "acme", "--as_of", "2020-01-01"],
            "No such option: --as_of (Possible options: --as-of) (see corpledger roster --help)",
            id="a misspelled option",
        ),
        pytest.param(
            ["board", "acme", "--format", "xml"],
            "Invalid value for '--format' / '-f': Value error, 'xml' is not one of 'table', "
            "'json', 'csv'. (see corpledger board --help)",
            id="an unknown output format",
        ),
        pytest.param(
            ["record"],
            "Missing argument 'FILE'. (see corpledger record --help)",
            id="a missing argument",
        ),
        pytest.param(
            ["--db", "mysql://localhost/x", "init"],
            "unsupported database URL 'mysql://localhost/x': use sqlite:///FILE.db or "
            "postgresql://USER@HOST/DB",
            id="an unsupported database",
        ),
    ],
)
def test_a_usage_mistake_exits_2_with_one_line(cli: Cli, args: list[str], expected: str) -> None:
    assert_refused(Cli(None, cli.cwd)(*args), expected)


def test_an_unreachable_database_exits_1_with_a_message_and_no_traceback(tmp_path: Path) -> None:
    nowhere = Cli(f"sqlite:///{tmp_path}/no/such/dir/ledger.db", tmp_path)
    plain, debug = at_once([partial(nowhere, "init"), partial(nowhere, "--debug", "init")])
    assert (plain.code, plain.out, plain.err) == (
        1,
        "",
        "error: cannot reach the database: unable to open database file\n",
    )
    assert debug.code == 1
    assert debug.err.startswith("Traceback (most recent call last):")
    assert debug.err.endswith("error: cannot reach the database: unable to open database file\n")


def test_the_console_script_and_python_dash_m_are_the_same_program(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "corpledger"
    done = subprocess.run(
        [str(script), "--version"],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=tmp_path,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, f"corpledger {ledger_version()}\n")
    assert Cli(None, tmp_path)("--version").out == done.stdout


def ledger_version() -> str:
    from importlib.metadata import version

    return version("corpledger")


needs_demo = pytest.mark.skipif(not DEMO.is_file(), reason="ledger/demo/scale-ai.yaml not written")


@needs_demo
def test_the_demo_tells_the_scale_ai_story_in_its_own_ledger(tmp_path: Path) -> None:
    env = {"CORPLEDGER_DB": f"sqlite:///{tmp_path}/mine.db", "XDG_CACHE_HOME": str(tmp_path)}
    run = Cli(None, tmp_path, env)("demo")
    assert (run.code, run.err) == (0, "")
    assert not (tmp_path / "mine.db").exists()  # the demo never writes into CORPLEDGER_DB
    lines = run.lines
    assert lines[0] == (
        "corpledger demo: the Scale AI story (scale-ai.yaml) in "
        f"sqlite:///{tmp_path}/corpledger/demo.db"
    )
    # Two batches, the second from Meta's investment on: a moment to show known-at with.
    first = re.fullmatch(r"recorded (\d+) events for scale-ai \(positions 1-\1\)", lines[1])
    assert first is not None, lines[1]
    meta_at = int(first.group(1)) + 1
    assert re.fullmatch(rf"recorded \d+ events for scale-ai \(positions {meta_at}-\d+\)", lines[2])
    text = "\n".join(lines)
    assert "Note: Scale AI's share counts are not public." in text
    for title in (
        "Cap table as of 2025-06-11",
        "Cap table as of 2025-06-12",
        "Executive roster as of 2025-06-11",
        "Executive roster as of 2025-06-12",
        "Board as of 2025-06-12",
        f"Known at position {meta_at - 1}: before Meta's investment was recorded",
    ):
        assert sum(title in line for line in lines) == 1, title
    after = text.split("Cap table as of 2025-06-12")[1].split("Executive roster")[0]
    meta = next(line for line in after.splitlines() if line.startswith("meta "))
    assert meta.split()[-2:] == ["49.0000", "0.0000"]  # about 49% economic, no votes
    roster_after = text.split("Executive roster as of 2025-06-12")[1].split("Board as of")[0]
    assert "CEO jason-droege Interim Chief Executive Officer 2025-06-12 interim" in roster_after
    board = text.split("Board as of 2025-06-12")[1].split("Known at position")[0]
    assert "alexandr-wang director" in board
    assert "non-executive" in board
    known = text.split("before Meta's investment was recorded")[1]
    assert f"as of 2025-06-12, known at position {meta_at - 1}" in known
    assert [line for line in known.splitlines() if line.startswith("meta ")] == []


@needs_demo
def test_the_demo_records_into_the_ledger_given_with_db_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/story.db"
    first = Cli(None, tmp_path)("demo", "--db", url)
    assert first.code == 0, first.err
    again = Cli(None, tmp_path)("demo", "--db", url)
    assert again.lines[1] == "scale-ai is already in this ledger: showing it as recorded."
    assert again.out.split("Cap table as of")[1:] == first.out.split("Cap table as of")[1:]
    roster = Cli(url, tmp_path)("roster", "scale-ai", "--as-of", "2025-06-11", "-f", "json")
    officers = roster.json()["officers"]
    assert [(o["person"], o["role"]) for o in officers if o["role"] == "ceo"] == [
        ("alexandr-wang", "ceo")
    ]


def test_several_commands_opening_a_new_sqlite_file_at_once_all_succeed(tmp_path: Path) -> None:
    fresh = Cli(f"sqlite:///{tmp_path}/new.db", tmp_path)
    runs = at_once([partial(fresh, "init") for _ in range(3)])
    assert [(run.code, run.err) for run in runs] == [(0, "")] * 3
    assert fresh("holdings", "nobody", "-f", "json").json()["positions"] == []


JSON_SCHEMA_KEYWORDS = {
    keyword
    for uri in SPECIFICATIONS
    if uri.startswith("https://json-schema.org/draft/2020-12/meta/")
    for keyword in SPECIFICATIONS.contents(uri).get("properties", {})
}
"""The keywords of JSON Schema 2020-12, from its meta-schemas (its vocabularies)."""


@pytest.fixture(scope="module")
def printed_schema(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """What ``corpledger schema`` prints."""
    return Cli(None, tmp_path_factory.mktemp("schema"))("schema").json()


def keywords(schema: Any) -> set[str]:
    """Every keyword a schema uses (the names under ``properties``, ``patternProperties`` and
    ``$defs`` are not)."""
    if isinstance(schema, list):
        return set().union(*map(keywords, schema))
    if not isinstance(schema, dict):
        return set()
    used = set(schema)
    for key, value in schema.items():
        if key in ("properties", "patternProperties", "$defs"):
            used |= set().union(*map(keywords, value.values()))
        else:
            used |= keywords(value)
    return used


def test_the_printed_schema_is_json_schema_2020_12_with_the_bounds(printed_schema: Any) -> None:
    schema = printed_schema
    Draft202012Validator.check_schema(schema)
    assert keywords(schema) - JSON_SCHEMA_KEYWORDS == set()
    issued = schema["$defs"]["SharesIssued"]["properties"]
    assert (issued["shares"], issued["note"]["anyOf"][0]["maxLength"]) == (
        {"exclusiveMinimum": 0, "maximum": 10**15, "title": "Shares", "type": "integer"},
        10_000,
    )


@pytest.mark.parametrize(
    "events", [ACME, resources.files("ledger") / "demo" / "scale-ai.yaml"], ids=["acme", "demo"]
)
def test_the_events_of_real_event_files_validate_against_the_printed_schema(
    printed_schema: Any, events: Any
) -> None:
    validator = Draft202012Validator(printed_schema)
    items = [item.value() for item in read_items(str(events))]
    assert [list(validator.iter_errors(items)), len(items) > 10] == [[], True]


@pytest.mark.parametrize(
    "event",
    [
        {"shares": 10**15 + 1},
        {"shares": "100"},
        {"shares": True},
        {"price_per_share": "1 usd"},
        {"price_per_share": {"amount": -1, "currency": "USD"}},
        {"note": "a\u0000b"},
        {"holder": "x" * 101},
    ],
    ids=["too many", "a string", "a boolean", "lower-case currency", "negative", "NUL", "long"],
)
def test_the_printed_schema_refuses_what_the_ledger_refuses(
    printed_schema: Any, event: dict[str, Any]
) -> None:
    issued = {
        "type": "SharesIssued",
        "company": "acme-rockets",
        "holder": "ana",
        "share_class": "common",
        "shares": 10**15,
        "effective_date": "2020-01-01",
    }
    validator = Draft202012Validator(printed_schema)
    assert (validator.is_valid([issued]), validator.is_valid([{**issued, **event}])) == (
        True,
        False,
    )
