"""The bulk path on SQLite and PostgreSQL: a batch longer than a chunk streams through one
append transaction (``ledger.batch``; here chunks are made tiny so that every test crosses
several). What it stores equals what recording the same events one at a time stores, event
for event, apart from the event ids (random) and what the database sets (``recorded_at``,
and the chain, which hashes the event id); eventsourcing reads it back; a bad line or a
broken rule anywhere in the stream stores nothing."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import StoredEvent

from ledger import InputError, Ledger, RuleViolation
from ledger.domain.company import CompanyEvent
from ledger.files import Item
from ledger.integrity import verify_chain
from ledger.persistence.log import ChainRow
from ledger.persistence.mapper import FactMapper, decode_state
from ledger.persistence.postgres import COPY_THRESHOLD, copy_binary
from ledger.replay import fold_log
from tests import builders as b

SMALL_CHUNK = 7
START = date(2000, 1, 3)


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 7 events: a batch of 8 or more takes the streaming path."""
    monkeypatch.setattr("ledger.app.CHUNK", SMALL_CHUNK)


def random_batch(seed: int, companies: int = 4, events: int = 90) -> list[dict[str, Any]]:
    """Valid in any order once each company is founded: issuances, investments, transfers of
    small lots from a large founder's holding and director appointments, on random dates
    (so many are back-dated, some across chunks), companies interleaved, some with
    external ids, sources and notes."""
    rng = random.Random(seed)
    names = [f"co-{seed}-{n}" for n in range(companies)]
    batch: list[dict[str, Any]] = []
    for name in names:
        batch += b.founded(name, START, {"founder": 1_000_000})
    for n in range(events):
        company = rng.choice(names)
        day = START + timedelta(days=rng.randint(1, 4_000))
        kind = rng.randrange(5)
        extra: dict[str, Any] = {}
        if rng.random() < 0.2:
            extra["external_id"] = f"x{n}"
        if rng.random() < 0.2:
            extra["source"] = f"https://example.com/{n}"
        if rng.random() < 0.1:
            extra["note"] = "née Ünïcode ✓"
        if kind == 0:
            event = b.issued(company, f"h{rng.randint(1, 9)}", "common", rng.randint(1, 999), day)
        elif kind == 1:
            event = b.invested(
                company, f"fund-{n}", "common", f"{rng.randint(1, 10**6)}.25", day, shares=n + 1
            )
        elif kind == 2:
            event = b.transferred(company, "founder", f"h{rng.randint(1, 9)}", "common", 7, day)
        elif kind == 3:
            event = b.director_appointed(company, f"person-{n}", day)
        else:
            event = b.valuation(company, rng.randint(10**6, 10**9), day)
        batch.append({**event, **extra})
    return batch


def log_of(ledger: Ledger) -> list[ChainRow]:
    store = ledger.store
    return store.log.chain_page(0, store.log.last_position(), 10**6)


def without_ids(rows: list[ChainRow]) -> list[tuple[int, str, int, str, dict[str, Any]]]:
    """The stored events apart from what differs between two recordings of the same events:
    the event id (random), and so the chain; recorded_at is not in these rows."""
    out = []
    for row in rows:
        state = json.loads(row.state)
        del state["event_id"]
        out.append((row.position, row.originator_id, row.version, row.topic, state))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_streamed_batch_stores_what_recording_the_events_one_by_one_stores(
    durable_url: str, sqlite_url: str, seed: int
) -> None:
    batch = random_batch(seed)
    with Ledger.open(durable_url) as bulk:
        bulk.record(b.founded("before", START, {"ann": 10}), actor="tester")
        result = bulk.record(batch, actor="tester", project=False)
        streamed = log_of(bulk)
        assert verify_chain(bulk).intact
    assert len(result.recorded) == len(batch)
    other = sqlite_url.replace("ledger.db", "one-by-one.db")
    with Ledger.open(other) as normal:
        normal.record(b.founded("before", START, {"ann": 10}), actor="tester")
        for event in batch:
            normal.record([event], actor="tester", project=False)
        one_by_one = log_of(normal)
    assert without_ids(streamed) == without_ids(one_by_one)
    # The event ids are the ones the result reports, at the positions it reports.
    ids = {r.position: str(r.event_id) for r in result.recorded}
    assert {row.position: json.loads(row.state)["event_id"] for row in streamed[3:]} == ids


