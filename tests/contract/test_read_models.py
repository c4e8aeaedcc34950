"""The read models on every backend: the bitemporal rows a history writes, answers equal to the
fold's at every (as of D, known at T), read-your-writes, rebuilds, verification, and an event
a projection cannot apply."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from ledger import Ledger
from ledger.domain.errors import InputError, LedgerError
from ledger.persistence.chain import chain_link
from ledger.persistence.log import UnreadableEventError
from ledger.ports import ProjectionError, ReadModels
from tests import builders as b

D = date.fromisoformat
TABLES = (
    "cap_table_history",
    "valuation_history",
    "roster_history",
    "board_history",
    "security_history",
    "pool_history",
    "stakeholder_history",
    "party_companies",
)


def models(ledger: Ledger) -> ReadModels:
    found = ledger.read_models
    assert found is not None, "the corpledger.read_models entry point is installed"
    return found


def rows(ledger: Ledger, table: str, company: str | None = None) -> list[tuple[Any, ...]]:
    """A table's rows as plain tuples (dates as ISO text), sorted."""
    where = f" WHERE company = '{company}'" if company else ""
    with ledger.engine.connect() as conn:
        found = conn.execute(sa.text(f"SELECT * FROM {table}{where}")).all()
    return sorted(
        (tuple(v.isoformat() if isinstance(v, date) else v for v in r) for r in found),
        key=repr,
    )


def tables(ledger: Ledger) -> dict[str, list[tuple[Any, ...]]]:
    return {table: rows(ledger, table) for table in TABLES}


def answers(ledger: Ledger, company: str, as_of: date, known_at: int, fold: bool) -> Any:
    return [
        ledger.cap_table(company, as_of, known_at, fold=fold).model_dump(mode="json"),
        ledger.roster(company, as_of, known_at, fold=fold).model_dump(mode="json"),
        ledger.board(company, as_of, known_at, fold=fold).model_dump(mode="json"),
    ]


def a_history_with_late_facts(ledger: Ledger) -> None:
    """acme over 2020-2021 with back-dated events and multi-event batches (one of them with a
    transfer written before the issuance that funds it, both back-dated)."""
    ledger.record(
        [
            *b.founded("acme", "2020-01-01", {"ana": 1_000, "ben": 500}),
            b.share_class("acme", "pref", "2020-01-01", kind="preferred", votes_per_share=0),
            b.executive_appointed("acme", "ana", "ceo", "2020-01-01"),
            b.director_appointed("acme", "ana", "2020-01-01"),
        ]
    )
    ledger.record([b.transferred("acme", "ana", "cy", "common", 200, "2020-06-01")])
    ledger.record(
        [
            b.invested("acme", "fund", "pref", 1_000_000, "2020-09-01", shares=300),
            b.director_appointed("acme", "fund-partner", "2020-09-01", designated_by="fund"),
        ]
    )
    # Late facts: a cancellation and a new CFO back in March, after June's transfer.
    ledger.record(
        [
            b.cancelled("acme", "ben", "common", 100, "2020-03-01"),
            b.executive_appointed("acme", "ben", "cfo", "2020-03-01"),
        ]
    )
    # A batch whose transfer comes before the issuance that funds it, both back-dated.
    ledger.record(
        [
            b.transferred("acme", "dee", "ana", "common", 50, "2020-05-01"),
            b.issued("acme", "dee", "common", 80, "2020-04-01"),
        ]
    )
    ledger.record(
        [
            b.executive_departed("acme", "ana", "ceo", "2021-01-01"),
            b.interim_ceo("acme", "ben", "2021-01-01"),
            b.seat_retained("acme", "ana", "2021-01-01"),
            b.valuation("acme", 9_000_000, "2020-12-01", basis="409a"),
        ]
    )
    ledger.record([*b.founded("globex", "2020-02-01", {"ana": 10})])


def every_date(start: str, end: str) -> list[date]:
    first, last = D(start), D(end)
    return [first + timedelta(days=n) for n in range(0, (last - first).days + 1, 40)]


