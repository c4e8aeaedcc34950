"""eventsourcing's application recorders, extended with the reads the ledger needs.

Writes go through the library unchanged (its optimistic concurrency on
``(originator_id, originator_version)`` and, on PostgreSQL, its table lock that keeps
positions in commit order). The additions only read: a company's stream with each event's
position and ``recorded_at``, the position known at a timestamp, and the list of companies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import retry


@dataclass(frozen=True, slots=True)
class StreamRow:
    """One stored event with the columns the library's StoredEvent leaves out."""

    position: int
    company: str
    version: int
    topic: str
    state: bytes
    recorded_at: datetime


def _sqlite_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def sqlite_timestamp(moment: datetime) -> str:
    """The text form SQLite stores ``recorded_at`` in (UTC, milliseconds, sortable)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


class LedgerSQLiteRecorder(SQLiteApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Name the columns: recorded_at takes the database's default.
        self.insert_events_statement = (
            f"INSERT INTO {self.events_table_name} "
            "(originator_id, originator_version, topic, state) VALUES (?,?,?,?)"
        )

    def _insert_events(
        self, c: Any, stored_events: Sequence[StoredEvent], **_: Any
    ) -> Sequence[int] | None:
        """One ``executemany`` instead of the library's row-by-row inserts.

        Inside this write transaction nobody else can insert, and SQLite gives each new row
        the largest rowid plus one (the table has no AUTOINCREMENT and is never deleted
        from), so the rowids of the batch are the last ones, contiguous."""
        c.executemany(
            self.insert_events_statement,
            [(s.originator_id, s.originator_version, s.topic, s.state) for s in stored_events],
        )
        c.execute(f"SELECT MAX(rowid) FROM {self.events_table_name}")
        last = int(c.fetchone()[0])
        return list(range(last - len(stored_events) + 1, last + 1))

    def select_stream(self, company: str, after_version: int = 0) -> list[StreamRow]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT rowid, originator_id, originator_version, topic, state, recorded_at "
                "FROM stored_events WHERE originator_id=? AND originator_version>? "
                "ORDER BY originator_version",
                (company, after_version),
            )
            return [
                StreamRow(r[0], r[1], r[2], r[3], bytes(r[4]), _sqlite_time(r[5]))
                for r in c.fetchall()
            ]

    def select_positions(self, positions: Sequence[int]) -> list[StreamRow]:
        """Rows at the given positions (to learn their recorded_at after an append)."""
        if not positions:
            return []
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT rowid, originator_id, originator_version, topic, state, recorded_at "
                f"FROM stored_events WHERE rowid IN ({','.join('?' * len(positions))}) "
                "ORDER BY rowid",
                list(positions),
            )
            return [
                StreamRow(r[0], r[1], r[2], r[3], bytes(r[4]), _sqlite_time(r[5]))
                for r in c.fetchall()
            ]

    def recorded_times(self, first: int, last: int) -> dict[int, datetime]:
        """recorded_at of the positions from ``first`` to ``last``."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT rowid, recorded_at FROM stored_events WHERE rowid BETWEEN ? AND ?",
                (first, last),
            )
            return {r[0]: _sqlite_time(r[1]) for r in c.fetchall()}

    def last_position(self) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT MAX(rowid) FROM stored_events")
            return int(c.fetchone()[0] or 0)

    def position_at(self, moment: datetime) -> int:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT MAX(rowid) FROM stored_events WHERE recorded_at<=?",
                (sqlite_timestamp(moment),),
            )
            return int(c.fetchone()[0] or 0)

    def companies(self) -> list[str]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT DISTINCT originator_id FROM stored_events "
                "WHERE originator_version=1 ORDER BY originator_id"
            )
            return [r[0] for r in c.fetchall()]


class LedgerPostgresRecorder(PostgresApplicationRecorder):
    _COLUMNS = "notification_id, originator_id, originator_version, topic, state, recorded_at"

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> list[int]:
        """The library's append without pipeline mode: psycopg 3.3's pipeline deadlocks on a
        statement of more than ~10 MB (a batch of ~50,000 events), while one plain statement
        stores 100,000 in under two seconds. Same table lock, same NOTIFY, same insert."""
        if not stored_events:
            return []
        rows = [
            self.construct_pg_stored_event(
                s.originator_id, s.originator_version, s.topic, s.state
            )
            for s in stored_events
        ]
        with self.datastore.transaction(commit=True) as curs:
            self._lock_table(curs)
            self._notify_channel(curs)
            curs.execute(self.insert_events_statement, (rows,))
            return [row["notification_id"] for row in curs.fetchall()]

    def _rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(sql, params)
            return list(curs.fetchall())

    def _stream_rows(self, rows: list[Any]) -> list[StreamRow]:
        return [
            StreamRow(
                r["notification_id"],
                r["originator_id"],
                r["originator_version"],
                r["topic"],
                bytes(r["state"]),
                r["recorded_at"],
            )
            for r in rows
        ]

    def select_stream(self, company: str, after_version: int = 0) -> list[StreamRow]:
        return self._stream_rows(
            self._rows(
                f"SELECT {self._COLUMNS} FROM stored_events "
                "WHERE originator_id=%s AND originator_version>%s ORDER BY originator_version",
                (company, after_version),
            )
        )

    def select_positions(self, positions: Sequence[int]) -> list[StreamRow]:
        if not positions:
            return []
        return self._stream_rows(
            self._rows(
                f"SELECT {self._COLUMNS} FROM stored_events "
                "WHERE notification_id = ANY(%s) ORDER BY notification_id",
                (list(positions),),
            )
        )

    def recorded_times(self, first: int, last: int) -> dict[int, datetime]:
        rows = self._rows(
            "SELECT notification_id, recorded_at FROM stored_events "
            "WHERE notification_id BETWEEN %s AND %s",
            (first, last),
        )
        return {r["notification_id"]: r["recorded_at"] for r in rows}

    def last_position(self) -> int:
        rows = self._rows("SELECT MAX(notification_id) AS p FROM stored_events", ())
        return int(rows[0]["p"] or 0)

    def position_at(self, moment: datetime) -> int:
        rows = self._rows(
            "SELECT MAX(notification_id) AS p FROM stored_events WHERE recorded_at<=%s",
            (moment,),
        )
        return int(rows[0]["p"] or 0)

    def companies(self) -> list[str]:
        rows = self._rows(
            "SELECT originator_id FROM stored_events WHERE originator_version=1 "
            "ORDER BY originator_id",
            (),
        )
        return [r["originator_id"] for r in rows]
