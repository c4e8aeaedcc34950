"""What the ledger answers, on every backend: cap table, roster, board, holdings, history.

The expected numbers are worked out by hand in the comments, never read back from the ledger.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from ledger import InputError, Ledger, RuleViolation
from ledger.reports import Companies, CompanyOut
from tests import builders as b
from tests.answers import AtLeast

D = date.fromisoformat


def holders(ledger: Ledger, company: str, as_of: date) -> list[tuple[Any, ...]]:
    table = ledger.cap_table(company, as_of=as_of)
    return [
        (h.party, h.shares, h.ownership_percent, h.voting_percent, h.classes) for h in table.holders
    ]


# --- cap table ---

GLOBEX = [
    b.registered("globex", "2021-01-01", name="Globex Corporation", source="charter"),
    b.share_class("globex", "common", "2021-01-01", authorized=10_000_000),
    b.share_class("globex", "class-b", "2021-01-01", votes_per_share=0),
    b.issued("globex", "ana", "common", 6_000_000, "2021-01-01"),
    b.issued("globex", "ben", "common", 2_000_000, "2021-01-01"),
    b.issued("globex", "ana", "class-b", 1_000_000, "2021-01-01"),
    b.share_class("globex", "series-a", "2021-06-01", kind="preferred"),
    b.invested("globex", "fund-a", "series-a", 3_000_000, "2021-06-01", shares=1_000_000),
]


def test_cap_table_lists_holders_by_class_with_ownership_and_voting_percentages(
    ledger: Ledger,
) -> None:
    ledger.record(GLOBEX)
    table = ledger.cap_table("globex", as_of=D("2021-12-31"))
    # 10,000,000 outstanding; votes: 8,000,000 common + 1,000,000 series-a (class-b has none).
    # ana 7M/10M = 70%, votes 6M/9M = 66.66666…% → 66.6667; ben 2M/9M = 22.2222;
    # fund-a 1M/9M = 11.1111. The implied post-money is 3,000,000 × 10M / 1M = 30,000,000.
    assert table.model_dump(mode="json") == AtLeast(
        {
            "company": "globex",
            "as_of": "2021-12-31",
            "known_at": ledger.known_position(),
            "total_shares": 10_000_000,
            "holders": [
                {
                    "party": "ana",
                    "shares": 7_000_000,
                    "ownership_percent": "70.0000",
                    "voting_percent": "66.6667",
                    "classes": {"class-b": 1_000_000, "common": 6_000_000},
                    "ownership_percent_by_class": {"class-b": "10.0000", "common": "60.0000"},
                    "voting_percent_by_class": {"class-b": "0.0000", "common": "66.6667"},
                },
                {
                    "party": "ben",
                    "shares": 2_000_000,
                    "ownership_percent": "20.0000",
                    "voting_percent": "22.2222",
                    "classes": {"common": 2_000_000},
                    "ownership_percent_by_class": {"common": "20.0000"},
                    "voting_percent_by_class": {"common": "22.2222"},
                },
                {
                    "party": "fund-a",
                    "shares": 1_000_000,
                    "ownership_percent": "10.0000",
                    "voting_percent": "11.1111",
                    "classes": {"series-a": 1_000_000},
                    "ownership_percent_by_class": {"series-a": "10.0000"},
                    "voting_percent_by_class": {"series-a": "11.1111"},
                },
            ],
            "valuation": {
                "amount": "30000000.00",
                "currency": "USD",
                "basis": "post-money",
                "effective_date": "2021-06-01",
            },
        }
    )


def test_cap_table_before_the_investment_counts_only_the_shares_then_outstanding(
    ledger: Ledger,
) -> None:
    ledger.record(GLOBEX)
    # 9,000,000 outstanding, 8,000,000 votes: ana 7/9 = 77.7777…%, votes 6/8 = 75%.
    assert holders(ledger, "globex", D("2021-03-01")) == [
        ("ana", 7_000_000, "77.7778", "75.0000", {"class-b": 1_000_000, "common": 6_000_000}),
        ("ben", 2_000_000, "22.2222", "25.0000", {"common": 2_000_000}),
    ]
    assert ledger.cap_table("globex", as_of=D("2021-03-01")).valuation is None


def test_percentages_round_half_to_even_at_four_decimals(ledger: Ledger) -> None:
    ledger.record(b.founded("tiny", "2020-01-01", {"big": 1_999_996, "x": 1, "y": 3}))
    # Of 2,000,000: 1 share is 0.00005% (→ 0.0000, 0 is even), 3 are 0.00015% (→ 0.0002).
    assert holders(ledger, "tiny", D("2020-01-01")) == [
        ("big", 1_999_996, "99.9998", "99.9998", {"common": 1_999_996}),
        ("y", 3, "0.0002", "0.0002", {"common": 3}),
        ("x", 1, "0.0000", "0.0000", {"common": 1}),
    ]


def test_voting_percent_is_null_when_no_share_carries_a_vote(ledger: Ledger) -> None:
    ledger.record(
        [
            b.registered("mute", "2020-01-01"),
            b.share_class("mute", "units", "2020-01-01", votes_per_share=0),
            b.issued("mute", "ana", "units", 300, "2020-01-01"),
            b.issued("mute", "ben", "units", 100, "2020-01-01"),
        ]
    )
    assert holders(ledger, "mute", D("2020-01-01")) == [
        ("ana", 300, "75.0000", None, {"units": 300}),
        ("ben", 100, "25.0000", None, {"units": 100}),
    ]


def test_answers_are_built_with_the_garbage_collector_paused(ledger: Ledger) -> None:
    """An answer allocates thousands of objects in no cycle: the collector, paused meanwhile,
    does not sweep them (``ledger.app.gc_paused``), and runs again afterwards."""
    ledger.record(GLOBEX)
    day = D("2021-12-31")
    queries: list[Callable[[], object]] = [
        lambda: ledger.cap_table("globex", as_of=day),
        lambda: ledger.grants("globex", as_of=day),
        lambda: ledger.roster("globex", as_of=day),
        lambda: ledger.board("globex", as_of=day),
        lambda: ledger.holdings("ana", as_of=day),
        lambda: ledger.cap_table("globex", as_of=day, fold=True),
        lambda: ledger.companies(),
        lambda: ledger.history("globex"),
        lambda: ledger.party_history("ana"),
        lambda: ledger.audit("globex"),
    ]
    for query in queries:
        query()  # warm: what is cached on first use is not the answer
    sweeps: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            sweeps.append(info["generation"])

    threshold = gc.get_threshold()
    gc.callbacks.append(count)
    gc.set_threshold(1)  # unpaused, every allocation of an answer would set off a sweep
    try:
        during = []
        for query in queries:
            before = len(sweeps)
            query()
            during.append(len(sweeps) - before)
    finally:
        gc.set_threshold(*threshold)
        gc.callbacks.remove(count)
    assert gc.isenabled()
    # At most the sweeps the call itself sets off before the pause (its arguments, the pause).
    assert max(during) <= 2, during


def test_holders_with_equal_shares_are_ordered_by_party(ledger: Ledger) -> None:
    ledger.record(b.founded("tie", "2020-01-01", {"zed": 5, "amy": 5, "max": 10}))
    assert [h.party for h in ledger.cap_table("tie", as_of=D("2020-01-01")).holders] == [
        "max",
        "amy",
        "zed",
    ]


# --- valuations and derived shares ---

INITECH = [
    *b.founded("initech", "2020-01-01", {"ana": 8_000_000}),
    b.share_class("initech", "series-seed", "2020-03-01", kind="preferred"),
    # pre-money 8M + 2M = post 10M; the money buys a = 0.2; new = 8M × 0.2 / 0.8 = 2,000,000.
    b.invested("initech", "seed-fund", "series-seed", 2_000_000, "2020-03-01", pre_money=8_000_000),
    # post-money 25M: a = 0.2 of O = 10M; new = 10M × 0.2 / 0.8 = 2,500,000.
    b.invested("initech", "fund-b", "series-seed", 5_000_000, "2020-06-01", post_money=25_000_000),
    # seed-fund holds H = 2M of O = 12.5M and buys up to s = 50% in total:
    # new = (0.5 × 12.5M − 2M) / 0.5 = 8,500,000; implied post = 17M × 21M / 8.5M = 42M.
    b.invested("initech", "seed-fund", "series-seed", 17_000_000, "2020-09-01", stake_percent="50"),
    b.valuation("initech", 50_000_000, "2020-12-01", basis="409a"),
]


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        pytest.param("2020-02-01", None, id="before-any"),
        pytest.param(
            "2020-03-01",
            {"amount": "10000000", "currency": "USD", "basis": "post-money",
             "effective_date": "2020-03-01"},
            id="pre-money-plus-amount",
        ),
        pytest.param(
            "2020-08-31",
            {"amount": "25000000", "currency": "USD", "basis": "post-money",
             "effective_date": "2020-06-01"},
            id="post-money-given",
        ),
        pytest.param(
            "2020-09-01",
            {"amount": "42000000.00", "currency": "USD", "basis": "post-money",
             "effective_date": "2020-09-01"},
            id="implied-by-stake",
        ),
        pytest.param(
            "2021-01-01",
            {"amount": "50000000", "currency": "USD", "basis": "409a",
             "effective_date": "2020-12-01"},
            id="valuation-recorded",
        ),
    ],
)  # fmt: skip
def test_valuation_is_the_latest_known_at_the_date(
    ledger: Ledger, as_of: str, expected: dict[str, str] | None
) -> None:
    ledger.record(INITECH)
    valuation = ledger.cap_table("initech", as_of=D(as_of)).valuation
    assert (None if valuation is None else valuation.model_dump(mode="json")) == expected


def test_investments_issue_the_shares_derived_from_stake_or_valuation(ledger: Ledger) -> None:
    ledger.record(INITECH)
    # 21,000,000 outstanding: seed-fund 10.5M = 50%, ana 8/21 = 38.0952%, fund-b 2.5/21.
    assert holders(ledger, "initech", D("2020-12-31")) == [
        ("seed-fund", 10_500_000, "50.0000", "50.0000", {"series-seed": 10_500_000}),
        ("ana", 8_000_000, "38.0952", "38.0952", {"common": 8_000_000}),
        ("fund-b", 2_500_000, "11.9048", "11.9048", {"series-seed": 2_500_000}),
    ]


def test_derived_shares_are_stored_with_the_event(ledger: Ledger) -> None:
    ledger.record(INITECH)
    derived = [
        (e.effective_date.isoformat(), e.data.get("derived_shares"))
        for e in ledger.history("initech").events
        if e.type == "InvestmentMade"
    ]
    assert derived == [("2020-03-01", 2_000_000), ("2020-06-01", 2_500_000),
                       ("2020-09-01", 8_500_000)]  # fmt: skip


def test_a_derived_share_count_rounds_half_to_even_once(ledger: Ledger) -> None:
    ledger.record(b.founded("odd", "2020-01-01", {"ana": 1_000_002}))
    ledger.record(
        [
            # (0.2 × 1,000,002 − 0) / 0.8 = 250,000.5 → 250,000 (the even neighbour)
            b.invested("odd", "vc", "common", 1_000, "2020-02-01", stake_percent="20"),
        ]
    )
    assert [e.data.get("derived_shares") for e in ledger.history("odd").events][-1] == 250_000


def test_derived_shares_are_not_recomputed_when_an_earlier_event_arrives_late(
    ledger: Ledger,
) -> None:
    ledger.record(
        [
            *b.founded("acme", "2020-01-01", {"ana": 8_000_000, "ben": 2_000_000}),
            b.invested(
                "acme", "seed-fund", "common", 2_000_000, "2020-06-01", post_money=10_000_000
            ),
        ]
    )
    # 10M outstanding then: 10M × 0.2 / 0.8 = 2,500,000 new shares, stored with the event.
    ledger.record([b.issued("acme", "carl", "common", 1_000_000, "2020-03-01")])
    # Re-deriving on 11M outstanding would give 2,750,000; the stored count stays.
    assert holders(ledger, "acme", D("2020-12-31")) == [
        ("ana", 8_000_000, "59.2593", "59.2593", {"common": 8_000_000}),
        ("seed-fund", 2_500_000, "18.5185", "18.5185", {"common": 2_500_000}),
        ("ben", 2_000_000, "14.8148", "14.8148", {"common": 2_000_000}),
        ("carl", 1_000_000, "7.4074", "7.4074", {"common": 1_000_000}),
    ]


# --- roster and board ---

HOOLI = [
    b.registered("hooli", "2020-01-01"),
    b.executive_appointed("hooli", "ana", "ceo", "2020-01-01", title="Chief Executive Officer"),
    b.director_appointed("hooli", "ana", "2020-01-01"),
    b.board_size("hooli", 3, "2020-01-01"),
    b.director_appointed("hooli", "carl", "2020-02-01", seat="chair", designated_by="seed-fund"),
    b.executive_appointed("hooli", "ben", "cfo", "2020-03-01", title="Chief Financial Officer"),
    b.director_appointed("hooli", "dora", "2020-03-01", seat="observer", designated_by="fund-b"),
    b.director_appointed("hooli", "ben", "2020-03-01"),
    b.executive_departed("hooli", "ana", "ceo", "2021-05-01", reason="left", destination="meta"),
    b.seat_retained("hooli", "ana", "2021-05-01"),
    b.interim_ceo("hooli", "ben", "2021-05-01"),
]


def officers(ledger: Ledger, company: str, as_of: date) -> list[dict[str, Any]]:
    return ledger.roster(company, as_of=as_of).model_dump(mode="json")["officers"]  # type: ignore[no-any-return]


def directors(ledger: Ledger, company: str, as_of: date) -> list[dict[str, Any]]:
    return ledger.board(company, as_of=as_of).model_dump(mode="json")["directors"]  # type: ignore[no-any-return]


def test_roster_lists_officers_in_office_by_role_then_since(ledger: Ledger) -> None:
    ledger.record(HOOLI)
    assert officers(ledger, "hooli", D("2020-06-01")) == AtLeast([
        {"person": "ana", "role": "ceo", "title": "Chief Executive Officer", "interim": False,
         "since": "2020-01-01"},
        {"person": "ben", "role": "cfo", "title": "Chief Financial Officer", "interim": False,
         "since": "2020-03-01"},
    ])  # fmt: skip
    assert officers(ledger, "hooli", D("2021-06-01")) == AtLeast([
        {"person": "ben", "role": "ceo", "title": "Interim Chief Executive Officer",
         "interim": True, "since": "2021-05-01"},
        {"person": "ben", "role": "cfo", "title": "Chief Financial Officer", "interim": False,
         "since": "2020-03-01"},
    ])  # fmt: skip


def test_board_lists_directors_by_since_with_the_executive_flag_of_that_date(
    ledger: Ledger,
) -> None:
    ledger.record(HOOLI)
    assert directors(ledger, "hooli", D("2020-06-01")) == AtLeast([
        {"person": "ana", "seat": "director", "since": "2020-01-01", "designated_by": None,
         "executive": True},
        {"person": "carl", "seat": "chair", "since": "2020-02-01", "designated_by": "seed-fund",
         "executive": False},
        {"person": "ben", "seat": "director", "since": "2020-03-01", "designated_by": None,
         "executive": True},
        {"person": "dora", "seat": "observer", "since": "2020-03-01", "designated_by": "fund-b",
         "executive": False},
    ])  # fmt: skip
    # After 2021-05-01 ana keeps her seat but no office: no longer executive.
    assert [
        (d["person"], d["executive"]) for d in directors(ledger, "hooli", D("2021-06-01"))
    ] == AtLeast(
        [
            ("ana", False),
            ("carl", False),
            ("ben", True),
            ("dora", False),
        ]
    )


def test_a_director_beyond_the_board_size_is_refused_but_an_observer_is_not(
    ledger: Ledger,
) -> None:
    ledger.record(HOOLI)
    before = ledger.known_position()
    with pytest.raises(RuleViolation, match=r"rule 5") as refused:
        ledger.record([b.director_appointed("hooli", "eve", "2021-06-01")])
    assert refused.value.rule == 5
    assert ledger.known_position() == before
    ledger.record([b.director_appointed("hooli", "eve", "2021-06-01", seat="observer")])
    assert [d["person"] for d in directors(ledger, "hooli", D("2021-06-01"))][-1] == "eve"


def test_a_second_ceo_while_one_is_in_office_is_refused(ledger: Ledger) -> None:
    ledger.record(HOOLI)
    with pytest.raises(RuleViolation, match=r"rule 4.*ben is CEO") as refused:
        ledger.record([b.executive_appointed("hooli", "carl", "ceo", "2021-07-01")])
    assert refused.value.rule == 4


# --- holdings ---


def test_holdings_list_every_position_of_a_party_across_companies(ledger: Ledger) -> None:
    ledger.record(
        [
            *b.founded("alpha-co", "2020-01-01", {"ana": 900, "fund-a": 100}),
            *b.founded("beta-co", "2021-01-01", {"ana": 1_000, "fund-a": 3_000}),
            *b.founded("gamma-co", "2021-01-01", {"ben": 5}),
        ]
    )
    answer = ledger.holdings("fund-a", as_of=D("2021-06-01"))
    assert answer.model_dump(mode="json") == AtLeast({
        "party": "fund-a",
        "as_of": "2021-06-01",
        "known_at": ledger.known_position(),
        "positions": [
            {"company": "beta-co", "shares": 3_000, "ownership_percent": "75.0000",
             "voting_percent": "75.0000", "classes": {"common": 3_000},
             "ownership_percent_by_class": {"common": "75.0000"},
             "voting_percent_by_class": {"common": "75.0000"}},
            {"company": "alpha-co", "shares": 100, "ownership_percent": "10.0000",
             "voting_percent": "10.0000", "classes": {"common": 100},
             "ownership_percent_by_class": {"common": "10.0000"},
             "voting_percent_by_class": {"common": "10.0000"}},
        ],
    })  # fmt: skip
    assert [p.company for p in ledger.holdings("fund-a", as_of=D("2020-06-01")).positions] == [
        "alpha-co"
    ]
    assert ledger.holdings("nobody", as_of=D("2021-06-01")).positions == []


# --- history ---


def test_history_lists_every_event_by_position_with_its_provenance(ledger: Ledger) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    first = ledger.record(
        [
            b.registered("acme", "2020-01-01", name="Acme", source="charter"),
            b.share_class("acme", "common", "2020-01-01"),
            b.issued("acme", "ana", "common", 1_000, "2020-01-01", source="board minutes 1"),
        ],
        actor="clerk",
    )
    # Recorded later but effective earlier: it comes last in the history (by position).
    late = ledger.record(
        [b.transferred("acme", "ana", "ben", "common", 400, "2020-01-02", note="late filing")],
        actor="auditor",
    )
    end = datetime.now(UTC) + timedelta(seconds=1)
    history = ledger.history("acme")
    recorded = [*first.recorded, *late.recorded]
    assert history.company == "acme"
    assert history.known_at == ledger.known_position()
    assert [
        (e.event_id, e.position, e.type, e.effective_date, e.recorded_by, e.source, e.data)
        for e in history.events
    ] == [
        (str(recorded[0].event_id), recorded[0].position, "CompanyRegistered", D("2020-01-01"),
         "clerk", "charter",
         {"type": "CompanyRegistered", "company": "acme", "effective_date": "2020-01-01",
          "name": "Acme", "source": "charter"}),
        (str(recorded[1].event_id), recorded[1].position, "ShareClassCreated", D("2020-01-01"),
         "clerk", None,
         {"type": "ShareClassCreated", "company": "acme", "effective_date": "2020-01-01",
          "share_class": "common", "name": "Common", "kind": "common", "votes_per_share": 1}),
        (str(recorded[2].event_id), recorded[2].position, "SharesIssued", D("2020-01-01"),
         "clerk", "board minutes 1",
         {"type": "SharesIssued", "company": "acme", "effective_date": "2020-01-01",
          "holder": "ana", "share_class": "common", "shares": 1_000,
          "source": "board minutes 1"}),
        (str(recorded[3].event_id), recorded[3].position, "SharesTransferred", D("2020-01-02"),
         "auditor", None,
         {"type": "SharesTransferred", "company": "acme", "effective_date": "2020-01-02",
          "from": "ana", "to": "ben", "share_class": "common", "shares": 400,
          "note": "late filing"}),
    ]  # fmt: skip
    positions = [e.position for e in history.events]
    assert positions == sorted(set(positions))
    times = [e.recorded_at for e in history.events]
    assert times == sorted(times)
    assert all(start <= t <= end and t.utcoffset() == timedelta(0) for t in times)
    assert [e.retracted_by for e in history.events] == [None] * 4


def test_party_history_lists_the_events_touching_a_party_across_companies(
    ledger: Ledger,
) -> None:
    ledger.record(
        [
            *b.founded("acme", "2020-01-01", {"ana": 1_000}),
            *b.founded("globex", "2020-01-01", {"carl": 50}),
            b.director_appointed("globex", "dora", "2020-02-01", designated_by="ben"),
            b.transferred("acme", "ana", "ben", "common", 10, "2020-03-01"),
            b.executive_appointed("globex", "ben", "cfo", "2020-04-01"),
            b.executive_appointed("acme", "ana", "ceo", "2020-04-01"),
            b.executive_departed("acme", "ana", "ceo", "2020-05-01", destination="ben"),
        ]
    )
    history = ledger.party_history("ben")
    assert history.party == "ben"
    assert [(e.company, e.type, e.effective_date.isoformat()) for e in history.events] == [
        ("globex", "DirectorAppointed", "2020-02-01"),
        ("acme", "SharesTransferred", "2020-03-01"),
        ("globex", "ExecutiveAppointed", "2020-04-01"),
        ("acme", "ExecutiveDeparted", "2020-05-01"),
    ]
    positions = [e.position for e in history.events]
    assert positions == sorted(positions)


def test_recorded_by_defaults_to_the_environment_actor(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORPLEDGER_ACTOR", "night-batch")
    ledger.record([b.registered("acme", "2020-01-01")])
    assert [e.recorded_by for e in ledger.history("acme").events] == ["night-batch"]


# --- companies ---


def test_companies_lists_every_company_by_slug_as_known_at_a_position(ledger: Ledger) -> None:
    ledger.record(b.founded("zeta", "2022-02-02", {"ana": 1}))  # positions 1-3
    ledger.record([*GLOBEX, b.issued("zeta", "ben", "common", 5, "2022-03-01")])  # 4-11, 12
    now, then, before = ledger.companies(), ledger.companies(known_at=3), ledger.companies(0)
    assert now == Companies(
        known_at=12,
        companies=[
            CompanyOut(
                company="globex",
                name="Globex Corporation",
                registered=D("2021-01-01"),
                events=8,
                last_position=11,
            ),
            CompanyOut(
                company="zeta", name="Zeta", registered=D("2022-02-02"), events=4, last_position=12
            ),
        ],
    )
    assert then == Companies(
        known_at=3,
        companies=[
            CompanyOut(
                company="zeta", name="Zeta", registered=D("2022-02-02"), events=3, last_position=3
            )
        ],
    )
    assert before == Companies(known_at=0, companies=[])


# --- empty and unknown ---


def test_a_date_before_registration_gives_an_empty_answer(ledger: Ledger) -> None:
    ledger.record([*GLOBEX, *HOOLI])
    early = D("2019-12-31")
    table = ledger.cap_table("globex", as_of=early)
    assert (table.total_shares, table.holders, table.valuation) == (0, [], None)
    assert ledger.roster("hooli", as_of=early).officers == []
    assert ledger.board("hooli", as_of=early).directors == []
    assert ledger.holdings("ana", as_of=early).positions == []


@pytest.mark.parametrize("query", ["cap_table", "roster", "board", "history"])
def test_an_unknown_company_is_an_input_error(ledger: Ledger, query: str) -> None:
    ledger.record(b.founded("acme", "2020-01-01", {"ana": 1}))
    with pytest.raises(InputError, match="unknown company 'nope' in "):
        getattr(ledger, query)("nope")


def test_an_event_of_an_unregistered_company_is_an_input_error(ledger: Ledger) -> None:
    with pytest.raises(InputError, match="unknown company 'nope'"):
        ledger.record([b.share_class("nope", "common", "2020-01-01")])
    assert ledger.known_position() == 0


def test_an_event_before_the_registration_is_refused(ledger: Ledger) -> None:
    ledger.record(b.founded("acme", "2020-06-01", {"ana": 1}))
    with pytest.raises(RuleViolation, match=r"rule 1 .*registration on 2020-06-01") as refused:
        ledger.record([b.issued("acme", "ben", "common", 5, "2020-05-31")])
    assert refused.value.rule == 1
