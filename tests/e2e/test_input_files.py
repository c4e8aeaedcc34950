"""Event files as spreadsheet tools and other systems write them, recorded at the command line
on SQLite and PostgreSQL: UTF-8 with a byte-order mark and CRLF line ends are recorded; a
UTF-16 file, a line nested 100,000 deep, a YAML duplicate key and a YAML alias bomb are each
refused with one line, exit 2, and leave the ledger as it was."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pytest

from ledger.files import read_items

from .conftest import ACME, ACME_EVENTS, LATER, Cli, assert_refused, at_once, prepare

BOM = "\ufeff"
SALE = (
    '{"type": "SharesTransferred", "company": "acme-rockets", "from": "ben", "to": "carol", '
    '"share_class": "common", "shares": 1500000, "effective_date": "2022-01-01"}'
)
ISSUE = (
    "- type: SharesIssued\n  company: acme-rockets\n  holder: dan\n  share_class: common\n"
    "  shares: 10\n  effective_date: 2022-01-01\n"
)


@pytest.fixture
def ledger(durable_url: str, tmp_path: Path) -> Cli:
    """The command line on a fresh ledger, SQLite or PostgreSQL."""
    return Cli(durable_url, tmp_path)


def write_bytes(cli: Cli, name: str, content: bytes) -> str:
    (cli.cwd / name).write_bytes(content)
    return name


def test_a_json_file_with_a_bom_and_a_yaml_file_with_crlf_line_ends_record(ledger: Cli) -> None:
    acme = [item.data for item in read_items(str(ACME))]
    as_json = write_bytes(ledger, "acme.json", (BOM + json.dumps(acme, indent=2)).encode("utf-8"))
    later = write_bytes(ledger, "later.yaml", LATER.replace("\n", "\r\n").encode("utf-8"))
    run = ledger("record", as_json, later)
    assert (run.code, run.err) == (0, "")
    assert run.lines[0] == f"recorded {ACME_EVENTS + 2} events for acme-rockets (positions 1-13)"
    holdings = ledger("holdings", "carol", "--format", "json").json()["positions"]
    assert [(p["company"], p["classes"]) for p in holdings] == [
        ("acme-rockets", {"common": 1500000})
    ]


def test_standard_input_with_a_bom_and_crlf_line_ends_records(ledger: Cli) -> None:
    prepare(ledger, str(ACME))
    run = ledger("record", "-", "--input-format", "jsonl", stdin=f"{BOM}{SALE}\r\n\r\n")
    assert (run.code, run.err) == (0, "")
    assert run.lines[0] == "recorded 1 event for acme-rockets (position 12)"


CASES = [
    pytest.param(
        "utf16.yaml",
        ISSUE.encode("utf-16"),
        "utf16.yaml: is UTF-16; save it as UTF-8",
        id="a UTF-16 file",
    ),
    pytest.param(
        "deep.jsonl",
        (SALE + "\n" + "[" * 100_000 + "]" * 100_000 + "\n").encode(),
        "deep.jsonl line 2: nested more than 64 levels deep",
        id="a JSON Lines line nested 100,000 deep",
    ),
    pytest.param(
        "twice.yaml",
        (ISSUE + "  shares: 10000\n").encode(),
        "twice.yaml line 7: duplicate key 'shares' (first on line 5)",
        id="a YAML duplicate key",
    ),
    pytest.param(
        "bomb.yaml",
        (
            'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
            + "".join(
                f"{b}: &{b} [{','.join(['*' + a] * 9)}]\n"
                for a, b in zip("abcdefgh", "bcdefghi", strict=True)
            )
        ).encode(),
        "bomb.yaml line 2: YAML alias *a is not accepted in event files: write the value out",
        id="a YAML alias bomb",
    ),
]


@pytest.mark.parametrize(("name", "content", "expected"), CASES)
def test_a_file_that_is_unsafe_to_read_is_refused_with_one_line_and_nothing_is_stored(
    ledger: Cli, name: str, content: bytes, expected: str
) -> None:
    prepare(ledger, str(ACME))
    before = ledger("history", "acme-rockets", "--format", "json").json()["events"]
    assert_refused(ledger("record", write_bytes(ledger, name, content)), expected)
    verified, history = at_once(
        [
            partial(ledger, "verify"),
            partial(ledger, "history", "acme-rockets", "--format", "json"),
        ]
    )
    assert (verified.code, verified.err) == (0, "")
    assert verified.out.startswith(f"{ACME_EVENTS} events, chain intact, head ")
    assert history.json()["events"] == before
