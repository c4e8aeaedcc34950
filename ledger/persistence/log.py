"""``EventLog``: the one reader of the stored events, for every part that reads the log (the
ledger's streams and queries, ``replay``, ``verify``'s hash chain, the read models' catch-up,
rebuild and check, and the change feed). All the SQL that selects from ``stored_events``
is here, once per engine; nothing else reads the table.

An ``EventLog`` reads through a cursor it is given or opens: the ledger's recorder opens
one of its datastore's per read (``LedgerSQLiteRecorder.log``), and ``on(cursor)`` reads
inside a caller's transaction (an append, the read models' batch under their lock), so
what is read and what is written there is one snapshot.

Rows are ``LogRow`` tuples ``(position, company, version, state)`` in position order (or in
version order for one company), ``state`` as stored: decoding is the reader's, since each
names an event it cannot read its own way (``decode``: ``UnreadableEventError``; the read
models: a ``StuckEvent``). Streams for the ledger's cache (``StreamRow``) add the topic and
``recorded_at``; pages of the hash chain (``ChainRow``) the chain value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from ..domain.errors import StoreError
from ..domain.events import Fact
from .mapper import NewerEventError, decode_state


@dataclass(frozen=True, slots=True)
class StreamRow:
    """One stored event with the columns the library's StoredEvent leaves out."""

    position: int
    company: str
    version: int
    topic: str
    state: bytes
    recorded_at: datetime


class UnreadableEventError(StoreError):
    """A stored event the ledger cannot read: not what it wrote (an owner of the database
    changed it past the append-only triggers; ``verify`` says where and how), or what a
    newer version wrote (``newer`` says why: the mapper's ``NewerEventError``)."""

    def __init__(self, position: int, company: object, newer: str | None = None) -> None:
        why = newer or (
            "it is not what corpledger wrote; run `corpledger verify` to check the ledger"
        )
        super().__init__(
            f"cannot read the stored event at position {position} (company {company}): {why}"
        )


def stored_state(state: object, position: int, company: object) -> bytes:
    """A stored event's ``state`` as bytes, as the ledger writes it; anything else (text,
    NULL, a number: only an edit past the triggers makes one) is refused, not converted."""
    if isinstance(state, bytes | memoryview):
        return bytes(state)
    raise UnreadableEventError(position, company)


@dataclass(frozen=True, slots=True)
class ChainRow:
    """One stored event as the hash chain covers it, with its position and chain value.

    ``well_formed`` is False when a column holds another type than the ledger writes (text
    or a number for bytes, NULL, …): such a row is forged whatever its content. The fields
    then hold its values as near as they come to their types, to name it in the report."""

    position: int
    originator_id: str
    version: int
    topic: str
    state: bytes
    chain: bytes
    well_formed: bool = True

    @staticmethod
    def read(
        position: int, originator_id: Any, version: Any, topic: Any, state: Any, chain: Any
    ) -> ChainRow:
        """A row as the database returned it, whatever an edit past the triggers left in it:
        never a crash, so ``verify`` can report it."""
        well_formed = (
            isinstance(originator_id, str)
            and type(version) is int
            and isinstance(topic, str)
            and isinstance(state, bytes | memoryview)
            and isinstance(chain, bytes | memoryview)
        )
        if well_formed:
            return ChainRow(position, originator_id, version, topic, bytes(state), bytes(chain))
        return ChainRow(
            position,
            _as_text(originator_id),
            version if type(version) is int else 0,
            _as_text(topic),
            _as_bytes(state),
            _as_bytes(chain),
            well_formed=False,
        )


def _as_text(value: Any) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode(errors="replace")
    return "" if value is None else str(value)


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes | memoryview):
        return bytes(value)
    return b"" if value is None else str(value).encode()


LogRow = tuple[int, str, int, Any]
"""One stored event: (position, company, version, state as stored)."""

TimedRow = tuple[int, str, int, Any, datetime]
"""A ``LogRow`` with the event's ``recorded_at``."""

STREAMS_AT_ONCE = 400
"""Companies read per statement by ``streams`` (SQLite allows 32,766 parameters)."""


