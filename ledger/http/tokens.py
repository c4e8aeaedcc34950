"""The HTTP API's bearer tokens, in the ``api_tokens`` table (migration 0006).

A token is ``clt_`` and 32 random bytes (``secrets.token_urlsafe``): 256 bits no one can
guess, so storing its SHA-256 is enough. A slow password hash (bcrypt, argon2) protects
secrets people choose, which are few enough to try; this one is not, and a fast hash keeps
every request's check to microseconds. The secret is shown once, at creation, and never
stored. Each request looks its token up again (no cache), comparing digests in constant time,
so a revocation takes effect at the next request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple

import sqlalchemy as sa

from ..domain.errors import InputError

PREFIX = "clt_"
"""Marks a corpledger token (secret scanners can look for it)."""

TABLE = sa.Table(
    "api_tokens",
    sa.MetaData(),
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("role", sa.Text),
    sa.Column("secret_sha256", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True)),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)
"""The table as migration 0006 made it (typed, so moments come back as datetimes)."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


class Role(StrEnum):
    reader = "reader"  # GET
    writer = "writer"  # GET and POST


class Token(NamedTuple):
    name: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every moment stored is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _moment(stored: datetime | str) -> datetime:
    """A moment as the driver reads it (SQLite's: text) as a datetime in UTC."""
    return _utc(stored if isinstance(stored, datetime) else datetime.fromisoformat(stored))


class TokenStore:
    """The tokens of the ledger whose engine is ``engine``."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def create(self, name: str, role: Role) -> str:
        """A new token named ``name``; returns its secret (the only time it exists)."""
        if not _NAME.fullmatch(name):
            raise InputError(
                f"token name {name!r}: use 1 to 64 letters, digits and . _ @ -, starting with "
                "a letter or digit"
            )
        secret = PREFIX + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            taken = conn.execute(sa.select(TABLE.c.revoked_at).where(TABLE.c.name == name)).first()
            if taken is not None:
                was = " (revoked; names stay taken)" if taken[0] is not None else ""
                raise InputError(f"token name {name!r} is taken{was}: choose another")
            conn.execute(
                TABLE.insert().values(
                    name=name,
                    role=role.value,
                    secret_sha256=digest(secret),
                    created_at=datetime.now(UTC),
                )
            )
        return secret

    def list(self) -> list[Token]:
        c = TABLE.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(c.name, c.role, c.created_at, c.revoked_at).order_by(c.name)
            ).all()
        return [
            Token(name, Role(role), _utc(created), None if revoked is None else _utc(revoked))
            for name, role, created, revoked in rows
        ]

    def revoke(self, name: str) -> bool:
        """Revoke the token ``name``; False if it was revoked already."""
        with self.engine.begin() as conn:
            found = conn.execute(sa.select(TABLE.c.revoked_at).where(TABLE.c.name == name)).first()
            if found is None:
                raise InputError(f"no token named {name!r} (see corpledger tokens list)")
            if found[0] is not None:
                return False
            conn.execute(
                TABLE.update().where(TABLE.c.name == name).values(revoked_at=datetime.now(UTC))
            )
        return True

    def holder(self, secret: str) -> Token | None:
        """The live token whose secret is ``secret``, or None. Every live digest is compared
        (in constant time each), so the time taken says nothing about which one matched."""
        return self.holder_beside(secret, "SELECT 0")[0]

    def holder_beside(self, secret: str, beside: str) -> tuple[Token | None, tuple[Any, ...]]:
        """``holder``, and the one row of the query ``beside``, read in the same round trip
        (a server checks its token and the ledger's version at every request)."""
        wanted = digest(secret).encode()
        with self.engine.connect() as conn:
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            cursor.execute(
                "SELECT b.*, t.name, t.role, t.created_at, t.secret_sha256 "
                f"FROM ({beside}) AS b LEFT JOIN api_tokens AS t ON t.revoked_at IS NULL"
            )
            rows = cursor.fetchall()
        found = None
        for *_, name, role, created, stored in rows:
            if stored is not None and hmac.compare_digest(stored.encode(), wanted):
                found = Token(name, Role(role), _moment(created), None)
        return found, tuple(rows[0][:-4])
