"""``ReadModelService``: the read models of one ledger, as the port ``ledger.ports.ReadModels``
describes them, found by the ledger through the entry point ``corpledger.read_models``.

A **catch-up** takes the log after the tracked position in batches of ``BATCH`` events; each
batch is one transaction that first locks the tracking rows (PostgreSQL: ``SELECT … FOR
UPDATE``; SQLite: ``BEGIN IMMEDIATE``), so one worker projects at a time and a batch lands
whole or not at all, with the position it reached. A killed worker leaves the last committed
batch; the next catch-up (of any process) goes on from there.

**Following** (``run(follow=True)``): on PostgreSQL the worker LISTENs on the channel the
event store NOTIFYs on every append (``stored_events``), and polls as well in case a
notification is missed; on SQLite it polls.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any

import psycopg
import sqlalchemy as sa

from ledger.app import gc_paused
from ledger.domain.errors import InputError
from ledger.ports import ProjectionError, ProjectionStatus
from ledger.reports import Board, CapTable, Holdings, Roster

from . import queries
from .database import Database, database_for
from .history import PROJECTIONS
from .tables import DERIVED_TABLES
from .writer import Writer

if TYPE_CHECKING:
    from ledger.app import Ledger

BATCH = 1_000
"""Events per transaction."""
CHANNEL = "stored_events"
DERIVED = [table.name for table in DERIVED_TABLES]
"""eventsourcing's PostgreSQL recorder NOTIFYs on its events table's name."""


class ReadModelService:
    """The read models of ``ledger`` (its engine; the same database as its events)."""

    def __init__(self, ledger: Ledger, batch: int = BATCH) -> None:
        self.ledger = ledger
        self.engine: sa.Engine = ledger.engine
        self.db: Database = database_for(ledger.config.kind)
        self.writer = Writer(self.db)
        self.batch = batch
        self._seen: tuple[int, int] | None = None  # (position, generation) after our commit

    # --- projecting ---

    def catch_up(
        self,
        until: int | None = None,
        *,
        stop: threading.Event | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> int:
        position = self._tracked()
        with gc_paused():  # across batches: the books the writer keeps are long-lived
            while stop is None or not stop.is_set():
                moved, position = self._one_batch(until)
                if not moved:
                    break
                if on_batch is not None:
                    on_batch(position)
        return position

    def _tracked(self) -> int:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT position FROM projection_tracking")).all()
        return min((int(r[0]) for r in rows), default=0)

    def _one_batch(self, until: int | None) -> tuple[bool, int]:
        """Project the next batch in one transaction; returns (anything done, position)."""
        try:
            with self.db.transaction(self.engine) as raw:
                position, generation = self._lock(raw)
                end = self.db.last_position(raw) if until is None else until
                if position >= end:
                    return False, position
                log = self.db.read_log(raw, position, end, self.batch)
                if not log:
                    return False, position
                self.writer.apply(raw, log)
                reached = int(log[-1][0])
                self.db.set_tracking(raw, PROJECTIONS, reached, bump=False)
        except BaseException:
            self.writer.forget()
            self._seen = None
            raise
        self._seen = (reached, generation)
        return True, reached

    def _lock(self, raw: Any) -> tuple[int, int]:
        """Lock the tracking rows; returns (position, generation). A worker whose last commit
        is not what the rows say (another worker moved on, or a rebuild ran) starts afresh."""
        rows = self.db.tracking(raw)
        positions = {name: position for name, position, _ in rows}
        missing = [name for name in PROJECTIONS if name not in positions]
        if missing:
            raise ProjectionError(
                f"no tracking row for projection {', '.join(missing)}: the schema is not "
                "migrated (corpledger init)"
            )
        if len({positions[name] for name in PROJECTIONS}) != 1:
            where = ", ".join(f"{name} at {positions[name]}" for name in PROJECTIONS)
            raise ProjectionError(
                f"the projections are out of step ({where}): run corpledger projections rebuild"
            )
        position = positions[PROJECTIONS[0]]
        generation = max(g for _, _, g in rows)
        if self._seen != (position, generation):
            self.writer.forget()
        return position, generation

    def run(
        self,
        *,
        follow: bool,
        stop: threading.Event,
        poll: float = 1.0,
        on_batch: Callable[[int], None] | None = None,
        batch_size: int | None = None,
    ) -> int:
        if batch_size is not None:
            self.batch = batch_size
        position = self.catch_up(stop=stop, on_batch=on_batch)
        if not follow:
            return position
        with self._wakeups(poll) as wait:
            while not stop.is_set():
                wait(stop)
                if stop.is_set():
                    break
                position = self.catch_up(stop=stop, on_batch=on_batch)
        return position

    @contextmanager
    def _wakeups(self, poll: float) -> Iterator[Callable[[threading.Event], None]]:
        """A function that returns when events may have arrived: a NOTIFY on PostgreSQL (or
        ``poll`` seconds, in case one was missed), ``poll`` seconds on SQLite; early when
        ``stop`` is set (it is checked at least every ``poll`` seconds)."""
        if self.db.kind != "postgres":

            def sleep(stop: threading.Event) -> None:
                stop.wait(poll)

            yield sleep
            return
        params = self.engine.url.translate_connect_args(username="user", database="dbname")
        with psycopg.connect(**params, autocommit=True) as listener:
            listener.execute(f"LISTEN {CHANNEL}")

            def wait(stop: threading.Event) -> None:
                for _ in listener.notifies(timeout=poll, stop_after=1):
                    pass

            yield wait

    def status(self) -> list[ProjectionStatus]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT name, position FROM projection_tracking ORDER BY name")
            ).all()
            last = self.db.last_position(conn.connection.dbapi_connection)
        return [ProjectionStatus(r[0], int(r[1]), last - int(r[1])) for r in rows]

    def rebuild(self, company: str | None = None) -> int:
        if company is None:
            return self._rebuild_all()
        return self._rebuild_company(company)

    def _rebuild_all(self) -> int:
        try:
            with self.db.transaction(self.engine) as raw:
                self._lock(raw)
                self.db.delete_company(raw, DERIVED, None)
                self.db.set_tracking(raw, PROJECTIONS, 0, bump=True)
        finally:
            self.writer.forget()
            self._seen = None
        return self.catch_up()

    def _rebuild_company(self, company: str) -> int:
        """One company's rows, again from its events up to the tracked position, in one
        transaction (so a reader never sees the company half rebuilt), a page at a time."""
        writer = Writer(self.db)
        try:
            with gc_paused(), self.db.transaction(self.engine) as raw:
                position, _ = self._lock(raw)
                if not self.db.has_company(raw, company):
                    raise InputError(f"unknown company {company!r}")
                self.db.delete_company(raw, DERIVED, company)
                positions = self.db.company_positions(raw, company, position)
                stream = self.db.read_stream(raw, company, len(positions) + 1)
                for start in range(0, len(stream), self.batch):
                    page = stream[start : start + self.batch]
                    writer.apply(raw, [(p, company, v, s) for p, v, s in page])
                self.db.set_tracking(raw, PROJECTIONS, position, bump=True)
        finally:
            self.writer.forget()
            self._seen = None
        return position

    # --- reading ---

    @contextmanager
    def _reading(self, known_at: int) -> Iterator[tuple[Any, bool]]:
        """A consistent snapshot of the tables, caught up to at least ``known_at``; yields
        the raw connection and whether ``known_at`` is where the tables stand (then the rows
        still believed are the answer)."""
        for _ in range(3):
            with self.engine.connect() as conn:
                raw: Any = conn.connection.dbapi_connection
                cur = raw.cursor()
                cur.execute(
                    "BEGIN" if self.db.kind == "sqlite" else "BEGIN ISOLATION LEVEL REPEATABLE READ"
                )
                try:
                    cur.execute("SELECT MIN(position) FROM projection_tracking")
                    position = int(cur.fetchone()[0] or 0)
                    if position >= known_at:
                        yield raw, position == known_at
                        return
                finally:
                    raw.rollback()
            self.catch_up()
        raise ProjectionError(
            f"the read models did not reach position {known_at}: another process keeps "
            "rebuilding them"
        )

    def _company(self, raw: Any, company: str) -> None:
        if not self.db.has_company(raw, company):
            raise InputError(f"unknown company {company!r}")

    def cap_table(self, company: str, as_of: date, known_at: int) -> CapTable:
        with self._reading(known_at) as (raw, now):
            self._company(raw, company)
            return queries.cap_table(self.db, raw, company, as_of, known_at, now)

    def roster(self, company: str, as_of: date, known_at: int) -> Roster:
        with self._reading(known_at) as (raw, now):
            self._company(raw, company)
            return queries.roster(self.db, raw, company, as_of, known_at, now)

    def board(self, company: str, as_of: date, known_at: int) -> Board:
        with self._reading(known_at) as (raw, now):
            self._company(raw, company)
            return queries.board(self.db, raw, company, as_of, known_at, now)

    def holdings(self, party: str, as_of: date, known_at: int) -> Holdings:
        with self._reading(known_at) as (raw, now):
            return queries.holdings(self.db, raw, party, as_of, known_at, now)

    def verify(self, company: str | None = None) -> str:
        from .verify import verify_read_models

        return verify_read_models(self, company)
