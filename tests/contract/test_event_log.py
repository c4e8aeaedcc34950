"""``EventLog``, the one reader of the log, on every backend: pages after a position, one
company's events, the end of the log, the event at a position, and a stored event this
version cannot read (returned as stored; ``decode`` names it)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ledger import Ledger
from ledger.persistence.chain import chain_link
from ledger.persistence.log import EventLog, UnreadableEventError, decode
from tests import builders as b


def three_companies(ledger: Ledger) -> None:
    """acme, beta and gamma, their events interleaved across batches."""
    ledger.record(
        [*b.founded("acme", "2020-01-01", {"ana": 10}), *b.founded("beta", "2020-01-01", {"bo": 5})]
    )
    ledger.record(b.founded("gamma", "2020-01-01", {"cy": 7}))
    ledger.record(
        [
            b.issued("acme", "ben", "common", 3, "2020-02-01"),
            b.issued("beta", "bo", "common", 1, "2020-02-01"),
        ]
    )


def log_of(ledger: Ledger) -> EventLog:
    return ledger.store.log


def test_an_empty_log_has_no_events(ledger: Ledger) -> None:
    log = log_of(ledger)
    assert log.last_position() == 0
    assert log.events_after(0, 10) == []
    assert log.event_at(1) is None
    assert log.companies() == []


def test_pages_after_a_position_cover_the_log_once_in_order(ledger: Ledger) -> None:
    three_companies(ledger)
    log = log_of(ledger)
    last = log.last_position()
    whole = log.events_after(0, 1_000)
    assert [r[0] for r in whole] == list(range(1, last + 1))
    paged, after = [], 0
    while page := log.events_after(after, 2):
        assert len(page) <= 2
        paged += page
        after = page[-1][0]
    assert [tuple(r) for r in paged] == [tuple(r) for r in whole]
    assert log.events_after(last, 2) == []  # the end: an empty page
    versions: dict[str, int] = {}
    for _, company, version, state in whole:
        versions[company] = versions.get(company, 0) + 1
        assert version == versions[company]  # each company's versions in order
        assert decode(0, company, state)[2].company == company
    assert [r[0] for r in log.events_after(2, 10, until=4)] == [3, 4]


def test_one_companys_events(ledger: Ledger) -> None:
    three_companies(ledger)
    log = log_of(ledger)
    beta = log.events_after(0, 100, company="beta")
    assert {r[1] for r in beta} == {"beta"}
    assert [r[2] for r in beta] == list(range(1, len(beta) + 1))
    assert [r[0] for r in beta] == sorted(r[0] for r in beta)
    after_first = log.events_after(beta[0][0], 100, company="beta")
    assert after_first == beta[1:]
    assert [tuple(r) for r in log.company_log("beta")] == [tuple(r) for r in beta]
    assert [r[2] for r in log.company_log("beta", before_version=3)] == [1, 2]
    until = beta[-2][0]
    assert [r[0] for r in log.company_log("beta", until=until)] == [r[0] for r in beta[:-1]]
    assert log.events_after(0, 100, company="nobody") == []
    assert log.companies() == ["acme", "beta", "gamma"]
    assert log.has_company("gamma")
    assert not log.has_company("delta")
    stream = log.stream("beta", 1)
    assert [(s.position, s.version) for s in stream] == [(r[0], r[2]) for r in beta[1:]]


def test_the_end_of_the_log_and_the_event_at_a_position(ledger: Ledger) -> None:
    three_companies(ledger)
    log = log_of(ledger)
    last = log.last_position()
    assert last == ledger.known_position()
    at = log.event_at(last)
    assert at is not None
    assert at[0] == last
    assert at[1] == "beta"
    assert log.event_at(last + 1) is None
    assert tuple(log.event_at(1) or ()) == tuple(log.events_after(0, 1)[0])
    pages = list(log.whole_log(4))
    assert [len(p) for p in pages[:-1]] == [4] * (len(pages) - 1)
    assert [tuple(r) for p in pages for r in p] == [tuple(r) for r in log.events_after(0, 100)]


def test_an_event_this_version_cannot_read_is_returned_as_stored(ledger: Ledger) -> None:
    ledger.record(b.founded("acme", "2020-01-01", {"ana": 1_000}))
    log = log_of(ledger)
    last = log.last_position()
    state = (
        b'{"event_id":"00000000-0000-4000-8000-000000000001","recorded_by":"future",'
        b'"fact":{"type":"SharesVested","company":"acme","effective_date":"2020-02-01"}}'
    )
    [previous] = log.chain_page(last - 1, last, 1)
    with ledger.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO stored_events (originator_id, originator_version, topic, state, "
                "chain) VALUES ('acme', 4, 'SharesVested', :state, :chain)"
            ),
            {"state": state, "chain": chain_link(previous.chain, "acme", 4, "SharesVested", state)},
        )
    [(position, company, version, stored)] = log.events_after(last, 10)
    assert (position, company, version, bytes(stored)) == (last + 1, "acme", 4, state)
    with pytest.raises(UnreadableEventError) as unread:
        decode(position, company, stored)
    assert str(unread.value) == (
        f"cannot read the stored event at position {position} (company acme): its type "
        "'SharesVested' is unknown to this version of corpledger (a newer version stored it?): "
        "upgrade corpledger to read it"
    )


def test_a_state_that_is_not_what_corpledger_writes_is_unreadable() -> None:
    for state in ("text", None, 12, b"{not json"):
        with pytest.raises(UnreadableEventError) as unread:
            decode(9, "acme", state)
        assert str(unread.value) == (
            "cannot read the stored event at position 9 (company acme): it is not what "
            "corpledger wrote; run `corpledger verify` to check the ledger"
        )
