"""Exporting a company as an OCF package: valid against the schemas, deterministic, and
faithful at every date: OCF's security positions, replayed from the package alone, give the
ledger's holdings, grants, warrants and convertibles."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.ocf import company_events, parse_files, write_bench_package
from ledger import Ledger
from ledger.domain.errors import InputError
from ledger.ocf.exporter import MANIFEST, MAX_ID, write_package
from ledger.ocf.schemas import file_errors, object_errors
from tests import builders as b

I = b.instrument  # noqa: E741
STORY = "rocket-labs"
RANDOM_COMPANIES = count(1)
DATES = ("2020-01-01", "2020-03-01", "2020-04-01", "2020-06-01", "2021-01-01", "2021-07-01")


def story(c: str) -> list[dict[str, Any]]:
    """Every event type with an OCF counterpart, and some without (board, valuation)."""
    return [
        b.registered(c, "2020-01-01", name="Rocket Labs, Inc.", jurisdiction="US-DE"),
        b.share_class(c, "common", "2020-01-01"),
        b.share_class(c, "series-a", "2020-01-01", kind="preferred", authorized=100_000),
        b.issued(c, "alice", "common", 1000, "2020-01-01", price_per_share=b.usd("0.01")),
        b.issued(c, "bob", "common", 500, "2020-01-01"),
        b.issued(c, "alice", "common", 300, "2020-02-01"),
        b.transferred(c, "alice", "carol", "common", 1100, "2020-03-01"),
        b.cancelled(c, "bob", "common", 100, "2020-03-02"),
        b.split(c, "common", "3:2", "2020-04-01"),
        I(
            "StakeholderRecorded",
            c,
            "2020-01-01",
            party="alice",
            name="Alice Ames",
            kind="individual",
        ),
        I(
            "StockPlanCreated",
            c,
            "2020-01-01",
            plan="pool",
            name="2020 Plan",
            share_class="common",
            reserved=5000,
        ),
        I(
            "OptionGranted",
            c,
            "2020-02-01",
            grant="g1",
            holder="dan",
            plan="pool",
            quantity=480,
            exercise_price=b.usd("0.10"),
            vesting={"start": "2020-01-01", "months": 48, "cliff_months": 12},
        ),
        I(
            "OptionGranted",
            c,
            "2020-02-01",
            grant="g2",
            holder="erin",
            plan="pool",
            quantity=100,
            kind="rsu",
        ),
        I("OptionExercised", c, "2021-06-01", grant="g1", quantity=100),
        I("OptionExercised", c, "2021-06-01", grant="g2", quantity=30),
        I("OptionCancelled", c, "2021-07-01", grant="g2", quantity=20, reason="forfeited"),
        I(
            "WarrantIssued",
            c,
            "2020-05-01",
            warrant="w1",
            holder="bank",
            share_class="series-a",
            quantity=1000,
            exercise_price=b.usd(1),
        ),
        I("WarrantExercised", c, "2020-06-01", warrant="w1", quantity=400),
        I("WarrantCancelled", c, "2020-07-01", warrant="w1", quantity=100, reason="lapsed"),
        I(
            "ConvertibleIssued",
            c,
            "2020-05-01",
            convertible="s1",
            holder="angel",
            kind="safe",
            amount=b.usd(100_000),
            valuation_cap=b.usd(5_000_000),
            discount_percent="20",
        ),
        I(
            "ConvertibleIssued",
            c,
            "2020-05-01",
            convertible="n1",
            holder="angel",
            kind="note",
            amount=b.usd(50_000),
            interest_rate_percent="5",
            maturity_date="2022-01-01",
        ),
        I(
            "ConvertibleConverted",
            c,
            "2021-01-01",
            convertible="s1",
            share_class="series-a",
            shares=2000,
        ),
        I("ConvertibleCancelled", c, "2021-01-01", convertible="n1", reason="repaid"),
        I(
            "SharesConverted",
            c,
            "2021-02-01",
            holder="angel",
            from_class="series-a",
            to_class="common",
            shares=1500,
            ratio="3:2",
        ),
        I("StockPlanReserveChanged", c, "2021-02-01", plan="pool", reserved=9000),
        b.authorized(c, "series-a", 200_000, "2021-02-02"),
        b.director_appointed(c, "alice", "2020-01-01"),
        b.valuation(c, 1_000_000, "2020-06-01"),
    ]


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    url = f"sqlite:///{tmp_path_factory.mktemp('ocf') / 'ledger.db'}"
    with Ledger.open(url) as opened:
        opened.record(story(STORY))
        yield opened


@pytest.fixture(scope="module")
def package(ledger: Ledger, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "package"
    write_package(ledger, STORY, out)
    return out


def documents(package: Path) -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_bytes()) for path in sorted(package.iterdir())}


def transactions(package: Path) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = documents(package)["Transactions.ocf.json"]["items"]
    return items


class Positions:
    """OCF's security positions from a package alone: a transaction on a security
    extinguishes it; balance and resulting securities are issuances of their own."""

    def __init__(self, package: Path, as_of: date) -> None:
        self.stock: dict[str, list[Any]] = {}  # security → [holder, class, quantity]
        # security → [grant or warrant, class, quantity]
        self.awards: dict[str, list[Any]] = {}
        self.warrants: dict[str, list[Any]] = {}
        self.convertibles: dict[str, str] = {}
        for tx in transactions(package):
            if date.fromisoformat(tx["date"]) <= as_of:
                self.apply(tx)

    def apply(self, tx: dict[str, Any]) -> None:
        kind, security = tx["object_type"], str(tx.get("security_id"))
        if kind == "TX_STOCK_ISSUANCE":
            self.stock[security] = [tx["stakeholder_id"], tx["stock_class_id"], int(tx["quantity"])]
        elif kind in ("TX_STOCK_TRANSFER", "TX_STOCK_CANCELLATION", "TX_STOCK_CONVERSION"):
            held = self.stock.pop(security)[2]
            taken = int(tx.get("quantity") or tx["quantity_converted"])
            assert (taken < held) == ("balance_security_id" in tx), tx["id"]
        elif kind == "TX_STOCK_CLASS_SPLIT":
            n, m = int(tx["split_ratio"]["numerator"]), int(tx["split_ratio"]["denominator"])
            # A split reaches every security of the class: shares, awards and warrants.
            for position in (*self.stock.values(), *self.awards.values(), *self.warrants.values()):
                if position[1] == tx["stock_class_id"]:
                    position[2] = position[2] * n // m
        elif kind == "TX_EQUITY_COMPENSATION_ISSUANCE":
            self.awards[security] = [tx["custom_id"], tx["stock_class_id"], int(tx["quantity"])]
        elif kind.startswith("TX_EQUITY_COMPENSATION_"):
            self.awards.pop(security)
        elif kind == "TX_WARRANT_ISSUANCE":
            right = tx["exercise_triggers"][0]["conversion_right"]
            self.warrants[security] = [
                tx["custom_id"],
                right["converts_to_stock_class_id"],
                int(tx["quantity"]),
            ]
        elif kind.startswith("TX_WARRANT_"):
            self.warrants.pop(security)
        elif kind == "TX_CONVERTIBLE_ISSUANCE":
            self.convertibles[security] = tx["custom_id"]
        elif kind.startswith("TX_CONVERTIBLE_"):
            self.convertibles.pop(security)

    def holdings(self) -> dict[tuple[str, str], int]:
        held: dict[tuple[str, str], int] = defaultdict(int)
        for holder, share_class, quantity in self.stock.values():
            held[(holder, share_class)] += quantity
        return {key: n for key, n in held.items() if n}


def same_as_the_ledger(ledger: Ledger, company: str, package: Path, day: date) -> None:
    positions = Positions(package, day)
    table = ledger.cap_table(company, as_of=day, fold=True)
    assert positions.holdings() == {
        (holder.party, share_class): shares
        for holder in table.holders
        for share_class, shares in holder.classes.items()
        if shares
    }, day
    grants = ledger.grants(company, as_of=day, fold=True).grants
    assert {grant: n for grant, _, n in positions.awards.values()} == {
        g.grant: g.outstanding for g in grants if g.outstanding
    }, day
    assert {warrant: n for warrant, _, n in positions.warrants.values()} == {
        w.warrant: w.outstanding for w in table.warrants
    }, day
    assert sorted(positions.convertibles.values()) == [c.convertible for c in table.convertibles]


def test_every_object_file_and_the_manifest_is_valid(package: Path) -> None:
    for name, document in documents(package).items():
        assert file_errors(document) == [], name
        objects = document.get("items", [document.get("issuer")])
        for item in objects:
            assert object_errors(item) == [], (name, item["id"])
            assert len(item["id"]) <= MAX_ID


def test_the_manifest_lists_each_file_with_its_checksum(package: Path) -> None:
    manifest = documents(package)[MANIFEST]
    listed = {
        entry["filepath"].removeprefix("./")
        for key, entries in manifest.items()
        if key.endswith("_files")
        for entry in entries
    }
    assert listed | {MANIFEST} == {path.name for path in package.iterdir()}
    assert manifest["issuer"]["legal_name"] == "Rocket Labs, Inc."
    assert (manifest["issuer"]["country_of_formation"], manifest["as_of"]) == ("US", "2021-07-01")


@pytest.mark.parametrize("day", DATES)
def test_security_positions_give_the_ledgers_answers_at_every_date(
    ledger: Ledger, package: Path, day: str
) -> None:
    same_as_the_ledger(ledger, STORY, package, date.fromisoformat(day))


def test_governance_and_valuations_are_left_out(package: Path) -> None:
    text = "".join(path.read_text() for path in package.iterdir())
    assert "Director" not in text
    assert "Valuations.ocf.json" not in text
    stakeholders = documents(package)["Stakeholders.ocf.json"]["items"]
    assert {s["id"] for s in stakeholders} == {
        "alice",
        "angel",
        "bank",
        "bob",
        "carol",
        "dan",
        "erin",
    }
    named = {s["id"]: s["name"]["legal_name"] for s in stakeholders}
    assert (named["alice"], named["bob"]) == ("Alice Ames", "bob")


def test_vesting_terms_step_as_the_ledger_vests(package: Path) -> None:
    (terms,) = documents(package)["VestingTerms.ocf.json"]["items"]
    steps = [
        (
            c["portion"]["numerator"],
            c["trigger"]["period"]["length"],
            c["trigger"]["period"]["occurrences"],
        )
        for c in terms["vesting_conditions"][1:]
    ]
    assert steps == [("12", 12, 1), ("1", 1, 36)]
    assert terms["allocation_type"] == "CUMULATIVE_ROUND_DOWN"


def test_the_same_ledger_gives_the_same_bytes(
    ledger: Ledger, package: Path, tmp_path: Path
) -> None:
    write_package(ledger, STORY, tmp_path / "again")
    assert documents(tmp_path / "again") == documents(package)
    for path in package.iterdir():
        assert (tmp_path / "again" / path.name).read_bytes() == path.read_bytes()


def test_as_of_cuts_the_history(ledger: Ledger, tmp_path: Path) -> None:
    summary = write_package(ledger, STORY, tmp_path / "cut", as_of=date(2020, 5, 1))
    assert summary.as_of == date(2020, 5, 1)
    assert max(tx["date"] for tx in transactions(tmp_path / "cut")) == "2020-05-01"
    assert "TX_WARRANT_EXERCISE" not in summary.objects
    same_as_the_ledger(ledger, STORY, tmp_path / "cut", date(2020, 5, 1))


@pytest.mark.parametrize(
    ("company", "out", "as_of", "message"),
    [
        ("nobody", "fresh", None, "unknown company 'nobody'"),
        (STORY, "a-file", None, "a-file: a file, not a directory"),
        (STORY, "full", None, "full: the directory is not empty"),
        (STORY, "a-file/below", None, "below: cannot write the package: Not a directory"),
        (STORY, "fresh", date(2019, 12, 31), "before company 'rocket-labs' was registered"),
    ],
)
def test_bad_requests_are_one_line_input_errors(
    ledger: Ledger, tmp_path: Path, company: str, out: str, as_of: date | None, message: str
) -> None:
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "kept").write_text("x")
    with pytest.raises(InputError, match=message) as caught:
        write_package(ledger, company, tmp_path / out, as_of=as_of)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "fresh").exists()
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["kept"]


BOUNDED = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
"""Random histories: few examples, each recorded as a new company of a module's ledger."""
HISTORIES = given(seed=st.integers(0, 10**6), events=st.integers(8, 60))


