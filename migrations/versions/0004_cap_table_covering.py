"""The "as of D, known now" index of ``cap_table_history`` also covers ``known_to``.

SQLite answers a query from an index alone only when the index holds every column the query
names; the cap-table query names ``known_to`` (always NULL in this partial index), so under
0003 it read each row from the table as well. Recreating the index with the column lets the
query read one range of the index and nothing else.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NAME, TABLE = "cap_table_history_now", "cap_table_history"
COLUMNS = [
    "company",
    "valid_from",
    "valid_to",
    "party",
    "share_class",
    "shares",
    "votes_per_share",
    "known_to",
]


def upgrade() -> None:
    op.drop_index(NAME, table_name=TABLE)
    where = sa.text("known_to IS NULL")
    op.create_index(NAME, TABLE, COLUMNS, sqlite_where=where, postgresql_where=where)

