"""Value objects and the one rounding policy of the ledger.

Shares are ``int``; money, prices and percentages are ``Decimal``. Nothing here is a float:
a float in the input is refused with a message that says how to write the number.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Context, Decimal, Inexact, InvalidOperation
from fractions import Fraction
from functools import lru_cache
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_serializer,
    model_validator,
)
from pydantic_core import CoreSchema, core_schema

# --- Bounds: whatever the ledger accepts fits every column and every sum, on both engines. ---

MAX_SHARES = 10**15
"""The most shares (or seats) one event may give."""
MAX_TOTAL = 10**18
"""The most a count the ledger derives or sums may reach (a derived count, a split's result,
a class or company total), and a valuation it derives: under PostgreSQL's BIGINT
(9.2 × 10^18), and exact in a Decimal of 28 digits."""
MAX_AMOUNT = 10**15
"""The largest amount of money an event may give (as in the Open Cap Table Format)."""
MONEY_PLACES = 10
"""Decimal places of money and percentages (as in the Open Cap Table Format)."""
MAX_VOTES_PER_SHARE = 10**6
"""Votes per share of a class: a company's votes stay under 10^24, which the ledger sums in
Python, never in SQL."""
FIRST_DATE = date(1800, 1, 1)
LAST_DATE = date(2999, 12, 31)

TEXT_PATTERN = r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$"
"""Text without control characters, tab and newline apart."""

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


SLUG_RULE = "lowercase letters, digits and single hyphens, e.g. 'scale-ai'"

Slug = Annotated[str, Field(strict=True, max_length=100, pattern=SLUG_PATTERN)]
"""An identifier of a company, party, person or share class (checked by pydantic-core:
a Python validator here would cost a third of the validation time of an event)."""


def _text(max_length: int, *, min_length: int = 0) -> Any:
    return Field(min_length=min_length, max_length=max_length, pattern=TEXT_PATTERN)


Name = Annotated[str, _text(200, min_length=1)]
"""A name: 1 to 200 characters."""
Line = Annotated[str, _text(200)]
"""A title, round, reason or jurisdiction: at most 200 characters."""
Source = Annotated[str, _text(2_000)]
Note = Annotated[str, _text(10_000)]
ExternalId = Annotated[str, _text(100, min_length=1)]
Identifiers = Annotated[
    dict[Annotated[str, _text(100, min_length=1)], Annotated[str, _text(200)]],
    Field(max_length=50),
]
"""A company's identifiers (cik, lei, …): at most 50, keys ≤ 100 and values ≤ 200
characters."""


_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _check_iso_date(value: Any) -> Any:
    # YAML gives date objects; JSON gives strings. Anything else (numbers, datetimes,
    # "2024-02-30") is refused rather than coerced.
    if isinstance(value, date) and not hasattr(value, "hour"):
        return _in_range(value)
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return _bad_date(value)
        return _in_range(day)
    _bad_date(value)


DATE_RANGE = f"from {FIRST_DATE} to {LAST_DATE}"


def _in_range(day: date) -> date:
    if not FIRST_DATE <= day <= LAST_DATE:
        raise ValueError(f"{day} is outside the dates the ledger takes ({DATE_RANGE})")
    return day


def _bad_date(value: Any) -> date:
    raise ValueError(f"{value!r} is not a valid ISO date (YYYY-MM-DD)")


class _IsoDateSchema:
    """JSON text is checked by pydantic-core's own pattern and date parser, which take exactly
    what ``_check_iso_date`` takes (YYYY-MM-DD, a real day; ``tests/property/test_values.py``)
    without a Python call per date: a quarter of the validation time of an event, and of
    reading the log back. Python values (YAML dates, dicts given to the API) go through
    ``_check_iso_date``."""

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> CoreSchema:
        return core_schema.json_or_python_schema(
            # The pattern first: the date parser alone takes "0" as a Unix timestamp. A date out
            # of range fails here and again in ``_check_iso_date``, which words the message.
            json_schema=core_schema.chain_schema(
                [
                    core_schema.str_schema(pattern=_ISO_DATE.pattern),
                    core_schema.date_schema(ge=FIRST_DATE, le=LAST_DATE),
                ]
            ),
            python_schema=core_schema.no_info_plain_validator_function(_check_iso_date),
            serialization=core_schema.to_string_ser_schema(when_used="json"),
        )

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: Any) -> Any:
        return {
            **handler(core_schema.date_schema()),  # {"type": "string", "format": "date"}
            "description": f"an ISO date (YYYY-MM-DD) {DATE_RANGE}",
        }


IsoDate = Annotated[date, _IsoDateSchema()]


def _no_float(what: str) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError(f"{what} {value!r} is not a finite number")
            raise ValueError(
                f"{what} {value!r} is a float; write it as a quoted decimal string "
                f'(e.g. "{value}") so no precision is lost'
            )
        if isinstance(value, bool):
            raise ValueError(f"{what} must be a number, not {value!r}")
        if isinstance(value, str):
            if not value.isascii():  # Decimal also reads other scripts' digits
                raise ValueError(f"{what} {value!r} is not a decimal number")
            try:
                parsed = Decimal(value.strip().replace("_", ""))
            except InvalidOperation:
                raise ValueError(f"{what} {value!r} is not a decimal number") from None
            if not parsed.is_finite():
                raise ValueError(f"{what} {value!r} is not a finite decimal number")
            value = parsed
        # Here, not by the bounds: "-0" equals 0, and a sign is never meant.
        if isinstance(value, Decimal) and value.is_signed():
            raise ValueError(f"{what} {value} is negative" if value else f"{what} -0: write 0")
        if isinstance(value, int) and value < 0:
            raise ValueError(f"{what} {value} is negative")
        return _kept_places(value) if isinstance(value, Decimal) else value

    return check


_PLACE = Decimal(1).scaleb(-MONEY_PLACES)
_EXACT = Context(prec=60, traps=[Inexact, InvalidOperation])


def _kept_places(value: Decimal) -> Decimal:
    """``value`` written with at most ``MONEY_PLACES`` decimal places when only zeros are past
    them: the bounds count places without trailing zeros, and ``0E-100000000`` (a zero of a
    hundred million places, a few bytes to write) would be stored written out."""
    if not value.is_finite() or value.as_tuple().exponent >= -MONEY_PLACES:  # type: ignore[operator]
        return value
    if not value:
        return Decimal(0)
    try:
        return value.quantize(_PLACE, context=_EXACT)
    except (Inexact, InvalidOperation):
        return value  # more places than are kept, or too large: the bounds refuse it


PositiveShares = Annotated[int, Field(strict=True, gt=0, le=MAX_SHARES)]
"""A count of shares given in an event: an integer from 1 to 10^15 (no strings, floats or
booleans)."""

DerivedShares = Annotated[int, Field(strict=True, gt=0, le=MAX_TOTAL)]
"""A count of shares the ledger derives: an integer from 1 to 10^18."""

Reserve = Annotated[int, Field(strict=True, ge=0, le=MAX_SHARES)]
"""A plan's reserve as a ``StockPlanReserveChanged`` gives it: 0 to 10^15."""

