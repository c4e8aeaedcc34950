"""The SQL the projections run, per engine, on the raw driver connection of a SQLAlchemy
transaction (``sqlite3`` or ``psycopg``): reading believed rows, writing rows
(``executemany`` on SQLite, ``COPY`` on PostgreSQL), closing rows, and the tracking rows.
The log is read through ``log``: the ledger's ``EventLog``, in the same transaction.

SQLite keeps dates as ISO text and booleans as 0/1 (as SQLAlchemy's ``Date`` and ``Boolean``
do); PostgreSQL has the real types. ``to_sql``/``from_sql`` convert at this boundary only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from ledger.persistence.log import EventLog, log_on

from .history import Row, Shape

BELIEVED_AT_ONCE = 400
"""Companies whose believed rows one statement reads."""

if TYPE_CHECKING:
    import sqlalchemy as sa

# Dates go to SQLite as ISO text (what SQLAlchemy's Date stores, and what sqlite3 did by
# default until Python 3.12 deprecated its default adapters); booleans go as 0/1 by themselves.
sqlite3.register_adapter(date, date.isoformat)

DATE_COLUMNS = frozenset({"valid_from", "valid_to", "since", "effective_date", "expiration_date"})
BOOL_COLUMNS = frozenset({"interim", "executive"})


def _columns(shape: Shape) -> tuple[str, ...]:
    return ("company", *shape.key_columns, *shape.value_columns)


def insert_columns(shape: Shape) -> tuple[str, ...]:
    return (*_columns(shape), "valid_from", "valid_to", "known_from", "known_to")


class Database:
    """The SQL of one engine. ``raw`` is the DBAPI connection inside the current transaction."""

    kind: str

    @contextmanager
    def transaction(self, engine: sa.Engine) -> Iterator[Any]:
        """One transaction holding the projections' lock; yields the raw connection."""
        with engine.connect() as conn:
            # The driver's own transaction: SQLAlchemy is not told of it, and commits and
            # rolls back nothing for it (returning the connection rolls back what is left).
            raw = conn.connection.dbapi_connection
            assert raw is not None
            self.begin(raw)
            try:
                yield raw
            except BaseException:
                raw.rollback()
                raise
            raw.commit()

    def begin(self, raw: Any) -> None:
        raise NotImplementedError

    def driver_error(self, error: BaseException | None) -> bool:
        """Whether ``error`` is the database driver's (as opposed to the fold's)."""
        raise NotImplementedError

    def unavailable(self, error: Exception) -> bool:
        """Whether the driver's ``error`` says the database cannot be used now (unreachable,
        locked, timed out, out of resources), as opposed to refusing what it was sent."""
        raise NotImplementedError

    @contextmanager
    def savepoint(self, raw: Any) -> Iterator[None]:
        """What the block sends is undone if it raises; the transaction goes on."""
        self.savepoint_begin(raw)
        try:
            yield
        except BaseException:
            self.savepoint_undo(raw)
            raise
        self.savepoint_end(raw)

    def savepoint_begin(self, raw: Any) -> None:
        raw.cursor().execute("SAVEPOINT projection_step")

    def savepoint_undo(self, raw: Any) -> None:
        """Undo what was sent since ``savepoint_begin``, and end the savepoint."""
        cur = raw.cursor()
        cur.execute("ROLLBACK TO SAVEPOINT projection_step")
        cur.execute("RELEASE SAVEPOINT projection_step")

    def savepoint_end(self, raw: Any) -> None:
        raw.cursor().execute("RELEASE SAVEPOINT projection_step")

    # --- conversions ---

    def to_sql(self, column: str, value: Any) -> Any:
        return value

    @staticmethod
    def day(value: date) -> Any:
        """A row's valid_from or valid_to as the rows the writer sends carry it."""
        return value

    def from_sql(self, column: str, value: Any) -> Any:
        return value

    # --- the log ---

    def _log_cursor(self, raw: Any) -> Any:
        return raw.cursor()

    def read_cursor(self, raw: Any) -> Any:
        """A cursor for reading many rows."""
        return raw.cursor()

    def together(self, raw: Any) -> AbstractContextManager[Any]:
        """Statements sent together (PostgreSQL: a pipeline, one round trip; their results are
        read after the block); elsewhere one after the other."""
        return nullcontext()

    def end_reading(self, raw: Any) -> None:
        """End a transaction that only read."""
        raw.rollback()

    def date_filter(self, column: str) -> str:
        """A DATE column as compared with a date in a condition that filters the rows found
        (not one an index is to seek by)."""
        return column

    def log(self, raw: Any) -> EventLog:
        """The log (``ledger.persistence.log.EventLog``) read inside the transaction of
        ``raw``."""
        return log_on(self.kind, self._log_cursor(raw))

    # --- believed rows ---

    def believed(self, raw: Any, shape: Shape, company: str, since: date | None) -> list[Row]:
        """The company's believed rows of ``shape`` that end on or after ``since`` or never
        (all of them if ``since`` is None), by key and valid_from."""
        return self.believed_of(raw, shape, {company: since})[company]

    def believed_of(
        self, raw: Any, shape: Shape, since: dict[str, date | None]
    ) -> dict[str, list[Row]]:
        """``believed`` of each company of ``since``, a few statements for them all."""
        columns = ["company", *shape.key_columns, *shape.value_columns, "valid_from", "valid_to"]
        found: dict[str, list[Row]] = {company: [] for company in since}
        companies, m = list(since), self.mark
        days = [day for day in since.values() if day is not None]
        earliest = min(days) if len(days) == len(since) else None
        cur = raw.cursor()
        for i in range(0, len(companies), BELIEVED_AT_ONCE):
            part = companies[i : i + BELIEVED_AT_ONCE]
            sql = (
                f"SELECT {', '.join(columns)} FROM {shape.table} "
                f"WHERE company IN ({', '.join([m] * len(part))}) AND known_to IS NULL"
            )
            params: list[Any] = list(part)
            if earliest is not None:
                sql += f" AND (valid_to IS NULL OR valid_to >= {m})"
                params.append(self.to_sql("valid_to", earliest))
            cur.execute(sql + " ORDER BY company, valid_from", params)
            fetched = cur.fetchall()
            for company, row in zip(
                [r[0] for r in fetched], self.rows(shape, [r[1:] for r in fetched]), strict=True
            ):
                day = since[company]
                if day is None or row.valid_to is None or row.valid_to >= day:
                    found[company].append(row)
        return found

    def rows(self, shape: Shape, fetched: Iterable[Sequence[Any]]) -> list[Row]:
        """Rows of (key columns, value columns, valid_from, valid_to) as the writer's Rows."""
        keys, values = len(shape.key_columns), len(shape.value_columns)
        names = [*shape.key_columns, *shape.value_columns]
        convert = [(i, name) for i, name in enumerate(names) if self._converts(name)]
        out = []
        for record in fetched:
            cells = list(record)
            for i, name in convert:
                cells[i] = self.from_sql(name, cells[i])
            out.append(
                Row(
                    tuple(cells[:keys]),
                    tuple(cells[keys : keys + values]),
                    self.from_sql("valid_from", cells[keys + values]),
                    self.from_sql("valid_to", cells[keys + values + 1]),
                )
            )
        return out

    def _converts(self, column: str) -> bool:
        return False

    # --- writing ---

    def insert(self, raw: Any, shape: Shape, rows: list[list[Any]]) -> None:
        raise NotImplementedError

    def close(self, raw: Any, shape: Shape, closes: list[tuple[Any, ...]]) -> Callable[[], int]:
        """Set known_to on believed rows given as (company, *key, valid_from, position);
        returns what tells how many rows changed (SQLite's writer process answers it when
        asked, so the caller can go on meanwhile)."""
        raise NotImplementedError

    def index_parties(self, raw: Any, pairs: list[tuple[Any, str]]) -> None:
        """Add (party, company) pairs to the holdings index, skipping those it has."""
        raise NotImplementedError

    def delete_company(self, raw: Any, tables: Iterable[str], company: str | None) -> None:
        """Delete a company's rows (every row if ``company`` is None) of the read models."""
        cur = raw.cursor()
        if company is None and self.kind == "postgres":
            cur.execute(f"TRUNCATE {', '.join(tables)}")  # transactional, and no dead rows
            return
        for table in tables:
            if company is None:
                cur.execute(f"DELETE FROM {table}")
            else:
                cur.execute(f"DELETE FROM {table} WHERE company = {self.mark}", (company,))

    # --- tracking ---

    def tracking(self, raw: Any) -> list[tuple[str, int, int]]:
        """Every projection's (name, position, generation), locked against other workers
        until the transaction ends."""
        raise NotImplementedError

    def set_tracking(self, raw: Any, names: Sequence[str], position: int, bump: bool) -> None:
        cur = raw.cursor()
        marks = ", ".join([self.mark] * len(names))
        bumped = ", generation = generation + 1" if bump else ""
        cur.execute(
            f"UPDATE projection_tracking SET position = {self.mark}{bumped} "
            f"WHERE name IN ({marks})",
            (position, *names),
        )

    mark = "?"


