"""A fault matrix: ``corpledger record`` and the read models' commands killed, cut off from
PostgreSQL, on a full disk or a read-only database, on SQLite and on PostgreSQL.

Each fault is hit at a chosen point without a hook in the product: the command runs in a
child Python (``CHILD``) that replaces one function with a wrapper, which at the chosen call
kills the process with SIGKILL (or kills the SQLite writer process, or waits while the test
cuts the connection), then runs ``ledger.cli.run``. Every cell ends the same way
(``recovers``): a command that failed says so in one ``error:`` line with the documented exit
code and no traceback; the batch is in the log whole or not at all; recording the same file
again stores it exactly once (every event has an external_id); the chain is intact before and
``verify`` green after; and ``projections run`` leaves no lag and read models equal to the
fold (each event applied once).

A full disk is a small tmpfs mounted for the test, and a read-only file a read-only bind mount
of it: the tests run as root, who ignores file permissions but not a read-only mount, and the
disk is full the way a real one is (``ENOSPC`` for the ledger and its writer process alike).
Without the right to mount (no CAP_SYS_ADMIN) those cells skip, except under CI=true.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from ledger import Ledger
from ledger.cli import run
from ledger.integrity import verify_chain
from tests import builders as b
from tests.conftest import PG_URL, UNDER_CI
from tests.e2e.conftest import clean_env

CHILD = """
import importlib, json, os, signal, sys, time
from pathlib import Path

spec = json.loads(sys.argv[1])
module, _, path = spec["target"].partition(":")
owner = importlib.import_module(module)
*parents, name = path.split(".")
for parent in parents:
    owner = getattr(owner, parent)
original = getattr(owner, name)
calls = 0

def at_the_point(*args, **kwargs):
    global calls
    calls += 1
    if calls == spec["call"]:
        if spec["action"] == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif spec["action"] == "kill-writer":  # args[0]: the SQLiteWriter
            os.kill(args[0]._process.pid, signal.SIGKILL)
            args[0]._process.wait()
        elif spec["action"] == "pause":  # say so, and wait for the test to do its harm
            marker = Path(spec["marker"])
            marker.write_text("paused")
            while marker.exists():
                time.sleep(0.01)
    return original(*args, **kwargs)

setattr(owner, name, at_the_point)
if spec["chunk"]:
    import ledger.app
    ledger.app.CHUNK = spec["chunk"]