def decode(position: int, company: str, state: Any) -> tuple[UUID, str, Fact]:
    """A stored event's (event id, recorded by, fact); ``UnreadableEventError`` naming its
    position and company when it is not what this version of corpledger writes."""
    try:
        return decode_state(stored_state(state, position, company))
    except NewerEventError as e:
        raise UnreadableEventError(position, company, str(e)) from None
    except ValueError:  # not an event as corpledger writes one
        raise UnreadableEventError(position, company) from None


class EventLog:
    """The reads of the log, on one engine. ``read`` opens a cursor for one read (a context
    manager); the cursor's rows index like tuples."""

    kind: str
    position: str  # the column that is the log position
    mark: str  # the driver's parameter mark

    def __init__(
        self,
        read: Callable[[], AbstractContextManager[Any]],
        read_all: Callable[[], AbstractContextManager[Any]] | None = None,
    ) -> None:
        self._read = read
        self._read_all = read_all or read  # for ``whole_log``

    def on(self, cursor: Any) -> EventLog:
        """This log read through ``cursor``, inside its transaction."""
        return log_on(self.kind, cursor)

    # --- by position ---

    def last_position(self) -> int:
        """The end of the log (0 when empty)."""
        with self._read() as cur:
            cur.execute(f"SELECT {self.end_sql()}")
            return int(cur.fetchone()[0] or 0)

    def end_sql(self) -> str:
        """``last_position`` as an expression (NULL when empty), for a caller's statement
        that reads other tables in the same round trip."""
        return f"(SELECT MAX({self.position}) FROM stored_events)"

    def has_company_sql(self) -> str:
        """``has_company`` as an expression of one parameter, the company (as ``end_sql``)."""
        return (
            f"EXISTS (SELECT 1 FROM stored_events WHERE originator_id = {self.mark} "
            "AND originator_version = 1)"
        )

    def events_after(
        self, after: int, limit: int, *, until: int | None = None, company: str | None = None
    ) -> list[LogRow]:
        """Up to ``limit`` events with positions after ``after`` (and up to ``until``), of
        ``company`` only if given, in position order: a page of the log; the next page is
        after the last position of this one, and an empty page is the end.

        Without ``company``, positions are unique integers, so the first ``limit`` of them
        after ``after`` all lie in a range of ``limit`` positions: the range the planner is
        given (PostgreSQL without statistics otherwise sorts the whole rest of the log for
        each page). A range that falls in a gap (positions a rolled-back write took) is
        skipped to the next event."""
        return self._page("", after, limit, until=until, company=company)

    def timed_events_after(
        self, after: int, limit: int, *, until: int | None = None, company: str | None = None
    ) -> list[TimedRow]:
        """``events_after`` with each event's ``recorded_at``: a page of the change feed."""
        rows = self._page(", recorded_at", after, limit, until=until, company=company)
        return [(*r[:4], self._time(r[4])) for r in rows]

    def _page(
        self, more: str, after: int, limit: int, *, until: int | None, company: str | None
    ) -> list[Any]:
        """``events_after``, selecting the columns ``more`` too (text after the fourth)."""
        p, m = self.position, self.mark
        select = f"SELECT {p}, originator_id, originator_version, state{more} FROM stored_events"
        stop = (1 << 63) - 1 if until is None else until
        with self._read() as cur:
            if company is not None:
                cur.execute(
                    f"{select} WHERE originator_id = {m} AND {p} > {m} AND {p} <= {m} "
                    f"ORDER BY {p} LIMIT {m}",
                    (company, after, stop, limit),
                )
                return list(cur.fetchall())
            while after < stop:
                cur.execute(
                    f"{select} WHERE {p} > {m} AND {p} <= {m} ORDER BY {p} LIMIT {m}",
                    (after, min(stop, after + limit), limit),
                )
                found = list(cur.fetchall())
                if found or after + limit >= stop:
                    return found
                cur.execute(
                    f"SELECT MIN({p}) FROM stored_events WHERE {p} > {m} AND {p} <= {m}",
                    (after, stop),
                )
                following = cur.fetchone()[0]
                if following is None:
                    return []
                after = int(following) - 1
            return []

    def event_at(self, position: int) -> LogRow | None:
        """The event at ``position`` (None: no event there)."""
        found = self.events_after(position - 1, 1, until=position)
        return found[0] if found else None

    def whole_log(self, page: int) -> Iterator[list[LogRow]]:
        """The whole log in position order, ``page`` rows at a time, from one query in one
        read transaction (one plan, one snapshot): for folding everything (``replay``)."""
        with self._read_all() as cur:
            cur.execute(
                f"SELECT {self.position}, originator_id, originator_version, state "
                f"FROM stored_events ORDER BY {self.position}"
            )
            while rows := cur.fetchmany(page):
                yield rows

    def chain_page(self, after: int, stop: int, limit: int) -> list[ChainRow]:
        """Up to ``limit`` events with positions in (``after``, ``stop``] as the hash chain
        covers them, each read whatever an edit past the triggers left in it (``verify``)."""
        p, m = self.position, self.mark
        with self._read() as cur:
            cur.execute(
                f"SELECT {p}, originator_id, originator_version, topic, state, chain "
                f"FROM stored_events WHERE {p} > {m} AND {p} <= {m} ORDER BY {p} LIMIT {m}",
                (after, stop, limit),
            )
            return [ChainRow.read(*r) for r in cur.fetchall()]

    def position_at(self, moment: datetime) -> int:
        """The last position recorded at or before ``moment`` (0: none)."""
        with self._read() as cur:
            cur.execute(
                f"SELECT MAX({self.position}) FROM stored_events WHERE recorded_at <= {self.mark}",
                (self._timestamp(moment),),
            )
            return int(cur.fetchone()[0] or 0)

    def recorded_times(self, first: int, last: int) -> dict[int, datetime]:
        """``recorded_at`` of the positions from ``first`` to ``last``."""
        p, m = self.position, self.mark
        with self._read() as cur:
            cur.execute(
                f"SELECT {p}, recorded_at FROM stored_events WHERE {p} BETWEEN {m} AND {m}",
                (first, last),
            )
            return {r[0]: self._time(r[1]) for r in cur.fetchall()}

    # --- by company ---

    def company_log(
        self, company: str, *, until: int | None = None, before_version: int | None = None
    ) -> list[LogRow]:
        """A company's events in version order, up to position ``until`` and below version
        ``before_version`` if given."""
        p, m = self.position, self.mark
        sql = (
            f"SELECT {p}, originator_id, originator_version, state FROM stored_events "
            f"WHERE originator_id = {m}"
        )
        params: list[Any] = [company]
        if until is not None:
            sql += f" AND {p} <= {m}"
            params.append(until)
        if before_version is not None:
            sql += f" AND originator_version < {m}"
            params.append(before_version)
        with self._read() as cur:
            cur.execute(sql + " ORDER BY originator_version", params)
            return list(cur.fetchall())

    def company_logs(self, before: dict[str, int]) -> dict[str, list[LogRow]]:
        """Each company's ``company_log`` below version ``before[company]``, read
        ``STREAMS_AT_ONCE`` companies per statement (what many ``company_log`` calls read,
        in a few round trips)."""
        found: dict[str, list[LogRow]] = {company: [] for company in before}
        companies, m = list(before), self.mark
        with self._read() as cur:
            for i in range(0, len(companies), STREAMS_AT_ONCE):
                part = companies[i : i + STREAMS_AT_ONCE]
                cur.execute(
                    f"SELECT {self.position}, originator_id, originator_version, state "
                    f"FROM stored_events WHERE originator_id IN ({','.join([m] * len(part))}) "
                    "ORDER BY originator_id, originator_version",
                    part,
                )
                for row in cur.fetchall():
                    if row[2] < before[row[1]]:
                        found[row[1]].append(row)
        return found

    def streams(self, after: dict[str, int]) -> dict[str, list[StreamRow]]:
        """Each company's events with versions after ``after[company]``, in version order,
        with their topic and ``recorded_at`` (the ledger's streams), ``STREAMS_AT_ONCE``
        companies per statement."""
        found: dict[str, list[StreamRow]] = {company: [] for company in after}
        companies = list(after)
        with self._read() as cur:
            for i in range(0, len(companies), STREAMS_AT_ONCE):
                part = {c: after[c] for c in companies[i : i + STREAMS_AT_ONCE]}
                where, params = self._after_clause(part)
                cur.execute(
                    f"SELECT {self.position}, originator_id, originator_version, topic, state, "
                    f"recorded_at FROM stored_events WHERE {where} "
                    "ORDER BY originator_id, originator_version",
                    params,
                )
                for r in cur.fetchall():
                    if r[2] > part[r[1]]:
                        state = stored_state(r[4], r[0], r[1])
                        time = self._time(r[5])
                        found[r[1]].append(StreamRow(r[0], r[1], r[2], r[3], state, time))
        return found

    def stream(self, company: str, after_version: int = 0) -> list[StreamRow]:
        """One company's ``streams``."""
        return self.streams({company: after_version})[company]

    def _after_clause(self, after: dict[str, int]) -> tuple[str, list[Any]]:
        """One ``IN`` list when every version is 0 (companies not seen yet), else one
        condition per company."""
        m = self.mark
        if all(v == 0 for v in after.values()):
            return f"originator_id IN ({','.join([m] * len(after))})", list(after)
        condition = f"(originator_id = {m} AND originator_version > {m})"
        return " OR ".join([condition] * len(after)), [x for item in after.items() for x in item]

    def companies(self) -> list[str]:
        """Every company of the log, by name."""
        with self._read() as cur:
            cur.execute(
                "SELECT originator_id FROM stored_events WHERE originator_version = 1 "
                "ORDER BY originator_id"
            )
            return [r[0] for r in cur.fetchall()]

    def has_company(self, company: str) -> bool:
        with self._read() as cur:
            cur.execute(f"SELECT {self.has_company_sql()}", (company,))
            return bool(cur.fetchone()[0])

    # --- the engine's types ---

    def _time(self, stored: Any) -> datetime:
        return stored  # type: ignore[no-any-return]

    def _timestamp(self, moment: datetime) -> Any:
        return moment


