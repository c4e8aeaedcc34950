"""Value objects and the one rounding policy: money, slugs, dates, percentages, ratios."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from ledger.domain.events import FACT_ADAPTER
from ledger.domain.values import (
    Money,
    decimal_text,
    parse_ratio,
    percent,
    percent_texts,
    round_shares,
)

from .timelines import fact, invalid


def money_error(value: Any) -> tuple[tuple[str | int, ...], str]:
    with pytest.raises(ValidationError) as caught:
        Money.model_validate(value)
    first = caught.value.errors()[0]
    return first["loc"], first["msg"]


# --- money ---


def test_money_is_read_from_the_string_amount_space_currency() -> None:
    assert Money.model_validate("14300000000 USD") == Money(
        amount=Decimal("14300000000"), currency="USD"
    )


def test_money_is_read_from_a_mapping_of_amount_and_currency() -> None:
    money = Money.model_validate({"amount": "1234.56", "currency": "EUR"})
    assert (money.amount, money.currency) == (Decimal("1234.56"), "EUR")


def test_money_accepts_an_integer_amount_in_a_mapping() -> None:
    assert Money.model_validate({"amount": 5, "currency": "USD"}).amount == Decimal(5)


def test_money_keeps_every_decimal_digit_of_its_amount() -> None:
    money = Money.model_validate("999999999999999.9999999999 USD")
    assert money.amount == Decimal("999999999999999.9999999999")


def test_a_float_amount_is_refused_with_a_message_saying_how_to_write_it() -> None:
    assert money_error({"amount": 1.5, "currency": "USD"}) == (
        ("amount",),
        'Value error, amount 1.5 is a float; write it as a quoted decimal string (e.g. "1.5") '
        "so no precision is lost",
    )


def test_a_bare_number_without_currency_is_refused() -> None:
    assert money_error(1.5) == (
        (),
        "Value error, 1.5 has no currency: write '<decimal> <ISO 4217 code>' or {amount, currency}",
    )


def test_an_unknown_currency_is_refused() -> None:
    assert money_error("100 XYZ") == ((), "Value error, 'XYZ' is not an ISO 4217 currency code")


def test_a_lowercase_currency_code_is_refused_with_the_upper_case_code() -> None:
    assert money_error("100 usd") == (
        (),
        "Value error, 'usd' is not an ISO 4217 currency code: codes are upper case ('USD')",
    )


def test_an_amount_that_is_not_a_decimal_is_refused() -> None:
    assert money_error("lots USD") == (
        ("amount",),
        "Value error, amount 'lots' is not a decimal number",
    )


def test_an_amount_that_is_not_finite_is_refused() -> None:
    assert money_error("NaN USD") == (
        ("amount",),
        "Value error, amount 'NaN' is not a finite decimal number",
    )


def test_a_negative_amount_is_refused() -> None:
    assert money_error("-5 USD") == (("amount",), "Value error, amount -5 is negative")


def test_money_written_as_one_word_is_refused() -> None:
    assert money_error("14300000000USD") == (
        (),
        "Value error, '14300000000USD' is not money: write '<decimal> <ISO 4217 code>', "
        "e.g. '14300000000 USD', or {amount, currency}",
    )


def test_money_has_no_other_fields() -> None:
    assert money_error({"amount": "1", "currency": "USD", "cents": 5}) == (
        ("cents",),
        "Extra inputs are not permitted",
    )


def test_money_dumps_its_amount_as_a_plain_decimal_string() -> None:
    money = Money(amount=Decimal("1E+10"), currency="USD")
    assert (money.model_dump(mode="json"), str(money)) == (
        {"amount": "10000000000", "currency": "USD"},
        "10000000000 USD",
    )


def test_decimal_text_never_uses_exponent_notation() -> None:
    assert [decimal_text(Decimal(v)) for v in ("1E+3", "1.50", "0E-4")] == [
        "1000",
        "1.50",
        "0.0000",
    ]


# --- slugs ---


@pytest.mark.parametrize("slug", ["scale-ai", "meta", "series-f", "a1", "2024-fund"])
def test_a_slug_of_lowercase_letters_digits_and_single_hyphens_is_accepted(slug: str) -> None:
    appointed = fact("DirectorAppointed", "2020-01-01", person=slug)
    assert appointed.model_dump()["person"] == slug


@pytest.mark.parametrize(
    "slug", ["Scale-AI", "scale_ai", "scale ai", "-scale", "scale-", "scale--ai", ""]
)
def test_a_slug_with_other_characters_or_stray_hyphens_is_refused(slug: str) -> None:
    loc, kind, _ = invalid({"type": "DirectorAppointed", "person": slug})
    assert (loc, kind) == (("DirectorAppointed", "person"), "string_pattern_mismatch")


def test_a_slug_must_be_a_string_not_a_number() -> None:
    assert invalid({"type": "DirectorAppointed", "person": 42}) == (
        ("DirectorAppointed", "person"),
        "string_type",
        "Input should be a valid string",
    )


# --- dates ---


@pytest.mark.parametrize("text", ["2024-02-30", "2023-02-29", "2024-13-01", "2024-00-10"])
def test_an_impossible_date_is_refused_naming_the_value(text: str) -> None:
    assert invalid({"type": "BoardSizeSet", "seats": 3, "effective_date": text}) == (
        ("BoardSizeSet", "effective_date"),
        "value_error",
        f"Value error, {text!r} is not a valid ISO date (YYYY-MM-DD)",
    )


@pytest.mark.parametrize("value", ["2024-1-1", "01/02/2024", "2024-01-01T00:00:00", 20240101])
def test_a_date_not_written_yyyy_mm_dd_is_refused(value: object) -> None:
    assert invalid({"type": "BoardSizeSet", "seats": 3, "effective_date": value}) == (
        ("BoardSizeSet", "effective_date"),
        "value_error",
        f"Value error, {value!r} is not a valid ISO date (YYYY-MM-DD)",
    )


def test_a_datetime_is_not_an_effective_date() -> None:
    moment = datetime(2024, 1, 1, 12, 0)
    loc, kind, _ = invalid({"type": "BoardSizeSet", "seats": 3, "effective_date": moment})
    assert (loc, kind) == (("BoardSizeSet", "effective_date"), "value_error")


@given(
    st.one_of(
        st.dates().map(date.isoformat),
        st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z"),
        st.from_regex(r"\A[0-9+T:Z .-]{6,20}\Z"),
        st.text(max_size=12),
    )
)
def test_an_event_file_line_takes_exactly_the_dates_a_yaml_or_api_value_takes(text: str) -> None:
    """JSON text is validated by pydantic-core's date parser, Python values by
    ``_check_iso_date``: the same dates pass, with the same value."""

    def outcome(validate: Any, data: Any) -> date | None:
        try:
            return validate(data).effective_date  # type: ignore[no-any-return]
        except ValidationError:
            return None

    body = {"type": "BoardSizeSet", "company": "acme", "seats": 3, "effective_date": text}
    assert outcome(FACT_ADAPTER.validate_json, json.dumps(body)) == outcome(
        FACT_ADAPTER.validate_python, body
    )


def test_a_leap_day_and_a_date_object_are_accepted() -> None:
    assert [
        fact("BoardSizeSet", "2024-02-29", seats=3).effective_date,
        fact("BoardSizeSet", date(2021, 3, 4), seats=3).effective_date,
    ] == [date(2024, 2, 29), date(2021, 3, 4)]


# --- percentages: 0-100, exactly 4 decimals, half-even, None on a zero denominator ---


def test_a_percentage_has_exactly_four_decimals() -> None:
    assert [str(percent(p, w)) for p, w in [(1, 3), (2, 3), (1, 4), (7, 7), (0, 10)]] == [
        "33.3333",
        "66.6667",
        "25.0000",
        "100.0000",
        "0.0000",
    ]


def test_a_percentage_exactly_half_way_rounds_to_the_even_last_digit_both_ways() -> None:
    # 1 / 2,000,000 = 0.00005 % -> 0.0000 (down to even); 3 / 2,000,000 = 0.00015 % -> 0.0002 (up)
    assert (percent(1, 2_000_000), percent(3, 2_000_000)) == (Decimal("0.0000"), Decimal("0.0002"))
    assert (str(percent(1, 2_000_000)), str(percent(3, 2_000_000))) == ("0.0000", "0.0002")


def test_a_percentage_of_a_zero_denominator_is_none() -> None:
    assert (percent(0, 0), percent(5, 0)) == (None, None)


@given(
    st.lists(st.integers(-(10**18), 10**18), max_size=5),
    st.integers(-(10**18), 10**18),
    st.integers(1, 10**9),
    st.integers(-50, 50),
)
def test_a_column_of_percentages_is_each_part_rounded_half_even(
    parts: list[int], whole: int, m: int, k: int
) -> None:
    # (2k + 1)·m of 2·10^6·m is (2k + 1) × 0.00005 %: exactly half way between two results.
    for column, of in [(parts, whole), ([(2 * k + 1) * m, *parts], 2_000_000 * m)]:
        exact = [
            None if of == 0 else str(Decimal(round(Fraction(p * 100, of) * 10_000)).scaleb(-4))
            for p in column
        ]
        assert percent_texts(column, of) == exact


# --- share rounding and split ratios ---


def test_derived_shares_round_half_to_even_once() -> None:
    assert [round_shares(Fraction(n, d)) for n, d in [(5, 2), (7, 2), (10, 3), (11, 3)]] == [
        2,
        4,
        3,
        4,
    ]


def test_a_split_ratio_reads_as_new_per_old() -> None:
    assert (parse_ratio("2:1"), parse_ratio("1:10"), parse_ratio("3:2")) == (
        (2, 1),
        (1, 10),
        (3, 2),
    )


@pytest.mark.parametrize("ratio", ["2:0", "0:1", "2/1", "1.5:1", "2", "02:1", "1000001:1"])
def test_a_split_ratio_that_is_not_two_integers_from_1_to_a_million_is_refused(
    ratio: str,
) -> None:
    loc, kind, _ = invalid({"type": "StockSplit", "share_class": "common", "ratio": ratio})
    assert (loc, kind) == (("StockSplit", "ratio"), "string_pattern_mismatch")


def test_a_split_ratio_written_as_a_number_is_refused() -> None:
    assert invalid({"type": "StockSplit", "share_class": "common", "ratio": 2}) == (
        ("StockSplit", "ratio"),
        "string_type",
        "Input should be a valid string",
    )