from ledger.cli import run
sys.exit(run(sys.argv[2:]))
"""

APPLICATION = "corpledger-fault-test"
"""The application_name of the commands under test (PGAPPNAME), to find their backends."""

LONG = 25_000
"""Events of a long batch: more than ``ledger.batch.CHUNK``, so it streams through the open
append (on SQLite through the writer process), written chunk after chunk."""


# --- the commands ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


@dataclass(frozen=True)
class Point:
    """Where the child stops: the ``call``-th call of ``target`` (``module:Class.name``)."""

    target: str
    call: int = 1
    action: str = "kill"
    chunk: int | None = None  # ``ledger.app.CHUNK`` in the child, if given


VALIDATING = Point("ledger.app:validate_all")
"""The first chunk of a batch is being validated: nothing is written yet."""
SECOND_CHUNK = Point("ledger.app:validate_all", call=2)
"""A long batch's second chunk is being validated: the first is being written (on SQLite by
the writer process) inside the open append."""
COMMITTING = Point("ledger.persistence.recorders:Append.close")
"""Every row is handed to the store; the append is about to commit."""
AS_IT_IS = Point("ledger.cli:run", action="none")
"""Nowhere: the command runs to its end."""
PROJECTING = Point("projections.service:ReadModelService.catch_up")
"""``record`` has committed and is about to bring the read models up to date."""


@dataclass(frozen=True)
class Ledgers:
    """The command line against one ledger, run from ``cwd``."""

    url: str
    cwd: Path

    def __call__(self, *args: str) -> Run:
        """The command, run in this process (quicker than starting one)."""
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = run(["--db", self.url, *args])
        return Run(code, out.getvalue(), err.getvalue())

    def at(self, point: Point, *args: str) -> Run:
        """The command in a child process stopped at ``point``."""
        return self.wait(self.start(point, *args))

    def start(self, point: Point, *args: str, marker: Path | None = None) -> subprocess.Popen[str]:
        spec = {**point.__dict__, "marker": str(marker)}
        return subprocess.Popen(
            [sys.executable, "-c", CHILD, json.dumps(spec), "--db", self.url, *args],
            cwd=self.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**clean_env(), "PGAPPNAME": APPLICATION},
        )

    @staticmethod
    def wait(child: subprocess.Popen[str]) -> Run:
        out, err = child.communicate(timeout=300)
        return Run(child.returncode, out, err)


def killed(run: Run) -> None:
    assert run.code == -9, (run.code, run.err)
    assert "Traceback" not in run.err


def failed(run: Run, code: int, expected: str) -> None:
    """Exit ``code`` with exactly one line on stderr, ``error: `` + ``expected``."""
    assert run.code == code, (run.code, run.err)
    assert "Traceback" not in run.err
    assert run.err.count("\n") == 1, run.err
    assert re.fullmatch(f"error: {expected}", run.err.rstrip("\n")), run.err


# --- the batches ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    """An event file of companies new to the ledger, every event with an external_id."""

    file: str
    companies: list[str]
    events: int


START = date(2020, 1, 2)


def write_batch(cwd: Path, name: str, companies: int, per_company: int) -> Batch:
    """``companies`` new companies of ``per_company`` events each, in date order."""
    slugs = [f"{name}-{n:03d}" for n in range(companies)]
    with (cwd / f"{name}.jsonl").open("w", encoding="utf-8") as out:
        for slug in slugs:
            events = [
                b.registered(slug, "2020-01-01"),
                b.share_class(slug, "common", "2020-01-01"),
                *(
                    b.issued(slug, f"h{n % 7}", "common", 10 + n, START + timedelta(days=n))
                    for n in range(per_company - 2)
                ),
            ]
            for number, event in enumerate(events):
                out.write(json.dumps({**event, "external_id": f"{slug}/{number}"}) + "\n")
    return Batch(str(cwd / f"{name}.jsonl"), slugs, companies * per_company)


def small(cwd: Path) -> Batch:
    return write_batch(cwd, "small", companies=4, per_company=30)


def stored_of(url: str, batch: Batch) -> int:
    """How many of the batch's events the log holds (the companies are the batch's own)."""
    with Ledger.open(url) as ledger, ledger.engine.connect() as conn:
        found = conn.execute(
            sa.text(
                "SELECT COUNT(*) FROM stored_events WHERE originator_id IN :companies"
            ).bindparams(sa.bindparam("companies", expanding=True)),
            {"companies": batch.companies},
        ).scalar_one()
    return int(found)


# --- what every cell ends with --------------------------------------------------------------


def recovers(cli: Ledgers, batch: Batch, *, stored: bool) -> None:
    """The batch is in the log whole (``stored``) or not at all; recording it again stores it
    once; verify is green; the read models catch up once and equal the fold."""
    assert stored_of(cli.url, batch) == (batch.events if stored else 0)
    with Ledger.open(cli.url) as ledger:
        assert verify_chain(ledger).intact
    again = cli("record", batch.file)
    assert again.code == 0, again.err
    if stored:
        assert f"{batch.events:,} events already recorded" in again.out
    else:
        assert again.out.startswith(f"recorded {batch.events:,} events"), again.out
    assert stored_of(cli.url, batch) == batch.events
    with Ledger.open(cli.url) as ledger:
        history = ledger.history(batch.companies[0])
    ids = [event.data["external_id"] for event in history.events]
    assert len(ids) == len(set(ids)) == batch.events // len(batch.companies)
    worker = cli("projections", "run")
    assert worker.code == 0, worker.err
    status = cli("projections", "status", "--format", "json")
    assert status.code == 0, status.err
    assert {row["lag"] for row in json.loads(status.out)} == {0}
    verified = cli("verify")
    assert verified.code == 0, verified.err
    chain, read_models = verified.out.splitlines()
    assert re.fullmatch(r"[\d,]+ events, chain intact, head [0-9a-f]{64}", chain), chain
    assert read_models.startswith("read models match the fold"), read_models


@pytest.fixture
def cli(durable_url: str, tmp_path: Path) -> Ledgers:
    """A ledger (SQLite file or PostgreSQL database) holding one company, read models up to
    date."""
    with Ledger.open(durable_url) as ledger:
        ledger.record(b.founded("base-co", "2019-01-01", {"ann": 1_000, "bo": 500}))
    return Ledgers(durable_url, tmp_path)


# --- SIGKILL of record ----------------------------------------------------------------------

SIZES = [
    # The same path at two sizes: chunks of 100 (``make test``), and the real ones.
    pytest.param((600, 100), id="chunks-of-100"),
    pytest.param((LONG, None), id=f"{LONG}-events", marks=pytest.mark.slow),
]


def long(cwd: Path, events: int) -> Batch:
    return write_batch(cwd, "long", companies=events // 100, per_company=100)


def test_record_killed_while_validating_stores_nothing(cli: Ledgers) -> None:
    batch = small(cli.cwd)
    killed(cli.at(VALIDATING, "record", batch.file))
    recovers(cli, batch, stored=False)


def test_record_killed_before_its_commit_stores_nothing(cli: Ledgers) -> None:
    batch = small(cli.cwd)
    killed(cli.at(COMMITTING, "record", batch.file))
    recovers(cli, batch, stored=False)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("point", [SECOND_CHUNK, COMMITTING], ids=["mid-write", "all-written"])
def test_a_long_record_killed_while_writing_stores_nothing(
    cli: Ledgers, size: tuple[int, int | None], point: Point
) -> None:
    """On SQLite the record process dies while its writer process holds the transaction:
    the writer sees its input end and exits without committing."""
    events, chunk = size
    batch = long(cli.cwd, events)
    killed(cli.at(replace(point, chunk=chunk), "record", batch.file))
    recovers(cli, batch, stored=False)


def test_record_killed_between_commit_and_projection_stores_the_batch_once(
    cli: Ledgers,
) -> None:
    batch = small(cli.cwd)
    killed(cli.at(PROJECTING, "record", batch.file))
    recovers(cli, batch, stored=True)


@pytest.mark.slow
def test_a_very_long_record_killed_at_a_later_chunk_stores_nothing(cli: Ledgers) -> None:
    """Two chunks of 20,000 written, the third being validated."""
    batch = long(cli.cwd, 60_000)
    killed(cli.at(Point("ledger.app:validate_all", call=3), "record", batch.file))
    recovers(cli, batch, stored=False)


# --- the SQLite writer process --------------------------------------------------------------

WRITER_GONE = (
    r"the SQLite writer process ended unexpectedly \(killed by signal 9\); "
    "nothing of this batch was stored"
)
WRITER = "ledger.persistence.sqlite_writer:SQLiteWriter"


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(
    "point",
    [Point(f"{WRITER}.append", 2, "kill-writer"), Point(f"{WRITER}.execute", 3, "kill-writer")],
    ids=["mid-write", "all-written"],
)
def test_the_sqlite_writer_process_killed_fails_the_batch_and_stores_nothing(
    sqlite_url: str, tmp_path: Path, size: tuple[int, int | None], point: Point
) -> None:
    """``execute`` 1 begins, 2 reads the last link, 3 reads the positions after every row."""
    cli = Ledgers(sqlite_url, tmp_path)
    events, chunk = size
    batch = long(cli.cwd, events)
    failed(cli.at(replace(point, chunk=chunk), "record", batch.file), 1, WRITER_GONE)
    recovers(cli, batch, stored=False)


# --- SIGKILL of the read models' commands ---------------------------------------------------

TRACKING = "projections.database:Database.set_tracking"


def test_projections_run_killed_mid_batch_resumes_once(cli: Ledgers) -> None:
    batch = small(cli.cwd)
    assert cli("record", "--no-project", batch.file).code == 0
    # The first batch of 25 is committed; the second is written and not.
    worker = cli.at(Point(TRACKING, call=2), "projections", "run", "--batch-size", "25")
    killed(worker)
    [committed] = re.findall(r"projected up to position (\d+)\n", worker.out)
    # The tables stand at the batch committed, nothing of the killed one.
    with Ledger.open(cli.url) as ledger:
        read_models = ledger.read_models
        assert read_models is not None
        assert {status.position for status in read_models.status()} == {int(committed)}
    recovers(cli, batch, stored=True)


def test_projections_rebuild_killed_mid_way_resumes_once(cli: Ledgers) -> None:
    batch = small(cli.cwd)
    assert cli("record", batch.file).code == 0
    # Call 1 clears the tables (committed); call 2 is killed with the rows of the first batch
    # written and not committed.
    killed(cli.at(Point(TRACKING, call=2), "projections", "rebuild"))
    with Ledger.open(cli.url) as ledger:
        read_models = ledger.read_models
        assert read_models is not None
        assert {status.position for status in read_models.status()} == {0}
    recovers(cli, batch, stored=True)


# --- PostgreSQL: the connection cut ---------------------------------------------------------

LOST = "the connection to PostgreSQL was lost; nothing of this batch was stored"


def writing_backends(url: str) -> list[int]:
    """The backends of the command under test that hold the events table's append lock."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT DISTINCT a.pid FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid "
            "WHERE a.application_name = %s AND l.relation = 'stored_events'::regclass "
            "AND l.mode = 'ExclusiveLock' AND l.granted",
            (APPLICATION,),
        ).fetchall()
    return [int(row[0]) for row in rows]


