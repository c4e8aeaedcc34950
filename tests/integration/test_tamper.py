"""Append-only by construction, tamper-evident by the hash chain, on SQLite and PostgreSQL.

The database itself refuses UPDATE, DELETE (and on PostgreSQL TRUNCATE) of stored events.
Then, as the owner of the database could, the tests drop the triggers and forge a byte,
delete an event, swap two events' contents or their positions, and expect ``verify_chain``
and ``corpledger verify`` to name the first broken link: position, company and event id.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import reduce
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ledger import Ledger
from ledger.integrity import Break, Link, Problem, verify_chain
from ledger.persistence.chain import GENESIS, chain_link
from tests import builders as b

ENGINES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]
REFUSED = (sqlite3.Error, psycopg.Error)
ROOT = Path(__file__).resolve().parents[2]

# Positions 1-4 acme, 5-7 globex, 8 acme (version 5), 9 globex (version 4).
BATCHES = [
    b.founded("acme", "2020-01-01", {"ana": 8000, "ben": 2000}),
    b.founded("globex", "2020-01-01", {"cy": 500}),
    [
        b.transferred("acme", "ana", "ben", "common", 100, "2021-01-01"),
        b.issued("globex", "dee", "common", 300, "2021-01-01"),
    ],
]
EVENTS = 9


@pytest.fixture(params=ENGINES)
def url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def links(url: str) -> dict[int, Link]:
    """The events of ``BATCHES``, recorded and closed: each position's company and event id."""
    with Ledger.open(url) as ledger:
        recorded = [e for batch in BATCHES for e in ledger.record(batch).recorded]
    assert [e.position for e in recorded] == list(range(1, EVENTS + 1))
    return {
        e.position: Link(e.position, e.company, str(e.event_id))
        for e in recorded
        if e.position is not None
    }


@dataclass(frozen=True)
class Content:
    originator_id: str
    version: int
    topic: str
    state: bytes


class Owner:
    """Plain SQL on the ledger's database, past the ledger, as the database's owner could."""

    def __init__(self, url: str) -> None:
        self.sqlite = url.startswith("sqlite")
        self.position = "rowid" if self.sqlite else "notification_id"
        self.conn: Any = (
            sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            if self.sqlite
            else psycopg.connect(url, autocommit=True)
        )

    def run(self, sql: str, *params: Any) -> list[Any]:
        sql = sql.replace("POSITION", self.position)
        if not self.sqlite:
            sql = sql.replace("?", "%s")
        cursor = self.conn.execute(sql, params)
        return list(cursor.fetchall()) if cursor.description else []

    def drop_triggers(self) -> None:
        for operation in ("update", "delete") if self.sqlite else ("update", "delete", "truncate"):
            on = "" if self.sqlite else " ON stored_events"
            self.run(f"DROP TRIGGER stored_events_no_{operation}{on}")

    def content(self, position: int) -> Content:
        [row] = self.run(
            "SELECT originator_id, originator_version, topic, state FROM stored_events "
            "WHERE POSITION = ?",
            position,
        )
        return Content(row[0], row[1], row[2], bytes(row[3]))

    def put(self, position: int, content: Content) -> None:
        self.run(
            "UPDATE stored_events SET originator_id = ?, originator_version = ?, topic = ?, "
            "state = ? WHERE POSITION = ?",
            content.originator_id,
            content.version,
            content.topic,
            content.state,
            position,
        )

    def rows(self) -> list[tuple[str, int, str, bytes, bytes]]:
        return [
            (r[0], r[1], r[2], bytes(r[3]), bytes(r[4]))
            for r in self.run(
                "SELECT originator_id, originator_version, topic, state, chain "
                "FROM stored_events ORDER BY POSITION"
            )
        ]

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def owner(url: str) -> Iterator[Owner]:
    connection = Owner(url)
    yield connection
    connection.close()


def verify(url: str) -> Break | None:
    with Ledger.open(url) as ledger:
        return verify_chain(ledger).first_break