def random_history(
    ledger: Ledger, seed: int, events: int, parties: int = 5
) -> tuple[str, list[date]]:
    """A valid random history recorded as a new company: its slug and dates to check it on
    (about five of its effective dates, the last included)."""
    company = f"random-{next(RANDOM_COMPANIES)}"
    history = company_events(company, events, seed=seed, parties=parties)
    ledger.record(history)
    days = sorted({date.fromisoformat(e["effective_date"]) for e in history})
    return company, days[:: max(1, len(days) // 4)] + days[-1:]


@BOUNDED
@HISTORIES
def test_random_histories_export_faithfully(
    ledger: Ledger, tmp_path_factory: pytest.TempPathFactory, seed: int, events: int
) -> None:
    company, days = random_history(ledger, seed, events)
    out = tmp_path_factory.mktemp("random") / "package"
    write_package(ledger, company, out)
    for document in documents(out).values():
        for item in document.get("items", []):
            assert object_errors(item) == [], item["id"]
    for day in days:
        same_as_the_ledger(ledger, company, out, day)


def test_the_benchmarks_package_is_valid_and_its_manifest_checksums_hold(tmp_path: Path) -> None:
    package = write_bench_package(tmp_path, 400)
    found = documents(package)
    manifest = found.pop(MANIFEST)
    for name, document in found.items():
        assert file_errors(document) == [], name
        for item in document["items"]:
            assert object_errors(item) == [], item["id"]
    listed = [
        entry for key, entries in manifest.items() if key.endswith("_files") for entry in entries
    ]
    for entry in listed:
        body = (package / entry["filepath"]).read_bytes()
        assert hashlib.md5(body).hexdigest() == entry["md5"]
    assert parse_files(package) == 1 + sum(len(d["items"]) for d in found.values())
    assert len(found["Transactions.ocf.json"]["items"]) > 300
