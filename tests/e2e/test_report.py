"""``corpledger report``: one self-contained HTML file of a company's view, on both engines;
bad input refused in one line. (The file in a browser: test_report_browser.py.)"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ledger import Ledger
from ledger.cli import demo_events, is_meta_investment, run
from ledger.files import read_items
from tests.e2e.conftest import Cli, assert_refused

HOSTILE: dict[str, Any] = {
    "type": "StakeholderRecorded",
    "company": "scale-ai",
    "effective_date": "2016-01-01",
    "party": "lucy-guo",
    "name": "<script>window.hacked=1</script>Lucy Guo",
    "kind": "individual",
    "note": '<img src=x onerror="window.hacked=2"><!-- a note',
    "source": "</script><script>window.hacked=3</script>",
}
"""A back-dated record whose every text is hostile markup."""


def record_demo(ledger: Ledger) -> None:
    """The Scale AI story as ``corpledger demo`` records it: two batches, the second from
    Meta's investment on."""
    items = list(read_items(str(demo_events())))
    split = next(n for n, item in enumerate(items) if is_meta_investment(item.data))
    ledger.record(items[:split], actor="corpledger-demo")
    ledger.record(items[split:], actor="corpledger-demo")


def embedded(page: str) -> Any:
    found = re.search(r'<script type="application/json" id="view-data">(.*?)</script>', page, re.S)
    assert found is not None
    return json.loads(found.group(1))


def test_report_writes_one_file_with_every_step_and_no_outside_load(engine_cli: Cli) -> None:
    assert engine_cli.url is not None
    with Ledger.open(engine_cli.url) as ledger:
        record_demo(ledger)
    done = engine_cli("report", "scale-ai", "--out", "scale.html", "--as-of", "2024-06-01")
    assert (done.code, done.err) == (0, ""), done.err
    assert re.fullmatch(r"wrote scale\.html \(\d+\.\d MB\)\n", done.out)
    page = (engine_cli.cwd / "scale.html").read_text(encoding="utf-8")
    view = embedded(page)
    assert view["dates"][view["start"]["date"]] == "2024-06-01"
    assert [r["position"] for r in view["recordings"]] == list(range(1, 23))
    assert view["start"]["known"] == 21
    assert len(view["snapshots"]) == 22  # one per event: recorded in date order
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", page)
    assert "Plotly" in page


def test_report_refuses_bad_input_in_one_line(
    cli: Cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.url is not None
    with Ledger.open(cli.url) as ledger:
        record_demo(ledger)
    out = str(tmp_path / "r.html")
    for args, message in [
        (["nobody", "--out", out], f"unknown company 'nobody' in {cli.url}"),
        (["scale-ai", "--out", out, "--known-at", "99"],
         "--known-at 99 is past the end of the log (last position 22)"),
        (["scale-ai", "--out", out, "--as-of", "2024-13-01"],
         "--as-of '2024-13-01' is not a valid date: month must be in 1..12"),
        (["scale-ai", "--out", str(tmp_path / "missing" / "r.html")],
         f"--out {tmp_path}/missing/r.html: cannot write it: No such file or directory"),
    ]:  # fmt: skip
        assert run(["--db", cli.url, "report", *args]) == 2
        assert capsys.readouterr() == ("", f"error: {message}\n")
    assert not (tmp_path / "r.html").exists()
    assert_refused(cli("report", "nobody", "--out", out), f"unknown company 'nobody' in {cli.url}")
