"""Migration 0005 on a database the previous head (0004) made and used: events stored (the
equity instruments among them), read models filled. The upgrade adds the instruments' tables
and sets the projections back to the start, so the next catch-up projects every event again:
the new tables are filled, the old ones come back as they were, and ``verify`` is green."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import sqlalchemy as sa

from ledger import Ledger
from ledger.persistence import schema
from ledger.persistence.url import store_config
from tests.contract.test_instrument_read_models import an_instrument_history, instruments
from tests.contract.test_read_models import answers, tables
from tests.integration.test_migration_0004 import COPIED, new_url

__all__ = ["new_url"]  # the fixture, shared with 0004's test

NEW_TABLES = ("security_history", "pool_history", "stakeholder_history")


def test_a_0004_ledger_in_use_is_migrated_and_its_read_models_projected_again(
    new_url: Callable[[str], str],
) -> None:
    source_url = new_url("source")
    with Ledger.open(source_url) as source:
        an_instrument_history(source)
        expected = tables(source)
        last = source.known_position()
        as_of = date(2021, 11, 1)
        expected_answers = [answers(source, "acme", as_of, t, fold=True) for t in range(last + 1)]
    assert all(expected[table] for table in NEW_TABLES)
    old_url = new_url("old")
    old = schema.engine_for(store_config(old_url))
    source_engine = schema.engine_for(store_config(source_url))
    try:
        schema.upgrade(old, "0004")
        assert not set(NEW_TABLES) & set(sa.inspect(old).get_table_names())
        with source_engine.connect() as src, old.begin() as dst:
            for table in COPIED:
                names = [c["name"] for c in sa.inspect(source_engine).get_columns(table)]
                found = src.execute(sa.text(f"SELECT {', '.join(names)} FROM {table}")).all()
                if not found:
                    continue  # no valuation
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
        schema.upgrade(old)
        assert schema.current_revision(old) == schema.HEAD == "0006"
        with old.connect() as conn:
            for table in (*COPIED[1:], *NEW_TABLES):
                count = conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
                assert count == 0, table
            tracking = conn.execute(
                sa.text("SELECT position, generation FROM projection_tracking")
            ).all()
        assert [tuple(r) for r in tracking] == [(0, 1)] * 3  # to be projected again
        with Ledger.open(old_url) as ledger:
            read_models = ledger.read_models
            assert read_models is not None
            assert [s.lag for s in read_models.status()] == [last] * 3
            assert read_models.catch_up() == last
            assert tables(ledger) == expected
            assert read_models.verify().startswith("read models match the fold")
            for known_at in range(last + 1):
                assert (
                    answers(ledger, "acme", as_of, known_at, fold=False)
                    == (expected_answers[known_at])
                )
            fold, _, _ = ledger.state("acme", as_of)
            assert instruments(fold)["awards"]
    finally:
        old.dispose()
