"""``corpledger export``: Parquet with the CLI's numbers in typed columns, CSV equal to the
CLI's CSV, JSON Lines of the event log equal to the feed, manifests whose checksums verify,
and refusals that write nothing. Mostly the command line run in this process (``run``), on
one SQLite ledger of the module; one run as a subprocess per engine."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ledger import Ledger
from ledger.cli import run
from ledger.exports import EVENT_COLUMNS, QUERIES, column_type
from ledger.feed import Feed
from tests.e2e.conftest import ACME, Cli, prepare
from tests.e2e.test_examples import SEED_STAGE

AS_OF = "2024-01-01"
COMPANIES = ["acme-rockets", "lumen-robotics"]
TABLES = ("cap_table", "grants", "roster", "board")


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """acme-rockets, the seed-stage example (grants, warrants, convertibles) and a company
    named events."""
    home = tmp_path_factory.mktemp("export")
    cli = prepare(Cli(f"sqlite:///{home}/ledger.db", home), str(ACME), *map(str, SEED_STAGE))
    prepare(cli, str(home / cli.write("events.yaml", EVENTS_COMPANY)))
    return str(cli.url)


EVENTS_COMPANY = """\
- {type: CompanyRegistered, company: events, name: Events Inc, effective_date: 2020-01-01}
- {type: ShareClassCreated, company: events, share_class: common, name: Common,
   kind: common, effective_date: 2020-01-01}
- {type: SharesIssued, company: events, holder: eve, share_class: common, shares: 10,
   effective_date: 2020-01-01}
"""


def cli_out(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def verified(out: Path) -> dict[str, Any]:
    """The manifest of ``out``, every file's rows and checksum checked against the file."""
    manifest = json.loads((out / "manifest.json").read_text())
    for f in manifest["files"]:
        assert hashlib.sha256((out / f["path"]).read_bytes()).hexdigest() == f["sha256"]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["manifest.json", *(f["path"] for f in manifest["files"])]
    )
    return manifest


