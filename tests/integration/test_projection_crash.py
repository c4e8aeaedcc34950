"""A projection worker killed with SIGKILL in the middle of a batch leaves the tables at its
last committed batch; restarted, it resumes there and ends with the tables an uninterrupted
run makes: no lost row, no duplicate."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ledger import Ledger
from tests import builders as b
from tests.conftest import drop_pg_database, new_pg_database
from tests.contract.test_read_models import tables

ENGINES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]
COMPANIES = 6
EVENTS_PER_COMPANY = 600
BATCH = 400


@pytest.fixture(params=ENGINES)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/crash.db"
        return
    template = request.getfixturevalue("pg_server")
    found = new_pg_database(template)
    yield found
    drop_pg_database(found)


def a_long_history(seed: int = 7) -> list[dict[str, Any]]:
    """Companies with issuances and transfers in date order, and one issuance in ten
    back-dated (an issuance never breaks a later date), so the worker takes both paths."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    start = date(2010, 1, 1)
    for n in range(COMPANIES):
        company = f"co{n:02d}"
        held = {"founder": 1_000_000}
        events += b.founded(company, start, dict(held))
        day = start
        for _ in range(EVENTS_PER_COMPANY - 3):
            day += timedelta(days=rng.randint(0, 2))
            party = f"p{rng.randint(1, 60)}"
            if rng.random() < 0.1:
                back = start + timedelta(days=rng.randint(0, (day - start).days))
                events.append(b.issued(company, party, "common", rng.randint(1, 900), back))
                held[party] = held.get(party, 0) + 1  # at least: it is there from `back` on
            elif rng.random() < 0.5:
                events.append(b.issued(company, party, "common", rng.randint(1, 900), day))
                held[party] = held.get(party, 0) + 1
            else:
                giver = rng.choice(sorted(p for p, n in held.items() if n > 0))
                if giver == party:
                    continue
                events.append(b.transferred(company, giver, party, "common", 1, day))
                held[giver] -= 1
                held[party] = held.get(party, 0) + 1
    return events


def worker(url: str, batch: int = BATCH) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ledger", "--db", url, "projections", "run", "--batch-size",
         str(batch)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CORPLEDGER_ACTOR": "crash-test"},
    )  # fmt: skip


def tracked(ledger: Ledger) -> list[int]:
    with ledger.engine.connect() as conn:
        return [
            int(r[0])
            for r in conn.execute(sa.text("SELECT position FROM projection_tracking")).all()
        ]


def test_a_worker_killed_mid_batch_resumes_and_ends_as_an_uninterrupted_run(url: str) -> None:
    with Ledger.open(url) as ledger:
        ledger.record(a_long_history(), project=False)
        last = ledger.known_position()
    running = worker(url)
    assert running.stdout is not None
    for _ in range(3):  # three batches committed; the fourth is under way
        line = running.stdout.readline()
        assert line.startswith("projected up to position "), running.stderr
    committed = int(line.split()[-1])
    time.sleep(random.uniform(0, 0.03))
    running.send_signal(signal.SIGKILL)
    running.communicate(timeout=30)
    assert running.returncode == -signal.SIGKILL
    with Ledger.open(url) as ledger:
        positions = tracked(ledger)
        assert len(set(positions)) == 1
        at = positions[0]
        assert committed <= at < last
        with ledger.engine.connect() as conn:
            beyond = conn.execute(
                sa.text(
                    "SELECT COUNT(*) FROM cap_table_history WHERE known_from > :p OR known_to > :p"
                ),
                {"p": at},
            ).scalar()
        assert beyond == 0, "nothing of the killed batch is in the tables"
    restarted = worker(url)
    out, err = restarted.communicate(timeout=300)
    assert restarted.returncode == 0, err
    assert out.splitlines()[-1] == f"projections up to date at position {last}"
    with Ledger.open(url) as ledger:
        after_the_crash = tables(ledger)
        read_models = ledger.read_models
        assert read_models is not None
        read_models.rebuild()  # an uninterrupted run from the first event
        assert tables(ledger) == after_the_crash
        assert sum(len(rows) for rows in after_the_crash.values()) > COMPANIES * EVENTS_PER_COMPANY
        assert read_models.verify().startswith(f"read models match the fold: {COMPANIES} companies")


def test_folding_ahead_writes_what_one_batch_at_a_time_writes(url: str) -> None:
    """A catch-up far behind folds ahead of its writes (a SQLite file's are a writer
    process's); a company's first back-dated event sends it back to one batch at a time
    (its rows are read), then ahead again, through the company's later back-dated events
    too. The tables end as a catch-up of one batch at a time leaves them."""
    with Ledger.open(url) as ledger:
        ledger.record(a_long_history(seed=11), project=False)
        read_models: Any = ledger.read_models
        read_models.batch = 50
        assert read_models.pipelined
        assert read_models.catch_up() == ledger.known_position()
        ahead = tables(ledger)
        read_models.pipelined = False
        read_models.rebuild()
        assert tables(ledger) == ahead
        assert read_models.verify().startswith(f"read models match the fold: {COMPANIES} companies")


def test_two_workers_folding_ahead_at_once_write_each_batch_once(url: str) -> None:
    """Two workers far behind fold ahead at the same time: a batch is written only where the
    positions stand as it began, so each finds the other's batches and goes on after them."""
    with Ledger.open(url) as ledger:
        ledger.record(a_long_history(seed=5), project=False)
        last = ledger.known_position()
    running = [worker(url, batch=50) for _ in range(2)]
    ended = [(process, *process.communicate(timeout=300)) for process in running]
    for process, out, err in ended:
        assert process.returncode == 0, err
        assert out.splitlines()[-1] == f"projections up to date at position {last}"
    with Ledger.open(url) as ledger:
        together = tables(ledger)
        read_models: Any = ledger.read_models
        read_models.rebuild()
        assert tables(ledger) == together
        assert read_models.verify().startswith(f"read models match the fold: {COMPANIES} companies")


def test_a_worker_whose_sqlite_writer_process_is_killed_says_so_and_keeps_its_batches(
    tmp_path: Path,
) -> None:
    """A SQLite catch-up folding ahead writes through a process of its own. Killed, it takes
    with it only the batch it was writing: the worker says so in one line (exit 1), the
    tables keep the batches committed before, and the next worker goes on from there."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger.open(url) as ledger:
        ledger.record(a_long_history(), project=False)
        last = ledger.known_position()
    with worker(url, batch=25) as running:  # its pipes closed whatever happens
        assert running.stdout is not None
        assert running.stdout.readline().startswith("projected up to position ")
        found = subprocess.run(
            ["pgrep", "-f", f"sqlite_writer.py {tmp_path / 'ledger.db'}"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        os.kill(int(found.stdout.split()[0]), signal.SIGKILL)
        out, err = running.communicate(timeout=60)
    assert running.returncode == 1
    assert err == "error: the SQLite writer process ended unexpectedly (killed by signal 9)\n"
    with Ledger.open(url) as ledger:
        [at] = set(tracked(ledger))
        assert at < last
    restarted = worker(url)
    out, err = restarted.communicate(timeout=300)
    assert restarted.returncode == 0, err
    assert out.splitlines()[-1] == f"projections up to date at position {last}"
    with Ledger.open(url) as ledger:
        read_models: Any = ledger.read_models
        assert read_models.verify().startswith(f"read models match the fold: {COMPANIES} companies")