def test_the_read_models_answer_as_the_fold_at_every_date_and_every_position(
    ledger: Ledger,
) -> None:
    a_history_with_late_facts(ledger)
    last = ledger.known_position()
    days = [
        *every_date("2019-12-31", "2021-02-01"),
        *map(D, ["2020-03-01", "2020-04-01", "2020-05-01", "2020-12-01", "2021-01-01"]),
    ]
    for known_at in range(0, last + 1):
        for as_of in days:
            for company in ("acme", "globex"):
                tables_say = answers(ledger, company, as_of, known_at, fold=False)
                fold_says = answers(ledger, company, as_of, known_at, fold=True)
                assert tables_say == fold_says, (company, as_of, known_at)
            for party in ("ana", "ben", "dee", "fund", "nobody"):
                assert ledger.holdings(party, as_of, known_at).model_dump(
                    mode="json"
                ) == ledger.holdings(party, as_of, known_at, fold=True).model_dump(mode="json")


def test_an_in_order_issuance_closes_one_row_and_opens_two(ledger: Ledger) -> None:
    ledger.record(b.founded("acme", "2020-01-01", {"ana": 1_000, "ben": 500}))
    ledger.record([b.issued("acme", "ana", "common", 10, "2020-02-01")])
    assert rows(ledger, "cap_table_history") == [
        ("acme", "ana", "common", 1000, 1, "2020-01-01", "2020-02-01", 5, None),
        ("acme", "ana", "common", 1000, 1, "2020-01-01", None, 3, 5),
        ("acme", "ana", "common", 1010, 1, "2020-02-01", None, 5, None),
        ("acme", "ben", "common", 500, 1, "2020-01-01", None, 4, None),
    ]


def test_a_back_dated_event_closes_the_rows_it_changes_and_writes_their_successors(
    ledger: Ledger,
) -> None:
    ledger.record(b.founded("acme", "2020-01-01", {"ana": 1_000}))
    ledger.record([b.transferred("acme", "ana", "ben", "common", 400, "2020-06-01")])
    ledger.record([b.cancelled("acme", "ana", "common", 100, "2020-03-01")])  # position 5
    assert rows(ledger, "cap_table_history") == [
        ("acme", "ana", "common", 1000, 1, "2020-01-01", "2020-03-01", 5, None),
        ("acme", "ana", "common", 1000, 1, "2020-01-01", "2020-06-01", 4, 5),
        ("acme", "ana", "common", 1000, 1, "2020-01-01", None, 3, 4),
        ("acme", "ana", "common", 500, 1, "2020-06-01", None, 5, None),
        ("acme", "ana", "common", 600, 1, "2020-06-01", None, 4, 5),
        ("acme", "ana", "common", 900, 1, "2020-03-01", "2020-06-01", 5, None),
        ("acme", "ben", "common", 400, 1, "2020-06-01", None, 4, None),
    ]
    # "As of D, known at T" in plain SQL, as docs/contracts.md writes it.
    query = sa.text(
        "SELECT party, shares FROM cap_table_history WHERE company = 'acme' "
        "AND valid_from <= :d AND (valid_to IS NULL OR valid_to > :d) "
        "AND known_from <= :t AND (known_to IS NULL OR known_to > :t) ORDER BY party"
    )
    with ledger.engine.connect() as conn:
        at = {t: conn.execute(query, {"d": D("2020-04-01"), "t": t}).all() for t in (4, 5)}
    assert [tuple(r) for r in at[4]] == [("ana", 1000)]
    assert [tuple(r) for r in at[5]] == [("ana", 900)]


def test_a_position_inside_a_batch_shows_only_what_can_apply_there(ledger: Ledger) -> None:
    ledger.record(b.founded("acme", "2020-01-01", {"ana": 1_000}))
    result = ledger.record(
        [
            b.transferred("acme", "dee", "ana", "common", 50, "2020-05-01"),
            b.issued("acme", "dee", "common", 80, "2020-04-01"),
        ]
    )
    transfer, issuance = (r.position for r in result.recorded)
    assert transfer is not None
    assert issuance is not None
    as_of = D("2020-12-31")
    assert (
        ledger.cap_table("acme", as_of, transfer).model_dump()
        == ledger.cap_table("acme", as_of, transfer, fold=True).model_dump()
    )
    assert {h.party: h.shares for h in ledger.cap_table("acme", as_of, transfer).holders} == {
        "ana": 1_000
    }
    assert {h.party: h.shares for h in ledger.cap_table("acme", as_of, issuance).holders} == {
        "ana": 1_050,
        "dee": 30,
    }