MAX_MONTHS = 1_200
Months = Annotated[int, Field(strict=True, ge=0, le=MAX_MONTHS)]
"""A number of months of a vesting schedule: 0 to 1,200 (a century)."""

VotesPerShare = Annotated[int, Field(strict=True, ge=0, le=MAX_VOTES_PER_SHARE)]


@lru_cache(maxsize=1)
def currency_codes() -> frozenset[str]:
    """The ISO 4217 alphabetic codes, from the pycountry package (no download)."""
    import pycountry  # ISO 4217 data, maintained upstream; loaded by the first money checked

    return frozenset(c.alpha_3 for c in pycountry.currencies)


Amount = Annotated[
    Decimal,
    BeforeValidator(_no_float("amount")),
    Field(ge=0, le=MAX_AMOUNT, decimal_places=MONEY_PLACES),
]
"""An exact amount: 0 to 10^15, at most 10 decimal places."""


class Money(BaseModel):
    """An amount of a currency: ``{amount: "14300000000", currency: USD}`` or the string
    ``"14300000000 USD"``. The amount is an exact ``Decimal`` from 0 to 10^15 with at most
    10 decimal places."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    amount: Amount
    currency: str

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: CoreSchema, handler: Any) -> Any:
        return money_json_schema(positive=False)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: Any) -> Any:
        if isinstance(data, str):
            parts = data.split()
            if len(parts) != 2:
                raise ValueError(
                    f"{data!r} is not money: write '<decimal> <ISO 4217 code>', "
                    "e.g. '14300000000 USD', or {amount, currency}"
                )
            return {"amount": parts[0], "currency": parts[1]}
        if isinstance(data, float | int):
            raise ValueError(
                f"{data!r} has no currency: write '<decimal> <ISO 4217 code>' or "
                "{amount, currency}"
            )
        return data

    @field_serializer("amount")
    def _plain_amount(self, amount: Decimal) -> str:
        return decimal_text(amount)

    @model_validator(mode="after")
    def _known_currency(self) -> Money:
        if self.currency not in currency_codes():
            if self.currency.upper() in currency_codes():
                raise ValueError(
                    f"{self.currency!r} is not an ISO 4217 currency code: codes are upper "
                    f"case ({self.currency.upper()!r})"
                )
            raise ValueError(f"{self.currency!r} is not an ISO 4217 currency code")
        return self

    def __str__(self) -> str:
        return f"{decimal_text(self.amount)} {self.currency}"


def _positive(money: Money) -> Money:
    if not money.amount:
        raise ValueError(f"{money} must be greater than 0")
    return money


DECIMAL_PATTERN = r"(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
"""A decimal as an event file writes it (without a sign: nothing here is negative)."""


def money_json_schema(*, positive: bool) -> dict[str, Any]:
    """What an event file may write for money, as JSON Schema: the string or the object."""
    low = {"exclusiveMinimum": 0} if positive else {"minimum": 0}
    number = {"type": "number", **low, "maximum": MAX_AMOUNT}
    return {
        "description": (
            f"money: '<amount> <ISO 4217 code>' or {{amount, currency}}; the amount "
            f"{'greater than 0' if positive else 'from 0'} to 10^15, with at most "
            f"{MONEY_PLACES} decimal places"
        ),
        "anyOf": [
            {"type": "string", "pattern": rf"^\s*{DECIMAL_PATTERN}\s+[A-Z]{{3}}\s*$"},
            {
                "type": "object",
                "properties": {
                    "amount": {
                        "anyOf": [number, {"type": "string", "pattern": rf"^{DECIMAL_PATTERN}$"}]
                    },
                    "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
                },
                "required": ["amount", "currency"],
                "additionalProperties": False,
            },
        ],
    }


PositiveMoney = Annotated[
    Money, AfterValidator(_positive), WithJsonSchema(money_json_schema(positive=True))
]
"""Money greater than zero: an investment's amount, a valuation (a divisor)."""