class SQLiteDatabase(Database):
    kind = "sqlite"
    mark = "?"

    def date_filter(self, column: str) -> str:
        """A DATE column is of NUMERIC affinity: compared with a date's text it has SQLite try
        to read the text as a number at every row. Unary plus drops the affinity; the dates
        are stored as text, so the comparison is the same (a fifth faster over a company's
        holdings), but the planner no longer sees the column: not for an index's bound."""
        return f"+{column}"

    def driver_error(self, error: BaseException | None) -> bool:
        return isinstance(error, sqlite3.Error)

    def unavailable(self, error: Exception) -> bool:
        # "database is locked", "disk I/O error", …; a value too big is a DataError, and one
        # past 64 bits an OverflowError of the module.
        return isinstance(error, sqlite3.OperationalError | sqlite3.InterfaceError)

    def begin(self, raw: Any) -> None:
        # The write lock from the start: one worker at a time, and no writer of events can
        # slip in between reading the tracking row and updating it.
        # Read models are derived: a power cut may lose the last commits (rows and tracking
        # position together, never one without the other), which the next catch-up redoes.
        raw.execute("PRAGMA synchronous = NORMAL")
        # Checkpoint the WAL every ~40 MB rather than ~4 MB: a catch-up rewrites the same
        # index pages batch after batch, and each checkpoint writes them back and syncs.
        raw.execute("PRAGMA wal_autocheckpoint = 10000")
        raw.execute("BEGIN IMMEDIATE")

    # ISO text, as the ledger's ``sqlite3`` adapter stores a date, made once per date: a
    # date object costs the rows' pickling to a writer process five times its text, and the
    # driver a call of the adapter per value (a catch-up sends two dates a row).
    day = staticmethod(lru_cache(maxsize=1 << 14)(date.isoformat))

    def to_sql(self, column: str, value: Any) -> Any:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, date):
            return value.isoformat()
        return value

    def _converts(self, column: str) -> bool:
        return column in DATE_COLUMNS or column in BOOL_COLUMNS

    def from_sql(self, column: str, value: Any) -> Any:
        if value is None:
            return None
        if column in DATE_COLUMNS:
            return date.fromisoformat(value)
        if column in BOOL_COLUMNS:
            return bool(value)
        return value

    def insert(self, raw: Any, shape: Shape, rows: list[list[Any]]) -> None:
        columns = insert_columns(shape)
        raw.executemany(
            f"INSERT INTO {shape.table} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})",
            rows,
        )

    def index_parties(self, raw: Any, pairs: list[tuple[Any, str]]) -> None:
        raw.executemany(
            "INSERT OR IGNORE INTO party_companies (party, company) VALUES (?, ?)", pairs
        )

    def close(self, raw: Any, shape: Shape, closes: list[tuple[Any, ...]]) -> Callable[[], int]:
        matches = " AND ".join(
            f"{c} IS ?" if c in shape.nullable_keys else f"{c} = ?"
            for c in ("company", *shape.key_columns, "valid_from")
        )
        cur = raw.executemany(
            f"UPDATE {shape.table} SET known_to = ? WHERE {matches} AND known_to IS NULL",
            [(c[-1], *c[:-2], c[-2]) for c in closes],
        )
        return lambda: int(cur.rowcount)

    def tracking(self, raw: Any) -> list[tuple[str, int, int]]:
        cur = raw.execute("SELECT name, position, generation FROM projection_tracking")
        return [(r[0], int(r[1]), int(r[2])) for r in cur.fetchall()]


