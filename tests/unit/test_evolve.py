"""``evolve`` of every event type: what each fact does to a company's state (no checks)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ledger.domain.rules import evolve
from ledger.domain.state import CompanyState, Director, Officer, ShareClass, Valuation
from ledger.reports import holders_of

from .timelines import fact, state_of, stored_fact

REGISTERED = fact("CompanyRegistered", "2020-01-01", name="Acme, Inc.")
COMMON = fact(
    "ShareClassCreated",
    "2020-01-01",
    share_class="common",
    name="Common",
    kind="common",
    authorized=100,
)
PREFERRED = fact(
    "ShareClassCreated",
    "2020-01-01",
    share_class="series-a",
    name="Series A Preferred",
    kind="preferred",
)
NON_VOTING = fact(
    "ShareClassCreated",
    "2020-01-01",
    share_class="non-voting",
    name="Non-Voting",
    kind="preferred",
    votes_per_share=0,
)


def issued(holder: str, shares: int, share_class: str = "common") -> object:
    return fact("SharesIssued", "2020-01-01", holder=holder, share_class=share_class, shares=shares)


def test_company_registered_names_the_company_and_its_registration_date() -> None:
    state = evolve(CompanyState("acme"), REGISTERED)
    assert state == CompanyState("acme", name="Acme, Inc.", registered=date(2020, 1, 1))


def test_share_class_created_adds_an_empty_class_with_its_votes_and_authorized() -> None:
    state = state_of(REGISTERED, COMMON, NON_VOTING)
    assert state.classes == {
        "common": ShareClass("common", "Common", "common", 100, 1, 0),
        "non-voting": ShareClass("non-voting", "Non-Voting", "preferred", None, 0, 0),
    }


def test_shares_issued_add_to_the_holding_the_class_and_the_outstanding() -> None:
    state = state_of(REGISTERED, COMMON, issued("ana", 60), issued("ben", 30), issued("ana", 5))
    assert (state.holdings, state.classes["common"].issued, state.outstanding) == (
        {"ana": {"common": 65}, "ben": {"common": 30}},
        95,
        95,
    )


def test_investment_made_with_shares_issues_them_and_implies_the_post_money() -> None:
    investment = fact(
        "InvestmentMade",
        "2020-06-01",
        investor="fund",
        amount="1000 USD",
        share_class="series-a",
        shares=25,
    )
    state = state_of(REGISTERED, COMMON, PREFERRED, issued("ana", 75), investment)
    # 25 new shares of 100 after for 1,000 USD: 1,000 x 100 / 25 = 4,000.
    assert (state.holdings["fund"], state.outstanding, state.valuation) == (
        {"series-a": 25},
        100,
        Valuation(Decimal("4000.00"), "USD", "post-money", date(2020, 6, 1)),
    )


def test_investment_made_with_a_given_post_money_records_that_valuation() -> None:
    investment = stored_fact(
        {
            "type": "InvestmentMade",
            "company": "acme",
            "effective_date": "2020-06-01",
            "investor": "fund",
            "amount": "2000000 USD",
            "share_class": "series-a",
            "post_money_valuation": "10000000 USD",
            "derived_shares": 25,
        }
    )
    state = state_of(REGISTERED, COMMON, PREFERRED, issued("ana", 75), investment)
    assert (state.holdings["fund"], state.valuation) == (
        {"series-a": 25},
        Valuation(Decimal("10000000"), "USD", "post-money", date(2020, 6, 1)),
    )


def test_investment_made_with_a_pre_money_records_pre_money_plus_amount() -> None:
    investment = stored_fact(
        {
            "type": "InvestmentMade",
            "company": "acme",
            "effective_date": "2020-06-01",
            "investor": "fund",
            "amount": "2000000 USD",
            "share_class": "series-a",
            "pre_money_valuation": "8000000 USD",
            "derived_shares": 25,
        }
    )
    state = state_of(REGISTERED, COMMON, PREFERRED, issued("ana", 75), investment)
    assert state.valuation == Valuation(Decimal("10000000"), "USD", "post-money", date(2020, 6, 1))


def test_shares_transferred_move_between_holders_and_keep_the_outstanding() -> None:
    transfer = fact(
        "SharesTransferred",
        "2021-01-01",
        to="ben",
        share_class="common",
        shares=60,
        **{"from": "ana"},
    )
    state = state_of(REGISTERED, COMMON, issued("ana", 60), issued("ben", 30), transfer)
    # ana gave everything: she is no longer a holder at all.
    assert (state.holdings, state.outstanding, state.classes["common"].issued) == (
        {"ben": {"common": 90}},
        90,
        90,
    )


def test_shares_cancelled_leave_the_holding_the_class_and_the_outstanding() -> None:
    cancel = fact(
        "SharesCancelled",
        "2021-01-01",
        holder="ana",
        share_class="common",
        shares=10,
        reason="repurchase",
    )
    state = state_of(REGISTERED, COMMON, issued("ana", 60), cancel)
    assert (state.holdings, state.outstanding, state.classes["common"].issued) == (
        {"ana": {"common": 50}},
        50,
        50,
    )


def test_a_2_for_1_split_doubles_every_holding_and_the_authorized_shares() -> None:
    split = fact("StockSplit", "2021-01-01", share_class="common", ratio="2:1")
    state = state_of(
        REGISTERED,
        COMMON,
        PREFERRED,
        issued("ana", 3),
        issued("ben", 5),
        issued("fund", 7, "series-a"),
        split,
    )
    assert (state.holdings, state.classes["common"], state.outstanding) == (
        {"ana": {"common": 6}, "ben": {"common": 10}, "fund": {"series-a": 7}},
        ShareClass("common", "Common", "common", 200, 1, 16),
        23,
    )


def test_a_1_for_10_reverse_split_rounds_each_holder_down_and_divides_the_authorized() -> None:
    split = fact("StockSplit", "2021-01-01", share_class="common", ratio="1:10")
    state = state_of(REGISTERED, COMMON, issued("ana", 25), issued("ben", 9), split)
    # ana 25 -> 2 (2.5 rounded down); ben 9 -> 0, and a holder with nothing is no holder.
    assert (state.holdings, state.classes["common"], state.outstanding) == (
        {"ana": {"common": 2}},
        ShareClass("common", "Common", "common", 10, 1, 2),
        2,
    )


def test_a_3_for_2_split_rounds_each_holder_down_separately() -> None:
    split = fact("StockSplit", "2021-01-01", share_class="common", ratio="3:2")
    state = state_of(REGISTERED, COMMON, issued("ana", 3), issued("ben", 5), split)
    # 4.5 -> 4 and 7.5 -> 7: 11, not round-down of the class total 12.
    assert (state.holdings, state.outstanding, state.classes["common"].authorized) == (
        {"ana": {"common": 4}, "ben": {"common": 7}},
        11,
        150,
    )


def test_a_split_of_a_class_without_authorized_leaves_it_unlimited() -> None:
    split = fact("StockSplit", "2021-01-01", share_class="series-a", ratio="2:1")
    state = state_of(REGISTERED, PREFERRED, issued("fund", 7, "series-a"), split)
    assert state.classes["series-a"] == ShareClass(
        "series-a", "Series A Preferred", "preferred", None, 1, 14
    )


def test_authorized_shares_changed_sets_the_class_limit() -> None:
    change = fact("AuthorizedSharesChanged", "2021-01-01", share_class="common", authorized=500)
    assert state_of(REGISTERED, COMMON, change).classes["common"].authorized == 500


def test_valuation_recorded_becomes_the_latest_valuation() -> None:
    valued = fact("ValuationRecorded", "2025-06-01", valuation="25000000000 USD", basis="tender")
    assert state_of(REGISTERED, valued).valuation == Valuation(
        Decimal("25000000000"), "USD", "tender", date(2025, 6, 1)
    )


def test_executive_appointed_adds_an_officer() -> None:
    appointed = fact(
        "ExecutiveAppointed",
        "2024-08-01",
        person="jason-droege",
        role="cso",
        title="Chief Strategy Officer",
    )
    assert state_of(REGISTERED, appointed).officers == [
        Officer("jason-droege", "cso", "Chief Strategy Officer", False, date(2024, 8, 1))
    ]


def test_interim_ceo_appointed_adds_an_interim_ceo_with_the_default_title() -> None:
    appointed = fact(
        "InterimCEOAppointed",
        "2025-06-12",
        person="jason-droege",
        previous_title="Chief Strategy Officer",
    )
    assert state_of(REGISTERED, appointed).officers == [
        Officer("jason-droege", "ceo", "Interim Chief Executive Officer", True, date(2025, 6, 12))
    ]


def test_interim_ceo_appointed_ends_no_other_role_of_the_person() -> None:
    cso = fact("ExecutiveAppointed", "2024-08-01", person="jason-droege", role="cso")
    interim = fact("InterimCEOAppointed", "2025-06-12", person="jason-droege")
    assert [(o.role, o.interim) for o in state_of(REGISTERED, cso, interim).officers] == [
        ("cso", False),
        ("ceo", True),
    ]


def test_executive_departed_removes_only_that_office() -> None:
    ceo = fact("ExecutiveAppointed", "2020-01-01", person="ana", role="ceo")
    cfo = fact("ExecutiveAppointed", "2020-01-01", person="ana", role="cfo")
    left = fact("ExecutiveDeparted", "2021-01-01", person="ana", role="ceo", destination="meta")
    assert state_of(REGISTERED, ceo, cfo, left).officers == [
        Officer("ana", "cfo", None, False, date(2020, 1, 1))
    ]


def test_executive_departed_from_one_of_two_other_offices_by_title() -> None:
    data = fact(
        "ExecutiveAppointed", "2020-01-01", person="ana", role="other", title="Chief Data Officer"
    )
    people = fact(
        "ExecutiveAppointed", "2020-01-01", person="ana", role="other", title="Chief People Officer"
    )
    left = fact(
        "ExecutiveDeparted", "2021-01-01", person="ana", role="other", title="Chief Data Officer"
    )
    assert state_of(REGISTERED, data, people, left).officers == [
        Officer("ana", "other", "Chief People Officer", False, date(2020, 1, 1))
    ]


def test_director_appointed_seats_the_person_with_who_designated_them() -> None:
    appointed = fact(
        "DirectorAppointed", "2020-01-01", person="ana", seat="chair", designated_by="fund"
    )
    assert state_of(REGISTERED, appointed).directors == {
        "ana": Director("ana", "chair", date(2020, 1, 1), "fund")
    }


def test_director_departed_removes_the_director() -> None:
    appointed = fact("DirectorAppointed", "2020-01-01", person="ana")
    left = fact("DirectorDeparted", "2021-01-01", person="ana", reason="resigned")
    assert state_of(REGISTERED, appointed, left).directors == {}


def test_board_seat_retained_keeps_the_seat_as_it_was() -> None:
    appointed = fact("DirectorAppointed", "2020-01-01", person="ana")
    ceo = fact("ExecutiveAppointed", "2020-01-01", person="ana", role="ceo")
    left = fact("ExecutiveDeparted", "2025-06-12", person="ana", role="ceo")
    retained = fact("BoardSeatRetained", "2025-06-12", person="ana")
    state = state_of(REGISTERED, appointed, ceo, left, retained)
    assert (state.directors, state.officers) == (
        {"ana": Director("ana", "director", date(2020, 1, 1), None)},
        [],
    )


def test_board_size_set_sets_the_number_of_seats() -> None:
    assert state_of(REGISTERED, fact("BoardSizeSet", "2020-01-01", seats=5)).board_size == 5


def test_observers_take_no_seat_on_the_board() -> None:
    state = state_of(
        REGISTERED,
        fact("DirectorAppointed", "2020-01-01", person="ana"),
        fact("DirectorAppointed", "2020-01-01", person="ben", seat="chair"),
        fact("DirectorAppointed", "2020-01-01", person="cy", seat="observer"),
    )
    assert (len(state.directors), state.seated()) == (3, 2)


# --- ownership and voting percentages ---


def test_votes_count_shares_times_the_votes_per_share_of_their_class() -> None:
    state = state_of(
        REGISTERED,
        COMMON,
        NON_VOTING,
        issued("ana", 60),
        issued("ben", 20),
        issued("meta", 80, "non-voting"),
    )
    assert (state.votes("ana"), state.votes("meta"), state.total_votes(), state.outstanding) == (
        60,
        0,
        80,
        160,
    )


def test_ownership_and_voting_percentages_differ_for_a_non_voting_holder() -> None:
    state = state_of(
        REGISTERED,
        COMMON,
        NON_VOTING,
        issued("ana", 60),
        issued("ben", 20),
        issued("meta", 80, "non-voting"),
    )
    assert [
        (h.party, h.shares, h.ownership_percent, h.voting_percent)
        for h in holders_of(state, date.max)
    ] == [
        ("meta", 80, "50.0000", "0.0000"),
        ("ana", 60, "37.5000", "75.0000"),
        ("ben", 20, "12.5000", "25.0000"),
    ]


def test_voting_percentages_are_none_when_no_share_carries_a_vote() -> None:
    state = state_of(REGISTERED, NON_VOTING, issued("meta", 80, "non-voting"))
    assert [(h.ownership_percent, h.voting_percent) for h in holders_of(state, date.max)] == [
        ("100.0000", None)
    ]


def test_evolve_applies_in_place_and_returns_the_same_state() -> None:
    state = CompanyState("acme")
    assert evolve(state, REGISTERED) is state
