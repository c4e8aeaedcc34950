"""``ReadModelService``: the read models of one ledger, as the port ``ledger.ports.ReadModels``
describes them, found by the ledger through the entry point ``corpledger.read_models``.

A **catch-up** takes the log after the tracked position in batches of ``BATCH`` events; each
batch is one transaction that first locks the tracking rows (PostgreSQL: ``SELECT … FOR
UPDATE``; SQLite: ``BEGIN IMMEDIATE``), so one worker projects at a time and a batch lands
whole or not at all, with the position it reached. A killed worker leaves the last committed
batch; the next catch-up (of any process) goes on from there.

A long catch-up (a rebuild, a worker far behind) **folds ahead**: this thread reads and folds
batch n+1 while a committer thread writes batch n, each batch still one transaction with its
position (``_ahead``). On PostgreSQL the server's work overlaps the folding; a SQLite file's
batches are written by a writer process of their own (``ledger.persistence.sqlite_writer``),
on the other core: the ``sqlite3`` module holds the GIL while it binds each row, so a thread
of this process writing them would only slow the folding down.

An event the projections **cannot apply** (a value no column holds, an event they cannot
read) fails its batch, which is then projected again one event at a time, each in a savepoint
(``Writer.apply_each``): the events before it are committed, and the ``ProjectionError`` names
it (``stuck``). The projections stand just before it and never skip it; every catch-up stops
there again, and ``status`` tries it to name it.

**Following** (``run(follow=True)``): on PostgreSQL the worker LISTENs on the channel the
event store NOTIFYs on every append (``stored_events``), and polls as well in case a
notification is missed; on SQLite it polls.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any

from ledger.app import gc_paused
from ledger.ports import Known, ProjectionError, ProjectionStatus, StuckEvent
from ledger.reports import Board, CapTable, Grants, Holdings, Roster
from ledger.switch_interval import switching_often

from . import queries
from .database import Database, database_for
from .history import PROJECTIONS, SHAPES
from .inline import InTransaction
from .writer import Buffer, Check, Writer, check

if TYPE_CHECKING:
    import sqlalchemy as sa

    from ledger.app import Ledger
    from ledger.persistence.sqlite_writer import SQLiteWriter

BATCH = 1_000
"""Events per transaction."""
AHEAD = 4
"""Batches behind the log from which a catch-up folds ahead of its writes (``_ahead``)."""
CHANNEL = "stored_events"
"""eventsourcing's PostgreSQL recorder NOTIFYs on its events table's name."""
DERIVED = [*(shape.table for shape in SHAPES), "party_companies"]
"""The tables a rebuild clears: ``projections.tables.DERIVED_TABLES`` by name (that module is
not imported here: its SQLAlchemy definitions load every dialect, a cost no query needs)."""


class ReadModelService:
    """The read models of ``ledger`` (its engine; the same database as its events)."""

    def __init__(self, ledger: Ledger, batch: int = BATCH) -> None:
        self.ledger = ledger
        self.db: Database = database_for(ledger.config.kind)
        self.writer = Writer(self.db)
        self.batch = batch
        self._seen: tuple[int, int] | None = None  # (position, generation) after our commit
        self._mutex = threading.RLock()
        # Folding ahead of the writes pays when another process writes them: PostgreSQL's
        # server, or a SQLite file's writer process (an in-memory database has none: SQLite
        # writing in this process, under the same GIL, loses by folding ahead).
        self._writer_file = _writer_file(ledger)
        self.pipelined = self.db.kind == "postgres" or self._writer_file is not None

    @property
    def engine(self) -> sa.Engine:
        return self.ledger.engine  # made when first needed: a query reads without it

    # --- projecting ---

    def in_transaction(
        self,
        raw: Any,
        start: int,
        settle: Callable[[], None],
        behind: Callable[[Callable[[], None]], None],
        known: Known,
    ) -> InTransaction | None:
        projector = InTransaction(
            self.db, raw, start, settle, behind, known, self.ledger.connection
        )
        return projector if projector.projecting else None

    def catch_up(
        self,
        until: int | None = None,
        *,
        stop: threading.Event | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> int:
        # One catch-up at a time per ledger: threads sharing it share the writer's caches
        # (processes are kept apart by the lock on the tracking rows).
        with self._mutex, gc_paused(), _WriterProcess(self._writer_file) as process:
            # gc: the books the writer keeps are long-lived. ``process``: a SQLite file's
            # writer process, shared by every run of folding ahead of this catch-up (one
            # back-dated event in a few ends each run: a process each would cost more).
            # Where this worker last committed is a good guess for choosing how to catch up;
            # each batch reads the real position under its lock.
            position = self._seen[0] if self._seen is not None else self.tracked()
            ahead = self.pipelined
            resting = 0  # batches to take one at a time before folding ahead again
            while stop is None or not stop.is_set():
                if ahead and not resting and self._lag(position, until) >= AHEAD * self.batch:
                    began = position
                    try:
                        position = self._ahead(until, stop, on_batch, process)
                        # A run that did not fold a batch met an event needing the tables
                        # at once (back-dated events are many here): setting up another
                        # costs more than it would fold.
                        resting = AHEAD if position - began < self.batch else 0
                    except Exception as e:
                        if not self.writer.blames_the_event(e):
                            raise
                        # Its batches before the failure stand: the one at a time path
                        # below finds the event.
                        ahead, position = False, self.tracked()
                    if stop is not None and stop.is_set():
                        break
                try:
                    moved, position = self._one_batch(until)
                except Exception as e:
                    if not self.writer.blames_the_event(e):
                        raise
                    moved, position = self._one_batch(until, one_by_one=True)
                if not moved:
                    break
                resting = max(resting - 1, 0)
                if on_batch is not None:
                    on_batch(position)
                if until is not None and position >= until:
                    break  # read-your-writes needs no second look at the log
        return position

    def tracked(self) -> int:
        """The position the projections stand at (the lowest, were they out of step)."""
        import sqlalchemy as sa

        with self.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT position FROM projection_tracking")).all()
        return min((int(r[0]) for r in rows), default=0)

    def _lag(self, position: int, until: int | None) -> int:
        if until is not None:
            return until - position
        with self.engine.connect() as conn:
            return self.db.log(conn.connection.dbapi_connection).last_position() - position

    def _ahead(
        self,
        until: int | None,
        stop: threading.Event | None,
        on_batch: Callable[[int], None] | None,
        process: _WriterProcess,
    ) -> int:
        """Catch up with the reading and folding of a batch overlapping the writing of the one
        before: this thread reads the log on a connection of its own and folds in memory; a
        committer thread writes each batch (rows and tracking positions, one transaction, as
        ``_one_batch`` does). It stops, leaving the rest to ``_one_batch``, at the first
        event that needs the tables (a company seen first since its start, its first
        back-dated event or correction: ``Writer.needs_tables``), at the end, on ``stop``,
        or when another worker has moved the positions."""
        committer = _Committer(self, on_batch, process)
        committer.start()
        try:
            with switching_often(), self.engine.connect() as conn:
                raw: Any = conn.connection.dbapi_connection
                position, generation = self._unlocked_tracking(raw)
                if self._seen != (position, generation):
                    self.writer.forget()
                    self._seen = (position, generation)
                end = position
                while stop is None or not stop.is_set():
                    if position >= end:  # the end as last seen: where the log ends now?
                        end = self.db.log(raw).last_position() if until is None else until
                        if position >= end:
                            break
                    # Several batches a read: a snapshot begun after another connection's
                    # commit costs SQLite a look at every page it changed.
                    page = self.db.log(raw).events_after(position, AHEAD * self.batch, until=end)
                    raw.rollback()  # no snapshot held across batches (PostgreSQL)
                    position, read_on = self._fold_ahead(page, position, committer, stop)
                    if not read_on:
                        break
            committer.finish()
        except BaseException:
            committer.abandon()
            self.writer.forget()
            self._seen = None
            raise
        if committer.conflict:
            self.writer.forget()
            self._seen = None
        return self.tracked()

    def _fold_ahead(
        self,
        page: list[Any],
        position: int,
        committer: _Committer,
        stop: threading.Event | None,
    ) -> tuple[int, bool]:
        """Fold ``page`` a batch at a time, each handed to ``committer``; returns the position
        folded up to, and whether to read on from there."""
        for start in range(0, len(page), self.batch):
            log = page[start : start + self.batch]
            buffer, done = self.writer.apply_ahead(log)
            if done is None or committer.conflict:
                return position, False
            committer.submit(buffer, position, done)
            position = done
            if done != int(log[-1][0]) or (stop is not None and stop.is_set()):
                return position, False
        return position, True

    def _unlocked_tracking(self, raw: Any) -> tuple[int, int]:
        cur = raw.cursor()
        cur.execute("SELECT MIN(position), MAX(generation) FROM projection_tracking")
        position, generation = cur.fetchone()
        return int(position or 0), int(generation or 0)

    def _commit_ahead(self, buffer: Buffer, start: int, end: int) -> bool:
        """Write a batch folded ahead: rows and positions, in one transaction, if the positions
        still stand at ``start`` (else another worker moved them: nothing is written)."""
        with self.db.transaction(self.engine) as raw:
            rows = self.db.tracking(raw)
            if {position for _, position, _ in rows} != {start}:
                return False
            self.writer.write(raw, buffer)
            self.db.set_tracking(raw, PROJECTIONS, end, bump=False)
        self._seen = (end, max(g for _, _, g in rows))
        return True

    def _one_batch(self, until: int | None, *, one_by_one: bool = False) -> tuple[bool, int]:
        """Project the next batch in one transaction; returns (anything done, position).
        ``one_by_one`` (after the batch failed on an event): the events before the one the
        projections cannot apply are committed, then its ``ProjectionError`` raised."""
        stuck: ProjectionError | None = None
        try:
            with self.db.transaction(self.engine) as raw:
                position, generation = self._lock(raw)
                end = self.db.log(raw).last_position() if until is None else until
                if position >= end:
                    return False, position
                log = self.db.log(raw).events_after(position, self.batch, until=end)
                if not log:
                    return False, position
                if one_by_one:
                    done, stuck = self.writer.apply_each(raw, log)
                    reached = position if done is None else done
                else:
                    self.writer.apply(raw, log)
                    reached = int(log[-1][0])
                self.db.set_tracking(raw, PROJECTIONS, reached, bump=False)
        except BaseException:
            self.writer.forget()
            self._seen = None
            raise
        if stuck is not None:
            self._seen = None
            raise stuck
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
        import psycopg  # here: a SQLite process never loads it

        params = self.engine.url.translate_connect_args(username="user", database="dbname")
        with psycopg.connect(**params, autocommit=True) as listener:
            listener.execute(f"LISTEN {CHANNEL}")

            def wait(stop: threading.Event) -> None:
                for _ in listener.notifies(timeout=poll, stop_after=1):
                    pass

            yield wait

    def status(self) -> list[ProjectionStatus]:
        import sqlalchemy as sa

        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT name, position FROM projection_tracking ORDER BY name")
            ).all()
            last = self.db.log(conn.connection.dbapi_connection).last_position()
        stuck = self._stuck() if any(int(r[1]) < last for r in rows) else None
        return [ProjectionStatus(r[0], int(r[1]), last - int(r[1]), stuck) for r in rows]

    def _stuck(self) -> StuckEvent | None:
        """The event after the projections' position if they cannot apply it: tried, under
        their lock (a worker's rows would collide with the trial's), and rolled back. A
        catch-up that meets such an event commits the events before it, so it is the next."""
        writer = Writer(self.db)
        with self.engine.connect() as conn:
            raw: Any = conn.connection.dbapi_connection
            self.db.begin(raw)
            try:
                positions = {position for _, position, _ in self.db.tracking(raw)}
                if len(positions) != 1:
                    return None  # out of step: the positions say so
                log = self.db.log(raw).events_after(positions.pop(), 1)
                _, error = writer.apply_each(raw, log)
            finally:
                raw.rollback()
        return None if error is None else error.stuck

    def rebuild(self, company: str | None = None) -> int:
        with self._mutex:
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

    def _rebuild_company(self, company: str, *, one_by_one: bool = False) -> int:
        """One company's rows, again from its events up to the tracked position, in one
        transaction (so a reader never sees the company half rebuilt), a page at a time.
        An event the projections cannot apply leaves the rows as they were, and is named
        (``one_by_one``: the slow way that finds it, taken after a page failed)."""
        writer = Writer(self.db)
        try:
            with gc_paused(), self.db.transaction(self.engine) as raw:
                position, _ = self._lock(raw)
                log = self.db.log(raw)
                if not log.has_company(company):
                    raise self.ledger.unknown_company(company)
                self.db.delete_company(raw, DERIVED, company)
                stream = log.company_log(company, until=position)
                for start in range(0, len(stream), self.batch):
                    page = stream[start : start + self.batch]
                    if not one_by_one:
                        writer.apply(raw, page)
                        continue
                    _, stuck = writer.apply_each(raw, page)
                    if stuck is not None:
                        raise stuck  # the company's rows stay as they were
                self.db.set_tracking(raw, PROJECTIONS, position, bump=True)
        except Exception as e:
            if one_by_one or not writer.blames_the_event(e):
                raise
            return self._rebuild_company(company, one_by_one=True)
        finally:
            self.writer.forget()
            self._seen = None
        return position

    # --- reading ---

    @contextmanager
    def _reading(
        self, known_at: int | None, company: str | None = None
    ) -> Iterator[tuple[Any, int, bool]]:
        """A consistent snapshot of the tables (SQLite: one read transaction; PostgreSQL:
        REPEATABLE READ), caught up to at least ``known_at`` (None: the end of the log as this
        snapshot sees it). Yields the raw connection, the position the answer is for, and
        whether the tables stand exactly there (then the rows still believed are the answer).
        With ``company``, raises ``InputError`` if the log has no such company."""
        for _ in range(3):
            with self.ledger.connection() as raw:
                log = self.db.log(raw)  # its SQL, in the probe's one statement
                exists = f", {log.has_company_sql()}" if company is not None else ""
                probe = (
                    "SELECT (SELECT MIN(position) FROM projection_tracking), "
                    f"{log.end_sql()}{exists}"
                )
                try:
                    with self.db.together(raw):
                        cur = raw.cursor()
                        if self.db.kind == "sqlite":
                            cur.execute("BEGIN")
                        else:  # psycopg begins; this must be the transaction's first statement
                            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                        probed = raw.cursor()
                        probed.execute(probe, () if company is None else (company,))
                    found = probed.fetchone()
                    if company is not None and not found[2]:
                        raise self.ledger.unknown_company(company)
                    tracked, last = int(found[0] or 0), int(found[1] or 0)
                    wanted = last if known_at is None else known_at
                    if tracked >= wanted:
                        yield raw, wanted, tracked == wanted
                        self.db.end_reading(raw)
                        return
                finally:
                    raw.rollback()  # nothing left once ended
            self.catch_up()
        raise ProjectionError(
            f"the read models did not reach position {known_at}: another process keeps "
            "rebuilding them"
        )

    def cap_table(self, company: str, as_of: date, known_at: int | None = None) -> CapTable:
        with self._reading(known_at, company) as (raw, position, now):
            return queries.cap_table(self.db, raw, company, as_of, position, now)

    def grants(
        self,
        company: str,
        as_of: date,
        known_at: int | None = None,
        holder: str | None = None,
    ) -> Grants:
        with self._reading(known_at, company) as (raw, position, now):
            return queries.grants(self.db, raw, company, as_of, position, now, holder)

    def roster(self, company: str, as_of: date, known_at: int | None = None) -> Roster:
        with self._reading(known_at, company) as (raw, position, now):
            return queries.roster(self.db, raw, company, as_of, position, now)

    def board(self, company: str, as_of: date, known_at: int | None = None) -> Board:
        with self._reading(known_at, company) as (raw, position, now):
            return queries.board(self.db, raw, company, as_of, position, now)

    def holdings(self, party: str, as_of: date, known_at: int | None = None) -> Holdings:
        with self._reading(known_at) as (raw, position, now):
            return queries.holdings(self.db, raw, party, as_of, position, now)

    def verify(self, company: str | None = None) -> str:
        from .verify import verify_read_models

        return verify_read_models(self, company)


class _Committer(threading.Thread):
    """Writes the batches ``_ahead`` folds, one after the other, one transaction each."""

    def __init__(
        self,
        service: ReadModelService,
        on_batch: Callable[[int], None] | None,
        process: _WriterProcess,
    ) -> None:
        super().__init__(name="corpledger-projection-committer", daemon=True)
        self.service = service
        self.process = process
        self.on_batch = on_batch
        self.queue: queue.Queue[tuple[Buffer, int, int] | None] = queue.Queue(maxsize=1)
        self.error: BaseException | None = None
        self.conflict = False

    def run(self) -> None:
        # Each drains the queue to its end, whatever fails: the folder sees the failure.
        if self.process.file is None:
            self._commit_each()
        else:
            self._commit_through_writer()

    def _commit_each(self) -> None:
        while (item := self.queue.get()) is not None:
            if self.error is not None or self.conflict:
                continue  # drain what was queued; the folder sees the failure
            try:
                if not self.service._commit_ahead(*item):
                    self.conflict = True
                elif self.on_batch is not None:
                    self.on_batch(item[2])
            except BaseException as e:
                self.error = e

    def _commit_through_writer(self) -> None:
        """``_commit_each`` of a SQLite file, through a writer process: a batch's statements
        are sent without waiting for the commit of the one before, so this thread gets batch
        n+1 ready while the process writes batch n. Batch n+1 is committed only if the
        positions stand where it began, which its first answer says; that answer comes after
        the commit of batch n, which it confirms."""
        service, db = self.service, self.service.db
        sent: tuple[int, int] | None = None  # (end, generation) of a commit not yet answered
        process: SQLiteWriter | None = None
        while (item := self.queue.get()) is not None:
            if self.error is not None or self.conflict:
                continue
            buffer, start, end = item
            try:
                process = self.process.started()
                raw = process.connection()
                db.begin(raw)
                tracked = raw.execute("SELECT position, generation FROM projection_tracking")
                checks: list[Check] = []
                service.writer.write(raw, buffer, checks)
                rows = tracked.fetchall()
                self._confirm(sent)
                sent = None
                if {int(position) for position, _ in rows} != {start}:
                    self.conflict = True
                    process.rollback()
                    continue
                db.set_tracking(raw, PROJECTIONS, end, bump=False)
                check(checks)
                raw.execute("COMMIT")
                sent = (end, max(int(generation) for _, generation in rows))
            except BaseException as e:
                self.error = e
                if process is not None:
                    process.rollback()
        if process is not None and sent is not None and self.error is None:
            try:
                process.wait()  # the last commit's answer
                self._confirm(sent)
            except BaseException as e:
                self.error = e
                process.rollback()

    def _confirm(self, committed: tuple[int, int] | None) -> None:
        """A batch's commit answered: the service stands there."""
        if committed is not None:
            self.service._seen = committed
            if self.on_batch is not None:
                self.on_batch(committed[0])

    def submit(self, buffer: Buffer, start: int, end: int) -> None:
        self._raise()
        self.queue.put((buffer, start, end))

    def finish(self) -> None:
        self.queue.put(None)
        self.join()
        self._raise()

    def abandon(self) -> None:
        if self.is_alive():
            self.queue.put(None)
            self.join()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error


def _writer_file(ledger: Ledger) -> tuple[str, float] | None:
    """The database and lock timeout a SQLite writer process opens, for a SQLite database in a
    file (None: PostgreSQL, or an in-memory database no other process can open)."""
    env = ledger.config.eventsourcing_env
    name = env.get("SQLITE_DBNAME")
    if ledger.config.kind != "sqlite" or name is None or "mode=memory" in name:
        return None
    return name, float(env.get("SQLITE_LOCK_TIMEOUT", "5"))


class _WriterProcess:
    """The writer process of a SQLite file's batches folded ahead in one catch-up, started
    when the first is committed; ``file`` None: there is none (PostgreSQL, an in-memory
    database)."""

    def __init__(self, file: tuple[str, float] | None) -> None:
        self.file = file
        self._process: SQLiteWriter | None = None

    def started(self) -> SQLiteWriter:
        if self._process is None:
            from ledger.persistence.sqlite_writer import SQLiteWriter

            assert self.file is not None
            self._process = SQLiteWriter(*self.file, for_events=False)
        return self._process

    def __enter__(self) -> _WriterProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.close()
