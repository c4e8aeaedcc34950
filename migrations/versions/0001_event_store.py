"""The event store: eventsourcing's stored_events table, plus recorded_at.

The table keeps the exact layout eventsourcing 9.5 creates itself (so its recorders,
repository and notification log read and write it), with one column added:
``recorded_at``, the transaction time, set by the database inside the append, after the
writer holds the table's append lock (PostgreSQL) or the database's write lock (SQLite),
so it never decreases along positions.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TABLE stored_events ("
            "originator_id TEXT, "
            "originator_version INTEGER, "
            "topic TEXT, "
            "state BLOB, "
            "recorded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), "
            "PRIMARY KEY (originator_id, originator_version))"
        )
        op.execute("CREATE INDEX stored_events_recorded_at_idx ON stored_events (recorded_at)")
        return
    op.execute(
        "CREATE TABLE stored_events ("
        "originator_id text NOT NULL, "
        "originator_version bigint NOT NULL, "
        "topic text, "
        "state bytea, "
        "notification_id bigserial, "
        "recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(), "
        "PRIMARY KEY (originator_id, originator_version))"
    )
    op.execute(
        "CREATE UNIQUE INDEX stored_events_notification_id_idx "
        "ON stored_events (notification_id ASC)"
    )
    op.execute("CREATE INDEX stored_events_recorded_at_idx ON stored_events (recorded_at)")
    # The composite type eventsourcing's PostgreSQL recorder inserts through.
    op.execute(
        "CREATE TYPE stored_event_text AS ("
        "originator_id text, originator_version bigint, topic text, state bytea)"
    )