LOST_AT_COMMIT = (
    r"the connection to PostgreSQL was lost while the batch was committing: it may or may not "
    r"be stored; corpledger history shows which \(recorded again, events with an external_id "
    r"are stored once\)"
)


@pytest.mark.postgres
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(
    ("point", "message"),
    [(SECOND_CHUNK, LOST), (COMMITTING, LOST_AT_COMMIT)],
    ids=["mid-write", "at-commit"],
)
def test_a_connection_cut_mid_batch_fails_it_and_stores_nothing(
    pg_url: str, tmp_path: Path, size: tuple[int, int | None], point: Point, message: str
) -> None:
    """Cut at the commit, the command cannot know whether the server committed (here it had
    not: the commit was never sent), and says so."""
    cli = Ledgers(pg_url, tmp_path)
    events, chunk = size
    batch = long(cli.cwd, events)
    marker = tmp_path / "paused"
    paused = replace(point, action="pause", chunk=chunk)
    child = cli.start(paused, "record", batch.file, marker=marker)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the child never got to the point"
            time.sleep(0.02)
        [backend] = writing_backends(pg_url)
        with psycopg.connect(pg_url, autocommit=True) as admin:
            assert admin.execute("SELECT pg_terminate_backend(%s)", (backend,)).fetchone() == (
                True,
            )
    finally:
        marker.unlink(missing_ok=True)
    failed(cli.wait(child), 1, message)
    recovers(cli, batch, stored=False)


