"""``api_tokens``: the HTTP API's bearer tokens (``corpledger tokens``), each a name, a role
(``reader`` or ``writer``) and the SHA-256 of its secret, never the secret itself. A revoked
token keeps its row (``revoked_at`` set): its name stays taken, since history's
``recorded_by`` names the events it recorded.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("secret_sha256", sa.Text, nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('reader', 'writer')", name="api_tokens_role"),
    )
