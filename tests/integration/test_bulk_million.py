"""A file of 1,000,000 events records through ``corpledger record`` with a peak resident set
size of at most 1 GB (``make test-slow``; the rate is measured by ``make bench``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.workload import write_multi
from ledger import Ledger

PEAK_MB = 1024

CHILD = """
import json, sys
from pathlib import Path
from ledger.cli import run
code = run(["--db", sys.argv[1], "record", "--no-project", sys.argv[2]])
peak = next(
    int(line.split()[1]) / 1024
    for line in Path("/proc/self/status").read_text().splitlines()
    if line.startswith("VmHWM:")
)
print(json.dumps({"code": code, "peak_mb": peak}))
"""


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_million_events_record_in_one_batch_within_a_gigabyte(
    durable_url: str, tmp_path: Path
) -> None:
    url = durable_url
    file = write_multi(tmp_path / "million.jsonl", 10_000, 100)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, url, str(file.path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=850,
    )
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    assert measured["code"] == 0, done.stderr
    assert measured["peak_mb"] <= PEAK_MB
    with Ledger.open(url) as ledger:
        assert ledger.known_position() >= 1_000_000
        assert len(ledger.store.log.companies()) == 10_000
