"""The read models of the equity instruments: ``security_history`` (awards, warrants and open
convertibles with their stored terms), ``pool_history`` (stock plans) and
``stakeholder_history`` (the stakeholders' names), bitemporal like the others.

Events already in the log may be instruments (or name stakeholders) whose rows the new tables
lack, and the cap table's projection writes the three tables with its own: so the upgrade
empties every read-model table and sets the projections back to position 0 (bumping their
generation, so a running worker drops its caches; a ledger with nothing projected yet is
left as it is). The first catch-up after it (``corpledger
projections run``, or any command that records or queries) fills them all again from the log,
in batches, exactly as ``corpledger projections rebuild`` does; the events are untouched.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

DERIVED = (
    "cap_table_history",
    "valuation_history",
    "roster_history",
    "board_history",
    "party_companies",
)
"""The read-model tables filled before this revision: emptied, to be filled again."""


def _times() -> list[sa.Column[object]]:
    return [
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date, nullable=True),
        sa.Column("known_from", sa.BigInteger, nullable=False),
        sa.Column("known_to", sa.BigInteger, nullable=True),
    ]


def _history(table: str, key: list[str], *columns: sa.Column[object]) -> None:
    """A history table, the unique index of its believed rows and its "as of D" index."""
    op.create_table(table, sa.Column("company", sa.Text, nullable=False), *columns, *_times())
    where = sa.text("known_to IS NULL")
    op.create_index(
        f"{table}_believed",
        table,
        ["company", *key, "valid_from"],
        unique=True,
        sqlite_where=where,
        postgresql_where=where,
    )
    op.create_index(f"{table}_known", table, ["company", "valid_from", "valid_to"])


def upgrade() -> None:
    _history(
        "security_history",
        ["security", "kind"],
        sa.Column("security", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("holder", sa.Text, nullable=False),
        sa.Column("plan", sa.Text, nullable=True),
        sa.Column("share_class", sa.Text, nullable=True),
        sa.Column("quantity", sa.BigInteger, nullable=True),
        sa.Column("exercised", sa.BigInteger, nullable=True),
        sa.Column("cancelled", sa.BigInteger, nullable=True),
        sa.Column("expiration_date", sa.Date, nullable=True),
        sa.Column("terms", sa.Text, nullable=False),
    )
    where = sa.text("known_to IS NULL")
    op.create_index(
        "security_history_counts",
        "security_history",
        [
            "company",
            "valid_from",
            "valid_to",
            "plan",
            "holder",
            "quantity",
            "exercised",
            "cancelled",
            "expiration_date",
            "known_to",
        ],
        sqlite_where=where,
        postgresql_where=where,
    )
    _history(
        "pool_history",
        ["plan"],
        sa.Column("plan", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("share_class", sa.Text, nullable=False),
        sa.Column("on_cancel", sa.Text, nullable=False),
        sa.Column("reserved", sa.BigInteger, nullable=False),
        sa.Column("exercised", sa.BigInteger, nullable=False),
        sa.Column("retired", sa.BigInteger, nullable=False),
    )
    _history(
        "stakeholder_history",
        ["party"],
        sa.Column("party", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
    )
    # Re-project: every read model again from the log, at the next catch-up (projections
    # still at position 0 have nothing to redo).
    conn = op.get_bind()
    if conn.execute(sa.text("SELECT MAX(position) FROM projection_tracking")).scalar():
        for table in DERIVED:
            op.execute(f"DELETE FROM {table}")
        op.execute("UPDATE projection_tracking SET position = 0, generation = generation + 1")