@pytest.fixture(scope="module")
def parquet(url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("parquet") / "out"
    args = ["export", *COMPANIES, "--as-of", AS_OF, "-f", "parquet", "--out", str(out)]
    assert run(["--db", url, *args]) == 0
    return out


def test_parquet_holds_the_numbers_of_the_cli_json_in_typed_columns(
    url: str, parquet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = verified(parquet)
    with Ledger.open(url) as ledger:
        known_at = ledger.known_position()
    assert {k: manifest[k] for k in ("kind", "known_at", "as_of", "companies")} == {
        "kind": "companies",
        "known_at": known_at,
        "as_of": AS_OF,
        "companies": COMPANIES,
    }
    tables = {name: pq.read_table(parquet / f"{name}.parquet") for name in TABLES}
    assert [f["rows"] for f in manifest["files"]] == [tables[t].num_rows for t in TABLES]
    for table in tables.values():
        assert not any(pa.types.is_floating(field.type) for field in table.schema)
    cap = tables["cap_table"]
    assert cap.schema.field("shares").type == pa.int64()
    assert cap.schema.field("as_of").type == pa.date32()
    assert cap.schema.field("ownership_percent").type == pa.string()
    assert tables["roster"].schema.field("interim").type == pa.bool_()
    assert tables["grants"].schema.field("expiration_date").type == pa.date32()
    for company in COMPANIES:
        code, out, _ = cli_out(capsys, "--db", url, "cap-table", company, "--as-of", AS_OF,
                               "-f", "json")  # fmt: skip
        assert code == 0
        answer = json.loads(out)
        rows = [r for r in cap.to_pylist() if r["company"] == company]
        assert {r["as_of"] for r in rows} == {date.fromisoformat(AS_OF)}
        by_holder = {
            h["party"]: (h["shares"], h["ownership_percent"], h["fully_diluted_shares"])
            for h in answer["holders"]
        }
        assert {
            r["party"]: (
                r["holder_total_shares"],
                r["ownership_percent"],
                r["fully_diluted_shares"],
            )
            for r in rows
        } == by_holder
        assert sum(r["shares"] for r in rows) == answer["total_shares"]
        code, out, _ = cli_out(capsys, "--db", url, "grants", company, "--as-of", AS_OF,
                               "-f", "json")  # fmt: skip
        expected = [(g["grant"], g["vested"], g["outstanding"]) for g in json.loads(out)["grants"]]
        found = [
            (r["grant"], r["vested"], r["outstanding"])
            for r in tables["grants"].to_pylist()
            if r["company"] == company
        ]
        assert found == expected
    assert tables["grants"].num_rows > 0
    assert tables["board"].num_rows > 0


def test_csv_files_are_the_cli_csv_of_each_query(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "csv"
    code, said, err = cli_out(capsys, "--db", url, "export", "lumen-robotics", "--as-of", AS_OF,
                              "--format", "csv", "--out", str(out))  # fmt: skip
    assert (code, err) == (0, "")
    assert said.splitlines()[0] == f"{out}/cap_table.csv: {verified(out)['files'][0]['rows']} rows"
    for name in TABLES:
        command = name.replace("_", "-")
        code, expected, _ = cli_out(capsys, "--db", url, command, "lumen-robotics",
                                    "--as-of", AS_OF, "-f", "csv")  # fmt: skip
        assert (out / f"{name}.csv").read_text() == expected


def test_events_export_is_the_feed(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Ledger.open(url) as ledger:
        feed = [e.model_dump(mode="json") for e in Feed(ledger).events(after=5)]
    assert run(["--db", url, "export", "events", "--after", "5", "-f", "jsonl",
                "--out", str(tmp_path / "j")]) == 0  # fmt: skip
    text = (tmp_path / "j" / "events.jsonl").read_text()
    assert [json.loads(line) for line in text.splitlines()] == feed
    capsys.readouterr()
    assert cli_out(capsys, "--db", url, "events", "--after", "5") == (0, text, "")
    manifest = verified(tmp_path / "j")
    assert (manifest["kind"], manifest["after"], manifest["as_of"]) == ("events", 5, None)
    assert run(["--db", url, "export", "events", "--company", "events", "-f", "parquet",
                "--out", str(tmp_path / "p")]) == 0  # fmt: skip
    table = pq.read_table(tmp_path / "p" / "events.parquet")
    assert table.schema.field("recorded_at").type == pa.timestamp("us", tz="UTC")
    assert table.column("company").to_pylist() == ["events"] * 3
    rows = table.to_pylist()
    assert [json.loads(r["data"])["type"] for r in rows] == [
        e["type"] for e in feed if e["company"] == "events"
    ]


def test_a_company_named_events_is_exported_with_the_company_option(
    url: str, tmp_path: Path
) -> None:
    out = tmp_path / "e"
    assert run(["--db", url, "export", "--company", "events", "--as-of", AS_OF, "-f", "jsonl",
                "--out", str(out)]) == 0  # fmt: skip
    (row,) = [json.loads(x) for x in (out / "cap_table.jsonl").read_text().splitlines()]
    assert (row["company"], row["party"], row["shares"]) == ("events", "eve", 10)
    assert (out / "grants.jsonl").read_text() == ""
    assert [f["rows"] for f in verified(out)["files"]] == [1, 0, 0, 0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody", "--as-of", AS_OF, "-f", "csv"], "unknown company 'nobody' in "),
        (["acme-rockets", "--as-of", "2024-13-01", "-f", "csv"], "--as-of '2024-13-01' is not"),
        (["acme-rockets", "-f", "csv"], "export of companies needs --as-of DATE"),
        (["--all", "acme-rockets", "--as-of", AS_OF, "-f", "csv"], "export needs COMPANY"),
        (["acme-rockets", "--as-of", AS_OF, "-f", "csv", "--after", "3"], "--after does not"),
        (["events", "-f", "csv"], "export events needs --format parquet|jsonl"),
        (["events", "-f", "jsonl", "--as-of", AS_OF], "--as-of does not apply to export events"),
        (["events", "-f", "jsonl", "--company", "nobody"], "unknown company 'nobody' in "),
        (["acme-rockets", "--as-of", AS_OF, "-f", "xml"], "Invalid value for '--format'"),
        (["acme-rockets", "--as-of", AS_OF, "-f", "csv", "--known-at", "999"], "--known-at 999"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    out = tmp_path / "out"
    code, said, err = cli_out(capsys, "--db", url, "export", *args, "--out", str(out))
    assert (code, said) == (2, "")
    assert err.startswith(f"error: {message}"), err
    assert err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_an_out_that_is_a_file_or_cannot_be_made_is_refused(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("mine")
    for out, message in [
        (tmp_path / "file", f"--out {tmp_path}/file is a file, not a directory"),
        (tmp_path / "no" / "out", f"--out {tmp_path}/no/out: directory {tmp_path}/no does not"),
        (Path("/proc/corpledger"), "--out /proc/corpledger: cannot write in /proc: "),
    ]:
        code, _, err = cli_out(capsys, "--db", url, "export", "events", "-f", "jsonl",
                               "--out", str(out))  # fmt: skip
        assert code == 2
        assert err.startswith(f"error: {message}"), err
    assert [p.name for p in tmp_path.iterdir()] == ["file"]
    assert (tmp_path / "file").read_text() == "mine"


def test_an_export_into_an_existing_directory_replaces_its_files_and_keeps_others(
    url: str, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "events.jsonl").write_text("old")
    assert run(["--db", url, "export", "events", "-f", "jsonl", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert json.loads((tmp_path / "events.jsonl").read_text().splitlines()[0])["position"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "events.jsonl",
        "manifest.json",
        "notes.txt",
    ]


def test_export_as_a_user_runs_it(engine_cli: Cli) -> None:
    prepare(engine_cli, str(ACME))
    done = engine_cli("export", "--all", "--as-of", AS_OF, "-f", "parquet", "--out", "x")
    assert done.code == 0, done.err
    manifest = verified(engine_cli.cwd / "x")
    assert manifest["companies"] == ["acme-rockets"]
    cap = pq.read_table(engine_cli.cwd / "x" / "cap_table.parquet").to_pylist()
    with Ledger.open(str(engine_cli.url)) as ledger:
        answer = ledger.cap_table("acme-rockets", as_of=date.fromisoformat(AS_OF))
    assert sum(r["shares"] for r in cap) == answer.total_shares


def test_docs_exports_lists_every_column_of_every_file_with_its_type() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "exports.md").read_text()
    files = {name: report.csv_columns for name, (report, _) in QUERIES.items()}
    files["events"] = EVENT_COLUMNS
    for name, columns in files.items():
        section = doc.split(f"### `{name}`", 1)[1].split("\n### ", 1)[0]
        documented = {
            column: kind.strip()
            for cells, kind in re.findall(r"\| ((?:`\w+`(?:, )?)+) \| (\w+)", section)
            for column in re.findall(r"`(\w+)`", cells)
        }
        assert documented == {c: column_type(c) for c in columns}, name


def test_export_ocf_writes_a_package_that_imports_back_to_the_same_cap_table(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ocf"
    code, printed, err = cli_out(
        capsys, "--db", url, "export", "ocf", "lumen-robotics", "--as-of", AS_OF, "--out", str(out)
    )
    assert (code, err) == (0, ""), err
    assert printed.splitlines()[0] == f"{out / 'Manifest.ocf.json'}: 1 row"
    assert json.loads((out / "Manifest.ocf.json").read_text())["as_of"] == AS_OF
    code, _, err = cli_out(
        capsys, "--db", url, "import", "ocf", str(out), "--company", "lumen-again"
    )
    assert (code, err) == (0, ""), err
    with Ledger.open(url) as ledger:
        day = date.fromisoformat(AS_OF)
        before, after = (ledger.cap_table(c, as_of=day) for c in ("lumen-robotics", "lumen-again"))
    assert after.model_dump(exclude={"company", "known_at", "valuation"}) == before.model_dump(
        exclude={"company", "known_at", "valuation"}
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["acme-rockets", "lumen-robotics"], "export ocf takes one company"),
        (["lumen-robotics", "--format", "csv"], "--format does not apply to export ocf"),
        (["nobody"], "unknown company 'nobody'"),
    ],
)
def test_export_ocf_refuses_in_one_line(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    out = tmp_path / "ocf"
    code, printed, err = cli_out(capsys, "--db", url, "export", "ocf", *args, "--out", str(out))
    assert (code, printed) == (2, "")
    assert err.startswith(f"error: {message}"), err
    assert err.count("\n") == 1, err
    assert not out.exists()
