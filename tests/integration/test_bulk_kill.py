"""A process killed (SIGKILL) in the middle of a long batch leaves nothing of it stored.

The child records a stream of events in chunks of 50 (the streaming path: every chunk is
written inside one open append transaction); once it has written several chunks it says so
and waits, and is killed there. Afterwards the log is exactly what it was, its chain intact,
and the store takes the same batch again (the lock died with the process)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger import Ledger, StoreError
from ledger.integrity import verify_chain
from tests import builders as b

CHILD = """
import json, sys, time
from pathlib import Path
import ledger.app
from ledger import Ledger

ledger.app.CHUNK = 50
url, marker, events = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])

def stream():
    for number, event in enumerate(events, start=1):
        if number == 180:  # chunks 1-3 are written: say so, then wait to be killed
            marker.write_text("written")
            time.sleep(120)
        yield event

with Ledger.open(url) as opened:
    opened.record(stream(), project=False)
"""


def batch() -> list[dict[str, object]]:
    return [
        *b.founded("kill-co", "2020-01-01", {"ann": 1_000}),
        *(b.issued("kill-co", f"h{n}", "common", 1, "2021-01-01") for n in range(300)),
    ]


def test_a_batch_killed_while_streaming_leaves_nothing_stored(
    durable_url: str, tmp_path: Path
) -> None:
    url = durable_url
    with Ledger.open(url) as ledger:
        ledger.record(b.founded("other", "2020-01-01", {"bo": 5}), project=False)
        before = ledger.known_position()
    marker = tmp_path / "written"
    child = subprocess.Popen([sys.executable, "-c", CHILD, url, str(marker), json.dumps(batch())])
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None, "the child ended before it was killed"
            assert time.monotonic() < deadline, "the child never got to its third chunk"
            time.sleep(0.05)
        with Ledger.open(url) as ledger:
            # Written, but not committed: nobody sees any of it.
            assert ledger.known_position() == before
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    with Ledger.open(url) as ledger:
        assert ledger.known_position() == before
        assert ledger.store.log.companies() == ["other"]
        assert verify_chain(ledger).intact
        result = ledger.record(batch(), project=False)
        # Contiguous, after the last position (PostgreSQL may skip the numbers the killed
        # transaction drew from its sequence: positions only grow).
        positions = [r.position or 0 for r in result.recorded]
        assert positions == list(range(positions[0], positions[0] + len(batch())))
        assert positions[0] > before
        assert verify_chain(ledger).intact


def writer_processes() -> list[int]:
    """The SQLite writer processes (``ledger.persistence.sqlite_writer``) of this process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and b"sqlite_writer.py" in command:
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_a_writer_process_killed_mid_batch_fails_the_batch_and_stores_nothing(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long SQLite batch inserts through a writer process of its own. If that process
    dies, the batch fails with a clear error, nothing of it is stored, and the store takes
    the batch again."""
    monkeypatch.setattr("ledger.app.CHUNK", 50)
    killed: list[int] = []

    def stream() -> Iterator[dict[str, object]]:
        for number, event in enumerate(batch(), start=1):
            if number == 180:
                killed.extend(writer_processes())
                for pid in killed:
                    os.kill(pid, signal.SIGKILL)
            yield event

    with Ledger.open(sqlite_url) as ledger:
        ledger.record(b.founded("other", "2020-01-01", {"bo": 5}), project=False)
        before = ledger.known_position()
        with pytest.raises(StoreError, match="writer process ended unexpectedly"):
            ledger.record(stream(), project=False)
        assert len(killed) == 1
        assert ledger.known_position() == before
        assert ledger.store.log.companies() == ["other"]
        assert writer_processes() == []
        assert len(ledger.record(batch(), project=False).recorded) == len(batch())
        assert verify_chain(ledger).intact
        assert writer_processes() == []  # each batch's process ends with it


def test_a_writer_process_that_cannot_start_fails_the_batch_and_stores_nothing(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ledger.app.CHUNK", 50)
    monkeypatch.setattr("sys.executable", "/nonexistent/python")
    with Ledger.open(sqlite_url) as ledger:
        ledger.record(b.founded("other", "2020-01-01", {"bo": 5}), project=False)
        before = ledger.known_position()
        with pytest.raises(StoreError, match="cannot start the SQLite writer process"):
            ledger.record(batch(), project=False)
        assert ledger.known_position() == before
        assert ledger.store.log.companies() == ["other"]