Percent = Annotated[
    Decimal,
    BeforeValidator(_no_float("percentage")),
    Field(gt=0, lt=100, decimal_places=MONEY_PLACES),
    WithJsonSchema(
        {
            "description": f"a percentage between 0 and 100, at most {MONEY_PLACES} decimal places",
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 100},
                {"type": "string", "pattern": rf"^{DECIMAL_PATTERN}$"},
            ],
        }
    ),
]
"""A percentage strictly between 0 and 100, at most 10 decimal places."""

RatePercent = Annotated[
    Decimal,
    BeforeValidator(_no_float("percentage")),
    Field(ge=0, le=100, decimal_places=MONEY_PLACES),
    WithJsonSchema(
        {
            "description": f"a percentage from 0 to 100, at most {MONEY_PLACES} decimal places",
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 100},
                {"type": "string", "pattern": rf"^{DECIMAL_PATTERN}$"},
            ],
        }
    ),
]
"""A rate from 0 to 100 percent (a note's interest), at most 10 decimal places."""

_TERM = r"(?:[1-9][0-9]{0,5}|1000000)"
RATIO_PATTERN = rf"^({_TERM}):({_TERM})$"
_RATIO = re.compile(RATIO_PATTERN)
RATIO_RULE = "'N:M' of integers from 1 to 1,000,000, e.g. '2:1'"

