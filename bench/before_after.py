"""Recording and rebuilding, before issue 11 and now: the same file, the same machine, runs of
the two checkouts alternating, each beside the raw driver in the same run.

The parent (``compare``) runs this file as a script with each checkout's own interpreter
(``.venv/bin/python``, whose editable install imports that checkout's ``ledger``), so each run
is that checkout's code in a fresh process; the script imports nothing of ``bench`` and only
what both checkouts have (``ledger.cli.run``, ``Ledger.open``). One run (``_run``):

1. ``corpledger record --actor bench FILE`` (the default: the read models brought up to date)
   in-process on a fresh, migrated database, timed from the command's start to its return;
2. raw: the driver inserting the rows that run stored into another fresh, migrated database
   in one transaction (SQLite ``executemany``, PostgreSQL ``COPY`` binary);
3. ``corpledger projections rebuild`` of the recorded database, timed;
4. raw: the driver selecting the log in pages of 1,000 and ``json.loads``-ing each state.

It prints one JSON line of the four timings.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

COLUMNS = "originator_id, originator_version, topic, state, chain"


@dataclass
class Side:
    """One checkout's runs: seconds of each."""

    checkout: Path
    revision: str
    record: list[float] = field(default_factory=list)
    raw_record: list[float] = field(default_factory=list)
    rebuild: list[float] = field(default_factory=list)
    raw_rebuild: list[float] = field(default_factory=list)


@dataclass
class Comparison:
    engine: str
    events: int
    raw_writer: str
    before: Side
    current: Side


# --- the parent ---

ROOT = Path(__file__).resolve().parents[1]


def _python(checkout: Path) -> Path:
    return checkout / ".venv" / "bin" / "python"


def usable(checkout: Path) -> str | None:
    """Why ``checkout`` cannot be compared with, if it cannot."""
    if not (checkout / "ledger" / "cli.py").is_file():
        return f"--compare-with {checkout}: not a corpledger checkout (no ledger/cli.py)"
    if not _python(checkout).is_file():
        return f"--compare-with {checkout}: no .venv/bin/python (run make install there)"
    return None


def revision(checkout: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(checkout), "log", "-1", "--format=%h %s"],
        capture_output=True,
        text=True,
        check=False,
    )
    head = done.stdout.strip() or "unknown"
    return head if len(head) <= 60 else head[:59] + "…"


def _one(side: Side, engine: str, path: Path, events: int, directory: Path, pg_url: str) -> None:
    done = subprocess.run(
        [str(_python(side.checkout)), __file__, engine, str(path), str(events), str(directory)],
        capture_output=True,
        text=True,
        check=False,
        cwd=side.checkout,
        env={**os.environ, "CORPLEDGER_BENCH_PG_URL": pg_url},
    )
    if done.returncode != 0:
        raise RuntimeError(f"{side.checkout}: the run failed: {done.stderr.strip()[-2000:]}")
    timings = json.loads(done.stdout.strip().splitlines()[-1])
    for name in ("record", "raw_record", "rebuild", "raw_rebuild"):
        getattr(side, name).append(timings[name])


def compare(
    other: Path, engine: str, file: Any, repeat: int, directory: Path, pg_url: str
) -> Comparison:
    """``repeat`` runs of each checkout on ``engine`` ("sqlite" or "postgres"), alternating
    and starting with each side in turn (before, now, now, before, ...)."""
    from .measure import log

    before = Side(other.resolve(), revision(other))
    current = Side(ROOT, revision(ROOT))
    for run in range(repeat):
        order = (before, current) if run % 2 == 0 else (current, before)
        for side in order:
            _one(side, engine, file.path, file.events, directory, pg_url)
            which = "before" if side is before else "now"
            log(
                f"  {engine} run {run + 1}, {which}: record {side.record[-1]:.2f} s (raw "
                f"{side.raw_record[-1]:.2f}), rebuild {side.rebuild[-1]:.2f} s (raw "
                f"{side.raw_rebuild[-1]:.2f})"
            )
    name = "SQLite" if engine == "sqlite" else "PostgreSQL"
    writer = "executemany" if engine == "sqlite" else "COPY binary"
    return Comparison(name, file.events, writer, before, current)


def markdown(compared: dict[str, Comparison], table: Any) -> list[str]:
    if not compared:
        return []
    out = [
        "",
        "## Recording and rebuilding, before issue 11 and now (events/s; median of the runs)",
        "",
        "The multi-company file, by each checkout's own code in a process of its own "
        "(`bench/before_after.py` run with its `.venv/bin/python`), the two alternating. "
        "Record: `corpledger record` (the read models brought up to date) on a fresh, migrated "
        "database; raw: the driver inserting the rows it stored into another in one "
        "transaction. Rebuild: `corpledger projections rebuild` of that database; raw: the "
        "driver selecting the log in pages of 1,000 and `json.loads`-ing each state. The "
        "checkout before issue 11 is made with `git worktree add ../bench-base 6a45a38 && "
        "make -C ../bench-base install`, then passed as `--compare-with ../bench-base`.",
        "",
    ]
    rows = []
    for name, c in compared.items():
        for what, api, raw, raw_name in (
            ("record", "record", "raw_record", c.raw_writer),
            ("rebuild", "rebuild", "raw_rebuild", "select+decode"),
        ):
            for label, side in (("before", c.before), ("now", c.current)):
                a, r = getattr(side, api), getattr(side, raw)
                rows.append(
                    [
                        name,
                        what,
                        f"{label}: {side.revision}",
                        f"{c.events / statistics.median(a):,.0f}",
                        f"raw {raw_name} {c.events / statistics.median(r):,.0f}",
                        f"{statistics.median(r) / statistics.median(a):.2f}",
                        ", ".join(f"{s:.2f}" for s in a),
                        ", ".join(f"{s:.2f}" for s in r),
                    ]
                )
    out += table(
        ["engine", "what", "code", "events/s", "raw events/s", "API/raw", "seconds", "raw seconds"],
        rows,
    )
    return out


