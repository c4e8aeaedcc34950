"""Migration 0003 (the read models): a database built from ``migrations/`` alone has the tables
``projections/tables.py`` describes and answers as the fold does; a ledger at the previous head
(0002) holding events is migrated, its read models start empty and the first catch-up fills
them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from functools import reduce
from typing import Any

import pytest
import sqlalchemy as sa

from ledger import Ledger
from ledger.persistence import schema
from ledger.persistence.chain import GENESIS, chain_link
from ledger.persistence.url import store_config
from projections.service import DERIVED
from projections.tables import DERIVED_TABLES, metadata
from tests.conftest import drop_pg_database, new_pg_database
from tests.contract.test_read_models import a_history_with_late_facts, answers, tables
from tests.integration.test_migration_0002 import events_of_the_0001_era

ENGINES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=ENGINES)
def empty_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """A database with no schema at all."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/fresh.db"
        return
    request.getfixturevalue("pg_server")  # skips without PostgreSQL
    url = new_pg_database("template0")
    yield url
    drop_pg_database(url)


def described(engine: sa.Engine, table: str) -> tuple[Any, ...]:
    """A table's columns (name, nullable, type family) and indexes (name, columns, unique)."""
    inspector = sa.inspect(engine)
    columns = tuple(
        (c["name"], c["nullable"], type(c["type"]).__name__.upper().replace("BIGINT", "INTEGER"))
        for c in inspector.get_columns(table)
    )
    indexes = tuple(
        sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
               for i in inspector.get_indexes(table))
    )  # fmt: skip
    return columns, indexes


def test_a_database_from_the_migrations_alone_has_the_tables_the_code_describes(
    empty_url: str,
) -> None:
    migrated = schema.engine_for(store_config(empty_url))
    # The same database, created from the code's definitions instead.
    kind = migrated.dialect.name
    reference_url = empty_url.replace("fresh.db", "reference.db") if kind == "sqlite" else None
    try:
        schema.upgrade(migrated)
        assert schema.current_revision(migrated) == schema.HEAD == "0006"
        if reference_url is not None:
            reference = sa.create_engine(reference_url)
        else:
            reference_url = new_pg_database("template0")
            reference = sa.create_engine(
                reference_url.replace("postgresql://", "postgresql+psycopg://")
            )
        try:
            metadata.create_all(reference)
            for table in metadata.tables:
                assert described(migrated, table) == described(reference, table), table
        finally:
            reference.dispose()
            if kind != "sqlite":
                drop_pg_database(reference_url)
        with migrated.connect() as conn:
            tracking = conn.execute(
                sa.text("SELECT name, position, generation FROM projection_tracking ORDER BY name")
            ).all()
        assert [tuple(r) for r in tracking] == [
            ("board", 0, 0),
            ("cap_table", 0, 0),
            ("roster", 0, 0),
        ]
    finally:
        migrated.dispose()
    with Ledger.open(empty_url) as ledger:
        a_history_with_late_facts(ledger)
        for known_at in range(ledger.known_position() + 1):
            as_of = date(2020, 10, 1)
            assert answers(ledger, "acme", as_of, known_at, fold=False) == answers(
                ledger, "acme", as_of, known_at, fold=True
            )


def test_a_rebuild_clears_every_derived_table() -> None:
    assert [table.name for table in DERIVED_TABLES] == DERIVED


def test_a_0002_ledger_with_events_is_migrated_and_its_read_models_fill_on_first_use(
    empty_url: str,
) -> None:
    engine = schema.engine_for(store_config(empty_url))
    old = events_of_the_0001_era()
    try:
        schema.upgrade(engine, "0002")
        assert schema.current_revision(engine) == "0002"
        # The 0002 ledger's append, as plain inserts with their chain values.
        chains = [
            reduce(lambda chain, event: chain_link(chain, *event), old[: n + 1], GENESIS)
            for n in range(len(old))
        ]
        with engine.begin() as conn:
            for (originator_id, version, topic, state), chain in zip(old, chains, strict=True):
                conn.execute(
                    sa.text(
                        "INSERT INTO stored_events (originator_id, originator_version, topic, "
                        "state, chain) VALUES (:i, :v, :t, :s, :c)"
                    ),
                    {"i": originator_id, "v": version, "t": topic, "s": state, "c": chain},
                )
        assert schema.upgrade(engine) == "0002"
        assert schema.current_revision(engine) == schema.HEAD
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT COUNT(*) FROM cap_table_history")).scalar() == 0
            assert conn.execute(sa.text("SELECT position FROM projection_tracking")).all() == [
                (0,),
                (0,),
                (0,),
            ]
    finally:
        engine.dispose()
    with Ledger.open(empty_url) as ledger:
        read_models = ledger.read_models
        assert read_models is not None
        assert [(s.position, s.lag) for s in read_models.status()] == [(0, len(old))] * 3
        for company in ("acme", "globex"):
            as_of = date(2021, 6, 1)
            assert answers(ledger, company, as_of, len(old), fold=False) == answers(
                ledger, company, as_of, len(old), fold=True
            )
        assert [(s.position, s.lag) for s in read_models.status()] == [(len(old), 0)] * 3
        assert read_models.verify().startswith("read models match the fold: 2 companies")
        filled = tables(ledger)
        read_models.rebuild()
        assert tables(ledger) == filled
