"""Migration 0006 on a database at the previous head (0005): ``api_tokens`` arrives empty,
ready for ``corpledger tokens create``, beside a ledger that works as before."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from ledger import Ledger
from ledger.http.tokens import Role, TokenStore
from ledger.persistence import schema
from ledger.persistence.url import store_config
from tests import builders as b
from tests.integration.test_migration_0004 import new_url

__all__ = ["new_url"]  # the fixture, shared with 0004's test


def test_a_0005_database_gets_an_empty_token_table_that_holds_tokens(
    new_url: Callable[[str], str],
) -> None:
    url = new_url("old")
    engine = schema.engine_for(store_config(url))
    try:
        schema.upgrade(engine, "0005")
        assert "api_tokens" not in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
    with Ledger.open(url) as ledger:  # migrates to the head first
        assert schema.current_revision(ledger.engine) == schema.HEAD == "0006"
        ledger.record(b.founded("acme", "2020-01-01", {"ana": 10}))
        tokens = TokenStore(ledger.engine)
        assert tokens.list() == []
        secret = tokens.create("reporting", Role.reader)
        found = tokens.holder(secret)
        assert found is not None
        assert (found.name, found.role) == ("reporting", Role.reader)
        assert ledger.known_position() == 3
