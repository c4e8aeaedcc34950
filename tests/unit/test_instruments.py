"""The definitions of the second catalogue (vested, outstanding, exercisable, available, fully
diluted, conversions, splits reaching instruments) and its rules 7 and 8, with the arithmetic
in the comments."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from ledger.domain.instruments import (
    available,
    conversion_shares,
    converting_amount,
    exercisable,
    fully_diluted,
    vested,
    whole_months,
)
from ledger.domain.state import Award, CompanyState, Convertible
from ledger.domain.timeline import Timeline
from tests.unit.timelines import admit, entries, fact, invalid, refused, registered


def award(quantity: int = 4800, vesting: tuple[date, int, int, int] | None = None) -> Award:
    return Award(
        "g1", "ann", "pool", "option", "common", quantity, Decimal("0.1"), "USD", None,
        vesting, date(2021, 1, 1),
    )  # fmt: skip


# --- months and vesting ---


@pytest.mark.parametrize(
    ("start", "on", "months"),
    [
        (date(2021, 1, 15), date(2021, 2, 14), 0),
        (date(2021, 1, 15), date(2021, 2, 15), 1),
        # From the 31st, a month is complete on the last day of a shorter month.
        (date(2021, 1, 31), date(2021, 2, 27), 0),
        (date(2021, 1, 31), date(2021, 2, 28), 1),  # 2021 is not a leap year
        (date(2024, 1, 31), date(2024, 2, 28), 0),  # 2024 is: February has a 29th
        (date(2024, 1, 31), date(2024, 2, 29), 1),
        (date(2021, 1, 31), date(2021, 3, 30), 1),  # March has a 31st: not yet two months
        (date(2021, 1, 31), date(2021, 3, 31), 2),
        (date(2021, 1, 31), date(2021, 4, 30), 3),  # April's last day completes the third
        (date(2020, 2, 29), date(2021, 2, 28), 12),
    ],
)
def test_whole_months_count_month_ends(start: date, on: date, months: int) -> None:
    assert whole_months(start, on) == months


def test_vesting_with_a_cliff_then_monthly() -> None:
    # 4,800 over 48 months, a 12-month cliff, monthly: 100 a month once the cliff is reached.
    a = award(4800, (date(2021, 1, 31), 48, 12, 1))
    assert vested(a, date(2021, 1, 30)) == 0  # before start
    assert vested(a, date(2022, 1, 30)) == 0  # 11 whole months: within the cliff
    assert vested(a, date(2022, 1, 31)) == 1200  # 12 months: 4800 · 12 / 48
    assert vested(a, date(2022, 2, 28)) == 1300  # 13 months (February's last day)
    assert vested(a, date(2025, 1, 31)) == 4800  # 48 months: all of it
    assert vested(a, date(2030, 1, 1)) == 4800


def test_a_cliff_that_is_not_a_multiple_of_every() -> None:
    # 1,000 over 12 months, a 5-month cliff, vesting every 3 months:
    # m=4: within the cliff → 0; m=5: v = max(5, ⌊5/3⌋·3 = 3) = 5 → ⌊1000·5/12⌋ = 416;
    # m=6: v = max(5, 6) = 6 → 500; m=8: v = max(5, 6) = 6 → 500; m=9: 9 → 750; m=12: 1000.
    a = award(1000, (date(2021, 1, 1), 12, 5, 3))
    assert [vested(a, date(2021, 1 + m, 1)) for m in (4, 5, 6, 8, 9, 11)] == [
        0, 416, 500, 500, 750, 750,
    ]  # fmt: skip
    assert vested(a, date(2022, 1, 1)) == 1000


def test_without_a_schedule_an_award_is_vested_when_granted() -> None:
    a = award(500)
    assert vested(a, date(2020, 12, 31)) == 0
    assert vested(a, date(2021, 1, 1)) == 500


def test_exercisable_is_vested_less_exercised_within_outstanding() -> None:
    a = award(4800, (date(2021, 1, 1), 48, 0, 1))
    a.exercised, a.cancelled = 100, 4000
    # vested at 24 months: 2,400; exercisable = min(2400 − 100, 4800 − 100 − 4000 = 700) = 700
    assert exercisable(a, date(2023, 1, 1)) == 700
    a.expiration_date = date(2023, 1, 1)
    assert exercisable(a, date(2023, 1, 1)) == 700  # the expiration date itself still counts
    assert exercisable(a, date(2023, 1, 2)) == 0  # after its end: expired
    assert a.outstanding(date(2023, 1, 2)) == 0


# --- plans, expiry, fully diluted (through the fold) ---


def plan_and_grants(*more: Any, on_cancel: str = "return") -> Timeline:
    return registered(
        fact("SharesIssued", "2020-01-01", holder="founder", share_class="common", shares=8000),
        fact(
            "StockPlanCreated", "2020-02-01", plan="pool", name="2020 Plan",
            share_class="common", reserved=2000, on_cancel=on_cancel,
        ),
        fact(
            "OptionGranted", "2020-03-01", grant="g1", holder="ann", plan="pool",
            quantity=1200, exercise_price="0.10 USD", expiration_date="2022-03-01",
            vesting={"start": "2020-03-01", "months": 12},
        ),
        *more,
    )  # fmt: skip


def test_available_fully_diluted_and_the_pool_growing_back_after_expiry() -> None:
    timeline = plan_and_grants(fact("OptionExercised", "2021-03-01", grant="g1", quantity=200))
    s = timeline.end
    pool = s.plans["pool"]
    on = date(2022, 3, 1)
    # available = reserved 2000 − exercised 200 − outstanding 1000 − retired 0 = 800
    assert available(pool, on) == 800
    # fully diluted = 8200 shares + 1000 options + 800 available = 10,000
    assert fully_diluted(s, on) == 10_000
    # The day after expiry the 1,000 left go back to the pool: 1,800 available, still 10,000.
    assert available(pool, date(2022, 3, 2)) == 1800
    assert fully_diluted(s, date(2022, 3, 2)) == 10_000


def test_under_retire_expired_and_cancelled_shares_leave_the_pool() -> None:
    timeline = plan_and_grants(
        fact("OptionCancelled", "2021-01-01", grant="g1", quantity=200, reason="forfeited"),
        on_cancel="retire",
    )
    s = timeline.end
    pool = s.plans["pool"]
    # 200 retired: available = 2000 − 0 − 1000 − 200 = 800
    assert available(pool, date(2021, 1, 1)) == 800
    # after expiry: outstanding 0, retired 200 + 1000: available still 800; FD = 8000 + 800
    assert available(pool, date(2022, 3, 2)) == 800
    assert fully_diluted(s, date(2022, 3, 2)) == 8800


def test_an_exercise_after_expiry_is_refused_and_the_pool_grows_back() -> None:
    timeline = plan_and_grants()
    error = refused(timeline, fact("OptionExercised", "2022-03-02", grant="g1", quantity=1))
    assert error.rule == 8
    assert "expired at the end of 2022-03-01" in str(error)
    # The day after expiry the 1,200 are available again: a grant of 2,000 fits.
    grown = admit(
        timeline,
        fact(
            "OptionGranted", "2022-03-02", grant="g2", holder="bob", plan="pool",
            quantity=2000, exercise_price="0.10 USD",
        ),
    )  # fmt: skip
    assert available(grown.end.plans["pool"], date(2022, 3, 2)) == 0


@pytest.mark.parametrize("on_cancel", ["return", "retire"])
def test_a_plans_running_counts_are_its_awards_sums_through_exercises_cancels_and_a_split(
    on_cancel: str,
) -> None:
    timeline = plan_and_grants(
        fact(
            "OptionGranted", "2020-04-01", grant="g2", holder="bob", plan="pool", quantity=300,
            exercise_price="0.10 USD", expiration_date="2021-06-30",
        ),
        fact(
            "OptionGranted", "2020-05-01", grant="g3", holder="cy", plan="pool", quantity=250,
            exercise_price="0.10 USD",
        ),
        fact("OptionExercised", "2021-03-01", grant="g1", quantity=200),
        fact("OptionCancelled", "2021-04-01", grant="g3", quantity=50, reason="forfeited"),
        fact("StockSplit", "2021-05-01", share_class="common", ratio="3:2"),
        fact("OptionExercised", "2021-05-02", grant="g2", quantity=7),
        on_cancel=on_cancel,
    )  # fmt: skip
    s = timeline.end
    pool = s.plans["pool"]
    awards = [a for a in s.awards.values() if a.plan == "pool"]
    assert pool.unexercised == sum(a.unexercised() for a in awards) == 2_243
    for on in (date(2021, 6, 30), date(2021, 7, 1), date(2022, 3, 1), date(2022, 3, 2)):
        assert pool.expired(on) == sum(a.unexercised() for a in awards if a.expired(on))
        naive = sum(a.outstanding(on) for a in awards)
        gone = pool.retired + (pool.expired(on) if on_cancel == "retire" else 0)
        assert available(pool, on) == pool.reserved - pool.exercised - naive - gone


def test_an_exercise_beyond_what_is_vested_is_refused_with_the_numbers() -> None:
    error = refused(
        plan_and_grants(), fact("OptionExercised", "2020-09-01", grant="g1", quantity=601)
    )
    # 6 whole months of 12: 1200 · 6 / 12 = 600 vested
    assert error.rule == 8
    assert "exceeds its 600 exercisable (600 vested, 0 exercised, 1,200 outstanding)" in str(error)


def test_a_grant_beyond_the_pool_is_refused() -> None:
    error = refused(
        plan_and_grants(),
        fact(
            "OptionGranted", "2020-04-01", grant="g2", holder="bob", plan="pool",
            quantity=801, kind="rsu",
        ),
    )  # fmt: skip
    assert error.rule == 7
    assert "a grant of 801 from plan pool exceeds its 800 available shares" in str(error)


def test_a_reserve_cut_below_what_is_allocated_is_refused() -> None:
    error = refused(
        plan_and_grants(),
        fact("StockPlanReserveChanged", "2020-04-01", plan="pool", reserved=1199),
    )
    assert error.rule == 7
    assert "a reserve of 1,199 for plan pool is below the 1,200 it has allocated" in str(error)


def test_a_back_dated_grant_that_breaks_a_later_one_names_it() -> None:
    timeline = plan_and_grants(
        fact(
            "OptionGranted", "2020-06-01", grant="g2", holder="bob", plan="pool",
            quantity=800, exercise_price="0.10 USD",
        ),
    )  # fmt: skip
    error = refused(
        timeline,
        fact(
            "OptionGranted", "2020-02-15", grant="g0", holder="cy", plan="pool",
            quantity=100, kind="rsu",
        ),
    )  # fmt: skip
    assert error.rule == 7
    assert "it makes the later OptionGranted of 2020-06-01" in str(error)


def test_ids_are_used_once_and_a_convertible_settles_once() -> None:
    timeline = plan_and_grants()
    again = fact(
        "OptionGranted", "2020-04-01", grant="g1", holder="bob", plan="pool", quantity=1,
        kind="rsu",
    )  # fmt: skip
    assert "grant id 'g1' is already used" in str(refused(timeline, again))
    safe = fact(
        "ConvertibleIssued", "2020-05-01", convertible="s1", holder="vc", kind="safe",
        amount="100000 USD",
    )  # fmt: skip
    converted = fact(
        "ConvertibleConverted", "2020-06-01", convertible="s1", share_class="common", shares=10
    )
    timeline = admit(timeline, safe, converted)
    second = fact(
        "ConvertibleConverted", "2020-07-01", convertible="s1", share_class="common", shares=10
    )
    error = refused(timeline, second)
    assert error.rule == 8
    assert "convertible s1 was already converted on 2020-06-01" in str(error)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"type": "OptionGranted", "grant": "g", "holder": "a", "plan": "p", "quantity": 1},
            "an option needs an exercise_price",
        ),
        (
            {
                "type": "OptionGranted", "grant": "g", "holder": "a", "plan": "p",
                "quantity": 1, "kind": "rsu",
                "vesting": {"start": "2020-01-01", "months": 12, "cliff_months": 13},
            },
            "cliff_months 13 is more than months 12",
        ),
        (
            {
                "type": "ConvertibleIssued", "convertible": "s", "holder": "a", "kind": "safe",
                "amount": "1 USD", "interest_rate_percent": "5",
            },
            "interest_rate_percent is for a note",
        ),
        (
            {"type": "ConvertibleConverted", "convertible": "s", "share_class": "common"},
            "give shares, price_per_share or both",
        ),
    ],
)  # fmt: skip
def test_input_refused_before_any_rule(data: dict[str, Any], message: str) -> None:
    assert message in invalid(data)[2]


# --- conversions ---


def convertible(**terms: Any) -> Convertible:
    base: dict[str, Any] = {
        "convertible": "s1", "holder": "vc", "kind": "safe", "amount": Decimal(1_000_000),
        "currency": "USD", "valuation_cap": None, "discount_percent": None,
        "cap_basis": "post-money", "interest_rate_percent": None, "maturity_date": None,
        "issued": date(2020, 1, 1),
    }  # fmt: skip
    return Convertible(**{**base, **terms})


def test_a_post_money_cap() -> None:
    # A = 1,000,000; cap 10,000,000 post-money: a = 0.1; F = 9,000,000 →
    # cap shares = 9,000,000 · 0.1 / 0.9 = 1,000,000 (the SAFE holds 10% after).
    # At a price of 2.00: A / price = 500,000. The larger: 1,000,000.
    c = convertible(valuation_cap=Decimal(10_000_000))
    assert conversion_shares(c, Fraction(2), 9_000_000, date(2021, 1, 1)) == 1_000_000


def test_a_pre_money_cap_and_a_discount() -> None:
    # Pre-money cap 8,000,000, F = 8,000,000: cap shares = F · A / cap = 1,000,000.
    # Discount 20% at 1.00: A / 0.80 = 1,250,000: the discount gives more.
    c = convertible(
        valuation_cap=Decimal(8_000_000), cap_basis="pre-money", discount_percent=Decimal(20)
    )
    assert conversion_shares(c, Fraction(1), 8_000_000, date(2021, 1, 1)) == 1_250_000
    # At 1.50 the discount gives 1,000,000 / 1.2 = 833,333.3…: the cap's 1,000,000 wins.
    assert conversion_shares(c, Fraction("1.5"), 8_000_000, date(2021, 1, 1)) == 1_000_000


def test_a_round_below_the_cap_converts_at_the_round_price() -> None:
    # Cap 10,000,000 post-money on F = 1,000: cap shares = 1000 · 0.1 / 0.9 = 111.1…;
    # the round's price 0.50 gives A / price = 2,000,000, the more (a cap only protects).
    c = convertible(valuation_cap=Decimal(10_000_000))
    assert conversion_shares(c, Fraction("0.5"), 1_000, date(2021, 1, 1)) == 2_000_000


def test_interest_on_a_note_over_a_leap_year() -> None:
    # 2024-01-01 → 2025-01-01 is 366 days: A = 1,000,000 · (1 + 0.08 · 366/365)
    # = 1,080,219.178…; at 1.00 per share that rounds down to 1,080,219.
    c = convertible(
        kind="note",
        interest_rate_percent=Decimal(8),
        cap_basis="pre-money",
        issued=date(2024, 1, 1),
    )
    assert converting_amount(c, date(2025, 1, 1)) == 1_000_000 * (1 + Fraction(8, 100) * 366 / 365)
    assert conversion_shares(c, Fraction(1), 0, date(2025, 1, 1)) == 1_080_219


def test_a_conversion_by_price_derives_its_shares_from_fully_diluted() -> None:
    timeline = plan_and_grants(
        fact(
            "ConvertibleIssued", "2020-05-01", convertible="s1", holder="vc", kind="safe",
            amount="1000 USD", valuation_cap="10000 USD",
        ),
    )  # fmt: skip
    on = fact(
        "ConvertibleConverted", "2020-06-01", convertible="s1", share_class="common",
        price_per_share="5 USD",
    )  # fmt: skip
    extended, stored = timeline.admit(entries(on, after=timeline.last_seq))
    # F = 8000 shares + 1200 options + 800 available = 10,000; a = 1000/10000 = 0.1:
    # cap shares = 10000 · 0.1 / 0.9 = 1,111.1… → 1,111 (A / price = 200 is less).
    assert stored[0].fact.derived_shares == 1111  # type: ignore[attr-defined]
    assert extended.end.holdings["vc"] == {"common": 1111}


# --- splits and class conversions ---


def test_a_three_for_two_split_of_an_award() -> None:
    timeline = plan_and_grants(
        fact("OptionExercised", "2020-09-01", grant="g1", quantity=101),
        fact("StockSplit", "2021-01-01", share_class="common", ratio="3:2"),
    )
    s = timeline.end
    g1, pool = s.awards["g1"], s.plans["pool"]
    # quantity 1200 · 3/2 = 1800; exercised ⌊101 · 3/2⌋ = 151; price 0.10 · 2/3 = 0.0666666667
    assert (g1.quantity, g1.exercised, g1.exercise_price) == (
        1800, 151, Decimal("0.0666666667"),
    )  # fmt: skip
    # the plan: reserved 3000, exercised = its awards' 151
    assert (pool.reserved, pool.exercised) == (3000, 151)
    # the holder's 101 shares became ⌊101 · 3/2⌋ = 151
    assert s.holdings["ann"] == {"common": 151}


def test_shares_converted_move_a_holder_between_classes() -> None:
    timeline = registered(
        fact(
            "ShareClassCreated", "2020-01-01", share_class="pref", name="Preferred",
            kind="preferred",
        ),
        fact("SharesIssued", "2020-01-01", holder="vc", share_class="pref", shares=999),
        fact(
            "SharesConverted", "2021-01-01", holder="vc", from_class="pref",
            to_class="common", shares=999, ratio="3:2",
        ),
    )  # fmt: skip
    assert timeline.end.holdings["vc"] == {"common": 1498}  # ⌊999 · 3/2⌋
    error = refused(
        timeline,
        fact(
            "SharesConverted", "2021-02-01", holder="vc", from_class="pref",
            to_class="common", shares=1,
        ),
    )  # fmt: skip
    assert error.rule == 3


def test_stakeholder_names_follow_the_latest_record() -> None:
    timeline = registered(
        fact("StakeholderRecorded", "2020-01-01", party="ann", name="Ann", kind="individual"),
        fact("StakeholderRecorded", "2021-01-01", party="ann", name="Ann B.", kind="individual"),
    )
    assert timeline.end.stakeholders["ann"].name == "Ann B."
    assert isinstance(timeline.end, CompanyState)


def test_fully_diluted_stays_within_the_bound() -> None:
    # A reserve of 10^15 split 10,000:1 would be 10^19 shares fully diluted: over 10^18.
    timeline = registered(
        fact(
            "StockPlanCreated", "2020-02-01", plan="pool", name="Plan", share_class="common",
            reserved=10**15,
        ),
    )  # fmt: skip
    error = refused(
        timeline, fact("StockSplit", "2021-01-01", share_class="common", ratio="10000:1")
    )
    assert error.rule == "bounds"
    assert "10,000,000,000,000,000,000 shares fully diluted" in str(error)


def test_the_warrants_running_sum_is_their_unexercised_through_exercises_cancels_and_a_split() -> (
    None
):
    timeline = plan_and_grants(
        fact(
            "WarrantIssued", "2020-04-01", warrant="w1", holder="fund", share_class="common",
            quantity=300, exercise_price="1.00 USD",
        ),
        fact(
            "WarrantIssued", "2020-04-02", warrant="w2", holder="bank", share_class="common",
            quantity=125, exercise_price="1.00 USD",
        ),
        fact("WarrantExercised", "2021-01-04", warrant="w1", quantity=100),
        fact("WarrantCancelled", "2021-02-01", warrant="w2", quantity=25, reason="lapsed"),
        fact("StockSplit", "2021-05-01", share_class="common", ratio="3:2"),
        fact("WarrantCancelled", "2021-06-01", warrant="w1", reason="lapsed"),
    )  # fmt: skip
    s = timeline.end
    assert s.warrants_unexercised == sum(w.unexercised() for w in s.warrants.values()) == 150
    assert s.copy().warrants_unexercised == 150