def test_what_the_bulk_path_stores_is_what_the_library_mapper_writes_and_reads(
    durable_url: str,
) -> None:
    batch = random_batch(4)
    with Ledger.open(durable_url) as ledger:
        result = ledger.record(batch, actor="tester", project=False)
        rows = log_of(ledger)
        mapper = FactMapper(transcoder=ledger.factory.transcoder())
        for row in rows:
            event_id, actor, fact = decode_state(row.state)
            again = mapper.to_stored_event(
                CompanyEvent(row.originator_id, row.version, event_id, actor, fact)
            )
            assert (again.topic, again.state) == (row.topic, row.state)
        # The library's notification log: every event, in position order, as stored.
        notifications = ledger.recorder.select_notifications(start=1, limit=10**6)
        assert [
            (n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in notifications
        ] == [(r.position, r.originator_id, r.version, r.topic, r.state) for r in rows]
        assert [n.id for n in notifications] == [r.position for r in result.recorded]
        # The library's repository rebuilds each company's aggregate from it.
        for company in {e["company"] for e in batch}:
            aggregate = ledger.repository.get(company)
            recorded = [r for r in result.recorded if r.company == company]
            assert aggregate.version == len(recorded)
            assert [e.event_id for e in aggregate.events] == [r.event_id for r in recorded]
            assert [e.fact.type for e in aggregate.events] == [r.type for r in recorded]


def test_a_long_batch_appends_after_events_the_normal_path_stored_and_vice_versa(
    durable_url: str,
) -> None:
    with Ledger.open(durable_url) as ledger:
        ledger.record(b.founded("acme", START, {"ann": 100}))
        ledger.cap_table("acme")  # acme's stream is cached
        ledger.record([b.issued("acme", f"h{n}", "common", 1, START) for n in range(20)])
        ledger.record([b.transferred("acme", "ann", "bob", "common", 5, "2001-01-01")])
        ledger.record([b.issued("acme", f"g{n}", "common", 1, "2000-06-01") for n in range(9)])
        holders = {
            h.party: h.shares for h in ledger.cap_table("acme", as_of=date(2002, 1, 1)).holders
        }
        assert (holders["ann"], holders["bob"], len(holders)) == (95, 5, 31)
        assert [n.id for n in ledger.recorder.select_notifications(1, 100)] == list(range(1, 34))
        assert ledger.repository.get("acme").version == 33
        assert verify_chain(ledger).intact


def test_writes_of_a_thousand_or_more_rows_through_the_recorder_read_back_in_order(
    durable_url: str,
) -> None:
    """Binary COPY on PostgreSQL (executemany on SQLite) through the library's own
    ``insert_events``, then a small INSERT after it: contiguous positions, as stored."""
    with Ledger.open(durable_url) as ledger:
        recorder = ledger.store
        events = [
            StoredEvent(f"s{n % 13}", n // 13 + 1, "Topic", f'{{"n":{n}}}'.encode())
            for n in range(COPY_THRESHOLD + 13)
        ]
        assert recorder.insert_events(events) == list(range(1, len(events) + 1))
        next_version = sum(e.originator_id == "s0" for e in events) + 1
        after = StoredEvent("s0", next_version, "T", b"{}")
        assert recorder.insert_events([after]) == [len(events) + 1]
        back = recorder.select_notifications(start=1, limit=10**6)
        assert [(n.originator_id, n.originator_version, n.state) for n in back[:-1]] == [
            (e.originator_id, e.originator_version, e.state) for e in events
        ]
        assert [e.state for e in recorder.select_events("s1")] == [
            e.state for e in events if e.originator_id == "s1"
        ]
        assert verify_chain(ledger).intact


def lines(events: list[dict[str, Any]], bad: int | None = None, text: str = "") -> Iterator[Item]:
    for number, event in enumerate(events, start=1):
        line = text if number == bad else json.dumps(event)
        yield Item(f"feed.jsonl line {number}", text=line)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"type": "SharesIssued", "company": "co-5-0"', "malformed JSON at column"),
        ('{"type": "Nope", "company": "co-5-0"}', "unknown event type 'Nope'"),
        (
            json.dumps(b.transferred("co-5-0", "nobody", "x", "common", 1, "2001-01-01")),
            "rule 3",
        ),
    ],
)
def test_a_bad_line_deep_in_a_long_batch_is_named_and_nothing_of_the_batch_is_stored(
    durable_url: str, text: str, message: str
) -> None:
    batch = random_batch(5, events=60)
    with Ledger.open(durable_url) as ledger:
        ledger.record(b.founded("before", START, {"ann": 10}))
        before = log_of(ledger)
        with pytest.raises((InputError, RuleViolation)) as refused:
            ledger.record(lines(batch, bad=50, text=text))
        assert str(refused.value).startswith("feed.jsonl line 50")
        assert message in str(refused.value)
        assert log_of(ledger) == before
        # The store is left usable, the stream cache consistent.
        ledger.record(lines(batch))
        assert len(log_of(ledger)) == len(before) + len(batch)


