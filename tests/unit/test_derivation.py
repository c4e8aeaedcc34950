"""InvestmentMade: the shares a stake or a valuation buys, derived once at recording with
exact fractions and one half-even rounding, stored with the event and never recomputed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from ledger.domain.errors import Broken
from ledger.domain.events import InvestmentMade
from ledger.domain.rules import derive, replay
from ledger.domain.state import CompanyState, Valuation
from ledger.domain.timeline import Timeline
from ledger.reports import holders_of

from .timelines import admit, entries, fact, refused, registered, stored_fact

RULE_2 = "rule 2 (shares need their class, within its authorized shares)"
SERIES_A = fact(
    "ShareClassCreated",
    "2020-01-01",
    share_class="series-a",
    name="Series A Preferred",
    kind="preferred",
)


def founders(*holdings: tuple[str, int]) -> Timeline:
    return registered(
        SERIES_A,
        *(
            fact("SharesIssued", "2020-01-01", holder=h, share_class="common", shares=n)
            for h, n in holdings
        ),
    )


def investment(
    on: str = "2021-01-01", investor: str = "fund", amount: str = "2000000 USD", **how: Any
) -> InvestmentMade:
    made = fact(
        "InvestmentMade", on, investor=investor, amount=amount, share_class="series-a", **how
    )
    assert isinstance(made, InvestmentMade)
    return made


def recorded(timeline: Timeline, made: InvestmentMade) -> tuple[Timeline, InvestmentMade]:
    """The extended timeline and the investment as it is to be stored."""
    extended, stored = timeline.admit(entries(made, after=timeline.last_seq))
    result = stored[0].fact
    assert isinstance(result, InvestmentMade)
    return extended, result


def test_a_stake_with_no_prior_holding_buys_s_times_o_over_1_minus_s() -> None:
    # O = 1,000, s = 20%: 0.2 x 1,000 / 0.8 = 250 new shares, 250 of 1,250 = 20%.
    timeline, stored = recorded(founders(("ana", 1_000)), investment(stake_percent="20"))
    assert (stored.derived_shares, timeline.end.holdings["fund"], timeline.end.outstanding) == (
        250,
        {"series-a": 250},
        1_250,
    )


def test_a_stake_counts_what_the_investor_already_holds() -> None:
    # O = 1,000 of which fund holds H = 100; s = 40%: (0.4 x 1,000 - 100) / 0.6 = 500.
    timeline, stored = recorded(
        founders(("ana", 900), ("fund", 100)), investment(stake_percent="40")
    )
    fund = next(h for h in holders_of(timeline.end, date.max) if h.party == "fund")
    assert (stored.derived_shares, fund.shares, fund.ownership_percent) == (500, 600, "40.0000")


def test_a_post_money_valuation_buys_amount_over_post_money_of_the_company() -> None:
    # a = 2M / 10M = 0.2: 1,000 x 0.2 / 0.8 = 250.
    timeline, stored = recorded(
        founders(("ana", 1_000)), investment(post_money_valuation="10000000 USD")
    )
    assert (stored.derived_shares, timeline.end.valuation) == (
        250,
        Valuation(Decimal("10000000"), "USD", "post-money", date(2021, 1, 1)),
    )


def test_a_pre_money_valuation_adds_the_amount_to_make_the_post_money() -> None:
    timeline, stored = recorded(
        founders(("ana", 1_000)), investment(pre_money_valuation="8000000 USD")
    )
    assert (stored.derived_shares, timeline.end.valuation) == (
        250,
        Valuation(Decimal("10000000"), "USD", "post-money", date(2021, 1, 1)),
    )


def test_a_stake_implies_the_post_money_of_amount_times_shares_after_over_new_shares() -> None:
    timeline, _ = recorded(founders(("ana", 1_000)), investment(stake_percent="20"))
    assert timeline.end.valuation == Valuation(
        Decimal("10000000.00"), "USD", "post-money", date(2021, 1, 1)
    )


@pytest.mark.parametrize(("outstanding", "derived"), [(5, 2), (7, 4), (9, 4), (11, 6)])
def test_a_valuation_derivation_exactly_half_way_rounds_half_to_even(
    outstanding: int, derived: int
) -> None:
    # a = 1/3: O x (1/3) / (2/3) = O / 2, exactly n.5 for odd O.
    _, stored = recorded(
        founders(("ana", outstanding)), investment(amount="1 USD", post_money_valuation="3 USD")
    )
    assert stored.derived_shares == derived


@pytest.mark.parametrize(("outstanding", "derived"), [(10, 2), (14, 4)])
def test_a_stake_derivation_exactly_half_way_rounds_half_to_even(
    outstanding: int, derived: int
) -> None:
    # s = 20%: 0.2 x O / 0.8 = O / 4: 2.5 -> 2 and 3.5 -> 4.
    _, stored = recorded(founders(("ana", outstanding)), investment(stake_percent="20"))
    assert stored.derived_shares == derived


def test_the_derived_count_is_stored_on_a_copy_and_the_input_fact_is_left_alone() -> None:
    made = investment(stake_percent="20")
    _, stored = recorded(founders(("ana", 1_000)), made)
    assert (made.derived_shares, stored.derived_shares, stored.stake_percent) == (
        None,
        250,
        Decimal("20"),
    )


def test_the_derived_count_is_not_recomputed_when_a_back_dated_issuance_changes_o() -> None:
    timeline, stored = recorded(founders(("ana", 1_000)), investment(stake_percent="20"))
    later = admit(
        timeline,
        fact("SharesIssued", "2020-06-01", holder="ben", share_class="common", shares=1_000),
    )
    # Still 250 (not 500): now 250 of 2,250.
    fund = next(h for h in holders_of(later.end, date.max) if h.party == "fund")
    assert (stored.derived_shares, fund.shares, fund.ownership_percent) == (250, 250, "11.1111")


def test_replaying_a_stored_investment_uses_its_derived_count() -> None:
    loaded = stored_fact(
        {
            "type": "InvestmentMade",
            "company": "acme",
            "effective_date": "2021-01-01",
            "investor": "fund",
            "amount": "2000000 USD",
            "share_class": "series-a",
            "stake_percent": "20",
            "derived_shares": 333,
        }
    )
    timeline = founders(("ana", 1_000))
    state = replay([*timeline.entries, *entries(loaded, after=timeline.last_seq)], "acme")
    assert state.holdings["fund"] == {"series-a": 333}


def test_derive_leaves_an_already_derived_or_counted_investment_as_it_is() -> None:
    state = founders(("ana", 1_000)).end
    loaded = stored_fact(
        {
            "type": "InvestmentMade",
            "company": "acme",
            "effective_date": "2021-01-01",
            "investor": "fund",
            "amount": "2000000 USD",
            "share_class": "series-a",
            "stake_percent": "20",
            "derived_shares": 333,
        }
    )
    counted = investment(shares=42)
    other = fact("BoardSizeSet", "2021-01-01", seats=3)
    assert (
        derive(state, loaded) is loaded,
        derive(state, counted) is counted,
        derive(state, other) is other,
    ) == (True, True, True)


def test_a_stake_the_investor_already_has_needs_no_new_shares_and_is_rejected() -> None:
    error = refused(founders(("ana", 700), ("fund", 300)), investment(stake_percent="20"))
    assert (error.rule, str(error)) == (
        2,
        f"acme.yaml item 6 (InvestmentMade, 2021-01-01): {RULE_2}: a total stake of 20% needs "
        "no new shares: fund already holds 30.0000%",
    )


def test_a_stake_equal_to_the_investors_holding_is_rejected_too() -> None:
    error = refused(founders(("ana", 700), ("fund", 300)), investment(stake_percent="30"))
    assert str(error).endswith(
        "a total stake of 30% needs no new shares: fund already holds 30.0000%"
    )


def test_deriving_from_a_company_with_no_shares_is_rejected() -> None:
    error = refused(founders(), investment(stake_percent="20"))
    assert (error.rule, str(error)) == (
        2,
        f"acme.yaml item 4 (InvestmentMade, 2021-01-01): {RULE_2}: cannot derive shares from "
        "a stake or valuation: no shares are outstanding",
    )


def test_an_investment_that_buys_less_than_half_a_share_is_rejected() -> None:
    error = refused(
        founders(("ana", 1)), investment(amount="1 USD", post_money_valuation="1000000 USD")
    )
    assert (error.rule, str(error)) == (
        2,
        f"acme.yaml item 5 (InvestmentMade, 2021-01-01): {RULE_2}: the derived share count "
        "rounds to 0: the investment buys no shares",
    )


def test_derived_shares_count_against_the_authorized_shares() -> None:
    limited = fact("AuthorizedSharesChanged", "2020-06-01", share_class="series-a", authorized=200)
    error = refused(admit(founders(("ana", 1_000)), limited), investment(stake_percent="20"))
    assert (error.rule, str(error)) == (
        2,
        f"acme.yaml item 6 (InvestmentMade, 2021-01-01): {RULE_2}: issuing 250 series-a would "
        "make 250 issued, over the 200 authorized",
    )


def test_derive_reports_rule_2_through_broken() -> None:
    state = CompanyState("acme", registered=date(2020, 1, 1))
    with pytest.raises(Broken) as caught:
        derive(state, investment(stake_percent="20"))
    assert (caught.value.rule, caught.value.detail) == (
        2,
        "cannot derive shares from a stake or valuation: no shares are outstanding",
    )
