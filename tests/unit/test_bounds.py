"""Bounds are part of validation: every bounded field of an event file is accepted at its
limit and refused just past it, with one line naming the field; what the ledger derives or
sums (a derived count, a split's result, a class or company total, an implied valuation) is
refused past 10^18 by the bounds rule, naming the event, its date and the numbers."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ledger.batch import validate, validate_all
from ledger.domain.errors import InputError
from ledger.domain.values import MAX_TOTAL

from .timelines import admit, fact, refused, registered

BOUNDS = "rule bounds (what the ledger derives or sums stays within 10^18)"
E15 = 10**15
ISSUE = {"type": "SharesIssued", "holder": "ana", "share_class": "common", "shares": 10}
CLASS = {"type": "ShareClassCreated", "share_class": "common", "name": "Common", "kind": "common"}
INVEST = {
    "type": "InvestmentMade",
    "investor": "fund",
    "share_class": "common",
    "amount": "1000000 USD",
}
VALUED = {"type": "ValuationRecorded", "valuation": "1000000 USD", "basis": "409a"}
REGISTER = {"type": "CompanyRegistered", "name": "Acme, Inc."}
APPOINT = {"type": "ExecutiveAppointed", "person": "ana", "role": "other", "title": "Chief"}


def item(**fields: Any) -> dict[str, Any]:
    return {"company": "acme", "effective_date": "2020-01-01", **fields}


def problem(data: dict[str, Any]) -> str:
    """The one line an invalid item gets."""
    with pytest.raises(InputError) as caught:
        validate(data, 1)
    return str(caught.value)


def accepted(data: dict[str, Any]) -> bool:
    return validate(data, 1)[1] == "item 1"


# (event, field, value at the limit, value just past it, the message past it)
LIMITS = [
    pytest.param(
        ISSUE,
        "shares",
        E15,
        E15 + 1,
        "Input should be less than or equal to 1,000,000,000,000,000 (10^15) "
        "(got 1000000000000001)",
        id="shares",
    ),
    pytest.param(
        ISSUE, "shares", 1, 0, "Input should be greater than 0 (got 0)", id="shares at least 1"
    ),
    pytest.param(
        {**CLASS},
        "authorized",
        E15,
        E15 + 1,
        "Input should be less than or equal to 1,000,000,000,000,000 (10^15) "
        "(got 1000000000000001)",
        id="authorized",
    ),
    pytest.param(
        {**CLASS},
        "votes_per_share",
        10**6,
        10**6 + 1,
        "Input should be less than or equal to 1,000,000 (10^6) (got 1000001)",
        id="votes_per_share",
    ),
    pytest.param(
        {"type": "BoardSizeSet"},
        "seats",
        E15,
        E15 + 1,
        "Input should be less than or equal to 1,000,000,000,000,000 (10^15) "
        "(got 1000000000000001)",
        id="seats",
    ),
    pytest.param(
        {**INVEST, "shares": 5},
        "amount",
        "1000000000000000 USD",
        "1000000000000000.0000000001 USD",
        "Input should be less than or equal to 1,000,000,000,000,000 (10^15) "
        "(got '1000000000000000.0000000001')",
        id="an amount",
    ),
    pytest.param(
        {**ISSUE},
        "price_per_share",
        "0.0000000001 USD",
        "0.00000000001 USD",
        "Decimal input should have no more than 10 decimal places (got '0.00000000001')",
        id="decimal places of money",
    ),
    pytest.param(
        {**VALUED},
        "valuation",
        "0.0000000001 USD",
        "0 USD",
        "0 USD must be greater than 0 (got '0 USD')",
        id="a valuation",
    ),
    pytest.param(
        {**INVEST},
        "stake_percent",
        "99.9999999999",
        "100",
        "Input should be less than 100 (got '100')",
        id="a stake below 100",
    ),
    pytest.param(
        {**INVEST},
        "stake_percent",
        "0.0000000001",
        "0",
        "Input should be greater than 0 (got '0')",
        id="a stake above 0",
    ),
    pytest.param(
        {**INVEST},
        "stake_percent",
        "12.3456789012",
        "12.34567890123",
        "Decimal input should have no more than 10 decimal places (got '12.34567890123')",
        id="decimal places of a percentage",
    ),
    pytest.param(
        {"type": "StockSplit", "share_class": "common"},
        "ratio",
        "1000000:1",
        "1000001:1",
        "not a split ratio 'N:M' of integers from 1 to 1,000,000, e.g. '2:1' (got '1000001:1')",
        id="a ratio's first term",
    ),
    pytest.param(
        {"type": "StockSplit", "share_class": "common"},
        "ratio",
        "1:1000000",
        "1:1000001",
        "not a split ratio 'N:M' of integers from 1 to 1,000,000, e.g. '2:1' (got '1:1000001')",
        id="a ratio's second term",
    ),
    pytest.param(
        ISSUE,
        "effective_date",
        "1800-01-01",
        "1799-12-31",
        "1799-12-31 is outside the dates the ledger takes (from 1800-01-01 to 2999-12-31) "
        "(got '1799-12-31')",
        id="the first date",
    ),
    pytest.param(
        ISSUE,
        "effective_date",
        "2999-12-31",
        "3000-01-01",
        "3000-01-01 is outside the dates the ledger takes (from 1800-01-01 to 2999-12-31) "
        "(got '3000-01-01')",
        id="the last date",
    ),
    pytest.param(
        ISSUE,
        "holder",
        "a" * 100,
        "a" * 101,
        f"String should have at most 100 characters (got '{'a' * 59}… (103 characters))",
        id="a slug",
    ),
    pytest.param(
        ISSUE,
        "external_id",
        "x" * 100,
        "x" * 101,
        f"String should have at most 100 characters (got '{'x' * 59}… (103 characters))",
        id="external_id",
    ),
    pytest.param(
        REGISTER,
        "name",
        "n" * 200,
        "n" * 201,
        f"String should have at most 200 characters (got '{'n' * 59}… (203 characters))",
        id="name",
    ),
    pytest.param(
        REGISTER,
        "jurisdiction",
        "j" * 200,
        "j" * 201,
        f"String should have at most 200 characters (got '{'j' * 59}… (203 characters))",
        id="jurisdiction",
    ),
    pytest.param(
        APPOINT,
        "title",
        "t" * 200,
        "t" * 201,
        f"String should have at most 200 characters (got '{'t' * 59}… (203 characters))",
        id="title",
    ),
    pytest.param(
        {"type": "InterimCEOAppointed", "person": "ben"},
        "previous_title",
        "p" * 200,
        "p" * 201,
        f"String should have at most 200 characters (got '{'p' * 59}… (203 characters))",
        id="previous_title",
    ),
    pytest.param(
        {**INVEST, "shares": 5},
        "round",
        "r" * 200,
        "r" * 201,
        f"String should have at most 200 characters (got '{'r' * 59}… (203 characters))",
        id="round",
    ),
    pytest.param(
        {**ISSUE, "type": "SharesCancelled"},
        "reason",
        "r" * 200,
        "r" * 201,
        f"String should have at most 200 characters (got '{'r' * 59}… (203 characters))",
        id="reason",
    ),
    pytest.param(
        ISSUE,
        "source",
        "s" * 2_000,
        "s" * 2_001,
        f"String should have at most 2000 characters (got '{'s' * 59}… (2,003 characters))",
        id="source",
    ),
    pytest.param(
        ISSUE,
        "note",
        "n" * 10_000,
        "n" * 10_001,
        f"String should have at most 10000 characters (got '{'n' * 59}… (10,003 characters))",
        id="note",
    ),
    pytest.param(
        ISSUE,
        "note",
        "tab\there\nand a new line",
        "a carriage\rreturn",
        "a control character: only tab and newline may be in text (got 'a carriage\\rreturn')",
        id="control characters",
    ),
    pytest.param(
        REGISTER,
        "identifiers",
        {"k" * 100: "v" * 200},
        {"k" * 101: "v"},
        f"a key: String should have at most 100 characters (got '{'k' * 59}… (103 characters))",
        id="an identifier's key",
    ),
    pytest.param(
        REGISTER,
        "identifiers",
        {f"id{n}": "v" for n in range(50)},
        {f"id{n}": "v" for n in range(51)},
        "Dictionary should have at most 50 items after validation, not more (got {'id0': 'v', "
        "'id1': 'v', 'id2': 'v', 'id3': 'v', 'id4': 'v',… (653 characters))",
        id="identifiers",
    ),
]


@pytest.mark.parametrize(("event", "name", "limit", "past", "message"), LIMITS)
def test_a_bounded_field_is_accepted_at_its_limit_and_refused_past_it_naming_the_field(
    event: dict[str, Any], name: str, limit: Any, past: Any, message: str
) -> None:
    at = {"amount": "amount.amount", "price_per_share": "price_per_share.amount"}.get(name, name)
    assert (accepted(item(**{**event, name: limit})), problem(item(**{**event, name: past}))) == (
        True,
        f"item 1: field {at!r}: {message}",
    )


@pytest.mark.parametrize(
    ("money", "message"),
    [
        ("1e400 USD", "Input should be less than or equal to 1,000,000,000,000,000 (10^15)"),
        ("1E+20 USD", "Input should be less than or equal to 1,000,000,000,000,000 (10^15)"),
        ("1e999999999 USD", "Input should be less than or equal to 1,000,000,000,000,000 (10^15)"),
        ("1e-999999999 USD", "Decimal input should have no more than 10 decimal places"),
        ("NaN USD", "amount 'NaN' is not a finite decimal number"),
        ("Infinity USD", "amount 'Infinity' is not a finite decimal number"),
        ("-0 USD", "amount -0: write 0"),
        ("-5 USD", "amount -5 is negative"),
    ],
)
def test_a_valuation_the_ledger_cannot_hold_is_refused_with_one_line(
    money: str, message: str
) -> None:
    amount = money.split()[0]
    assert problem(item(**{**VALUED, "valuation": money})) == (
        f"item 1: field 'valuation.amount': {message} (got {amount!r})"
    )


@pytest.mark.parametrize(
    ("event", "name", "value"),
    [
        (ISSUE, "shares", True),
        (ISSUE, "shares", "100"),
        (ISSUE, "shares", 1e3),
        (CLASS, "votes_per_share", True),
        (CLASS, "votes_per_share", "1"),
        (CLASS, "authorized", False),
        ({"type": "BoardSizeSet"}, "seats", True),
        ({"type": "BoardSizeSet"}, "seats", "3"),
    ],
)
def test_a_count_is_never_a_boolean_a_string_or_a_float(
    event: dict[str, Any], name: str, value: Any
) -> None:
    assert problem(item(**{**event, name: value})) == (
        f"item 1: field {name!r}: Input should be a valid integer (got {value!r})"
    )


def test_a_boolean_is_never_an_amount() -> None:
    assert problem(item(**{**VALUED, "valuation": {"amount": True, "currency": "USD"}})) == (
        "item 1: field 'valuation.amount': amount must be a number, not True (got True)"
    )


def test_a_lower_case_currency_gets_the_upper_case_code() -> None:
    assert problem(item(**{**VALUED, "valuation": "100 usd"})) == (
        "item 1: field 'valuation': 'usd' is not an ISO 4217 currency code: codes are upper "
        "case ('USD') (got '100 usd')"
    )


def test_a_misspelled_event_type_gets_the_nearest_type() -> None:
    assert problem(item(**{**ISSUE, "type": "SharesIsued"})) == (
        "item 1: unknown event type 'SharesIsued' (did you mean 'SharesIssued'?)"
    )


def test_a_correction_replacing_an_event_by_a_correction_is_told_so() -> None:
    retraction = {"type": "EventRetracted", "company": "acme",
                  "target": "0a0d191d-019a-4945-b853-295c81e8678a"}  # fmt: skip
    corrected = {
        "type": "EventCorrected",
        "company": "acme",
        "target": "0a0d191d-019a-4945-b853-295c81e8678a",
        "reason": "a typo",
        "replacement": retraction,
    }
    assert problem(corrected) == (
        "item 1: replacement may not be an EventRetracted (a correction replaces an event by "
        "an event of the catalogue, never by a correction)"
    )


@pytest.mark.parametrize("value", [1.5, 7, "SharesIssued", None, ["a"]])
def test_an_item_that_is_no_object_is_not_an_event(value: Any) -> None:
    message = rf"^item 1: expected an event \(a mapping of fields\), got {re.escape(repr(value))}$"
    with pytest.raises(InputError, match=message):
        validate(value, 1)


def test_the_first_twenty_invalid_items_are_reported_one_line_each() -> None:
    items = [item(**{**ISSUE, "shares": n - 30}) for n in range(60)]
    with pytest.raises(InputError) as caught:
        validate_all(items, 1)
    assert caught.value.lines == [
        *(
            f"item {n}: field 'shares': Input should be greater than 0 (got {n - 31})"
            for n in range(1, 21)
        ),
        "more invalid items follow; only the first 20 are shown",
    ]


# --- what the ledger derives or sums: the bounds rule of the fold ---

HUGE = fact("ShareClassCreated", "2020-01-01", share_class="huge", name="Huge", kind="common")


def issued(shares: int, on: str, holder: str = "ana") -> Any:
    return fact("SharesIssued", on, holder=holder, share_class="huge", shares=shares)


def filled(total: int, on: str = "2020-01-01") -> list[Any]:
    """Issuances of ``huge`` making ``total`` shares (each at most 10^15)."""
    count, rest = divmod(total, E15)
    return [issued(E15, on, f"h{n}") for n in range(count)] + ([issued(rest, on)] if rest else [])


def test_a_company_total_of_exactly_10_18_is_accepted() -> None:
    timeline = registered(HUGE, *filled(MAX_TOTAL))
    assert timeline.end.outstanding == MAX_TOTAL


def test_an_issuance_past_10_18_outstanding_is_refused_naming_the_event_and_numbers() -> None:
    error = refused(registered(HUGE, *filled(MAX_TOTAL)), issued(1, "2021-01-01"))
    assert (error.rule, str(error)) == (
        "bounds",
        f"acme.yaml item 1004 (SharesIssued, 2021-01-01): {BOUNDS}: issuing 1 huge would make "
        "1,000,000,000,000,000,001 shares of acme outstanding, over the bound of "
        "1,000,000,000,000,000,000 (10^18)",
    )


def test_a_back_dated_issuance_that_pushes_a_later_class_total_past_10_18_is_refused() -> None:
    timeline = admit(registered(HUGE, *filled(MAX_TOTAL - E15)), *filled(E15, "2022-01-01"))
    error = refused(timeline, issued(1, "2021-01-01"))
    assert (error.rule, str(error)) == (
        "bounds",
        f"acme.yaml item 1004 (SharesIssued, 2021-01-01): {BOUNDS}: it makes the later "
        "SharesIssued of 2022-01-01 (acme.yaml item 1003) impossible: issuing "
        "1,000,000,000,000,000 huge would make 1,000,000,000,000,000,001 shares of acme "
        "outstanding, over the bound of 1,000,000,000,000,000,000 (10^18)",
    )


def test_a_split_whose_result_passes_10_18_is_refused() -> None:
    timeline = registered(HUGE, issued(E15, "2020-01-01"))
    ok = admit(timeline, fact("StockSplit", "2021-01-01", share_class="huge", ratio="1000:1"))
    error = refused(ok, fact("StockSplit", "2022-01-01", share_class="huge", ratio="2:1"))
    assert (ok.end.outstanding, error.rule, str(error)) == (
        MAX_TOTAL,
        "bounds",
        f"acme.yaml item 6 (StockSplit, 2022-01-01): {BOUNDS}: a 2:1 split of huge "
        "(1,000,000,000,000,000,000 → 2,000,000,000,000,000,000) would make "
        "2,000,000,000,000,000,000 shares of acme outstanding, over the bound of "
        "1,000,000,000,000,000,000 (10^18)",
    )


def test_a_split_whose_authorized_shares_pass_10_18_is_refused() -> None:
    timeline = registered(
        fact(
            "ShareClassCreated",
            "2020-01-01",
            share_class="huge",
            name="Huge",
            kind="common",
            authorized=E15,
        ),
        issued(1, "2020-01-01"),
    )
    error = refused(timeline, fact("StockSplit", "2021-01-01", share_class="huge", ratio="1001:1"))
    assert str(error) == (
        f"acme.yaml item 5 (StockSplit, 2021-01-01): {BOUNDS}: a 1001:1 split of huge would "
        "make 1,001,000,000,000,000,000 huge authorized, over the bound of "
        "1,000,000,000,000,000,000 (10^18)"
    )


def test_a_derived_share_count_past_10_18_is_refused() -> None:
    timeline = registered(HUGE, issued(E15, "2020-01-01"))
    error = refused(
        timeline,
        fact(
            "InvestmentMade",
            "2021-01-01",
            investor="fund",
            share_class="huge",
            amount="1 USD",
            stake_percent="99.9999999999",
        ),
    )
    assert str(error) == (
        f"acme.yaml item 5 (InvestmentMade, 2021-01-01): {BOUNDS}: the derived share count "
        "999,999,999,999,000,000,000,000,000 is over the bound of 1,000,000,000,000,000,000 "
        "(10^18)"
    )


def test_an_implied_valuation_past_10_18_is_refused() -> None:
    timeline = registered(HUGE, issued(E15, "2020-01-01"))
    error = refused(
        timeline,
        fact(
            "InvestmentMade",
            "2021-01-01",
            investor="fund",
            share_class="huge",
            amount="1000000000 USD",
            shares=1,
        ),
    )
    assert str(error) == (
        f"acme.yaml item 5 (InvestmentMade, 2021-01-01): {BOUNDS}: 1000000000 USD for 1 of "
        "1,000,000,000,000,001 shares implies a post-money valuation of "
        "1,000,000,000,000,001,000,000,000.00 USD, over the bound of "
        "1,000,000,000,000,000,000 (10^18)"
    )