class SQLiteEventLog(EventLog):
    kind = "sqlite"
    position = "rowid"
    mark = "?"

    def _time(self, stored: Any) -> datetime:
        return datetime.fromisoformat(stored.replace("Z", "+00:00"))

    def _timestamp(self, moment: datetime) -> Any:
        return sqlite_timestamp(moment)


def sqlite_timestamp(moment: datetime) -> str:
    """The text form SQLite stores ``recorded_at`` in (UTC, milliseconds, sortable)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


class PostgresEventLog(EventLog):
    kind = "postgres"
    position = "notification_id"
    mark = "%s"

    def whole_log(self, page: int) -> Iterator[list[LogRow]]:
        """Through a server-side cursor; the next page is fetched on a thread while the
        caller works on this one (the server prepares it meanwhile, on the other core)."""
        return _read_ahead(super().whole_log(page))


def pg_cursor(connection: Any, name: str | None = None) -> Any:
    """A cursor of ``connection`` (psycopg) as ``PostgresEventLog`` reads: tuple rows, and
    binary (bytea as stored, not as hex text to parse back; numbers and times too)."""
    from psycopg.rows import tuple_row  # here: a SQLite process never loads psycopg

    if name is None:
        return connection.cursor(row_factory=tuple_row, binary=True)
    return connection.cursor(name, row_factory=tuple_row, binary=True)


def _read_ahead(pages: Iterator[list[Any]]) -> Iterator[list[Any]]:
    """``pages``, each next one read on a thread while the caller has the one before."""
    with ThreadPoolExecutor(1, thread_name_prefix="corpledger-read-ahead") as reader:
        ahead = reader.submit(next, pages, None)
        try:
            while (rows := ahead.result()) is not None:
                ahead = reader.submit(next, pages, None)
                yield rows
        finally:
            ahead.cancel()
            with suppress(Exception):
                ahead.result()  # the thread is done with the generator before it closes
            close = getattr(pages, "close", None)
            if close is not None:
                close()


def log_on(kind: str, cursor: Any) -> EventLog:
    """The ``EventLog`` of engine ``kind`` ("sqlite" or "postgres") read through ``cursor``
    (a raw driver connection's, inside the caller's transaction)."""
    return (SQLiteEventLog if kind == "sqlite" else PostgresEventLog)(lambda: nullcontext(cursor))
