"""The server's answer cache is never stale: after a write by any door (a POST to this
server or to another one on the same database, the command line, with or without
projecting) the next GET answers with it, while an answer fixed by ``known_at`` stays the
same, byte for byte; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ledger import Ledger
from ledger.cli import run
from ledger.http.app import create_app
from ledger.http.cache import AnswerCache, Cached
from ledger.reports import CapTable
from tests import builders as b
from tests.http.conftest import COMPANY, acme_ledger

TODAY = f"/v1/companies/{COMPANY}/cap-table"


@pytest.fixture(scope="module")
def tokens(engine_url: str) -> tuple[dict[str, str], dict[str, str]]:
    return acme_ledger(engine_url)


def test_every_write_is_seen_by_the_next_get_and_a_fixed_answer_stays(
    engine_url: str, tokens: tuple[dict[str, str], dict[str, str]], tmp_path: Path
) -> None:
    reader, writer = tokens
    with Ledger.open(engine_url) as ledger:
        start = ledger.known_position()
    fixed = f"{TODAY}?as_of=2021-06-02&known_at={start}"
    with TestClient(create_app(engine_url)) as one, TestClient(create_app(engine_url)) as other:
        cache: AnswerCache = one.app.state.answer_cache  # type: ignore[attr-defined]

        def ben() -> int:
            """ben's shares as ``one`` answers, asked twice: the second from its cache."""
            first = one.get(TODAY, headers=reader)
            hits = cache.hits
            again = one.get(TODAY, headers=reader)
            assert (cache.hits, again.content) == (hits + 1, first.content)
            holders = {h["party"]: h["shares"] for h in first.json()["holders"]}
            return int(holders.get("ben", 0))

        pinned = one.get(fixed, headers=reader).content
        shares = ben()

        def issue(n: int) -> list[dict[str, object]]:
            return [b.issued(COMPANY, "ben", "common", n, "2021-06-01")]

        assert one.post("/v1/events", json=issue(1), headers=writer).status_code == 201
        assert ben() == shares + 1
        assert other.post("/v1/events", json=issue(2), headers=writer).status_code == 201
        assert ben() == shares + 3
        for n, flags in [(4, []), (8, ["--no-project"])]:
            file = tmp_path / f"issue-{n}.json"
            file.write_text(json.dumps(issue(n)))
            assert run(["--db", engine_url, "record", *flags, str(file)]) == 0
        assert ben() == shares + 15
        assert one.get(fixed, headers=reader).content == pinned
        assert other.get(fixed, headers=reader).content == pinned


def test_a_view_many_ask_for_at_once_is_computed_once(
    engine_url: str, tokens: tuple[dict[str, str], dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    computed = []
    slow = threading.Lock()
    cap_table = Ledger.cap_table

    def counted(self: Ledger, *args: Any, **kwargs: Any) -> CapTable:
        computed.append(args)
        with slow:
            time.sleep(0.3)  # long enough for every request to arrive while it is under way
        return cap_table(self, *args, **kwargs)

    monkeypatch.setattr(Ledger, "cap_table", counted)
    with TestClient(create_app(engine_url)) as client, ThreadPoolExecutor(6) as clients:
        views = [f"{TODAY}?as_of=2021-0{n % 2 + 1}-01" for n in range(12)]
        answers = list(clients.map(lambda view: client.get(view, headers=tokens[0]), views))
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 2
    assert sorted(args[1] for args in computed) == [date(2021, 1, 1), date(2021, 2, 1)]


def test_the_cache_keeps_the_most_recently_used_within_its_bytes() -> None:
    cache = AnswerCache(1_000)
    for key in "abcd":
        cache.put(key, Cached(1, key.encode() * 250, key))
    assert cache.get("a", 1) is not None  # now the most recently used
    cache.put("e", Cached(1, b"e" * 250, "e"))
    assert [k for k in "abcde" if cache.get(k, 1) is not None] == ["a", "c", "d", "e"]
    assert cache.size == 1_000
    assert cache.get("a", 2) is None  # computed at another version: a miss
    cache.put("f", Cached(1, b"f" * 251, "f"))  # over a quarter of the whole: not kept
    assert cache.get("f", 1) is None
    nothing = AnswerCache(0)
    nothing.put("a", Cached(1, b"a", "a"))
    assert len(nothing) == 0
