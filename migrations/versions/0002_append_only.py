"""Append-only events: the hash chain column and triggers that refuse UPDATE and DELETE.

``chain`` holds each event's link in one SHA-256 chain over the whole log in position order
(``ledger.persistence.chain``); the recorders compute it inside the append from then on. Rows
already stored are chained here, in position order, before the triggers exist. Then the
database itself refuses UPDATE and DELETE on stored_events (PostgreSQL: TRUNCATE too) with
"stored_events is append-only: … is refused".

SQLite cannot make an added column NOT NULL, so there the table is rebuilt: the 0001 table
is renamed, the new one created with its final definition, every row copied with its rowid
(its position), its recorded_at and its chain, and the old table dropped. The migrations
runner holds SQLite's write lock for the whole revision (``BEGIN IMMEDIATE``), so the rebuild
is one transaction.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

from ledger.persistence.chain import GENESIS, chain_link

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PAGE = 1000
"""Rows chained per round trip: the table is read in pages, never all at once."""


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite()
    else:
        _postgres()


def _chained(conn: sa.Connection, table: str, position: str) -> Iterator[list[tuple[Any, bytes]]]:
    """The rows of ``table`` in position order, a page at a time, each with its chain value."""
    previous, after = GENESIS, 0
    select = sa.text(
        f"SELECT {position} AS position, originator_id, originator_version, topic, state, "
        f"recorded_at FROM {table} WHERE {position} > :after ORDER BY {position} LIMIT {PAGE}"
    )
    while True:
        rows = conn.execute(select, {"after": after}).all()
        if not rows:
            return
        page = []
        for r in rows:
            previous = chain_link(
                previous, r.originator_id, r.originator_version, r.topic, bytes(r.state)
            )
            page.append((r, previous))
        yield page
        after = rows[-1].position


def _sqlite() -> None:
    conn = op.get_bind()
    op.execute("DROP INDEX stored_events_recorded_at_idx")
    op.execute("ALTER TABLE stored_events RENAME TO stored_events_0001")
    op.execute(
        "CREATE TABLE stored_events ("
        "originator_id TEXT, "
        "originator_version INTEGER, "
        "topic TEXT, "
        "state BLOB, "
        "recorded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), "
        "chain BLOB NOT NULL CHECK (length(chain) = 32), "
        "PRIMARY KEY (originator_id, originator_version))"
    )
    insert = sa.text(
        "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, state, "
        "recorded_at, chain) VALUES (:position, :originator_id, :originator_version, :topic, "
        ":state, :recorded_at, :chain)"
    )
    for page in _chained(conn, "stored_events_0001", "rowid"):
        conn.execute(
            insert, [{**r._asdict(), "state": bytes(r.state), "chain": c} for r, c in page]
        )
    op.execute("DROP TABLE stored_events_0001")
    op.execute("CREATE INDEX stored_events_recorded_at_idx ON stored_events (recorded_at)")
    for operation in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER stored_events_no_{operation.lower()} BEFORE {operation} "
            "ON stored_events BEGIN SELECT RAISE(ABORT, "
            f"'stored_events is append-only: {operation} is refused'); END"
        )


def _postgres() -> None:
    conn = op.get_bind()
    op.execute("ALTER TABLE stored_events ADD COLUMN chain bytea")
    update = sa.text(
        "UPDATE stored_events AS s SET chain = v.chain "
        "FROM unnest(CAST(:positions AS bigint[]), CAST(:chains AS bytea[])) AS v(id, chain) "
        "WHERE s.notification_id = v.id"
    )
    for page in _chained(conn, "stored_events", "notification_id"):
        conn.execute(
            update,
            {"positions": [r.position for r, _ in page], "chains": [c for _, c in page]},
        )
    op.execute("ALTER TABLE stored_events ALTER COLUMN chain SET NOT NULL")
    op.execute(
        "ALTER TABLE stored_events ADD CONSTRAINT stored_events_chain_length "
        "CHECK (octet_length(chain) = 32)"
    )
    op.execute(
        "CREATE FUNCTION stored_events_append_only() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN RAISE EXCEPTION USING MESSAGE = "
        "TG_TABLE_NAME || ' is append-only: ' || TG_OP || ' is refused'; END $$"
    )
    for operation in ("UPDATE", "DELETE", "TRUNCATE"):
        op.execute(
            f"CREATE TRIGGER stored_events_no_{operation.lower()} BEFORE {operation} "
            "ON stored_events FOR EACH STATEMENT EXECUTE FUNCTION stored_events_append_only()"
        )
