"""What the ledger answers about equity instruments, on every backend, folded and from the read
models: a seed-stage company with a pool, grants, a SAFE converting at its cap and a warrant.

The expected numbers are worked out by hand in the comments, never read back from the ledger.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ledger import Ledger, RuleViolation

D = date.fromisoformat


def event(type_: str, on: str, **fields: Any) -> dict[str, Any]:
    return {"type": type_, "company": "seedco", "effective_date": on, **fields}


SEED = [
    event("CompanyRegistered", "2021-01-04", name="Seed Co, Inc."),
    event(
        "ShareClassCreated", "2021-01-04", share_class="common", name="Common", kind="common",
        authorized=20_000_000,
    ),
    event("ShareClassCreated", "2021-01-04", share_class="seed", name="Seed", kind="preferred"),
    event("StakeholderRecorded", "2021-01-04", party="ana", name="Ana Ruiz", kind="individual"),
    event("SharesIssued", "2021-01-04", holder="ana", share_class="common", shares=6_000_000),
    event("SharesIssued", "2021-01-04", holder="ben", share_class="common", shares=3_000_000),
    event(
        "StockPlanCreated", "2021-02-01", plan="plan-2021", name="2021 Stock Plan",
        share_class="common", reserved=1_000_000,
    ),
    event(
        "OptionGranted", "2021-03-01", grant="g-001", holder="cy", plan="plan-2021",
        quantity=480_000, exercise_price="0.05 USD", expiration_date="2031-02-28",
        vesting={"start": "2021-03-01", "months": 48, "cliff_months": 12},
    ),
    event(
        "ConvertibleIssued", "2021-04-01", convertible="safe-1", holder="angel", kind="safe",
        amount="500000 USD", valuation_cap="10000000 USD",
    ),
    event(
        "WarrantIssued", "2021-05-01", warrant="w-1", holder="bank", share_class="common",
        quantity=50_000, exercise_price="0.05 USD", expiration_date="2028-05-01",
    ),
    event(
        "ConvertibleConverted", "2022-06-01", convertible="safe-1", share_class="seed",
        price_per_share="1.50 USD",
    ),
    event("OptionExercised", "2022-06-01", grant="g-001", quantity=100_000),
]  # fmt: skip


def both(ledger: Ledger, ask: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The answer folded and from the read models: they are the same."""
    folded = getattr(ledger, ask)(*args, fold=True, **kwargs).model_dump(mode="json")
    assert getattr(ledger, ask)(*args, **kwargs).model_dump(mode="json") == folded
    return folded  # type: ignore[no-any-return]


def test_a_cap_table_fully_diluted_with_pools_warrants_and_a_converted_safe(
    ledger: Ledger,
) -> None:
    ledger.record(SEED)
    table = both(ledger, "cap_table", "seedco", as_of=D("2022-06-01"))
    # Just before the conversion: 9,000,000 shares + 480,000 options + 50,000 warrants
    # + 520,000 available = 10,050,000 fully diluted. The SAFE's post-money cap: a = 500,000 /
    # 10,000,000 = 0.05 → 10,050,000 · 0.05 / 0.95 = 528,947.37 → 528,947 (A / price =
    # 333,333 is less). Then cy exercises 100,000: 9,628,947 shares; options 380,000;
    # available 520,000; fully diluted 9,628,947 + 380,000 + 50,000 + 520,000 = 10,578,947.
    assert table["total_shares"] == 9_628_947
    assert table["fully_diluted_total"] == 10_578_947
    rows = [
        (h["party"], h["name"], h["shares"], h["options"], h["warrants"],
         h["fully_diluted_shares"], h["fully_diluted_percent"])
        for h in table["holders"]
    ]  # fmt: skip
    assert rows == [
        ("ana", "Ana Ruiz", 6_000_000, 0, 0, 6_000_000, "56.7164"),  # 6,000,000 / 10,578,947
        ("ben", None, 3_000_000, 0, 0, 3_000_000, "28.3582"),
        ("angel", None, 528_947, 0, 0, 528_947, "5.0000"),  # the cap's 5% post-money
        ("cy", None, 100_000, 380_000, 0, 480_000, "4.5373"),
        ("bank", None, 0, 0, 50_000, 50_000, "0.4726"),  # warrants only: 0 shares
    ]
    assert table["pools"] == [
        {"plan": "plan-2021", "name": "2021 Stock Plan", "share_class": "common",
         "reserved": 1_000_000, "exercised": 100_000, "outstanding": 380_000, "retired": 0,
         "available": 520_000},
    ]  # fmt: skip
    assert [(w["warrant"], w["outstanding"], w["exercise_price"]) for w in table["warrants"]] == [
        ("w-1", 50_000, {"amount": "0.05", "currency": "USD"})
    ]
    assert table["convertibles"] == []  # converted
    before = both(ledger, "cap_table", "seedco", as_of=D("2022-05-31"))
    assert [c["convertible"] for c in before["convertibles"]] == ["safe-1"]
    assert before["convertibles"][0]["valuation_cap"] == {
        "amount": "10000000",
        "currency": "USD",
    }