# --- the child: one run of this checkout's code ---


def _fresh(engine: str, directory: Path, number: int) -> str:
    from ledger import Ledger

    name = f"before-after-{os.getpid()}-{number}"
    if engine == "sqlite":
        url = f"sqlite:///{directory / name}.db"
    else:
        import psycopg

        server = os.environ["CORPLEDGER_BENCH_PG_URL"]
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        url = f"{server.partition('?')[0].rpartition('/')[0]}/{name}"
    Ledger.open(url).close()  # migrated, untimed
    return url


def _drop(url: str) -> None:
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
        return
    import psycopg

    with psycopg.connect(os.environ["CORPLEDGER_BENCH_PG_URL"], autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" WITH (FORCE)')


def _connect(url: str) -> Any:
    if url.startswith("sqlite:///"):
        return sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    import psycopg

    return psycopg.connect(url)


def _cli(*args: str) -> None:
    from ledger.cli import run

    with contextlib.redirect_stdout(io.StringIO()):
        code = run(list(args))
    if code != 0:
        raise SystemExit(f"corpledger {' '.join(args)} exited {code}")


def _stored(url: str) -> list[tuple[Any, ...]]:
    conn = _connect(url)
    try:
        order = "rowid" if url.startswith("sqlite:///") else "notification_id"
        cur = conn.cursor()
        cur.execute(f"SELECT {COLUMNS} FROM stored_events ORDER BY {order}")
        return [(r[0], r[1], r[2], bytes(r[3]), bytes(r[4])) for r in cur.fetchall()]
    finally:
        conn.close()


def _raw_insert(url: str, rows: list[tuple[Any, ...]]) -> float:
    conn = _connect(url)
    try:
        if url.startswith("sqlite:///"):
            conn.execute("PRAGMA journal_mode=WAL")  # as the ledger's connection has it
            started = time.perf_counter()
            conn.execute("BEGIN")
            conn.executemany(f"INSERT INTO stored_events ({COLUMNS}) VALUES (?,?,?,?,?)", rows)
            conn.execute("COMMIT")
            return time.perf_counter() - started
        started = time.perf_counter()
        with (
            conn.cursor() as cursor,
            cursor.copy(f"COPY stored_events ({COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types(["text", "int8", "text", "bytea", "bytea"])
            for row in rows:
                copy.write_row(row)
        conn.commit()
        return time.perf_counter() - started
    finally:
        conn.close()


def _raw_read(url: str) -> float:
    sqlite = url.startswith("sqlite:///")
    position, mark = ("rowid", "?") if sqlite else ("notification_id", "%s")
    conn = _connect(url)
    try:
        started = time.perf_counter()
        after = 0
        while True:
            cur = conn.cursor()
            cur.execute(
                f"SELECT {position}, originator_id, originator_version, state FROM stored_events "
                f"WHERE {position} > {mark} ORDER BY {position} LIMIT 1000",
                (after,),
            )
            page = cur.fetchall()
            if not page:
                break
            for row in page:
                json.loads(row[3])
            after = page[-1][0]
        seconds = time.perf_counter() - started
        if not sqlite:
            conn.rollback()
        return seconds
    finally:
        conn.close()


def _run(engine: str, path: Path, events: int, directory: Path) -> dict[str, float]:
    import gc

    import ledger.cli  # noqa: F401  imported untimed: importing is not recording

    recorded, raw = _fresh(engine, directory, 1), _fresh(engine, directory, 2)
    try:
        gc.collect()
        started = time.perf_counter()
        _cli("--db", recorded, "record", "--actor", "bench", str(path))
        record = time.perf_counter() - started
        rows = _stored(recorded)
        if len(rows) != events:
            raise SystemExit(f"{len(rows)} events stored, expected {events}")
        gc.collect()
        raw_record = _raw_insert(raw, rows)
        gc.collect()
        started = time.perf_counter()
        _cli("--db", recorded, "projections", "rebuild")
        rebuild = time.perf_counter() - started
        raw_rebuild = _raw_read(recorded)
    finally:
        _drop(recorded)
        _drop(raw)
    return {
        "record": record,
        "raw_record": raw_record,
        "rebuild": rebuild,
        "raw_rebuild": raw_rebuild,
    }


if __name__ == "__main__":
    engine_arg, path_arg, events_arg, directory_arg = sys.argv[1:5]
    print(json.dumps(_run(engine_arg, Path(path_arg), int(events_arg), Path(directory_arg))))