Ratio = Annotated[str, Field(strict=True, pattern=RATIO_PATTERN)]
"""A split ratio ``"N:M"``: every M shares become N; 1 ≤ N, M ≤ 10^6."""


def parse_ratio(ratio: str) -> tuple[int, int]:
    """``"N:M"`` → ``(N, M)``: every M shares become N. (A ratio stored under looser bounds
    than ``RATIO_PATTERN``'s is read as it was stored.)"""
    terms, _, share = ratio.partition(":")
    return int(terms), int(share)


# --- The rounding policy: every rounding of the ledger goes through these functions. ---


def round_shares(value: Fraction) -> int:
    """Derived share counts round half to even, once, to an integer."""
    return round(value)  # Fraction.__round__ rounds half to even


def percent(part: int, whole: int) -> Decimal | None:
    """``part / whole`` on a 0–100 scale with exactly 4 decimals, half-even; ``None`` if
    ``whole`` is 0."""
    units = _percent_units([part], whole)
    return None if units is None else Decimal(units[0]).scaleb(-4)


def percent_text(part: int, whole: int) -> str | None:
    """``percent`` as its decimal text (``"49.0000"``), without building a Decimal."""
    return percent_texts([part], whole)[0]


def percent_texts(parts: list[int], whole: int) -> list[str | None]:
    """``percent_text`` of each of ``parts`` of one ``whole`` (a column of a cap table of a
    thousand holders), in one call."""
    units = _percent_units(parts, whole)
    if units is None:
        return [None] * len(parts)
    # Ten-thousandths as text: "49.0000", from tables of the texts of 0 to 100 and of the
    # 10,000 decimals (a third of the time of formatting them).
    integers, decimals = _percent_texts()
    return [
        integers[u // 10_000] + decimals[u % 10_000] if 0 <= u < 1_010_000 else _percent_of(u)
        for u in units
    ]


@lru_cache(maxsize=1)
def _percent_texts() -> tuple[list[str], list[str]]:
    """The texts of the integer parts 0 to 100 of a percentage, and of its four decimals by
    their value: ".0000" to ".9999"."""
    return [str(n) for n in range(101)], [f".{n:04d}" for n in range(10_000)]


def _percent_of(units: int) -> str:
    """A percentage in ten-thousandths as text, of any size; a negative part (never in a cap
    table) keeps its sign."""
    sign = "-" if units < 0 else ""
    return f"{sign}{abs(units) // 10_000}.{abs(units) % 10_000:04d}"


def _percent_units(parts: list[int], whole: int) -> list[int] | None:
    """The rounding of percentages, in ten-thousandths of a percent: round(Fraction(part *
    100, whole) * 10_000) in integers, half-even; None if ``whole`` is 0."""
    if whole == 0:
        return None
    if whole < 0:
        parts, whole = [-part for part in parts], -whole
    # Half up, a column at a time: floor((part × 10^6 + whole / 2) / whole).
    twice = 2 * whole
    units = [(part * 2_000_000 + whole) // twice for part in parts]
    if whole % 2 == 0:
        # Exactly half way (the remainder is half the whole, which only an even whole has):
        # half-even takes the even neighbour, one below an odd result.
        half = whole // 2
        for i, part in enumerate(parts):
            if part * 1_000_000 % whole == half and units[i] % 2 == 1:
                units[i] -= 1
    return units


def round_down_shares(value: Fraction) -> int:
    """Shares a conversion derives round down, once, to an integer."""
    return value.numerator // value.denominator


def split_price(price: Decimal, n: int, m: int) -> Decimal:
    """A price per share after an ``N:M`` split (every M shares become N): price × M / N,
    half-even to 10 decimal places."""
    exact = Decimal(round(Fraction(price) * m / n * 10**MONEY_PLACES)).scaleb(-MONEY_PLACES)
    return exact.normalize() if exact else Decimal(0)


def money_amount(value: Fraction) -> Decimal:
    """A computed amount of money (an implied valuation): to the cent, half-even."""
    return Decimal(round(value * 100)).scaleb(-2)


def decimal_text(value: Decimal) -> str:
    """A decimal in plain notation, never exponent notation ('1E+10' → '10000000000')."""
    return format(value, "f")
