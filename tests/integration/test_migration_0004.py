"""Migration 0004 on a database the previous head (0003) made and used: events stored, read
models filled. The upgrade keeps every row, the index gains its column, and the ledger goes on
answering as the fold does."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from ledger import Ledger
from ledger.persistence import schema
from ledger.persistence.url import store_config
from tests.conftest import drop_pg_database, new_pg_database
from tests.contract.test_read_models import a_history_with_late_facts, answers, tables

ENGINES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]
COPIED = [
    "stored_events",
    "cap_table_history",
    "roster_history",
    "board_history",
    "valuation_history",
    "party_companies",
]


@pytest.fixture(params=ENGINES)
def new_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Callable[[str], str]]:
    """Makes databases with no schema at all."""
    made: list[str] = []

    def make(name: str) -> str:
        if request.param == "sqlite":
            return f"sqlite:///{tmp_path}/{name}.db"
        request.getfixturevalue("pg_server")  # skips without PostgreSQL
        made.append(new_pg_database("template0"))
        return made[-1]

    yield make
    for url in made:
        drop_pg_database(url)


def index_columns(engine: sa.Engine, name: str) -> list[str | None]:
    [index] = [i for i in sa.inspect(engine).get_indexes("cap_table_history") if i["name"] == name]
    return list(index["column_names"])


def test_a_0003_ledger_in_use_is_migrated_keeping_every_row(
    new_url: Callable[[str], str],
) -> None:
    # What a 0003 ledger held: the tables are the same at 0003 and 0004, so a ledger at head
    # makes the rows, and a database migrated to 0003 alone receives them.
    source_url = new_url("source")
    with Ledger.open(source_url) as source:
        a_history_with_late_facts(source)
        expected = tables(source)
        last = source.known_position()
        expected_answers = [
            answers(source, "acme", date(2020, 10, 1), known_at, fold=True)
            for known_at in range(last + 1)
        ]
    old_url = new_url("old")
    old = schema.engine_for(store_config(old_url))
    source_engine = schema.engine_for(store_config(source_url))
    try:
        schema.upgrade(old, "0003")
        assert "known_to" not in index_columns(old, "cap_table_history_now")
        with source_engine.connect() as src, old.begin() as dst:
            for table in COPIED:
                names = [c["name"] for c in sa.inspect(source_engine).get_columns(table)]
                found = src.execute(sa.text(f"SELECT {', '.join(names)} FROM {table}")).all()
                assert found, table
                dst.execute(
                    sa.text(
                        f"INSERT INTO {table} ({', '.join(names)}) "
                        f"VALUES ({', '.join(':' + n for n in names)})"
                    ),
                    [dict(zip(names, row, strict=True)) for row in found],
                )
            dst.execute(sa.text("UPDATE projection_tracking SET position = :p"), {"p": last})
    finally:
        source_engine.dispose()
    try:
        schema.upgrade(old, "0004")
        assert index_columns(old, "cap_table_history_now")[-1] == "known_to"
        with old.connect() as conn:
            for table in COPIED[1:]:
                kept = conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
                assert kept == len(expected[table]), table
        with Ledger.open(old_url) as ledger:  # on to the head: 0005 re-projects the tables
            assert schema.current_revision(old) == schema.HEAD
            read_models = ledger.read_models
            assert read_models is not None
            read_models.catch_up()
            assert tables(ledger) == expected
            assert [(s.position, s.lag) for s in read_models.status()] == [(last, 0)] * 3
            for known_at in range(last + 1):
                assert (
                    answers(ledger, "acme", date(2020, 10, 1), known_at, fold=False)
                    == expected_answers[known_at]
                )
            assert read_models.verify().startswith("read models match the fold")
    finally:
        old.dispose()
