"""Value objects and the one rounding policy of the ledger.

Shares are ``int``; money, prices and percentages are ``Decimal``. Nothing here is a float:
a float in the input is refused with a message that says how to write the number.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import lru_cache
from typing import Annotated, Any

import pycountry  # ISO 4217 data, maintained upstream; no list of our own
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_serializer,
    model_validator,
)
from pydantic_core import CoreSchema, core_schema

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


SLUG_RULE = "lowercase letters, digits and single hyphens, e.g. 'scale-ai'"

Slug = Annotated[str, Field(strict=True, pattern=SLUG_PATTERN)]
"""An identifier of a company, party, person or share class (checked by pydantic-core:
a Python validator here would cost a third of the validation time of an event)."""


_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _check_iso_date(value: Any) -> Any:
    # YAML gives date objects; JSON gives strings. Anything else (numbers, datetimes,
    # "2024-02-30") is refused rather than coerced.
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            _bad_date(value)
    _bad_date(value)


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
            # The pattern first: the date parser alone takes "0" as a Unix timestamp.
            json_schema=core_schema.chain_schema(
                [core_schema.str_schema(pattern=_ISO_DATE.pattern), core_schema.date_schema()]
            ),
            python_schema=core_schema.no_info_plain_validator_function(_check_iso_date),
            serialization=core_schema.to_string_ser_schema(when_used="json"),
        )

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: Any) -> Any:
        return handler(core_schema.date_schema())  # {"type": "string", "format": "date"}


IsoDate = Annotated[date, _IsoDateSchema()]


def _no_float(what: str) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, float):
            raise ValueError(
                f"{what} {value!r} is a float; write it as a quoted decimal string "
                f'(e.g. "{value}") so no precision is lost'
            )
        if isinstance(value, bool):
            raise ValueError(f"{what} must be a number, not {value!r}")
        if isinstance(value, str):
            try:
                parsed = Decimal(value.strip().replace("_", ""))
            except InvalidOperation:
                raise ValueError(f"{what} {value!r} is not a decimal number") from None
            if not parsed.is_finite():
                raise ValueError(f"{what} {value!r} is not a finite decimal number")
            return parsed.copy_abs() if parsed.is_zero() else parsed  # no "-0"
        return value

    return check


PositiveShares = Annotated[int, Field(strict=True, gt=0)]
"""A count of shares: an integer greater than zero (no strings, floats or booleans)."""


@lru_cache(maxsize=1)
def currency_codes() -> frozenset[str]:
    """The ISO 4217 alphabetic codes, from the pycountry package (no download)."""
    return frozenset(c.alpha_3 for c in pycountry.currencies)


class Money(BaseModel):
    """An amount of a currency: ``{amount: "14300000000", currency: USD}`` or the string
    ``"14300000000 USD"``. The amount is an exact, non-negative ``Decimal``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: Annotated[Decimal, BeforeValidator(_no_float("amount")), Field(ge=0)]
    currency: str

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
            raise ValueError(f"{self.currency!r} is not an ISO 4217 currency code")
        return self

    def __str__(self) -> str:
        return f"{decimal_text(self.amount)} {self.currency}"


Percent = Annotated[Decimal, BeforeValidator(_no_float("percentage"))]

_RATIO = re.compile(r"^([1-9][0-9]*):([1-9][0-9]*)$")


def _check_ratio(value: Any) -> Any:
    if not isinstance(value, str) or not _RATIO.match(value):
        raise ValueError(f"{value!r} is not a split ratio 'N:M' of positive integers, e.g. '2:1'")
    return value


Ratio = Annotated[str, BeforeValidator(_check_ratio)]


def parse_ratio(ratio: str) -> tuple[int, int]:
    """``"N:M"`` → ``(N, M)``: every M shares become N."""
    match = _RATIO.match(ratio)
    assert match is not None  # validated on the way in
    return int(match.group(1)), int(match.group(2))


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
    # Ten-thousandths as text: "49.0000"; a negative part (never in a cap table) keeps its sign.
    return [
        f"{u // 10_000}.{u % 10_000:04d}" if u >= 0 else f"-{-u // 10_000}.{-u % 10_000:04d}"
        for u in units
    ]


def _percent_units(parts: list[int], whole: int) -> list[int] | None:
    """The rounding of percentages, in ten-thousandths of a percent: round(Fraction(part *
    100, whole) * 10_000) in integers, half-even on the remainder; None if ``whole`` is 0."""
    if whole == 0:
        return None
    units = []
    for part in parts:
        q, r = divmod(part * 1_000_000, whole)
        if 2 * r > whole or (2 * r == whole and q % 2 == 1):
            q += 1
        units.append(q)
    return units


def money_amount(value: Fraction) -> Decimal:
    """A computed amount of money (an implied valuation): to the cent, half-even."""
    return Decimal(round(value * 100)).scaleb(-2)


def decimal_text(value: Decimal) -> str:
    """A decimal in plain notation, never exponent notation ('1E+10' → '10000000000')."""
    return format(value, "f")
