"""``Ledger``: the one application service. Its methods speak the business's words.

It is an eventsourcing ``Application`` with one stream per company (the company slug is
the stream id). ``record`` checks a batch against each company's whole effective-dated
timeline and stores it in one transaction; a concurrent write to the same company makes
the library's optimistic concurrency check fail, and the batch is re-checked on fresh
state and retried a bounded number of times. Queries fold the company's events as of a
date, as known at a position of the global log.
"""

from __future__ import annotations

import bisect
import gc
import getpass
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ContextDecorator, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from datetime import time as clock
from itertools import chain, islice
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, Mapper, PersistenceError

from .batch import CHUNK, Planner, Skipped, rows_of, validate_all
from .domain.corrections import in_force
from .domain.entry import Entry, key_of
from .domain.errors import (
    ConflictError,
    InputError,
    LedgerError,
    RuleViolation,
    StoreError,
    UnknownCompany,
)
from .domain.events import Correction, EventRetracted, Fact, fact_parties
from .domain.instruments import holders_of_instrument, instrument_holders
from .domain.rules import replay, replay_known
from .domain.state import CompanyState
from .domain.timeline import Timeline
from .files import Item
from .persistence import schema
from .persistence.faults import read_failed, write_failed
from .persistence.log import StreamRow, decode
from .persistence.mapper import FactMapper
from .persistence.recorders import Append, LedgerSQLiteRecorder
from .persistence.sqlite_files import Connections
from .persistence.url import StoreConfig, resolve_url, store_config
from .ports import InTransactionProjector, ProjectionError, ReadModels, read_model_factory
from .reports import (
    Audit,
    AuditChange,
    AuditCorrection,
    AuditEvent,
    Board,
    CapTable,
    Companies,
    CompanyHistory,
    CompanyOut,
    Grants,
    HistoryEvent,
    Holdings,
    PartyHistory,
    Roster,
    audit_key,
    board_of,
    cap_table_of,
    changed_fields,
    changes_between,
    grants_of,
    holdings_from,
    position_of,
    roster_of,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from .persistence.postgres import LedgerPostgresRecorder

MAX_ATTEMPTS = 8
"""Tries of one batch against concurrent writers before it fails with ConflictError."""

WRITE_PIECE = 5_000
"""Rows a long batch hands to the store at a time."""

Answer = TypeVar("Answer")

KnownAt = int | datetime | date | None
"""A position of the global log, a timestamp (naive means UTC), or a date (its end, UTC)."""


class gc_paused(ContextDecorator):
    """Pause the cyclic garbage collector for one batch, or while a query builds its answer
    (``@gc_paused()``). Reference counting still frees everything; a cycle is collected once
    the collector runs again.

    A batch allocates hundreds of thousands of small acyclic objects; each generation-0 sweep
    re-walks them all, which cost about 40% of recording time. An answer (a cap table of a
    thousand holders: thousands of dicts and models, none in a cycle) set off several sweeps
    while it was built, and its survivors pushed the collector into a full sweep of the
    process's heap every few dozen queries: the slowest query in a hundred took ten times the
    median. Paused, an answer dropped before the caller allocates much more is never swept.
    Nothing is allocated once the collector is back on (a generator-based context manager
    raises StopIteration there, which set off a sweep of the answer just built)."""

    def __init__(self) -> None:
        self.resume = False

    def _recreate_cm(self) -> gc_paused:
        return gc_paused()  # one per call of a decorated function (threads, recursion)

    def __enter__(self) -> None:
        self.resume = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self.resume:
            gc.enable()


MAX_ACTOR = 200
"""The longest ``recorded_by``, in characters."""


def checked_actor(actor: str) -> str:
    """``actor`` if it can stand in an audit trail (printed on one line, in the history and
    its CSV): 1 to ``MAX_ACTOR`` printable characters, not only spaces; else ``InputError``."""
    if not actor.strip() or len(actor) > MAX_ACTOR or not actor.isprintable():
        raise InputError(
            f"actor {actor[:40]!r}{'…' if len(actor) > 40 else ''}: who records is 1 to "
            f"{MAX_ACTOR} printable characters"
        )
    return actor


def default_actor() -> str:
    """``CORPLEDGER_ACTOR``, else the operating-system user."""
    actor = os.environ.get("CORPLEDGER_ACTOR")
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def today() -> date:
    return datetime.now(UTC).date()


class RecordedEvent(NamedTuple):
    event_id: UUID
    position: int | None  # None in a dry run
    company: str
    type: str
    effective_date: date
    where: str
    external_id: str | None = None


class SkippedEvent(NamedTuple):
    """An event whose external_id the company already has, with the same content."""

    where: str
    company: str
    external_id: str
    event_id: UUID


@dataclass(frozen=True)
class RecordResult:
    recorded: list[RecordedEvent] = field(default_factory=list)
    skipped: list[SkippedEvent] = field(default_factory=list)
    dry_run: bool = False
    lagging: ProjectionError | None = None
    """Why the read models could not be brought up to date after the events were stored
    (``lagging.stuck``: the event they cannot apply), or None. The events are stored all
    the same: recording them again would store them twice."""

    def as_json(self) -> dict[str, Any]:
        """What ``record --format json`` prints and the HTTP API answers a POST with: every
        event stored, and every one skipped."""
        recorded = []
        for e in self.recorded:
            item: dict[str, Any] = {
                "event_id": str(e.event_id),
                "position": e.position,
                "company": e.company,
                "type": e.type,
                "effective_date": e.effective_date.isoformat(),
            }
            if e.external_id is not None:
                item["external_id"] = e.external_id
            recorded.append(item)
        skipped = [
            {"where": s.where, "company": s.company, "external_id": s.external_id,
             "event_id": str(s.event_id)}
            for s in self.skipped
        ]  # fmt: skip
        return {"dry_run": self.dry_run, "recorded": recorded, "skipped": skipped}


@dataclass(frozen=True, slots=True)
class Stored:
    """What the store adds to a fact: position, transaction time, actor."""

    position: int
    recorded_at: datetime | None  # None until first needed, after our own append
    recorded_by: str


@dataclass
class Stream:
    """A company's stream as last read: its timeline and each event's storage facts."""

    company: str
    timeline: Timeline
    stored: dict[int, Stored]  # by seq (stream version)

    @property
    def version(self) -> int:
        return len(self.stored)

    @property
    def last_position(self) -> int:
        return self.stored[self.version].position if self.stored else 0


class Ledger(Application[str]):
    """The corporate-actions ledger. Open one with ``Ledger.open(url)``."""

    name = "corpledger"

    def __init__(self, config: StoreConfig, engine: Engine | None = None) -> None:
        self.config = config
        self._engine = engine
        self._engine_lock = threading.Lock()
        self._reads = Connections(config.file) if config.file is not None else None
        self._streams: dict[str, Stream] = {}
        self._read_models: ReadModels | None = None
        self._read_models_found = False
        self.lagging: ProjectionError | None = None
        """Why the last query answered from the events rather than the read models (they
        could not catch up to the position it asked for), or None."""
        try:
            super().__init__(env=config.eventsourcing_env)
        except PersistenceError as e:
            raise StoreError(f"cannot open the event store at {config.display}: {e}") from None
        self.store: LedgerSQLiteRecorder | LedgerPostgresRecorder = self._ledger_recorder

    # --- opening ---

    @classmethod
    def open(cls, url: str | None = None, *, create: bool = True) -> Ledger:
        """Open the ledger at ``url`` (else ``CORPLEDGER_DB``, else ``sqlite:///corpledger.db``),
        migrating its schema to the newest revision first if it is older.

        With ``create`` (the default) a database without a ledger gets a new one; without,
        it is refused (``InputError``: no ledger there) and nothing is created: not even a
        SQLite file. The command line creates only from the commands that record."""
        config = store_config(resolve_url(url))
        if not create:
            schema.require_ledger(config)
        if schema.at_head(config):
            return cls(config)  # nothing to migrate: no engine until something needs one
        engine = schema.engine_for(config)
        try:
            schema.upgrade(engine)
            return cls(config, engine)
        except BaseException:
            engine.dispose()
            raise

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine of the ledger's database, made on first use: a query on a
        SQLite file at HEAD needs none (``persistence.sqlite_files``)."""
        with self._engine_lock:
            if self._engine is None:
                self._engine = schema.engine_for(self.config)
            return self._engine

    @contextmanager
    def connection(self) -> Iterator[Any]:
        """A driver connection (sqlite3 or psycopg) for reading; what is left of its
        transaction is rolled back after the block. A SQLite file's comes from a pool of
        the sqlite3 driver's own (no SQLAlchemy loaded); any other, from the engine."""
        if self._reads is not None:
            with self._reads.connection() as raw:
                yield raw
        else:
            with self.engine.connect() as conn:
                yield conn.connection.dbapi_connection

    def construct_recorder(self) -> LedgerSQLiteRecorder | LedgerPostgresRecorder:
        # The same table name, stored_events, on both engines (the migrations own it).
        recorder_class: type[LedgerSQLiteRecorder | LedgerPostgresRecorder]
        if self.config.kind == "sqlite":
            recorder_class = LedgerSQLiteRecorder
        else:  # here: a SQLite process never loads psycopg
            from .persistence.postgres import LedgerPostgresRecorder

            recorder_class = LedgerPostgresRecorder
        datastore = self.factory.datastore  # type: ignore[attr-defined]
        self._ledger_recorder = recorder_class(
            datastore=datastore, events_table_name=schema.EVENTS_TABLE
        )
        return self._ledger_recorder

    def construct_mapper(self) -> Mapper[str]:
        return FactMapper(transcoder=self.factory.transcoder())

    def close(self) -> None:
        super().close()
        if self._engine is not None:
            self._engine.dispose()
        if self._reads is not None:
            self._reads.close()

    @property
    def read_models(self) -> ReadModels | None:
        """The read models (bitemporal history tables), when installed: the implementation
        of ``ledger.ports.ReadModels`` registered under the entry point group
        ``corpledger.read_models`` (the ``projections`` package). None without one."""
        if not self._read_models_found:
            factory = read_model_factory()
            self._read_models = factory(self) if factory is not None else None
            self._read_models_found = True
        return self._read_models

    def unknown_company(self, company: str) -> UnknownCompany:
        """The error for a company this ledger does not hold, naming where it looked."""
        return UnknownCompany(company, self.config.display)

    # --- streams ---

    def _stream(self, company: str) -> Stream:
        """The company's stream, brought up to date with one query."""
        cached = self._streams.get(company)
        after = cached.version if cached else 0
        try:
            rows = self.store.log.stream(company, after)
        except PersistenceError as e:
            raise read_failed(e) from None
        return self._extend(company, cached, rows)

    def _extend(self, company: str, cached: Stream | None, rows: list[StreamRow]) -> Stream:
        """The stream as cached when ``rows`` were read after it (or an empty one) followed
        by ``rows``, cached. (Threads may share a ledger: the cache can change meanwhile.)"""
        if cached is not None and not rows:
            return cached
        entries = list(cached.timeline.log) if cached else []
        stored = dict(cached.stored) if cached else {}
        for row in rows:
            event_id, actor, fact = decode(row.position, row.company, row.state)
            entries.append(Entry(fact, row.version, "", event_id))  # stored: named by id
            stored[row.version] = Stored(row.position, row.recorded_at, actor)
        stream = Stream(company, Timeline(company, entries), stored)
        self._streams[company] = stream
        return stream

    # --- recording ---

    def record(
        self,
        events: Iterable[Item | Fact | dict[str, Any]],
        *,
        actor: str | None = None,
        dry_run: bool = False,
        project: bool = True,
        progress: Callable[[int], None] | None = None,
    ) -> RecordResult:
        """Validate and store ``events`` as one atomic batch across every company it touches.

        ``events`` may be any iterable, read once: a batch longer than ``batch.CHUNK``
        events streams (validated, checked and written a chunk at a time inside one
        transaction), so a file of millions of events needs memory for one chunk, not for
        the file. ``progress``, if given, is called with the number of events done so far.

        With ``project`` (the default) the read models are brought up to date before it
        returns, so the next query reads what was just recorded from them; without, they
        catch up later (``corpledger projections run``, or the next query).

        Raises ``InputError`` or ``RuleViolation`` (nothing stored), ``ConflictError`` or
        ``StoreError`` (nothing stored). Once the batch is committed it raises nothing: if
        the read models cannot be brought up to date (a stored event a projection cannot
        apply, ``ProjectionError.stuck``), the result says so in ``lagging``."""
        with gc_paused():
            result = self._record_batch(
                events,
                actor=checked_actor(default_actor() if actor is None else actor),
                dry_run=dry_run,
                project=project,
                progress=progress,
            )
        if project and not dry_run and result.recorded:
            lagging = self.project(until=max(e.position or 0 for e in result.recorded))
            if lagging is not None:
                result = replace(result, lagging=lagging)
        return result

    def project(self, until: int | None = None) -> ProjectionError | None:
        """Bring the read models (if installed) up to ``until`` (default: the end of the
        log). Returns None, or why they stopped short: a ``ProjectionError`` (its ``stuck``
        names the event they cannot apply, when that is why; they stand just before it)."""
        read_models = self.read_models
        if read_models is None:
            return None
        try:
            read_models.catch_up(until=until)
        except ProjectionError as e:
            return e
        except Exception as e:  # after a commit, a failure to project is reported, not raised
            return ProjectionError(f"the read models could not catch up: {type(e).__name__}: {e}")
        return None

    def _record_batch(
        self,
        events: Iterable[Item | Fact | dict[str, Any]],
        *,
        actor: str,
        dry_run: bool,
        project: bool,
        progress: Callable[[int], None] | None,
    ) -> RecordResult:
        """One path for every batch. A batch of at most ``CHUNK`` events is checked whole on
        the streams as last read, then appended; a concurrent writer to one of its
        companies makes the append fail on the library's ``(company, version)`` key, and it
        is checked again on fresh state (``MAX_ATTEMPTS``). A longer batch cannot be read
        twice: it takes the append lock first and is checked on streams read under it, so
        no writer can come between (they wait, then retry on what it stored)."""
        items = iter(events)
        first = validate_all(islice(items, CHUNK), 1)
        if not first:
            return RecordResult(dry_run=dry_run)
        following = next(items, None)
        if following is None:
            result = self._record_checked(first, actor, dry_run)
        else:
            rest = chain([following], items)
            result = self._record_streaming(first, rest, actor, dry_run, project, progress)
        if progress is not None:
            progress(len(result.recorded) + len(result.skipped))
        return result

    def _record_checked(
        self, facts: list[tuple[Fact, str]], actor: str, dry_run: bool
    ) -> RecordResult:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            planner = Planner(self._timelines, company_of=self._company_of)
            admitted = planner.admit(facts)
            if dry_run or not admitted:
                return _result(admitted, planner.skipped, dry_run)
            written = False  # once the positions are read back, only the commit is left
            try:
                with self.store.append() as append:
                    append.write(rows_of(admitted, actor))
                    positions = append.positions()
                    written = True
            except IntegrityError:
                # Another writer appended to one of these companies first: re-check on
                # fresh state. Jittered backoff keeps racing writers from colliding again.
                for company in planner.companies:
                    self._streams.pop(company, None)
                time.sleep(random.uniform(0, 0.02 * attempt))
                continue
            except PersistenceError as e:
                raise write_failed(e, committing=written) from None
            self._remember(planner, admitted, positions, actor)
            return _result(admitted, planner.skipped, False, positions)
        raise ConflictError(
            f"gave up after {MAX_ATTEMPTS} attempts: other writers kept changing "
            f"{', '.join(sorted({a.fact.company for a in admitted}))}; nothing was stored"
        )

    def _record_streaming(
        self,
        first: list[tuple[Fact, str]],
        rest: Iterator[Item | Fact | dict[str, Any]],
        actor: str,
        dry_run: bool,
        project: bool,
        progress: Callable[[int], None] | None,
    ) -> RecordResult:
        # What the result reports of each event, without its fact: memory for a million
        # events stays in the hundreds of megabytes.
        recorded: list[Reported] = []
        done = 0

        def chunks() -> Iterator[list[tuple[Fact, str]]]:
            yield first
            number = len(first)
            while chunk := list(islice(rest, CHUNK)):
                yield validate_all(chunk, number + 1)
                number += len(chunk)

        def report(checked: list[Entry], facts: int) -> None:
            nonlocal done
            recorded.extend(_reported(checked))
            done += facts
            if progress is not None:
                progress(done)

        if dry_run:
            # Nothing is written, so whole timelines are kept (no lock is taken).
            planner = Planner(self._timelines, company_of=self._company_of)
            for facts in chunks():
                report(planner.admit(facts), len(facts))
            return RecordResult(
                _recorded(recorded, [None] * len(recorded)),
                [SkippedEvent(*s) for s in planner.skipped],
                True,
            )
        planner = Planner(self._timelines, company_of=self._company_of)
        written = False
        try:
            with self.store.append(bulk=True) as append:
                projector = self._in_transaction(append) if project else None
                position: int | None = None  # of the next event written

                def under_lock(companies: list[str]) -> dict[str, tuple[Timeline, int]]:
                    # Companies new to the planner: nothing of theirs is written yet.
                    return self._timelines(companies, append.select_unwritten_streams)

                def again(companies: list[str]) -> dict[str, tuple[Timeline, int]]:
                    for company in companies:
                        self._streams.pop(company, None)
                    return self._timelines(companies, append.select_streams)

                planner = Planner(under_lock, reload=again, company_of=self._company_of)
                for facts in chunks():
                    try:
                        checked = planner.admit(facts)
                    except RuleViolation as e:
                        raise _naming_places(e, recorded) from None
                    # In pieces: the store works on one while the next is encoded, and
                    # what is left to write when the last chunk is checked is one piece.
                    for start in range(0, len(checked), WRITE_PIECE):
                        piece = checked[start : start + WRITE_PIECE]
                        append.write(rows_of(piece, actor), behind=True)
                        if projector is not None and piece:
                            position = position or append.first_position()
                            projector.fold(piece, position)
                            position += len(piece)
                    report(checked, len(facts))
                    planner.forget_history()
                positions = append.positions()
                if projector is not None:
                    projector.finish()
                written = True
        except IntegrityError:
            raise ConflictError(
                "another writer appended to a company of this batch without taking the "
                "append lock; nothing was stored"
            ) from None
        except PersistenceError as e:
            raise write_failed(e, committing=written) from None
        finally:
            # Streams cached before, or read under the lock, may be stale or whole: let
            # the next read bring them up to date.
            for company in planner.companies:
                self._streams.pop(company, None)
        return RecordResult(
            _recorded(recorded, positions),
            [SkippedEvent(*s) for s in planner.skipped],
            False,
        )

    def _in_transaction(self, append: Append) -> InTransactionProjector | None:
        """The read models' projector for ``append``'s transaction, if they are installed,
        stand where the log does, and the append can lend its connection (a long batch:
        its writes are on a connection of their own)."""
        read_models = self.read_models
        raw = append.connection()
        if read_models is None or raw is None:
            return None
        return read_models.in_transaction(
            raw, append.start, append.settle, append.behind, self._known_before
        )

    def _known_before(self, company: str, seq: int) -> tuple[list[Entry], CompanyState] | None:
        """The company's events in force just before its event ``seq`` as this ledger read
        them (its stream as cached: whole, and ending just there) and their state, for the
        read models to start from. None when the cache holds something else."""
        stream = self._streams.get(company)
        if stream is None:
            return None
        timeline = stream.timeline
        if timeline.last_seq != seq - 1 or len(timeline.log) != timeline.last_seq:
            return None
        return timeline.entries, timeline.end

    def _timelines(
        self,
        companies: list[str],
        read: Callable[[dict[str, int]], dict[str, list[StreamRow]]] | None = None,
    ) -> dict[str, tuple[Timeline, int]]:
        """The companies' timelines and versions: each cached stream brought up to date, the
        others read whole, all in one query (``read``: the store's, or the open append's)."""
        cached = {c: self._streams.get(c) for c in companies}
        after = {c: (stream.version if stream else 0) for c, stream in cached.items()}
        try:
            found = (read or self.store.log.streams)(after)
        except PersistenceError as e:
            raise read_failed(e) from None
        return {
            company: (stream.timeline, stream.version)
            for company in companies
            for stream in [self._extend(company, cached[company], found[company])]
        }

    def _company_of(self, event_id: UUID) -> str | None:
        """The company whose stream holds ``event_id`` (for an error message only: it reads
        every stream)."""
        for company in self.store.log.companies():
            if any(e.event_id == event_id for e in self._stream(company).timeline.log):
                return company
        return None

    def _remember(
        self, planner: Planner, admitted: list[Entry], positions: Sequence[int], actor: str
    ) -> None:
        """Cache what was just stored; recorded_at (set by the database) is read when needed."""
        appended: dict[str, dict[int, Stored]] = {}
        for event, position in zip(admitted, positions, strict=True):
            appended.setdefault(event.fact.company, {})[event.seq] = Stored(position, None, actor)
        for company, state in planner.companies.items():
            stream = self._streams.get(company)
            if company not in appended or stream is None:
                continue
            _forget_places(state.timeline, len(appended[company]))
            self._streams[company] = Stream(
                company, state.timeline, {**stream.stored, **appended[company]}
            )

    def _with_times(self, stream: Stream) -> Stream:
        missing = [s.position for s in stream.stored.values() if s.recorded_at is None]
        if missing:
            times = self.store.log.recorded_times(min(missing), max(missing))
            for seq, s in stream.stored.items():
                if s.recorded_at is None:
                    stream.stored[seq] = Stored(s.position, times[s.position], s.recorded_by)
        return stream

    # --- queries ---

    def known_position(self, known_at: KnownAt = None) -> int:
        """The log position an answer known at ``known_at`` reflects (the latest if None)."""
        last = self.store.log.last_position()
        if known_at is None:
            return last
        if isinstance(known_at, bool):
            raise InputError(f"--known-at {known_at!r} is not a position, timestamp or date")
        if isinstance(known_at, int):
            if known_at < 0:
                raise InputError(f"--known-at {known_at} is not a position (positions are >= 1)")
            if known_at > last:
                raise InputError(
                    f"--known-at {known_at} is past the end of the log (last position {last})"
                )
            return known_at
        if isinstance(known_at, datetime):
            try:  # the log's times are UTC; year 1 at +01:00 is before any of them can be
                moment = (
                    known_at.astimezone(UTC) if known_at.tzinfo else known_at.replace(tzinfo=UTC)
                )
            except OverflowError:
                raise InputError(f"--known-at {known_at} is out of range once in UTC") from None
        else:
            moment = datetime.combine(known_at, clock.max, UTC)
        if moment.date() > today():
            raise InputError(f"--known-at {known_at} is in the future")
        return min(self.store.log.position_at(moment), last)

    def state(
        self, company: str, as_of: date | None = None, known_at: KnownAt = None
    ) -> tuple[CompanyState, date, int]:
        """The company as of ``as_of`` (default today, UTC), as known at ``known_at``."""
        position = self.known_position(known_at)
        as_of = as_of or today()
        stream = self._stream(company)
        if not stream.stored:
            raise self.unknown_company(company)
        return self._fold(stream, as_of, position), as_of, position

    def entries(self, company: str, known_at: KnownAt = None) -> list[Entry]:
        """The company's events in force as known at ``known_at``, in timeline order: what
        ``state`` folds, for a caller that folds them step by step (``rules.apply_known``)."""
        position = self.known_position(known_at)
        stream = self._stream(company)
        if not stream.stored:
            raise self.unknown_company(company)
        return list(self._known(stream, position))

    def last_recorded(self, company: str) -> datetime:
        """When the last event of the company's log was recorded (a time that changes only
        when the company does)."""
        stream = self._stream(company)
        if not stream.stored:
            raise self.unknown_company(company)
        last = self._with_times(stream).stored[stream.version].recorded_at
        assert last is not None  # _with_times filled it in
        return last

    @staticmethod
    def _known(stream: Stream, position: int) -> Sequence[Entry]:
        if position >= stream.last_position:
            return stream.timeline.entries
        stored = stream.stored
        return in_force(e for e in stream.timeline.log if stored[e.seq].position <= position)

    @classmethod
    def _fold(cls, stream: Stream, as_of: date, position: int) -> CompanyState:
        if position >= stream.last_position:
            return replay(stream.timeline.entries, stream.company, as_of=as_of)
        return replay_known(cls._known(stream, position), stream.company, as_of=as_of)

    def _answer(
        self,
        fold: bool,
        from_tables: Callable[[ReadModels], Answer],
        from_events: Callable[[], Answer],
    ) -> Answer:
        """The answer from the read models when installed (caught up first), else, with
        ``fold``, or when they cannot catch up (``lagging`` says why), from the events."""
        self.lagging = None
        tables = None if fold else self.read_models
        if tables is not None:
            try:
                return from_tables(tables)
            except ProjectionError as e:
                self.lagging = e
        try:
            return from_events()
        except LedgerError:
            raise
        except Exception:
            if self.lagging is None:
                raise
            # The events cannot be read either (one of a newer version, say): the
            # projections' message names it.
            raise self.lagging from None

    def _position_or_end(self, known_at: KnownAt) -> int | None:
        """``known_at`` as a position; None stays None (the read models take the end of the
        log in the same snapshot as the rows)."""
        return None if known_at is None else self.known_position(known_at)

    @gc_paused()
    def cap_table(
        self,
        company: str,
        as_of: date | None = None,
        known_at: KnownAt = None,
        *,
        fold: bool = False,
    ) -> CapTable:
        """Holders, shares by class, ownership and voting percentages, last valuation.

        Read from the read models when installed (caught up first), else, or with ``fold``,
        folded from the events; the two answers are the same (``corpledger verify``). When
        the read models cannot catch up to the position asked for (an event they cannot
        apply), the answer is folded too, and ``lagging`` says why."""
        return self._answer(
            fold,
            lambda t: t.cap_table(company, as_of or today(), self._position_or_end(known_at)),
            lambda: cap_table_of(*self.state(company, as_of, known_at)),
        )

    @gc_paused()
    def grants(
        self,
        company: str,
        as_of: date | None = None,
        known_at: KnownAt = None,
        *,
        holder: str | None = None,
        fold: bool = False,
    ) -> Grants:
        """Awards (options and RSUs) granted by ``as_of``, of ``holder`` if given: quantity,
        vested, exercised, cancelled, outstanding and exercisable on ``as_of`` (see
        ``cap_table``)."""
        return self._answer(
            fold,
            lambda t: t.grants(company, as_of or today(), self._position_or_end(known_at), holder),
            lambda: grants_of(*self.state(company, as_of, known_at), holder),
        )

    @gc_paused()
    def roster(
        self,
        company: str,
        as_of: date | None = None,
        known_at: KnownAt = None,
        *,
        fold: bool = False,
    ) -> Roster:
        """Officers in office: role, title, person, since, interim (see ``cap_table``)."""
        return self._answer(
            fold,
            lambda t: t.roster(company, as_of or today(), self._position_or_end(known_at)),
            lambda: roster_of(*self.state(company, as_of, known_at)),
        )

    @gc_paused()
    def board(
        self,
        company: str,
        as_of: date | None = None,
        known_at: KnownAt = None,
        *,
        fold: bool = False,
    ) -> Board:
        """Directors: person, seat, since, designated_by, executive or not (see
        ``cap_table``)."""
        return self._answer(
            fold,
            lambda t: t.board(company, as_of or today(), self._position_or_end(known_at)),
            lambda: board_of(*self.state(company, as_of, known_at)),
        )

    @gc_paused()
    def holdings(
        self,
        party: str,
        as_of: date | None = None,
        known_at: KnownAt = None,
        *,
        fold: bool = False,
    ) -> Holdings:
        """Every position of ``party`` across the companies of the ledger (see
        ``cap_table``)."""
        return self._answer(
            fold,
            lambda t: t.holdings(party, as_of or today(), self._position_or_end(known_at)),
            lambda: self._holdings_folded(party, as_of or today(), known_at),
        )

    def _holdings_folded(self, party: str, as_of: date, known_at: KnownAt) -> Holdings:
        position = self.known_position(known_at)
        positions = []
        for company in self.store.log.companies():
            held = position_of(self._fold(self._stream(company), as_of, position), party, as_of)
            if held is not None:
                positions.append(held)
        return holdings_from(party, as_of, position, positions)

    @gc_paused()
    def companies(self, known_at: KnownAt = None) -> Companies:
        """Every company of the ledger as known at ``known_at`` (default now), by slug: its
        name and registration date (as of its latest effective date), how many events it
        has and the position of its last one."""
        position = self.known_position(known_at)
        listed = []
        for company in self.store.log.companies():
            stream = self._stream(company)
            seqs = [seq for seq, s in stream.stored.items() if s.position <= position]
            if not seqs:
                continue
            state = self._fold(stream, date.max, position)
            listed.append(
                CompanyOut(
                    company=company,
                    name=state.name,
                    registered=state.registered,
                    events=len(seqs),
                    last_position=stream.stored[max(seqs)].position,
                )
            )
        return Companies(known_at=position, companies=listed)

    @gc_paused()
    def history(self, company: str, known_at: KnownAt = None) -> CompanyHistory:
        """The audit trail of a company: every event with its provenance, by position."""
        position = self.known_position(known_at)
        stream = self._stream(company)
        if not stream.stored:
            raise self.unknown_company(company)
        return CompanyHistory(
            company=company,
            known_at=position,
            events=self._trail(self._with_times(stream), position, None),
        )

    @gc_paused()
    def party_history(self, party: str, known_at: KnownAt = None) -> PartyHistory:
        """Every event touching ``party`` across all companies, by position."""
        position = self.known_position(known_at)
        events = [
            event
            for company in self.store.log.companies()
            for event in self._trail(self._with_times(self._stream(company)), position, party)
        ]
        events.sort(key=lambda e: e.position)
        return PartyHistory(party=party, known_at=position, events=events)

    @gc_paused()
    def audit(
        self,
        company: str,
        start: date | None = None,
        end: date | None = None,
        known_at: KnownAt = None,
    ) -> Audit:
        """Every change in [start, end] (default: from the first event to today) to the
        cap table, the roster and the board, each with the events behind it and who
        recorded them, when and from which source; as known at ``known_at`` (default now).
        Folded from the events (``reports.changes_between``)."""
        position = self.known_position(known_at)
        given = (start, end)
        end = end or today()
        stream = self._stream(company)
        if not stream.stored:
            raise self.unknown_company(company)
        stream = self._with_times(stream)
        log = [e for e in stream.timeline.log if stream.stored[e.seq].position <= position]
        entries = stream.timeline.entries if len(log) == stream.version else in_force(log)
        start = start or (entries[0].fact.effective_date if entries else end)
        if start > end:
            if None not in given:
                raise InputError(f"--from {start} is after --to {end}")
            # A default gives way to the date given, or both to today: a company whose
            # first event is still to come has no change up to today.
            start, end = (end, end) if given[0] is None else (start, start)
        carrier = {e.event_id: stream.stored[e.seq] for e in log}
        logged = {e.event_id: e.fact for e in log}

        def behind(entry: Entry) -> AuditEvent:
            stored = carrier[entry.event_id]
            assert stored.recorded_at is not None
            # A replacement in force goes by its correction's id: say what that corrected.
            carried_by = logged[entry.event_id]
            correction = None
            if isinstance(carried_by, Correction):
                correction = AuditCorrection(
                    type=carried_by.type,
                    target=str(carried_by.target_id),
                    target_type=logged[carried_by.target_id].type,
                    reason=carried_by.reason,
                )
            return AuditEvent(
                event_id=str(entry.event_id),
                position=stored.position,
                type=entry.fact.type,
                recorded_at=stored.recorded_at,
                recorded_by=stored.recorded_by,
                # A replacement's own source, else its correction's.
                source=entry.fact.source or carried_by.source,
                correction=correction,
            )

        return Audit(
            company=company,
            from_=start,
            to=end,
            known_at=position,
            changes=[
                AuditChange(
                    effective_date=change.on,
                    table=change.key[0],
                    key=audit_key(*change.key),
                    before=change.before,
                    after=change.after,
                    changed=changed_fields(change.before, change.after),
                    events=[behind(e) for e in change.events],
                )
                for change in changes_between(company, entries, start, end)
            ],
        )

    @staticmethod
    def _trail(stream: Stream, position: int, party: str | None) -> list[HistoryEvent]:
        """The company's events known at ``position`` (those touching ``party`` if given),
        with the correction known then that took each out of force, if any."""
        log = stream.timeline.log
        stored = stream.stored
        by_id = {e.event_id: e for e in log}
        holders = instrument_holders(e.fact for e in log) if party is not None else {}
        trail = []
        for entry in log:
            known = stored[entry.seq]
            assert known.recorded_at is not None
            if known.position > position:
                continue
            fact = entry.fact
            if party is not None and party not in _parties(fact, by_id, holders):
                continue
            undone = stream.timeline.undone.get(entry.event_id) if entry.event_id else None
            if undone is not None and stored[undone.seq].position > position:
                undone = None
            trail.append(
                history_event(
                    stream.company,
                    known.position,
                    entry.event_id,
                    fact,
                    known.recorded_at,
                    known.recorded_by,
                    undone,
                )
            )
        return trail

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def history_event(
    company: str,
    position: int,
    event_id: UUID | None,
    fact: Fact,
    recorded_at: datetime,
    recorded_by: str,
    undone: Entry | None = None,
) -> HistoryEvent:
    """A stored event as ``history`` and the change feed show it; ``undone`` is the
    retraction or correction known to have taken it out of force, if any."""
    retracted = undone is not None and isinstance(undone.fact, EventRetracted)
    return HistoryEvent(
        event_id=str(event_id),
        position=position,
        company=company,
        type=fact.type,
        effective_date=fact.effective_date,
        recorded_at=recorded_at,
        recorded_by=recorded_by,
        source=fact.source,
        retracted_by=str(undone.event_id) if undone and retracted else None,
        corrected_by=str(undone.event_id) if undone and not retracted else None,
        data=fact.model_dump(mode="json", by_alias=True, exclude_none=True),
    )


def _naming_places(error: RuleViolation, recorded: list[Reported]) -> RuleViolation:
    """A rule broken in a later chunk of a long batch may name an event of an earlier chunk,
    read back from the open transaction by its event id: name it by its place instead (it
    is not stored: nothing of the batch is)."""
    message = str(error)
    mentioned = set(re.findall(r"event ([0-9a-f-]{36})", message))
    if mentioned:
        for event_id, *_, where in recorded:
            if str(event_id) in mentioned:
                message = message.replace(f"event {event_id}", where)
    return RuleViolation(message, rule=error.rule)


def _forget_places(timeline: Timeline, appended: int) -> None:
    """Once stored, an event is named by its id in later messages (``place``), not by the
    file item it came from (which names nothing in a later batch): its ``where`` is emptied.
    ``appended``: how many events the batch added at the end of the log. Only the entries
    from the earliest new one on are looked at (all of them when the batch has a correction:
    a replacement goes anywhere)."""
    # The log and the entries in force mostly share the batch's Entry objects: each is
    # rebuilt once, in C (a batch of 20,000 events spent a fifth of its time renaming).
    stored: dict[int, Entry] = {}
    new = tuple.__new__

    def unplaced(entry: Entry) -> Entry:
        if not entry.where:
            return entry
        done = stored.get(id(entry))
        if done is None:
            done = stored[id(entry)] = new(Entry, (entry.fact, entry.seq, "", entry.event_id))
        return done

    cut = len(timeline.log) - appended
    fresh = timeline.log[cut:]
    timeline.log[cut:] = [unplaced(e) for e in fresh]  # the lists are the batch's own (admit)
    if any(isinstance(e.fact, Correction) for e in fresh):
        start = 0
        timeline.undone = {target: unplaced(e) for target, e in timeline.undone.items()}
    else:
        start = bisect.bisect_left(timeline.keys, min(map(key_of, fresh)))
    timeline.entries[start:] = [unplaced(e) for e in timeline.entries[start:]]


def _parties(
    fact: Fact, by_id: dict[UUID | None, Entry], holders: dict[tuple[str, str], set[str]]
) -> set[str]:
    """The parties an event touches (an instrument's event, its holder: ``holders``); a
    correction touches those of its target and its replacement."""
    if not isinstance(fact, Correction):
        return fact_parties(fact) | holders_of_instrument(fact, holders)
    target = by_id.get(fact.target_id)
    parties = _parties(target.fact, by_id, holders) if target is not None else set()
    replacement = getattr(fact, "replacement", None)
    if replacement is None:
        return parties
    return parties | fact_parties(replacement) | holders_of_instrument(replacement, holders)


Reported = tuple[UUID, str, str, date, str | None, str]
"""What the result reports of an event before its position is known: event_id, company,
type, effective_date, external_id, where (a plain tuple, and no fact: a batch keeps a
million)."""


def _reported(admitted: Iterable[Entry]) -> list[Reported]:
    return [
        (e.event_id, f.company, f.type, f.effective_date, f.external_id, e.where)  # type: ignore[misc]
        for e in admitted
        for f in (e.fact,)
    ]


def _recorded(reported: list[Reported], positions: Sequence[int | None]) -> list[RecordedEvent]:
    new = tuple.__new__  # RecordedEvent(...) built in C
    return [
        new(RecordedEvent, (r[0], p, r[1], r[2], r[3], r[5], r[4]))
        for r, p in zip(reported, positions, strict=True)
    ]


def _result(
    admitted: list[Entry],
    skipped: list[Skipped],
    dry_run: bool,
    positions: Sequence[int | None] = (),
) -> RecordResult:
    return RecordResult(
        recorded=_recorded(_reported(admitted), positions or [None] * len(admitted)),
        skipped=[SkippedEvent(*s) for s in skipped],
        dry_run=dry_run,
    )


__all__ = ["Ledger", "LedgerError", "RecordResult"]
