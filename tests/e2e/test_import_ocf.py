"""``corpledger import ocf`` as a user runs it: the summary and findings, the JSON contract
printed whatever the exit code, one-line errors for a package that cannot be read."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import Cli

ACME = Path(__file__).parent.parent / "data" / "ocf" / "ocf-tools-acme-holdings-limited"


def test_dry_run_json_lists_the_findings_and_exits_2(cli: Cli) -> None:
    run = cli("import", "ocf", str(ACME), "--dry-run", "--format", "json")
    assert run.code == 2
    body = json.loads(run.out)
    assert set(body) == {"company", "events", "stored", "skipped", "findings"}
    assert (body["company"], body["events"], body["stored"]) == ("acme-holdings-limited", 22, 0)
    assert set(body["findings"][0]) == {"code", "severity", "file", "object_id", "message"}
    assert {"dangling-id", "extinguished-security", "missing-resulting-security"} <= {
        f["code"] for f in body["findings"] if f["severity"] == "error"
    }


def test_skip_invalid_stores_the_rest_and_the_cap_table_follows(cli: Cli) -> None:
    run = cli("import", "ocf", str(ACME), "--skip-invalid", "--actor", "ocf-bot")
    assert run.code == 0, run.err
    assert run.lines[0] == (
        "acme-holdings-limited: 22 events mapped, 0 already recorded; 22 events stored"
    )
    assert run.lines[1] == "findings: 20 error, 11 warning, 0 info"
    assert any(
        line.startswith("error dangling-id Transactions.ocf.json#eci_01: stock_plan_id")
        for line in run.lines
    )
    table = cli("cap-table", "acme-holdings-limited", "--as-of", "2023-06-29", "-f", "json")
    assert table.json()["total_shares"] == 210_000


def test_an_unreadable_package_is_one_line_and_json_says_so(cli: Cli) -> None:
    run = cli("import", "ocf", "no-such-package", "--format", "json")
    assert run.code == 2
    assert not (cli.cwd / "ledger.db").exists()  # refused before a ledger is made at --db
    assert run.err == "error: no-such-package: no such file or directory\n"
    (finding,) = json.loads(run.out)["findings"]
    assert (finding["code"], finding["severity"]) == ("unreadable-package", "error")
    assert cli.stored() == 0
