"""The read models' tables (SQLAlchemy Core). Migrations 0003 and 0005 create them; these
definitions must agree with them (``tests/contract/test_read_model_tables.py`` compares the two).

Every history table is bitemporal: ``valid_from``/``valid_to`` are effective dates (``valid_to``
exclusive, NULL = open), ``known_from``/``known_to`` positions of the global log (``known_to``
NULL = still believed). The rows a reader wants are

    valid_from <= D AND (valid_to IS NULL OR valid_to > D)
    AND known_from <= T AND (known_to IS NULL OR known_to > T)

The column names of ``cap_table_history``, ``roster_history`` and ``board_history`` listed in
docs/contracts.md are a contract for BI tools; the others (``votes_per_share``, ``since``) are
additions. ``security_history``, ``pool_history`` and ``stakeholder_history`` hold the equity
instruments, the stock plans and the stakeholders' names; ``valuation_history`` and
``projection_tracking`` are ours.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

BELIEVED = sa.text("known_to IS NULL")
"""The partial-index condition of the rows still believed."""


def _times() -> list[sa.Column[object]]:
    return [
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date, nullable=True),
        sa.Column("known_from", sa.BigInteger, nullable=False),
        sa.Column("known_to", sa.BigInteger, nullable=True),
    ]


def _partial(name: str, *columns: str, unique: bool = False) -> sa.Index:
    return sa.Index(name, *columns, unique=unique, sqlite_where=BELIEVED, postgresql_where=BELIEVED)


cap_table_history = sa.Table(
    "cap_table_history",
    metadata,
    sa.Column("company", sa.Text, nullable=False),
    sa.Column("party", sa.Text, nullable=False),
    sa.Column("share_class", sa.Text, nullable=False),
    sa.Column("shares", sa.BigInteger, nullable=False),
    sa.Column("votes_per_share", sa.BigInteger, nullable=False),
    *_times(),
    # The identity of a believed row (what a later position closes).
    _partial(
        "cap_table_history_believed",
        "company",
        "party",
        "share_class",
        "valid_from",
        unique=True,
    ),
    # "As of D, known now" for one company: a range of one covering index.
    _partial(
        "cap_table_history_now",
        "company",
        "valid_from",
        "valid_to",
        "party",
        "share_class",
        "shares",
        "votes_per_share",
        "known_to",  # implied, but SQLite covers a query only with every column it names
    ),
    # "As of D, known at T" for one company.
    sa.Index(
        "cap_table_history_known",
        "company",
        "valid_from",
        "valid_to",
        "known_from",
        "known_to",
    ),
)

party_companies = sa.Table(
    "party_companies",
    metadata,
    # The holdings index: every company whose cap table has ever had a row of the party (a
    # party's positions are then read through cap_table_history_believed/_known). Written
    # once per pair, so it costs the cap table's writer nearly nothing.
    sa.Column("party", sa.Text, primary_key=True),
    sa.Column("company", sa.Text, primary_key=True),
)

roster_history = sa.Table(
    "roster_history",
    metadata,
    sa.Column("company", sa.Text, nullable=False),
    sa.Column("person", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=True),
    sa.Column("interim", sa.Boolean, nullable=False),
    sa.Column("since", sa.Date, nullable=False),
    *_times(),
    _partial("roster_history_believed", "company", "person", "role", "valid_from"),
    sa.Index("roster_history_known", "company", "valid_from", "valid_to"),
)

board_history = sa.Table(
    "board_history",
    metadata,
    sa.Column("company", sa.Text, nullable=False),
    sa.Column("person", sa.Text, nullable=False),
    sa.Column("seat", sa.Text, nullable=False),
    sa.Column("designated_by", sa.Text, nullable=True),
    sa.Column("executive", sa.Boolean, nullable=False),
    sa.Column("since", sa.Date, nullable=False),
    *_times(),
    _partial("board_history_believed", "company", "person", "valid_from", unique=True),
    sa.Index("board_history_known", "company", "valid_from", "valid_to"),
)

valuation_history = sa.Table(
    "valuation_history",
    metadata,
    sa.Column("company", sa.Text, nullable=False),
    sa.Column("amount", sa.Text, nullable=False),  # the exact decimal, as text
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("basis", sa.Text, nullable=False),
    sa.Column("effective_date", sa.Date, nullable=False),
    *_times(),
    _partial("valuation_history_believed", "company", "valid_from", unique=True),
    sa.Index("valuation_history_known", "company", "valid_from", "valid_to"),
)

COUNTS_COLUMNS = (
    "company",
    "valid_from",
    "valid_to",
    "plan",
    "holder",
    "quantity",
    "exercised",
    "cancelled",
    "expiration_date",
    "known_to",  # implied, but SQLite covers a query only with every column it names
)

security_history = sa.Table(
    "security_history",
    metadata,
    # An award (kind option|rsu), a warrant, or an open convertible, with its stored terms;
    # what they amount to on a date (vested, expired, outstanding) is computed, not stored.
    sa.Column("company", sa.Text, nullable=False),
    sa.Column("security", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("holder", sa.Text, nullable=False),
    sa.Column("plan", sa.Text, nullable=True),  # NULL: a warrant or a convertible
    sa.Column("share_class", sa.Text, nullable=True),  # NULL: a convertible
    sa.Column("quantity", sa.BigInteger, nullable=True),
    sa.Column("exercised", sa.BigInteger, nullable=True),
    sa.Column("cancelled", sa.BigInteger, nullable=True),
    # An award's or a warrant's: a column of its own, as a cap table reads it of every award.
    sa.Column("expiration_date", sa.Date, nullable=True),
    sa.Column("terms", sa.Text, nullable=False),  # JSON: prices, dates, vesting, amounts
    *_times(),
    _partial("security_history_believed", "company", "security", "kind", "valid_from", unique=True),
    sa.Index("security_history_known", "company", "valid_from", "valid_to"),
    # The awards' counts a cap table reads "as of D, known now": a range of one covering index.
    _partial("security_history_counts", *COUNTS_COLUMNS),
)

pool_history = sa.Table(
    "pool_history",
    metadata,
    sa.Column("company", sa.Text, nullable=False),
    sa.Column("plan", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("share_class", sa.Text, nullable=False),
    sa.Column("on_cancel", sa.Text, nullable=False),
    sa.Column("reserved", sa.BigInteger, nullable=False),
    sa.Column("exercised", sa.BigInteger, nullable=False),
    sa.Column("retired", sa.BigInteger, nullable=False),
    *_times(),
    _partial("pool_history_believed", "company", "plan", "valid_from", unique=True),
    sa.Index("pool_history_known", "company", "valid_from", "valid_to"),
)

stakeholder_history = sa.Table(
    "stakeholder_history",
    metadata,
    sa.Column("company", sa.Text, nullable=False),
    sa.Column("party", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    *_times(),
    _partial("stakeholder_history_believed", "company", "party", "valid_from", unique=True),
    sa.Index("stakeholder_history_known", "company", "valid_from", "valid_to"),
)

projection_tracking = sa.Table(
    "projection_tracking",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    # Bumped by every rebuild, so a running worker knows its caches are stale.
    sa.Column("generation", sa.BigInteger, nullable=False),
)

HISTORY_TABLES = (
    cap_table_history,
    valuation_history,
    roster_history,
    board_history,
    security_history,
    pool_history,
    stakeholder_history,
)
DERIVED_TABLES = (*HISTORY_TABLES, party_companies)
"""Every table a rebuild clears."""
