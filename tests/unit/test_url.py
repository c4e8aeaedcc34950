"""``store_config`` reads ``sqlite:///FILE`` itself (a query then loads no SQLAlchemy): it
must read it as SQLAlchemy does, and leave every other URL to SQLAlchemy."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from ledger.domain.errors import InputError
from ledger.persistence.url import store_config

PLAIN = [
    "sqlite:///corpledger.db",
    "sqlite:////tmp/ledgers/acme.db",
    "sqlite:///with space.db",
    "sqlite:///percent%20quoted.db",
    "sqlite:///plus+sign.db",
    "sqlite:///hash#mark.db",
    "sqlite:///ünïcode.db",
    "sqlite:///a:colon.db",
]


@pytest.mark.parametrize("url", PLAIN)
def test_a_plain_sqlite_url_is_read_as_sqlalchemy_reads_it(url: str) -> None:
    config = store_config(url)
    parsed = make_url(url)
    assert config.file == parsed.database
    assert config.display == parsed.render_as_string(hide_password=True)
    assert config.eventsourcing_env["SQLITE_DBNAME"] == parsed.database
    assert config.sqlalchemy_url == parsed


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///acme.db?mode=ro&uri=true",
        "sqlite:///acme.db?",
        "sqlite+pysqlite:///acme.db",
        "memory://",
        "postgresql://reader:secret@127.0.0.1:5432/ledger",
    ],
)
def test_any_other_url_is_left_to_sqlalchemy(url: str) -> None:
    config = store_config(url)
    assert config.file is None
    assert config.display == config.sqlalchemy_url.render_as_string(hide_password=True)


@pytest.mark.parametrize("url", ["sqlite:///", "sqlite:///:memory:", "sqlite://"])
def test_a_sqlite_url_without_a_file_is_refused(url: str) -> None:
    with pytest.raises(InputError, match="names no file"):
        store_config(url)
