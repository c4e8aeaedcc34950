"""Recording event files at the command line: the three formats and standard input, one
atomic batch for several files, dry runs, the actor, CORPLEDGER_DB, external_id no-ops and
the progress bar."""

from __future__ import annotations

import getpass
import json
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ledger import Ledger
from ledger.persistence.schema import HEAD

from .conftest import ACME, ACME_EVENTS, Cli, assert_refused, at_once, clean_env, pattern

ISSUE = {
    "type": "SharesIssued",
    "company": "acme-rockets",
    "holder": "dan",
    "share_class": "common",
    "shares": 10,
    "effective_date": "2022-01-01",
}


def acme_events(company: str) -> list[dict[str, Any]]:
    """The acme-rockets scenario as plain JSON-ready dicts, for another company slug."""
    events = yaml.load(ACME.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    for event in events:
        event["company"] = company
        for key in ("shares", "votes_per_share"):
            if key in event:
                event[key] = int(event[key])
    return list(events)


def as_yaml(events: list[dict[str, Any]]) -> str:
    return yaml.safe_dump(events, sort_keys=False)


def test_yaml_json_and_json_lines_files_record_the_same_events_in_one_batch(cli: Cli) -> None:
    cli.write("a.json", json.dumps(acme_events("acme-json")))
    cli.write("a.jsonl", "".join(json.dumps(e) + "\n" for e in acme_events("acme-jsonl")))
    run = cli("record", str(ACME), "a.json", "a.jsonl")
    assert (run.code, run.out, run.err) == (
        0,
        "recorded 33 events for acme-rockets, acme-json, acme-jsonl (positions 1-33)\n"
        "event ids: corpledger history COMPANY (or --format json) lists them\n",
        "",
    )
    tables = at_once(
        [
            lambda c=company: cli("cap-table", c, "--as-of", "2020-12-31", "--format", "json")
            for company in ("acme-rockets", "acme-json", "acme-jsonl")
        ]
    )
    answers = [{**t.json(), "company": None} for t in tables]
    assert answers[0] == answers[1] == answers[2]
    assert answers[0]["total_shares"] == 12_500_000


@pytest.mark.parametrize(
    ("fmt", "text"),
    [
        pytest.param("json", json.dumps([ISSUE]), id="json"),
        pytest.param("jsonl", json.dumps(ISSUE) + "\n", id="jsonl"),
    ],
)
def test_standard_input_is_read_in_the_format_given(acme: Cli, fmt: str, text: str) -> None:
    run = acme("record", "-", "--input-format", fmt, stdin=text)
    assert run.code == 0
    assert re.fullmatch(
        pattern(
            "recorded 1 event for acme-rockets (position 12)\n"
            "  position 12: SharesIssued acme-rockets 2022-01-01 event {uuid}\n"
        ),
        run.out,
    ), run.out
    assert acme.stored() == ACME_EVENTS + 1


def test_several_files_are_one_atomic_batch_in_file_order(acme: Cli) -> None:
    first = acme.write("first.yaml", as_yaml([ISSUE]))
    sale = {**ISSUE, "type": "SharesTransferred", "to": "eve", "shares": 4}
    sale["from"] = sale.pop("holder")
    second = acme.write("second.json", json.dumps([sale]))
    run = acme("record", first, second)
    assert run.code == 0
    assert re.fullmatch(
        pattern(
            "recorded 2 events for acme-rockets (positions 12-13)\n"
            "  position 12: SharesIssued acme-rockets 2022-01-01 event {uuid}\n"
            "  position 13: SharesTransferred acme-rockets 2022-01-01 event {uuid}\n"
        ),
        run.out,
    ), run.out
    # The transfer in the second file needs the issuance of the first: one batch, in order.
    events = acme("history", "acme-rockets", "--format", "json").json()["events"]
    assert [(e["position"], e["type"]) for e in events[-2:]] == [
        (12, "SharesIssued"),
        (13, "SharesTransferred"),
    ]


def test_a_batch_refused_by_its_second_file_stores_its_first_file_neither(acme: Cli) -> None:
    first = acme.write("first.yaml", as_yaml([ISSUE]))
    second = acme.write("second.yaml", as_yaml([{**ISSUE, "shares": -1}]))
    run = acme("record", first, second)
    assert_refused(
        run, "second.yaml item 1: field 'shares': Input should be greater than 0 (got -1)"
    )
    assert acme.stored() == ACME_EVENTS


def test_a_dry_run_checks_everything_and_stores_nothing(cli: Cli) -> None:
    run = cli("record", "--dry-run", str(ACME))
    assert (run.code, run.out, run.err) == (0, "dry run: 11 events valid, nothing stored\n", "")
    assert cli.stored() == 0
    assert_refused(cli("history", "acme-rockets"), f"unknown company 'acme-rockets' in {cli.url}")


def test_the_actor_is_the_option_else_the_environment_else_the_system_user(cli: Cli) -> None:
    slugs = ("by-option", "by-env", "by-user")
    files = [cli.write(f"{slug}.json", json.dumps(acme_events(slug)[:1])) for slug in slugs]
    runs = at_once(
        [
            lambda: cli("record", files[0], "--actor", "alice", CORPLEDGER_ACTOR="bob"),
            lambda: cli("record", files[1], CORPLEDGER_ACTOR="bob"),
            lambda: cli("record", files[2], CORPLEDGER_ACTOR=""),
        ]
    )
    assert [run.code for run in runs] == [0, 0, 0]
    assert cli.url is not None
    with Ledger.open(cli.url) as opened:
        trail = [opened.history(slug).events[0].recorded_by for slug in slugs]
    assert trail == ["alice", "bob", getpass.getuser()]


def test_corpledger_db_names_the_ledger_when_no_db_option_is_given(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/from-env.db"
    user = Cli(None, tmp_path, {"CORPLEDGER_DB": url})
    assert user("record", str(ACME)).code == 0
    assert (tmp_path / "from-env.db").is_file()
    assert not (tmp_path / "corpledger.db").exists()
    assert Cli(url, tmp_path).stored() == ACME_EVENTS


def test_without_db_option_or_environment_the_ledger_is_corpledger_db_here(
    tmp_path: Path,
) -> None:
    run = Cli(None, tmp_path)("init")
    assert run.out.splitlines()[0] == f"created the ledger schema (revision {HEAD}) at " + (
        "sqlite:///corpledger.db"
    )
    assert (tmp_path / "corpledger.db").is_file()


def test_an_external_id_already_recorded_is_a_reported_no_op(acme: Cli) -> None:
    keyed = acme.write("keyed.yaml", as_yaml([{**ISSUE, "external_id": "issue-42"}]))
    first = acme("record", keyed).out
    event_id = acme("history", "acme-rockets", "--format", "json").json()["events"][-1]["event_id"]
    assert first == (
        "recorded 1 event for acme-rockets (position 12)\n"
        f"  position 12: SharesIssued acme-rockets 2022-01-01 event {event_id} "
        "(external_id issue-42)\n"
    )
    again = acme("record", keyed)
    assert (again.code, again.err) == (0, "")
    assert again.out.splitlines() == [
        "1 event already recorded (same external_id, same content; nothing new stored):",
        f"  keyed.yaml item 1: acme-rockets external_id 'issue-42' is event {event_id}",
    ]
    assert acme.stored() == ACME_EVENTS + 1


def test_an_external_id_with_different_content_is_refused(acme: Cli) -> None:
    keyed = acme.write("keyed.yaml", as_yaml([{**ISSUE, "external_id": "issue-42"}]))
    assert acme("record", keyed).code == 0
    changed = acme.write(
        "changed.yaml", as_yaml([{**ISSUE, "external_id": "issue-42", "shares": 11}])
    )
    assert_refused(
        acme("record", changed),
        "changed.yaml item 1: external_id 'issue-42' of acme-rockets already names a "
        "different event (event {uuid}, SharesIssued of 2022-01-01)",
    )
    assert acme.stored() == ACME_EVENTS + 1


def test_an_empty_file_records_nothing_and_says_so(acme: Cli) -> None:
    run = acme("record", acme.write("empty.yaml", "# nothing yet\n"))
    assert (run.code, run.out) == (0, "nothing to record: the input holds no events\n")


def big_file(path: Path, events: int) -> None:
    head = acme_events("big-co")[:2]
    issue = {**ISSUE, "company": "big-co", "effective_date": "2020-02-01"}
    with path.open("w", encoding="utf-8") as out:
        for event in head + [{**issue, "holder": f"h{n % 40}"} for n in range(events - 2)]:
            out.write(json.dumps(event) + "\n")


def test_a_big_file_shows_no_progress_when_stderr_is_not_a_terminal(cli: Cli) -> None:
    big_file(cli.cwd / "big.jsonl", 2_500)
    run = cli("record", "big.jsonl")
    assert (run.code, run.out, run.err) == (
        0,
        "recorded 2,500 events for big-co (positions 1-2500)\n"
        "event ids: corpledger history big-co (or --format json) lists them\n",
        "",
    )


def test_a_big_file_shows_a_progress_bar_on_a_terminal(cli: Cli) -> None:
    big_file(cli.cwd / "big.jsonl", 2_500)
    master, terminal = pty.openpty()
    assert cli.url is not None
    process = subprocess.Popen(
        [sys.executable, "-m", "ledger", "--db", cli.url, "record", "big.jsonl"],
        cwd=cli.cwd,
        stdout=subprocess.PIPE,
        stderr=terminal,
        env={**clean_env(), "TERM": "xterm-256color"},
    )
    os.close(terminal)
    out, _ = process.communicate(timeout=120)
    shown = b""
    while select.select([master], [], [], 0.5)[0]:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.decode("utf-8", "replace"))
    assert (process.returncode, out) == (
        0,
        b"recorded 2,500 events for big-co (positions 1-2500)\n"
        b"event ids: corpledger history big-co (or --format json) lists them\n",
    )
    assert "checking and storing" in text
    assert re.search(r"\d[\d,]*/2500", text), text
    assert "error" not in text