# --- a full disk, a read-only database ------------------------------------------------------


def mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = f"cannot mount here (mount {' '.join(args)}): {done.stderr.strip()}"
        if UNDER_CI:
            pytest.fail(reason)
        pytest.skip(reason)


def umount(path: Path) -> None:
    # Lazy: a mount still held by a file left open comes off once it is closed.
    subprocess.run(["umount", "--lazy", str(path)], check=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A directory on a filesystem of its own (128 MB: room for a long batch and its read
    models once the filler is gone)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mount("-t", "tmpfs", "-o", "size=128m", "tmpfs", str(disk))
    try:
        yield disk
    finally:
        umount(disk)


def fill(disk: Path, leave: int) -> Path:
    """Fill ``disk`` but ``leave`` bytes; returns the file that takes the space."""
    filler = disk / "filler"
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    with filler.open("wb") as out:
        out.truncate(0)
        out.write(bytes(max(0, free - leave)))
    return filler


FULL = "the disk is full; nothing of this batch was stored"


@pytest.mark.parametrize(
    "size",
    [
        pytest.param((8_000, None), id="in-process"),
        pytest.param((8_000, 500), id="writer-process"),
        pytest.param((LONG, None), id=f"{LONG}-events", marks=pytest.mark.slow),
    ],
)
def test_a_full_disk_fails_the_batch_and_stores_nothing(
    small_disk: Path, tmp_path: Path, size: tuple[int, int | None]
) -> None:
    """A batch the disk has no room for, written in the ledger's process (up to CHUNK events)
    or through the writer process (more). 8,000 events are more than SQLite's page cache holds
    (2 MB), so the disk is found full mid-transaction, with pieces of the batch still to come,
    not only at the commit."""
    cli = Ledgers(f"sqlite:///{small_disk}/ledger.db", tmp_path)
    with Ledger.open(cli.url) as ledger:
        ledger.record(b.founded("base-co", "2019-01-01", {"ann": 1_000, "bo": 500}))
    events, chunk = size
    batch = long(tmp_path, events)
    # Room to open the ledger (its -shm and -wal), not for the batch.
    filler = fill(small_disk, leave=96 * 1024)
    failed(cli.at(replace(AS_IT_IS, chunk=chunk), "record", batch.file), 1, FULL)
    filler.unlink()
    recovers(cli, batch, stored=False)


READ_ONLY = "the database is read-only; nothing of this batch was stored"


def test_a_read_only_sqlite_file_refuses_the_batch(sqlite_url: str, tmp_path: Path) -> None:
    cli = Ledgers(sqlite_url, tmp_path)
    with Ledger.open(cli.url) as ledger:
        ledger.record(b.founded("base-co", "2019-01-01", {"ann": 1_000, "bo": 500}))
    batch = small(tmp_path)
    database = tmp_path / "ledger.db"
    mount("--bind", str(database), str(database))
    try:
        mount("-o", "remount,ro,bind", str(database))
        failed(cli.at(AS_IT_IS, "record", batch.file), 1, READ_ONLY)
        # The read models live in the same file.
        failed(cli.at(AS_IT_IS, "projections", "rebuild"), 1, "the database is read-only")
    finally:
        umount(database)
    recovers(cli, batch, stored=False)


@pytest.mark.postgres
def test_a_read_only_postgresql_database_refuses_the_batch(pg_url: str, tmp_path: Path) -> None:
    cli = Ledgers(pg_url, tmp_path)
    batch = small(tmp_path)
    name = pg_url.rpartition("/")[2]
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        try:
            failed(cli("record", batch.file), 1, READ_ONLY)
        finally:
            admin.execute(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
    recovers(cli, batch, stored=False)
