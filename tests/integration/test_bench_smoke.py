"""``python -m bench --quick`` runs end to end on SQLite and writes its report where told,
never over the recorded ``bench/RESULTS.md``. A smoke test: no figure is asserted (speed is
measured by ``make bench``, never by a timed test)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECORDED = ROOT / "bench" / "RESULTS.md"


def _fingerprint(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


@pytest.mark.slow
def test_quick_bench_on_sqlite_reports_every_section_into_the_given_output(
    tmp_path: Path,
) -> None:
    output = tmp_path / "RESULTS.md"
    recorded_before = _fingerprint(RECORDED)
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--engines", "sqlite", "--output", output],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,  # every section too, the browser's included
        check=False,
    )
    assert done.returncode == 0, done.stderr
    text = output.read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    targets = re.findall(r"^\| (.+?) \| SQLite \| .+ \| \*\*(met|not met)\*\* \|$", text, re.M)
    assert (headings, [t[0] for t in targets], _fingerprint(RECORDED)) == (
        [
            "Machine and versions",
            "Workload",
            "Targets of issue 2",
            "Targets of issue 4 (the hash chain)",
            "Targets of issue 5 (the bulk path)",
            "Targets of issue 15 (speed as users feel it)",
            "Recording throughput (events/s; median of the runs, a fresh database each)",
            "Cap-table latency, single company (ms)",
            "The large file through `corpledger record`",
            "Reading the log back and folding it (events/s; median of the runs)",
            "One event at a time (ms)",
            "The hash chain's cost (events/s; median of the runs)",
            "Targets of issue 3 (read models)",
            "Read-model rebuild (events/s; median of the runs)",
            "Cap-table latency of a 1,000-holder company from the read models (ms)",
            "Peak memory of a full rebuild",
            "Where the time goes: cProfile of one SQLite API run",
            "Targets of issue 11 (equity instruments)",
            "Cap table and grants of a company with 1,000 holders and 1,000 grants (ms)",
            "Start-up of a command (issue 15)",
            "The HTTP API (issue 13)",
            "The change feed (issue 13)",
            "The company page and the report (issue 14)",
            "OCF import (issue 12)",
            "Recording onto companies already recorded",
            "A log with late facts",
        ],
        [
            "100k API ≥ 15% of raw sqlite3 executemany",
            "single-company rate ≥ 0.5 × multi-company rate",
            "cap-table p50 ≤ 50 ms",
            "hash chain and triggers cost ≤ 15% of recording",
            "10,000 events by `corpledger record` ≥ 40% of raw executemany",
            "100,000 events: rate within 20% of the multi-company file's",
            "100,000 events: peak memory ≤ 1024 MB",
            "read back in order and fold ≥ 200,000 events/s",
            "one event through the API, p50 ≤ 5 ms (`project=False`)",
            "one event through the API, p50 ≤ 5 ms (read models brought up to date)",
            "`corpledger record` of 10,000 events, read models current, ≥ 0.25 of raw "
            "executemany",
            "`corpledger record --no-project` of 10,000 events ≥ 0.6 of raw executemany",
            "`projections rebuild` of 10,000 events ≥ 0.4 of raw select + decode",
            "peak memory of a 100,000-event rebuild < 300 MB",
            "cap table of 1,000 holders, warm API, 20,000 events stored: p50 ≤ 2 ms, p99 ≤ 10 ms",
            "cap table of 1,000 holders, warm API, 100,000 events stored: p50 ≤ 2 ms, "
            "p99 ≤ 10 ms",
            "rebuild of 10,000 events ≥ 50,000 events/s",
            "cap-table p50 ≤ 5 ms, 1,000 holders, 20,000 events stored",
            "cap-table p50 ≤ 5 ms, 1,000 holders, 100,000 events stored",
            "p50 with 100,000 within 1.5× of 20,000",
            "peak memory of a 100,000-event rebuild ≤ 500 MB",
            "cap-table p50 with 1,000 grants within 1.5× of without "
            "(1,000 holders, 21,335 events stored)",
            "GET cap-table p50 ≤ 10.00 ms",
            "GET cap-table p99 ≤ 50.00 ms",
            "GET cap-table p50 ≤ 3× in-process",
            "POST of 1,000-event batches ≥ 0.5× Ledger.record",
            "GET /v1/events, pages of 1,000 ≥ 0.5× feed, pages of 1,000 in-process",
            "OCF import rate ≥ 0.25× reading + json.loads of the same files (5,000 transactions)",
        ],
        recorded_before,
    )
    assert "| SQLite | multi-company | 10,000 |" in text
    assert "| SQLite | single company | 2,000 |" in text
    assert "--quick" in text


@pytest.mark.slow
def test_instruments_section_alone_compares_two_checkouts_and_replaces_only_itself(
    tmp_path: Path,
) -> None:
    """``python -m bench.instruments --compare-with`` this very checkout: both sides run the
    child script with their own interpreter; the section replaces its old self at the end of
    the output and keeps what comes before it."""
    output = tmp_path / "RESULTS.md"
    output.write_text(
        "# results\n\n## Earlier\n\nkept\n\n## Targets of issue 11 (equity instruments)\n\nold\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.instruments",
            "--quick",
            "--engines",
            "sqlite",
            "--repeat",
            "1",
            "--compare-with",
            str(ROOT),
            "--output",
            output,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    text = output.read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    targets = re.findall(r"^\| (.+?) \| SQLite \| .+ \| \*\*(?:met|not met)\*\* \|$", text, re.M)
    assert (text.startswith("# results\n\n## Earlier\n\nkept\n"), "\nold\n" in text) == (
        True,
        False,
    )
    assert (headings, targets) == (
        [
            "Earlier",
            "Targets of issue 11 (equity instruments)",
            "Cap table and grants of a company with 1,000 holders and 1,000 grants (ms)",
            "Recording and rebuilding, before issue 11 and now (events/s; median of the runs)",
        ],
        [
            "cap-table p50 with 1,000 grants within 1.5× of without "
            "(1,000 holders, 21,335 events stored)",
            "recording of the 10,000-event file ≤ 15% slower than before issue 11",
            "rebuild of the 10,000-event file ≤ 15% slower than before issue 11",
        ],
    )


@pytest.mark.slow
def test_feed_bench_prints_its_section_and_writes_no_file() -> None:
    recorded_before = _fingerprint(RECORDED)
    done = subprocess.run(
        [sys.executable, "-m", "bench.feed", "--quick", "--engines", "sqlite", "--repeat", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = re.findall(r"^\| (.+?) \| [\d,.]+ \|$", done.stdout, flags=re.MULTILINE)
    assert (done.stdout.startswith("## The change feed\n"), rows, _fingerprint(RECORDED)) == (
        True,
        [
            "feed, pages of 100",
            "EventLog.whole_log + decode",
            "EventLog.events_after pages of 1,000 + decode",
            "raw driver: select + json.loads",
            "feed, pages of 1,000",
            "GET /v1/events, pages of 1,000",
            "GET /v1/events, pages of 10,000",
            "GET /v1/events/stream (SSE)",
            "`corpledger events` > /dev/null",
            "record call start → wait_for returns, p50",
            "the same, max",
            "record call alone, p50",
        ],
        recorded_before,
    )


@pytest.mark.slow
def test_quick_http_bench_prints_its_section_and_writes_no_file() -> None:
    recorded_before = _fingerprint(RECORDED)
    done = subprocess.run(
        [sys.executable, "-m", "bench.http", "--quick", "--engines", "sqlite", "--workers", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = re.findall(r"^\| (.+?) \| SQLite \| .+ \|$", done.stdout, flags=re.MULTILINE)
    assert (done.stdout.startswith("## The HTTP API\n"), rows, _fingerprint(RECORDED)) == (
        True,
        [
            "GET cap-table p50 ≤ 10.00 ms",
            "GET cap-table p99 ≤ 50.00 ms",
            "GET cap-table p50 ≤ 3× in-process",
            "GET cap-table p50 / p99, each client asking the set again (no target)",
            "GET cap-table p50, one client, warm, beside in-process (no target)",
            "POST of 1,000-event batches ≥ 0.5× Ledger.record",
        ],
        recorded_before,
    )