def test_recording_brings_the_read_models_up_to_date_unless_told_not_to(ledger: Ledger) -> None:
    ledger.record(b.founded("acme", "2020-01-01", {"ana": 1_000}))
    last = ledger.known_position()
    assert [(s.name, s.position, s.lag) for s in models(ledger).status()] == [
        ("board", last, 0),
        ("cap_table", last, 0),
        ("roster", last, 0),
    ]
    ledger.record([b.issued("acme", "ben", "common", 5, "2020-02-01")], project=False)
    assert [(s.position, s.lag) for s in models(ledger).status()] == [(last, 1)] * 3
    # A query catches up first: the answer includes what was just recorded.
    assert {h.party for h in ledger.cap_table("acme", D("2020-03-01")).holders} == {"ana", "ben"}
    assert [(s.position, s.lag) for s in models(ledger).status()] == [(last + 1, 0)] * 3


def test_a_full_rebuild_and_a_rebuild_of_one_company_give_the_same_tables(
    ledger: Ledger,
) -> None:
    a_history_with_late_facts(ledger)
    before = tables(ledger)
    assert before["cap_table_history"], "the history wrote rows"
    assert models(ledger).rebuild() == ledger.known_position()
    assert tables(ledger) == before
    assert models(ledger).rebuild("acme") == ledger.known_position()
    assert tables(ledger) == before
    with pytest.raises(InputError, match="unknown company 'nobody'"):
        models(ledger).rebuild("nobody")


def test_verify_passes_then_names_the_first_row_that_differs_from_the_fold(
    ledger: Ledger,
) -> None:
    a_history_with_late_facts(ledger)
    summary = models(ledger).verify()
    assert summary.startswith("read models match the fold: 2 companies, ")
    assert models(ledger).verify("globex").startswith("read models match the fold: company globex")
    with ledger.engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE cap_table_history SET shares = shares + 1 "
                "WHERE company = 'globex' AND party = 'ana'"
            )
        )
    with pytest.raises(LedgerError) as found:
        models(ledger).verify()
    first = ledger.history("globex").events[-1].position
    assert str(found.value) == (
        "read model cap_table (cap_table_history) differs from the fold for globex as of "
        f"2020-02-01 known at position {first}: party ana share_class common: the table says "
        "shares 11, votes_per_share 1, the fold shares 10, votes_per_share 1"
    )
    assert found.value.exit_code == 1
    models(ledger).rebuild("globex")
    assert models(ledger).verify().startswith("read models match the fold")


def test_an_event_a_projection_cannot_apply_stops_it_naming_the_event(ledger: Ledger) -> None:
    ledger.record(b.founded("acme", "2020-01-01", {"ana": 1_000}))
    last = ledger.known_position()
    # An event of a type this version does not know, as a newer version might store it.
    state = (
        b'{"event_id":"00000000-0000-4000-8000-000000000001","recorded_by":"future",'
        b'"fact":{"type":"SharesVested","company":"acme","effective_date":"2020-02-01"}}'
    )
    store = ledger.store
    [previous] = store.log.chain_page(last - 1, last, 1)
    position = "rowid" if ledger.config.kind == "sqlite" else "notification_id"
    with ledger.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO stored_events (originator_id, originator_version, topic, state, "
                "chain) VALUES ('acme', 4, 'SharesVested', :state, :chain)"
            ),
            {"state": state, "chain": chain_link(previous.chain, "acme", 4, "SharesVested", state)},
        )
        bad = conn.execute(sa.text(f"SELECT MAX({position}) FROM stored_events")).scalar()
    for _ in range(2):  # it stops again at the same event: no skip, no loop
        with pytest.raises(ProjectionError) as stopped:
            models(ledger).catch_up()
        message = str(stopped.value)
        assert message.startswith(
            f"projections cap_table, roster, board cannot read the event at position {bad} "
            "(company acme, event 00000000-0000-4000-8000-000000000001): "
        )
        assert "SharesVested" in message
        assert [s.position for s in models(ledger).status()] == [last] * 3
    # The fold cannot read it either: a query says why.
    with pytest.raises(UnreadableEventError) as unread:
        ledger.cap_table("acme")
    assert str(unread.value) == (
        f"cannot read the stored event at position {bad} (company acme): its type "
        "'SharesVested' is unknown to this version of corpledger (a newer version stored it?): "
        "upgrade corpledger to read it"
    )
    # Another company's batch is stored, and the result says why the read models lag.
    result = ledger.record(b.founded("beta", "2020-01-01", {"bo": 1}))
    assert [e.position for e in result.recorded] == [bad + 1, bad + 2, bad + 3]
    assert result.lagging is not None
    assert str(result.lagging) == message


