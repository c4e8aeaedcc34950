"""The importer's pure parts: OCF vesting conditions as the ledger's schedule, slugs, counts,
a file's items read a chunk at a time."""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ledger.domain.errors import InputError
from ledger.domain.events import Vesting
from ledger.domain.instruments import vested
from ledger.domain.state import Award
from ledger.ocf import package
from ledger.ocf.exporter import vesting_terms
from ledger.ocf.package import PackageFile
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


def acme_terms_with(change: Any) -> dict[str, Any]:
    """acme's four-year schedule, its conditions (start, monthly) changed by ``change``."""
    name = "Four Year / One Year Cliff - Cumulative Round Down"
    base = copy.deepcopy(terms("ocf-tools-acme-holdings-limited", name))
    change(*base["vesting_conditions"])
    return base


def _set(path: str, value: Any) -> Any:
    """A change setting ``start.…`` or ``monthly.…`` (dotted) to ``value``."""
    which, *keys = path.split(".")

    def change(start: dict[str, Any], monthly: dict[str, Any]) -> None:
        target = start if which == "start" else monthly
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return change


@pytest.mark.parametrize(
    ("path", "value", "why"),
    [
        # A billion installments would be listed before the months were counted.
        ("monthly.trigger.period.occurrences", 10**9, "more than 1200 months"),
        ("monthly.trigger.period.length", 0, "a period or portion that is not a number"),
        ("monthly.portion", {"numerator": "1", "denominator": "0"},
         "a period or portion that is not a number"),
        ("start.trigger", "VESTING_START_DATE", "not a single vesting start"),
        # A member of another shape than OCF gives it (text for an object).
        ("monthly.trigger", "RELATIVE", "a period or portion that is not a number"),
        ("monthly.trigger.period", "MONTHS", "a period or portion that is not a number"),
        ("monthly.cliff_condition", "12 months", "a period or portion that is not a number"),
        ("start.id", ["start_condition"], "not a single vesting start"),
        ("monthly.next_condition_ids", ["start_condition"],
         "conditions that follow one another in a loop"),
    ],
)  # fmt: skip
def test_vesting_conditions_of_another_shape_say_why_they_are_not_held(
    path: str, value: Any, why: str
) -> None:
    schedule, reason = schedule_of(acme_terms_with(_set(path, value)))
    assert schedule is None
    assert reason.startswith(why)


def test_every_exported_schedule_imports_to_one_that_vests_alike() -> None:
    # Whatever months, cliff and step (a last step shorter than the others, a cliff off the
    # steps): the schedule read back vests the same number of shares at every month.
    start = date(2020, 1, 1)
    award = Award(
        grant="g", holder="h", plan="p", kind="option", share_class="c", quantity=1_000_003,
        exercise_price=Decimal(1), currency="USD", expiration_date=None, vesting=None,
        granted=start,
    )  # fmt: skip
    days = [date(2020 + m // 12, m % 12 + 1, 1) for m in range(25)]
    for months in range(1, 25):
        for cliff in range(months + 1):
            for every in range(1, months + 1):
                terms = vesting_terms(Vesting(start=start, months=months, cliff_months=cliff,
                                              every_months=every))  # fmt: skip
                schedule, why = schedule_of(terms)
                assert schedule is not None, (months, cliff, every, why)
                original = replace(award, vesting=(start, months, cliff, every))
                imported = replace(
                    award,
                    vesting=(start, schedule["months"], schedule["cliff_months"],
                             schedule["every_months"]),
                )  # fmt: skip
                assert [vested(imported, d) for d in days] == [vested(original, d) for d in days]


def test_slugs_from_names_and_ids() -> None:
    assert slugify("Fiona Felicity Founder") == "fiona-felicity-founder"
    assert slugify("fionaFounder") == "fiona-founder"
    assert slugify("Example, Inc.") == "example-inc"
    assert slugify("???") == "x"
    assert len(slugify("a" * 300)) == 100  # the ledger's longest slug


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


def test_a_file_reads_alike_whatever_its_chunks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Items, numbers and a two-byte character cut anywhere by a chunk; an error placed in the
    # whole file, as json.loads places it.
    document = {
        "file_type": "OCF_TRANSACTIONS_FILE",
        "count": 12345678,
        "items": [{"id": f"o{n}", "quantity": 10**n, "name": "Zoë"} for n in range(20)],
        "after": [1.5, "é"],
    }
    text = json.dumps(document, indent=1, ensure_ascii=False)
    good, broken = tmp_path / "good.json", tmp_path / "broken.json"
    good.write_text(text, encoding="utf-8")
    broken.write_text(text.replace('"o17"', '"o17" "x"'), encoding="utf-8")
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(broken.read_text(encoding="utf-8"))
    place = f"line {expected.value.lineno} column {expected.value.colno}"
    for size in (1, 2, 3, 7, 64, 1 << 20):
        monkeypatch.setattr(package, "CHUNK_BYTES", size)
        envelope: dict[str, Any] = {}
        read = PackageFile(tmp_path, "good.json", None, lambda: good.open("rb"))
        assert list(read.items(envelope)) == document["items"]
        assert envelope == {**document, "items": []}
        assert read.actual_md5 == hashlib.md5(good.read_bytes()).hexdigest()
        with pytest.raises(InputError, match=place):
            list(PackageFile(tmp_path, "broken.json", None, lambda: broken.open("rb")).items())