def corpledger(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CORPLEDGER_")}
    return subprocess.run(
        [sys.executable, "-m", "ledger", "--db", url, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def corpledger_verify(url: str) -> subprocess.CompletedProcess[str]:
    return corpledger(url, "verify")


def assert_cli_reports(url: str, expected: str) -> None:
    done = corpledger_verify(url)
    assert (done.returncode, done.stdout) == (1, ""), done.stderr
    assert done.stderr.startswith(f"error: the ledger has been tampered with: {expected}")
    assert done.stderr.count("\n") == 1, done.stderr


# --- the database refuses edits -------------------------------------------------------------


def test_the_database_refuses_update_and_delete_of_stored_events(
    links: dict[int, Link], owner: Owner, url: str
) -> None:
    before = owner.rows()
    with pytest.raises(REFUSED, match="stored_events is append-only: UPDATE is refused"):
        owner.run("UPDATE stored_events SET topic = 'SharesCancelled' WHERE POSITION = 3")
    with pytest.raises(REFUSED, match="stored_events is append-only: UPDATE is refused"):
        owner.run("UPDATE stored_events SET state = state")
    with pytest.raises(REFUSED, match="stored_events is append-only: DELETE is refused"):
        owner.run("DELETE FROM stored_events WHERE POSITION = 9")
    with pytest.raises(REFUSED, match="stored_events is append-only: DELETE is refused"):
        owner.run("DELETE FROM stored_events")
    assert (owner.rows(), verify(url)) == (before, None)


def test_a_sqlite_insert_or_replace_passes_the_triggers_but_not_the_chain(
    sqlite_url: str,
) -> None:
    """SQLite's REPLACE deletes the conflicting row without firing DELETE triggers (README,
    "Append-only triggers, and their one gap"); the replacement lands at the end of the log
    and the replaced event's position goes missing, which verify reports."""
    with Ledger.open(sqlite_url) as ledger:
        recorded = [e for batch in BATCHES for e in ledger.record(batch).recorded]
    owner = Owner(sqlite_url)
    try:
        stored = owner.content(3)
        owner.run(
            "INSERT OR REPLACE INTO stored_events "
            "(originator_id, originator_version, topic, state, chain) VALUES (?, ?, ?, ?, ?)",
            stored.originator_id,
            stored.version,
            stored.topic,
            stored.state.replace(b'"shares":8000', b'"shares":9000'),
            bytes(32),
        )
        last = owner.run("SELECT rowid, originator_version FROM stored_events ORDER BY rowid")[-1]
        assert tuple(last) == (EVENTS + 1, 3)  # the replacement, appended at the end
    finally:
        owner.close()
    at_4 = Link(4, "acme", str(recorded[3].event_id))
    assert verify(sqlite_url) == Break(
        Problem.deleted,
        at_4,
        "a deleted event: position 3 missing just before this link; acme lacks version 3",
    )


@pytest.mark.postgres
def test_postgresql_refuses_truncate_of_stored_events(pg_url: str) -> None:
    with Ledger.open(pg_url) as ledger:
        ledger.record(BATCHES[0])
    owner = Owner(pg_url)
    try:
        with pytest.raises(
            psycopg.Error, match="stored_events is append-only: TRUNCATE is refused"
        ):
            owner.run("TRUNCATE stored_events")
        assert len(owner.rows()) == 4
    finally:
        owner.close()


# --- verify ----------------------------------------------------------------------------------


def test_an_intact_ledger_verifies_with_the_head_of_the_chain_over_the_log(
    links: dict[int, Link], owner: Owner, url: str
) -> None:
    rows = owner.rows()
    head = reduce(lambda previous, row: chain_link(previous, *row[:4]), rows, GENESIS)
    with Ledger.open(url) as ledger:
        report = verify_chain(ledger, page=4)  # pages smaller than the log: 3 queries
    assert (report.events, report.last_position, report.head, report.first_break) == (
        EVENTS,
        EVENTS,
        head,
        None,
    )
    assert [row[4] for row in rows][-1] == head
    done = corpledger_verify(url)
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        f"{EVENTS} events, chain intact, head {head.hex()}\n"
        "read models match the fold: 2 companies, 8 rows, at every date and every position "
        f"up to {EVENTS}\n",
        "",
    )


def test_an_empty_ledger_verifies_with_the_genesis_as_head(url: str) -> None:
    assert verify(url) is None
    done = corpledger_verify(url)
    assert (done.returncode, done.stdout) == (
        0,
        f"0 events, chain intact, head {'00' * 32}\n"
        "read models match the fold: 0 companies, 0 rows, at every date and every position "
        "up to 0\n",
    )


def test_a_forged_byte_is_found_at_its_position(
    links: dict[int, Link], owner: Owner, url: str
) -> None:
    owner.drop_triggers()
    stored = owner.content(3)
    forged = stored.state.replace(b'"shares":8000', b'"shares":9000')
    assert sum(x != y for x, y in zip(stored.state, forged, strict=True)) == 1
    owner.put(3, Content(stored.originator_id, stored.version, stored.topic, forged))

    found = verify(url)
    assert found is not None
    assert (found.problem, found.link, found.other) == (Problem.forged, links[3], None)
    assert_cli_reports(url, f"{links[3]}: forged content")
    assert str(links[3]) == f"position 3 (company acme, event {links[3].event_id})"


def test_a_forged_topic_is_found_at_its_position(
    links: dict[int, Link], owner: Owner, url: str
) -> None:
    owner.drop_triggers()
    stored = owner.content(6)
    owner.put(6, Content(stored.originator_id, stored.version, "ShareClassCreatex", stored.state))
    found = verify(url)
    assert found is not None
    assert (found.problem, found.link) == (Problem.forged, links[6])


def test_a_deleted_event_is_found_at_the_link_after_it(
    links: dict[int, Link], owner: Owner, url: str
) -> None:
    owner.drop_triggers()
    owner.run("DELETE FROM stored_events WHERE POSITION = 4")  # acme's version 4 of 5

    found = verify(url)
    assert found == Break(
        Problem.deleted,
        links[5],
        "a deleted event: position 4 missing just before this link; acme lacks version 4",
    )
    assert_cli_reports(
        url,
        f"{links[5]}: a deleted event: position 4 missing just before this link; "
        "acme lacks version 4",
    )


def test_a_pair_with_swapped_contents_is_found_as_reordered(
    links: dict[int, Link], owner: Owner, url: str
) -> None:
    owner.drop_triggers()
    acme, globex = owner.content(3), owner.content(6)
    owner.put(3, Content("swapping", 0, acme.topic, acme.state))  # the key is unique meanwhile
    owner.put(6, acme)
    owner.put(3, globex)

    found = verify(url)
    at_3 = Link(3, "globex", links[6].event_id)
    at_6 = Link(6, "acme", links[3].event_id)
    assert found is not None
    assert (found.problem, found.link, found.other) == (Problem.reordered, at_3, at_6)
    assert_cli_reports(url, f"{at_3} and {at_6}: a reordered pair")


def test_a_pair_with_swapped_positions_is_found_as_reordered(
    links: dict[int, Link], owner: Owner, url: str
) -> None:
    owner.drop_triggers()
    owner.run("UPDATE stored_events SET POSITION = -1 WHERE POSITION = 2")
    owner.run("UPDATE stored_events SET POSITION = 2 WHERE POSITION = 7")
    owner.run("UPDATE stored_events SET POSITION = 7 WHERE POSITION = -1")

    found = verify(url)
    at_2 = Link(2, "globex", links[7].event_id)
    at_7 = Link(7, "acme", links[2].event_id)
    assert found is not None
    assert (found.problem, found.link, found.other) == (Problem.reordered, at_2, at_7)


def test_neighbours_with_swapped_contents_are_found_as_reordered(
    links: dict[int, Link], owner: Owner, url: str
) -> None:
    owner.drop_triggers()
    first, second = owner.content(8), owner.content(9)
    owner.put(8, Content("swapping", 0, first.topic, first.state))
    owner.put(9, first)
    owner.put(8, second)

    found = verify(url)
    assert found is not None
    assert (found.problem, found.link, found.other) == (
        Problem.reordered,
        Link(8, "globex", links[9].event_id),
        Link(9, "acme", links[8].event_id),
    )


def test_a_forged_chain_value_is_found_at_its_position(
    links: dict[int, Link], owner: Owner, url: str
) -> None:
    owner.drop_triggers()
    owner.run("UPDATE stored_events SET chain = ? WHERE POSITION = 5", b"\x01" * 32)
    found = verify(url)
    assert found is not None
    assert (found.problem, found.link) == (Problem.forged, links[5])


# --- concurrent writers -----------------------------------------------------------------------


def test_concurrent_writers_keep_the_chain_intact(url: str) -> None:
    """Three ledgers (each its own connections) append at once: to their own companies, and
    to one shared company, whose optimistic-concurrency conflicts roll appends back (on
    PostgreSQL, leaving gaps in the positions)."""
    writers, batches = 3, 8
    with Ledger.open(url) as ledger:
        ledger.record(b.founded("shared", "2020-01-01", {"ana": 1}))
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            with Ledger.open(url) as ledger:
                ledger.record(b.founded(f"own-{n}", "2020-01-01", {"ana": 1}))
                for k in range(batches):
                    batch = [b.issued(f"own-{n}", "ana", "common", 1, "2020-02-01")]
                    if k % 2 == 0:
                        batch.append(b.issued("shared", f"p{n}", "common", 1, "2020-02-01"))
                    ledger.record(batch)
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Ledger.open(url) as ledger:
        report = verify_chain(ledger)
    expected = 3 + writers * (3 + batches + batches // 2)
    assert (report.events, report.first_break) == (expected, None)


# --- tampering that changes a column's type -----------------------------------------------------

UNREADABLE = (
    "cannot read the stored event at position 3 (company acme): it is not what corpledger "
    "wrote; run `corpledger verify` to check the ledger"
)

# An edit past the triggers, at position 3 (acme's version 3), that leaves the row holding
# another type than the ledger writes. SQLite's replace() of a BLOB returns TEXT.
RETYPED_SQLITE = {
    "state replaced as text": (
        "UPDATE stored_events SET state = replace(state, '\"shares\":8000', '\"shares\":9000') "
        "WHERE rowid = 3"
    ),
    "state cast to text": "UPDATE stored_events SET state = CAST(state AS TEXT) WHERE rowid = 3",
    "state an integer": "UPDATE stored_events SET state = 42 WHERE rowid = 3",
    "state null": "UPDATE stored_events SET state = NULL WHERE rowid = 3",
}
RETYPED_POSTGRES = {
    "state null": "UPDATE stored_events SET state = NULL WHERE notification_id = 3",
    "state other bytes": (
        "UPDATE stored_events SET state = 'not an event'::bytea WHERE notification_id = 3"
    ),
}


def assert_forged_at_3(url: str, event_id: str | None) -> None:
    found = verify(url)
    assert found is not None
    assert (found.problem, found.link) == (Problem.forged, Link(3, "acme", event_id))
    assert_cli_reports(url, f"{Link(3, 'acme', event_id)}: forged content")


def assert_queries_point_at_verify(url: str) -> None:
    for args in (["history", "acme"], ["cap-table", "acme"], ["companies"]):
        done = corpledger(url, *args)
        assert (done.returncode, done.stdout, done.stderr) == (1, "", f"error: {UNREADABLE}\n")
    rebuilt = corpledger(url, "projections", "rebuild")
    [line] = rebuilt.stderr.splitlines()
    assert (rebuilt.returncode, rebuilt.stdout) == (1, "")
    assert line.startswith(
        "error: the rebuild stopped at position 3: projections cap_table, roster, board cannot "
        "read the event at position 3 (company acme"
    ), line


@pytest.mark.parametrize("edit", list(RETYPED_SQLITE.values()), ids=list(RETYPED_SQLITE))
def test_a_sqlite_row_of_another_type_is_forged_and_queries_point_at_verify(
    sqlite_url: str, edit: str
) -> None:
    with Ledger.open(sqlite_url) as ledger:
        recorded = [e for batch in BATCHES for e in ledger.record(batch).recorded]
    owner = Owner(sqlite_url)
    try:
        owner.drop_triggers()
        owner.run(edit)
        [(kind,)] = owner.run("SELECT typeof(state) FROM stored_events WHERE rowid = 3")
    finally:
        owner.close()
    assert kind != "blob"
    # The event id is still read from a text state; from NULL or a number there is none.
    readable = kind == "text"
    assert_forged_at_3(sqlite_url, str(recorded[2].event_id) if readable else None)
    assert_queries_point_at_verify(sqlite_url)


@pytest.mark.postgres
@pytest.mark.parametrize("edit", list(RETYPED_POSTGRES.values()), ids=list(RETYPED_POSTGRES))
def test_a_postgresql_row_with_its_state_replaced_is_forged_and_queries_point_at_verify(
    pg_url: str, edit: str
) -> None:
    with Ledger.open(pg_url) as ledger:
        for batch in BATCHES:
            ledger.record(batch)
    owner = Owner(pg_url)
    try:
        owner.drop_triggers()
        owner.run(edit)
    finally:
        owner.close()
    assert_forged_at_3(pg_url, None)
    assert_queries_point_at_verify(pg_url)


def test_a_null_topic_is_forged(links: dict[int, Link], owner: Owner, url: str) -> None:
    owner.drop_triggers()
    owner.run("UPDATE stored_events SET topic = NULL WHERE POSITION = 3")
    assert_forged_at_3(url, links[3].event_id)


@pytest.mark.parametrize("version", [None, "three"], ids=["null", "text"])
def test_a_sqlite_version_that_is_not_an_integer_is_forged(
    sqlite_url: str, version: str | None
) -> None:
    """PostgreSQL's column types and NOT NULL refuse both."""
    with Ledger.open(sqlite_url) as ledger:
        recorded = [e for batch in BATCHES for e in ledger.record(batch).recorded]
    owner = Owner(sqlite_url)
    try:
        owner.drop_triggers()
        owner.run("UPDATE stored_events SET originator_version = ? WHERE rowid = 3", version)
    finally:
        owner.close()
    assert_forged_at_3(sqlite_url, str(recorded[2].event_id))
