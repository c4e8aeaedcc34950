"""The importer's pure parts: OCF vesting conditions as the ledger's schedule, slugs, counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ledger.ocf.values import Refused, count_of, slugify
from ledger.ocf.vesting import schedule_of

DATA = Path(__file__).parent.parent / "data" / "ocf"


def terms(package: str, name: str) -> dict[str, Any]:
    items = json.loads((DATA / package / "VestingTerms.ocf.json").read_text())["items"]
    return next(t for t in items if t["name"] == name)


@pytest.mark.parametrize(
    ("package", "name", "schedule"),
    [
        # One monthly condition with the older cliff_condition of 12 months.
        (
            "ocf-tools-acme-holdings-limited",
            "Four Year / One Year Cliff - Cumulative Round Down",
            {"months": 48, "cliff_months": 12, "every_months": 1},
        ),
        # A cliff condition of 12/48, then 36 monthly installments relative to it.
        (
            "ocx-example-inc",
            "Default - 4y monthly, 1y cliff",
            {"months": 48, "cliff_months": 12, "every_months": 1},
        ),
        (
            "ocx-example-inc",
            "7m monthly, 0y cliff",
            {"months": 7, "cliff_months": 0, "every_months": 1},
        ),
    ],
)
def test_schedules_the_ledger_can_hold(package: str, name: str, schedule: dict[str, int]) -> None:
    assert schedule_of(terms(package, name)) == (schedule, "")


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("10 / 20 / 30 / 40", "a schedule the ledger's (months, cliff, every) cannot express"),
        (
            "Milestone-based Engineer",
            "a schedule the ledger's (months, cliff, every) cannot express",
        ),
        (
            "4y monthly, 1y cliff, 10% upfront",
            "a VESTING_EVENT condition (vesting by events or conditions)",
        ),
    ],
)
def test_schedules_the_ledger_cannot_hold_say_why(name: str, why: str) -> None:
    assert schedule_of(terms("ocx-example-inc", name)) == (None, why)


def test_slugs_from_names_and_ids() -> None:
    assert slugify("Fiona Felicity Founder") == "fiona-felicity-founder"
    assert slugify("fionaFounder") == "fiona-founder"
    assert slugify("Example, Inc.") == "example-inc"
    assert slugify("???") == "x"
    assert len(slugify("a" * 300)) == 90


@pytest.mark.parametrize(
    ("value", "code"),
    [("1.5", "fractional-shares"), ("0", "out-of-bounds"), ("1e400", "out-of-bounds"),
     ("NaN", "bad-number"), (True, "bad-number"), ("ten", "bad-number")],
)  # fmt: skip
def test_counts_that_are_not_share_counts(value: object, code: str) -> None:
    with pytest.raises(Refused) as refused:
        count_of(value, "quantity")
    assert refused.value.code == code


def test_a_count_with_decimal_zeros_is_whole() -> None:
    assert count_of("51000.0000000000", "quantity") == 51_000