def test_an_event_back_dated_by_a_later_chunk_is_checked_against_the_earlier_chunks(
    durable_url: str,
) -> None:
    batch = [
        *b.founded("acme", START, {"ann": 10}),
        b.transferred("acme", "ann", "bob", "common", 10, "2005-01-01"),
        *(b.issued("acme", f"h{n}", "common", 1, "2006-01-01") for n in range(20)),
        # Back-dated before the transfer, which it leaves without shares: the transfer
        # (chunk 1) becomes impossible.
        b.cancelled("acme", "ann", "common", 1, "2004-01-01"),
    ]
    with Ledger.open(durable_url) as ledger:
        with pytest.raises(
            RuleViolation,
            match=r"item 25 .*rule 3 .*later SharesTransferred of 2005-01-01 \(item 4\) impossible",
        ):
            ledger.record(batch)
        assert ledger.known_position() == 0


def test_reading_the_whole_log_back_folds_every_company_as_the_queries_do(
    durable_url: str,
) -> None:
    batch = random_batch(6)
    with Ledger.open(durable_url) as ledger:
        ledger.record(batch, project=False)
        folded = fold_log(ledger, page=16)
        assert folded == {
            company: ledger.state(company, as_of=date(2099, 1, 1))[0]
            for company in ledger.store.log.companies()
        }


@pytest.mark.postgres
def test_the_copy_payload_is_what_postgresql_writes_for_the_same_rows(pg_url: str) -> None:
    """``copy_binary`` builds the binary COPY format itself (so that sending it needs no
    GIL): byte for byte what the server writes out for the same rows, non-ASCII text, empty
    and large values included."""
    rows = [
        ("acme", 1, "CompanyRegistered", b'{"fact":"n\xc3\xa9e"}', bytes(range(32))),
        ("sociét\u00e9-ü", 2**40, "SharesIssued", b"", b"\xff" * 32),
        ("x" * 300, 7, "T" * 70, bytes(range(256)) * 300, b"\x00" * 32),
    ]
    with psycopg.connect(pg_url) as conn:
        conn.execute(
            "CREATE TEMP TABLE copied (originator_id text, originator_version int8, topic text, "
            "state bytea, chain bytea)"
        )
        with conn.cursor().copy(
            "COPY copied (originator_id, originator_version, topic, state, chain) "
            "FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.write(copy_binary(rows))
        assert conn.execute("SELECT * FROM copied").fetchall() == rows
        out = bytearray()
        with conn.cursor().copy("COPY copied TO STDOUT (FORMAT BINARY)") as copy:
            for block in copy:
                out += block
    assert bytes(out) == copy_binary(rows)
