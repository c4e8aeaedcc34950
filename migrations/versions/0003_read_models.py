"""The read models: bitemporal history tables, their indexes and the projections' tracking.

``cap_table_history``, ``roster_history``, ``board_history`` (the columns docs/contracts.md
lists, plus ``votes_per_share`` and ``since``), ``valuation_history``, ``party_companies`` (the
holdings index: the companies a party has had rows in), and ``projection_tracking`` with one
row per projection at position 0. The tables start empty even when events are already stored:
the first catch-up (``corpledger projections run``, or any command that records or queries)
fills them from the log, in batches. ``projections/tables.py`` defines the same tables for the
code; a test checks that the two agree.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

PROJECTIONS = ("cap_table", "roster", "board")


def _times() -> list[sa.Column[object]]:
    return [
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date, nullable=True),
        sa.Column("known_from", sa.BigInteger, nullable=False),
        sa.Column("known_to", sa.BigInteger, nullable=True),
    ]


def _believed(name: str, table: str, columns: list[str], *, unique: bool = False) -> None:
    where = sa.text("known_to IS NULL")
    op.create_index(name, table, columns, unique=unique, sqlite_where=where, postgresql_where=where)


def upgrade() -> None:
    op.create_table(
        "cap_table_history",
        sa.Column("company", sa.Text, nullable=False),
        sa.Column("party", sa.Text, nullable=False),
        sa.Column("share_class", sa.Text, nullable=False),
        sa.Column("shares", sa.BigInteger, nullable=False),
        sa.Column("votes_per_share", sa.BigInteger, nullable=False),
        *_times(),
    )
    _believed(
        "cap_table_history_believed",
        "cap_table_history",
        ["company", "party", "share_class", "valid_from"],
        unique=True,
    )
    _believed(
        "cap_table_history_now",
        "cap_table_history",
        ["company", "valid_from", "valid_to", "party", "share_class", "shares", "votes_per_share"],
    )
    op.create_index(
        "cap_table_history_known",
        "cap_table_history",
        ["company", "valid_from", "valid_to", "known_from", "known_to"],
    )
    op.create_table(
        "party_companies",
        sa.Column("party", sa.Text, primary_key=True),
        sa.Column("company", sa.Text, primary_key=True),
    )

    op.create_table(
        "roster_history",
        sa.Column("company", sa.Text, nullable=False),
        sa.Column("person", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=True),
        sa.Column("interim", sa.Boolean, nullable=False),
        sa.Column("since", sa.Date, nullable=False),
        *_times(),
    )
    _believed(
        "roster_history_believed", "roster_history", ["company", "person", "role", "valid_from"]
    )
    op.create_index("roster_history_known", "roster_history", ["company", "valid_from", "valid_to"])

    op.create_table(
        "board_history",
        sa.Column("company", sa.Text, nullable=False),
        sa.Column("person", sa.Text, nullable=False),
        sa.Column("seat", sa.Text, nullable=False),
        sa.Column("designated_by", sa.Text, nullable=True),
        sa.Column("executive", sa.Boolean, nullable=False),
        sa.Column("since", sa.Date, nullable=False),
        *_times(),
    )
    _believed(
        "board_history_believed",
        "board_history",
        ["company", "person", "valid_from"],
        unique=True,
    )
    op.create_index("board_history_known", "board_history", ["company", "valid_from", "valid_to"])

    op.create_table(
        "valuation_history",
        sa.Column("company", sa.Text, nullable=False),
        sa.Column("amount", sa.Text, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("basis", sa.Text, nullable=False),
        sa.Column("effective_date", sa.Date, nullable=False),
        *_times(),
    )
    _believed(
        "valuation_history_believed", "valuation_history", ["company", "valid_from"], unique=True
    )
    op.create_index(
        "valuation_history_known", "valuation_history", ["company", "valid_from", "valid_to"]
    )

    tracking = op.create_table(
        "projection_tracking",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("generation", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(
        tracking, [{"name": name, "position": 0, "generation": 0} for name in PROJECTIONS]
    )
