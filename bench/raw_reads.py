"""The raw driver doing a cap-table query's reads: the statements ``ledger.cap_table(company,
as_of=d)`` runs on the read models, as of D and known now, with the same driver and the
same connection settings, on a warm connection; every row fetched, no report built.

They are, in one read transaction (SQLite: ``BEGIN`` … ``ROLLBACK``; PostgreSQL: REPEATABLE
READ, its first statements sent with the probe in one pipeline): the probe of the tracked
position, the end of the log and the company's existence; then the holdings (on SQLite
through the partial covering index the ledger names, ``INDEXED BY``), the valuation, the
warrants and convertibles, the plans, the stakeholders' names and the awards' counts (on
PostgreSQL in one pipeline, binary rows, as the ledger reads them, the transaction ended by a
commit so that psycopg keeps the statements it prepares).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import psycopg

VALID = "known_to IS NULL AND valid_from <= {m} AND (valid_to IS NULL OR {to} > {m})"
"""Valid on D (given twice), known now: the rows still believed (on SQLite, valid_to compared
without its affinity, as the ledger does)."""


def statements(sqlite: bool) -> tuple[str, list[str]]:
    """The probe (one parameter: the company) and the reads (parameters: the company, D,
    D), as the ledger's read models send them."""
    m = "?" if sqlite else "%s"
    position = "rowid" if sqlite else "notification_id"
    probe = (
        "SELECT (SELECT MIN(position) FROM projection_tracking), "
        f"(SELECT MAX({position}) FROM stored_events), "
        f"EXISTS (SELECT 1 FROM stored_events WHERE originator_id = {m} "
        "AND originator_version = 1)"
    )
    valid = f"company = {m} AND " + VALID.format(m=m, to="+valid_to" if sqlite else "valid_to")
    holdings_hint = " INDEXED BY cap_table_history_now" if sqlite else ""
    counts_hint = " INDEXED BY security_history_counts" if sqlite else ""
    reads = [
        "SELECT party, share_class, shares, votes_per_share "
        f"FROM cap_table_history{holdings_hint} WHERE {valid}",
        f"SELECT amount, currency, basis, effective_date FROM valuation_history WHERE {valid}",
        "SELECT security, kind, holder, plan, share_class, quantity, exercised, cancelled, "
        f"expiration_date, terms FROM security_history WHERE {valid} AND plan IS NULL",
        "SELECT plan, name, share_class, on_cancel, reserved, exercised, retired "
        f"FROM pool_history WHERE {valid}",
        f"SELECT party, name, kind FROM stakeholder_history WHERE {valid}",
        "SELECT holder, plan, quantity - exercised - cancelled, expiration_date "
        f"FROM security_history{counts_hint} WHERE {valid} AND plan IS NOT NULL",
    ]
    return probe, reads


def cap_table_reads(url: str, company: str) -> tuple[Callable[[date], int], Callable[[], None]]:
    """A function that does one query's reads for a date (returning the number of holdings
    rows), and one that closes its connection."""
    if url.startswith("sqlite:///"):
        return _sqlite(url.removeprefix("sqlite:///"), company)
    return _postgres(url.replace("postgresql+psycopg://", "postgresql://"), company)


def _sqlite(path: str, company: str) -> tuple[Callable[[date], int], Callable[[], None]]:
    conn = sqlite3.connect(path, timeout=30)  # as the ledger's engine connects
    probe, reads = statements(sqlite=True)

    def read(day: date) -> int:
        d = day.isoformat()
        cur = conn.cursor()
        cur.execute("BEGIN")
        try:
            cur.execute(probe, (company,)).fetchone()
            rows = [conn.cursor().execute(sql, (company, d, d)).fetchall() for sql in reads]
        finally:
            conn.rollback()
        return len(rows[0])

    return read, conn.close


def _postgres(url: str, company: str) -> tuple[Callable[[date], int], Callable[[], None]]:
    conn = psycopg.connect(url, connect_timeout=10)  # as the ledger's engine connects
    probe, reads = statements(sqlite=False)

    def read(day: date) -> int:
        try:
            with conn.pipeline():
                conn.cursor().execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                probed = conn.cursor()
                probed.execute(probe, (company,))
            probed.fetchone()
            cursors: list[Any] = []
            with conn.pipeline():
                for sql in reads:
                    cur = conn.cursor(binary=True)
                    cur.execute(sql, (company, day, day))
                    cursors.append(cur)
            rows = [cur.fetchall() for cur in cursors]
            conn.commit()  # as the ledger ends its reads: a rollback unprepares the statements
        finally:
            conn.rollback()
        return len(rows[0])

    return read, conn.close


def alternating(
    query: Callable[[date], object], read: Callable[[date], int], dates: list[date]
) -> tuple[list[float], list[float]]:
    """The seconds of ``query`` and of ``read`` for each date, the two alternating query by
    query (drift on a noisy machine hits both sides)."""
    sides: tuple[list[float], list[float]] = ([], [])
    for day in dates:
        for side, run in zip(sides, (query, read), strict=True):
            started = time.perf_counter()
            run(day)
            side.append(time.perf_counter() - started)
    return sides