def test_grants_vest_by_the_month_and_expire(ledger: Ledger) -> None:
    ledger.record(SEED)
    # 480,000 over 48 months, 12-month cliff, from 2021-03-01: on 2022-02-28 eleven whole
    # months (nothing vested); on 2022-03-01 twelve (120,000); on 2023-03-01 24 (240,000).
    vested = {
        day: both(ledger, "grants", "seedco", as_of=D(day))["grants"][0]["vested"]
        for day in ("2022-02-28", "2022-03-01", "2023-03-01", "2025-03-01")
    }
    assert vested == {
        "2022-02-28": 0, "2022-03-01": 120_000, "2023-03-01": 240_000, "2025-03-01": 480_000,
    }  # fmt: skip
    grant = both(ledger, "grants", "seedco", as_of=D("2023-03-01"), holder="cy")["grants"][0]
    # 240,000 vested − 100,000 exercised = 140,000 exercisable; 380,000 outstanding.
    assert (grant["exercised"], grant["outstanding"], grant["exercisable"]) == (
        100_000, 380_000, 140_000,
    )  # fmt: skip
    assert grant["vesting"] == {
        "start": "2021-03-01", "months": 48, "cliff_months": 12, "every_months": 1,
    }  # fmt: skip
    # After the end of 2031-02-28 the award expires: nothing outstanding, the pool regains
    # the 380,000.
    later = both(ledger, "cap_table", "seedco", as_of=D("2031-03-01"))
    assert later["pools"][0]["available"] == 900_000
    assert both(ledger, "grants", "seedco", as_of=D("2031-03-01"))["grants"][0]["outstanding"] == 0
    with pytest.raises(RuleViolation, match="expired at the end of 2031-02-28"):
        ledger.record([event("OptionExercised", "2031-03-01", grant="g-001", quantity=1)])


def test_holdings_and_party_history_include_a_partys_instruments(ledger: Ledger) -> None:
    ledger.record(SEED)
    bank = both(ledger, "holdings", "bank", as_of=D("2022-06-01"))
    assert [
        (p["company"], p["shares"], p["warrants"], p["warrant_ids"]) for p in bank["positions"]
    ] == [("seedco", 0, 50_000, ["w-1"])]
    angel = ledger.holdings("angel", as_of=D("2021-12-31")).model_dump(mode="json")
    assert [c["convertible"] for c in angel["positions"][0]["convertibles"]] == ["safe-1"]
    # cy's history: the grant and the exercise, which names the grant, not cy.
    types = [e.type for e in ledger.party_history("cy").events]
    assert types == ["OptionGranted", "OptionExercised"]
    types = [e.type for e in ledger.party_history("angel").events]
    assert types == ["ConvertibleIssued", "ConvertibleConverted"]


def test_a_split_reaches_awards_warrants_and_plans(ledger: Ledger) -> None:
    ledger.record([*SEED, event("StockSplit", "2023-01-02", share_class="common", ratio="2:1")])
    table = both(ledger, "cap_table", "seedco", as_of=D("2023-01-02"))
    # Every common figure doubles: the plan reserves 2,000,000, exercised 200,000, cy's
    # options 760,000; the warrant 100,000 at 0.025.
    assert table["pools"][0]["reserved"] == 2_000_000
    assert table["pools"][0]["available"] == 1_040_000
    assert table["warrants"][0]["quantity"] == 100_000
    assert table["warrants"][0]["exercise_price"] == {"amount": "0.025", "currency": "USD"}
    grant = both(ledger, "grants", "seedco", as_of=D("2023-01-02"))["grants"][0]
    assert (grant["quantity"], grant["exercised"], grant["exercise_price"]["amount"]) == (
        960_000, 200_000, "0.025",
    )  # fmt: skip
