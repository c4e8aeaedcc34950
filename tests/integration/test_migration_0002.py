"""A ledger created at revision 0001, holding events, is migrated to the append-only schema:
its events keep their positions, contents and ``recorded_at``, get the hash chain in position
order, verify, and the ledger appends after them, chained on."""

from __future__ import annotations

from collections.abc import Iterator
from functools import reduce
from typing import Any

import pytest
import sqlalchemy as sa

from ledger import Ledger
from ledger.integrity import verify_chain
from ledger.persistence import schema
from ledger.persistence.chain import GENESIS, chain_link
from ledger.persistence.url import MEMORY_URL, store_config
from tests import builders as b
from tests.conftest import drop_pg_database, new_pg_database

ENGINES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]
STORIES = [
    b.founded("acme", "2020-01-01", {"ana": 8000, "ben": 2000}),
    b.founded("globex", "2020-01-01", {"cy": 500}),
    [b.transferred("acme", "ana", "ben", "common", 100, "2021-01-01")],
]


@pytest.fixture(params=ENGINES)
def empty_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """A database with no schema at all."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/old.db"
        return
    request.getfixturevalue("pg_server")  # skips without PostgreSQL
    url = new_pg_database("template0")
    yield url
    drop_pg_database(url)


def events_of_the_0001_era() -> list[tuple[str, int, str, bytes]]:
    """Stored events as the ledger wrote them: recorded in a scratch ledger, read back."""
    with Ledger.open(MEMORY_URL) as scratch:
        for batch in STORIES:
            scratch.record(batch)
        rows = scratch.store.log.chain_page(0, scratch.store.log.last_position(), 100)
    return [(r.originator_id, r.version, r.topic, r.state) for r in rows]


def stored(engine: sa.Engine) -> list[tuple[Any, ...]]:
    position = "rowid" if engine.dialect.name == "sqlite" else "notification_id"
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                sa.text(
                    f"SELECT {position}, originator_id, originator_version, topic, state, "
                    f"recorded_at FROM stored_events ORDER BY {position}"
                )
            )
        ]


def test_a_0001_ledger_with_events_is_migrated_to_a_verified_chain(empty_url: str) -> None:
    engine = schema.engine_for(store_config(empty_url))
    try:
        schema.upgrade(engine, "0001")
        assert schema.current_revision(engine) == "0001"
        old = events_of_the_0001_era()
        # The 0001 ledger's append, as plain inserts: no chain column yet.
        with engine.begin() as conn:
            for originator_id, version, topic, state in old:
                conn.execute(
                    sa.text(
                        "INSERT INTO stored_events (originator_id, originator_version, topic, "
                        "state) VALUES (:i, :v, :t, :s)"
                    ),
                    {"i": originator_id, "v": version, "t": topic, "s": state},
                )
        before = stored(engine)

        with Ledger.open(empty_url) as ledger:  # migrates to HEAD
            assert schema.current_revision(engine) == schema.HEAD
            assert stored(engine) == before  # positions, contents and recorded_at kept
            rows = ledger.store.log.chain_page(0, len(old), 100)
            head = reduce(lambda chain, event: chain_link(chain, *event), old, GENESIS)
            report = verify_chain(ledger)
            assert (report.events, report.head, report.first_break) == (len(old), head, None)
            assert rows[-1].chain == head

            later = ledger.record([b.issued("globex", "dee", "common", 300, "2021-02-01")])
            assert [e.position for e in later.recorded] == [len(old) + 1]
            report = verify_chain(ledger)
            assert (report.events, report.first_break) == (len(old) + 1, None)

        with (
            pytest.raises(sa.exc.DBAPIError, match="stored_events is append-only"),
            engine.begin() as conn,
        ):
            conn.execute(sa.text("DELETE FROM stored_events"))
    finally:
        engine.dispose()


def test_migrating_an_empty_0001_ledger_gives_the_head_schema(empty_url: str) -> None:
    engine = schema.engine_for(store_config(empty_url))
    try:
        schema.upgrade(engine, "0001")
        assert schema.upgrade(engine) == "0001"
        assert schema.current_revision(engine) == schema.HEAD
    finally:
        engine.dispose()
    with Ledger.open(empty_url) as ledger:
        ledger.record(STORIES[0])
        report = verify_chain(ledger)
    assert (report.events, report.first_break) == (4, None)