@pytest.mark.postgres
def test_a_gap_in_the_log_longer_than_a_batch_is_stepped_over(pg_url: str) -> None:
    """Positions a rolled-back write took are never used: a catch-up whose batch falls in
    such a gap goes on to the next event."""
    with Ledger.open(pg_url) as ledger:
        ledger.record(b.founded("acme", "2020-01-01", {"ana": 1_000}))
        with ledger.engine.begin() as conn:  # what a rolled-back batch of 50 events leaves
            conn.execute(
                sa.text(
                    "SELECT setval('stored_events_notification_id_seq', "
                    "(SELECT MAX(notification_id) FROM stored_events) + 50)"
                )
            )
        ledger.record([b.issued("acme", "ben", "common", 5, "2020-02-01")], project=False)
        ledger.record([b.issued("acme", "cy", "common", 7, "2020-03-01")], project=False)
        read_models = models(ledger)
        read_models.batch = 2  # type: ignore[attr-defined]
        last = ledger.known_position()
        assert last == 3 + 50 + 2
        assert read_models.catch_up() == last
        assert {h.party: h.shares for h in ledger.cap_table("acme", D("2020-12-31")).holders} == {
            "ana": 1_000,
            "ben": 5,
            "cy": 7,
        }
        assert read_models.verify().startswith("read models match the fold: 1 company")


def many_late_facts(ledger: Ledger, seed: int) -> None:
    """Two companies of a few hundred events, recorded in batches of 1 to 30: in-order
    issuances and transfers, one issuance in four back-dated, and retractions and
    corrections of earlier issuances (to parties who never give shares away, so that none
    breaks a later transfer)."""
    rng = random.Random(seed)
    start = D("2015-01-01")
    events: list[Any] = []
    for company in ("acme", "beta"):
        events += b.founded(company, start, {"founder": 1_000_000})
    day = start
    for _ in range(500):
        company = rng.choice(("acme", "beta"))
        day += timedelta(days=rng.randint(0, 1))
        party = f"p{rng.randint(1, 25)}"
        if rng.random() < 0.25:
            back = start + timedelta(days=rng.randint(0, (day - start).days))
            events.append(b.issued(company, party, "common", rng.randint(1, 900), back))
        elif rng.random() < 0.6:
            events.append(b.issued(company, party, "common", rng.randint(1, 900), day))
        else:
            events.append(b.transferred(company, "founder", party, "common", 10, day))
    issuances: list[tuple[str, Any]] = []
    while events:
        batch = events[: rng.randint(1, 30)]
        del events[: len(batch)]
        recorded = ledger.record(batch).recorded
        issuances += [(e.company, e.event_id) for e in recorded if e.type == "SharesIssued"]
        if rng.random() < 0.3 and len(issuances) > 10:
            company, target = issuances.pop(rng.randrange(3, len(issuances)))
            if rng.random() < 0.5:
                ledger.record([b.retracted(company, target)])
            else:
                on = start + timedelta(days=rng.randint(0, (day - start).days))
                ledger.record(
                    [b.corrected(company, target, b.issued(company, "q", "common", 7, on))]
                )


@pytest.mark.parametrize("seed", [1, 2])
def test_a_writer_keeping_late_companies_whole_writes_what_reading_them_back_writes(
    durable_url: str, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From a company's first late fact on, the writer keeps all its believed rows and states
    part-way through its events (here every 2 events): a later late fact or correction folds
    on from the last state before its date and reads nothing back. The tables are those of a
    writer that reads the log and the believed rows back for every late fact (none kept),
    and the fold's at every date and every position."""
    from projections import writer

    monkeypatch.setattr(writer, "MARK_EVERY", 2)
    monkeypatch.setattr(writer, "MAX_MARKS", 10_000)
    with Ledger.open(durable_url) as ledger:
        many_late_facts(ledger, seed)
        recorded = tables(ledger)
        assert models(ledger).verify().startswith("read models match the fold: 2 companies")
        assert models(ledger).rebuild() == ledger.known_position()
        assert tables(ledger) == recorded
        monkeypatch.setattr(writer, "MAX_ENTRIES", 0)
        assert models(ledger).rebuild() == ledger.known_position()
        assert tables(ledger) == recorded
