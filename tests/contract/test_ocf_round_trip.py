"""A company exported to OCF and imported back under another slug gives the same answers at
every date: cap table, pools, warrants and convertibles, grants.

Parties, share classes, plans, grants and warrants keep their slugs (the package's ids). Left
out of the comparison: names (a party without one is named by its slug in OCF), the cap
table's ``valuation`` (not exported: OCF's is a price per share of a class) and a note's
``maturity_date`` (OCF has no field for it); percentages and amounts are compared as numbers
(OCF writes 20% as 0.2; the import writes $0.10 as 0.1).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ledger import Ledger
from ledger.ocf.exporter import write_package
from ledger.ocf.importer import import_package
from tests import builders as b
from tests.contract.test_ocf_export import BOUNDED, DATES, HISTORIES, random_history, story

I = b.instrument  # noqa: E741


def whole_story(c: str) -> list[dict[str, Any]]:
    """The story with awards and warrants ended by whole exercises and by cancellations."""
    partial = {"OptionExercised", "OptionCancelled", "WarrantExercised", "WarrantCancelled"}
    return [e for e in story(c) if e["type"] not in partial] + [
        I("OptionCancelled", c, "2021-05-01", grant="g1", quantity=20, reason="forfeited"),
        I("OptionExercised", c, "2021-06-01", grant="g2", quantity=150),
        I("WarrantCancelled", c, "2020-06-01", warrant="w1", quantity=600, reason="lapsed"),
        I("WarrantExercised", c, "2020-07-01", warrant="w1", quantity=400),
    ]


def round_trip(ledger: Ledger, company: str, out: Path) -> str:
    """Export ``company`` and import it as ``<company>-copy``, with no error finding."""
    write_package(ledger, company, out)
    copy = f"{company}-copy"
    result = import_package(ledger, out, company=copy)
    assert [f for f in result.findings if f.severity == "error"] == []
    assert result.stored == result.events
    return copy


def _number(money: dict[str, Any] | None) -> None:
    if money:
        money["amount"] = Decimal(money["amount"]).normalize()


def answers(ledger: Ledger, company: str, day: date) -> dict[str, Any]:
    """The cap table and grants of ``company`` on ``day``, but for what a round trip cannot
    keep (see above)."""
    table = ledger.cap_table(company, as_of=day).model_dump(mode="json")
    for key in ("company", "known_at", "valuation"):
        table.pop(key)
    grants = ledger.grants(company, as_of=day).model_dump(mode="json")["grants"]
    for named in (*table["holders"], *table["warrants"], *table["convertibles"], *grants):
        named.pop("name")
    for convertible in table["convertibles"]:
        convertible.pop("maturity_date")
        for key in ("discount_percent", "interest_rate_percent"):
            if convertible[key] is not None:
                convertible[key] = Decimal(convertible[key]).normalize()
        _number(convertible["amount"])
        _number(convertible["valuation_cap"])
    for instrument in (*table["warrants"], *grants):
        _number(instrument["exercise_price"])
    return {"cap_table": table, "grants": grants}


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    url = f"sqlite:///{tmp_path_factory.mktemp('round-trip') / 'ledger.db'}"
    with Ledger.open(url) as opened:
        opened.record(story("partial") + whole_story("whole"))
        yield opened


@pytest.fixture(scope="module")
def copies(ledger: Ledger, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {
        company: round_trip(ledger, company, tmp_path_factory.mktemp(company) / "package")
        for company in ("partial", "whole")
    }


@pytest.mark.parametrize("day", DATES)
def test_the_copy_answers_as_the_original_at_every_date(
    ledger: Ledger, copies: dict[str, str], day: str
) -> None:
    copy = copies["whole"]
    on = date.fromisoformat(day)
    assert answers(ledger, copy, on) == answers(ledger, "whole", on)


@pytest.mark.parametrize("day", DATES)
def test_partial_exercises_keep_their_grants_and_warrants(
    ledger: Ledger, copies: dict[str, str], day: str
) -> None:
    # OCF's exercise has no balance_security_id: the balance is among its resulting securities.
    copy = copies["partial"]
    on = date.fromisoformat(day)
    assert answers(ledger, copy, on) == answers(ledger, "partial", on)


def later_plan(c: str) -> list[dict[str, Any]]:
    return [
        *b.founded(c, "2020-01-01", {"alice": 1000}),
        I("StockPlanCreated", c, "2020-03-01", plan="pool", name="Pool", share_class="common",
          reserved=1000),
    ]  # fmt: skip


def uneven_vesting(c: str) -> list[dict[str, Any]]:
    return [
        *later_plan(c),
        I("OptionGranted", c, "2020-04-01", grant="g1", holder="bob", plan="pool", quantity=100,
          exercise_price=b.usd(1),
          vesting={"start": "2020-04-01", "months": 10, "every_months": 3}),
    ]  # fmt: skip


def test_a_plan_created_later_is_not_in_the_pools_before(ledger: Ledger, tmp_path: Path) -> None:
    ledger.record(later_plan("later-plan"))
    copy = round_trip(ledger, "later-plan", tmp_path / "package")
    on = date(2020, 2, 1)
    assert answers(ledger, copy, on) == answers(ledger, "later-plan", on)


def test_a_schedule_with_a_shorter_last_step_keeps_its_vesting(
    ledger: Ledger, tmp_path: Path
) -> None:
    ledger.record(uneven_vesting("uneven"))
    copy = round_trip(ledger, "uneven", tmp_path / "package")
    on = date(2020, 10, 1)
    assert answers(ledger, copy, on)["grants"] == answers(ledger, "uneven", on)["grants"]


def shared_names(c: str) -> list[dict[str, Any]]:
    """Parties named as the company, its class and its plan are (one OCF id each in a
    package), and a grant on vesting terms whose id a party takes."""
    return [
        *b.founded(c, "2020-01-01", {"common": 100, c: 50, "pool": 25}),
        I("StockPlanCreated", c, "2020-03-01", plan="pool", name="Pool", share_class="common",
          reserved=1000),
        I("SharesIssued", c, "2020-03-02", holder="vesting-12m-cliff-0m-every-1m",
          share_class="common", shares=10),
        I("OptionGranted", c, "2020-04-01", grant="g1", holder="common", plan="pool",
          quantity=100, exercise_price=b.usd(1),
          vesting={"start": "2020-04-01", "months": 12, "every_months": 1}),
    ]  # fmt: skip


def test_slugs_of_one_kind_that_are_ids_of_another_keep_their_names(
    ledger: Ledger, tmp_path: Path
) -> None:
    ledger.record(shared_names("shared"))
    copy = round_trip(ledger, "shared", tmp_path / "package")
    on = date(2020, 10, 1)
    assert answers(ledger, copy, on) == answers(ledger, "shared", on)
    assert {h.party for h in ledger.cap_table(copy, as_of=on).holders} >= {"common", "shared"}


def test_the_longest_slugs_come_back_whole(ledger: Ledger, tmp_path: Path) -> None:
    # 96 characters: the id itself; 100: past the longest id, the party's name (its slug).
    long, longest = "a" * 96, "b" * 100
    ledger.record(b.founded("long-slugs", "2020-01-01", {long: 10, longest: 20}))
    copy = round_trip(ledger, "long-slugs", tmp_path / "package")
    on = date(2020, 1, 2)
    assert {h.party for h in ledger.cap_table(copy, as_of=on).holders} == {long, longest}


def test_importing_the_export_again_stores_nothing(
    ledger: Ledger, copies: dict[str, str], tmp_path: Path
) -> None:
    copy = copies["whole"]
    write_package(ledger, "whole", tmp_path / "again")
    again = import_package(ledger, tmp_path / "again", company=copy)
    assert (again.stored, again.skipped) == (0, again.events)


def test_the_round_trip_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    with Ledger.open(pg_url) as ledger:
        ledger.record(whole_story("whole"))
        copy = round_trip(ledger, "whole", tmp_path / "package")
        for day in (DATES[2], DATES[-1]):
            on = date.fromisoformat(day)
            assert answers(ledger, copy, on) == answers(ledger, "whole", on)


def same_after_a_round_trip(ledger: Ledger, company: str, days: list[date], out: Path) -> None:
    copy = round_trip(ledger, company, out)
    for day in days:
        assert answers(ledger, copy, day) == answers(ledger, company, day), day


@BOUNDED
@HISTORIES
def test_random_histories_round_trip(
    ledger: Ledger, tmp_path_factory: pytest.TempPathFactory, seed: int, events: int
) -> None:
    company, days = random_history(ledger, seed, events)
    same_after_a_round_trip(ledger, company, days, tmp_path_factory.mktemp("random") / "package")


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_long_histories_round_trip(ledger: Ledger, tmp_path: Path, seed: int) -> None:
    company, days = random_history(ledger, seed, 3_000, parties=200)
    same_after_a_round_trip(ledger, company, days, tmp_path / "package")