UNAVAILABLE_STATES = frozenset({"08", "40", "53", "55", "57", "58"})
"""PostgreSQL's error classes that say the server cannot do the work now: connection,
transaction rollback (serialization, deadlock), insufficient resources, object not in
prerequisite state (a lock not available), operator intervention (a timeout, a shutdown),
system error."""


class PostgresDatabase(Database):
    kind = "postgres"
    mark = "%s"

    def _log_cursor(self, raw: Any) -> Any:
        return raw.cursor(binary=True)  # bytea as it is stored, not as hex text

    def read_cursor(self, raw: Any) -> Any:
        return raw.cursor(binary=True)  # no text to parse back into numbers and dates

    def together(self, raw: Any) -> AbstractContextManager[Any]:
        return cast(AbstractContextManager[Any], raw.pipeline())

    def end_reading(self, raw: Any) -> None:
        """A commit, which ends a transaction that only read as a rollback does: psycopg
        forgets the statements it prepared at every rollback (one might have undone what they
        refer to), so that reads ended so were planned again at every query, never having
        been run often enough on the connection to be prepared."""
        raw.commit()

    def driver_error(self, error: BaseException | None) -> bool:
        import psycopg  # loaded already: this database is PostgreSQL's

        return isinstance(error, psycopg.Error)

    def unavailable(self, error: Exception) -> bool:
        import psycopg  # loaded already: this database is PostgreSQL's

        # psycopg's OperationalError also covers what the server refuses of the rows it is
        # sent (54000: an index entry too big); these classes are of the server's state.
        if isinstance(error, psycopg.InterfaceError):
            return True
        if not isinstance(error, psycopg.OperationalError):
            return False
        state = error.sqlstate
        return state is None or state[:2] in UNAVAILABLE_STATES

    def begin(self, raw: Any) -> None:
        """psycopg begins on the first statement; ``tracking`` locks (FOR UPDATE). Read models
        are derived: a crash may lose the last commits (rows and tracking position together),
        which the next catch-up redoes, so they need not wait for the WAL flush."""
        with raw.cursor() as cur:
            cur.execute("SET LOCAL synchronous_commit = off")

    def insert(self, raw: Any, shape: Shape, rows: list[list[Any]]) -> None:
        columns = insert_columns(shape)
        types = [
            "text",
            *(["text"] * len(shape.key_columns)),
            *shape.value_types,
            "date",
            "date",
            "int8",
            "int8",
        ]
        with (
            raw.cursor() as cur,
            cur.copy(
                f"COPY {shape.table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
            ) as copy,
        ):
            copy.set_types(types)  # binary: about twice as fast as text for these rows
            for row in rows:
                copy.write_row(row)

    def index_parties(self, raw: Any, pairs: list[tuple[Any, str]]) -> None:
        with raw.cursor() as cur:
            cur.execute(
                "INSERT INTO party_companies (party, company) "
                "SELECT * FROM unnest(%s::text[], %s::text[]) ON CONFLICT DO NOTHING",
                [[p for p, _ in pairs], [c for _, c in pairs]],
            )

    def close(self, raw: Any, shape: Shape, closes: list[tuple[Any, ...]]) -> Callable[[], int]:
        names = ("company", *shape.key_columns, "valid_from", "known_to")
        types = {"valid_from": "date", "known_to": "bigint"}
        arrays = ", ".join(f"%s::{types.get(n, 'text')}[]" for n in names)
        matches = " AND ".join(
            f"t.{c} IS NOT DISTINCT FROM v.{c}" if c in shape.nullable_keys else f"t.{c} = v.{c}"
            for c in ("company", *shape.key_columns, "valid_from")
        )
        columns = [list(column) for column in zip(*closes, strict=True)]
        with raw.cursor() as cur:
            cur.execute(
                f"UPDATE {shape.table} AS t SET known_to = v.known_to "
                f"FROM unnest({arrays}) AS v({', '.join(names)}) "
                f"WHERE {matches} AND t.known_to IS NULL",
                columns,
            )
            changed = int(cur.rowcount)
        return lambda: changed

    def tracking(self, raw: Any) -> list[tuple[str, int, int]]:
        with raw.cursor() as cur:
            cur.execute(
                "SELECT name, position, generation FROM projection_tracking "
                "ORDER BY name FOR UPDATE"
            )
            return [(r[0], int(r[1]), int(r[2])) for r in cur.fetchall()]


def database_for(kind: str) -> Database:
    return SQLiteDatabase() if kind == "sqlite" else PostgresDatabase()
