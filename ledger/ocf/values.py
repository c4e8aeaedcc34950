"""Values read from OCF objects: share counts, fractions, money, ratios, texts, id lists, and
slugs for the ledger. Anything that cannot be one is ``Refused``: the object's error finding."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from math import gcd
from typing import Any

from ..domain.values import MAX_SHARES, SLUG_PATTERN

_NOT_SLUG = re.compile(r"[^a-z0-9]+")
MAX_SLUG = 100
"""The ledger's longest slug."""
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


KIND_SUFFIXES = {
    "STAKEHOLDER": ".stakeholder",
    "STOCK_CLASS": ".stock-class",
    "STOCK_PLAN": ".stock-plan",
    "VESTING_TERMS": ".vesting-terms",
}
"""What the export adds to the OCF id of an object whose slug is another object's id (OCF ids
are unique across a package, the ledger's slugs only within their kind: a party may be
called ``common`` as a class is); the import takes it off again (a slug has no dot)."""


def readable_slug(value: Any) -> bool:
    """Whether an OCF id is already a slug a person reads (not a UUID)."""
    return (
        isinstance(value, str)
        and len(value) <= MAX_SLUG
        and re.match(SLUG_PATTERN, value) is not None
        and _UUID.match(value) is None
    )


def slugify(text: str) -> str:
    """A ledger slug for a name or an OCF id: lowercase letters, digits and hyphens."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", text)  # camelCase reads as two words
    slug = _NOT_SLUG.sub("-", spaced.lower()).strip("-")[:MAX_SLUG].strip("-")
    return slug or "x"


class Refused(Exception):
    """An object cannot be mapped: its one error finding."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def decimal_of(value: Any, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Refused("bad-number", f"{what} {value!r} is not a number")
    text = str(value)
    if len(text) > 60:
        raise Refused("out-of-bounds", f"{what} {text[:20]}… has {len(text)} characters")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise Refused("bad-number", f"{what} {text!r} is not a number") from None
    if not number.is_finite():
        raise Refused("bad-number", f"{what} {text!r} is not a number")
    return number


def plain(number: Decimal) -> str:
    """A decimal without trailing zeros, never in exponent notation ("100000", "0.1")."""
    return f"{number.normalize():f}"


def count_of(value: Any, what: str) -> int:
    """A share count given as an OCF Numeric: a whole number from 1 to 10^15."""
    if type(value) is str and value.isascii() and value.isdigit() and len(value) <= 16:
        count = int(value)  # the common case, without a Decimal
        if 1 <= count <= MAX_SHARES:
            return count
    number = decimal_of(value, what)
    if number.adjusted() > 18 or not 1 <= number <= MAX_SHARES:
        raise Refused("out-of-bounds", f"{what} {value} is outside 1 to 10^15")
    if number != number.to_integral_value():
        raise Refused("fractional-shares", f"{what} {value} is not a whole number of shares")
    return int(number)


def fraction_of(value: Any, what: str) -> Fraction:
    number = decimal_of(value, what)
    if number.adjusted() > 18:
        raise Refused("out-of-bounds", f"{what} {value} is too large")
    return Fraction(number)


def money_of(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict) or "amount" not in value or "currency" not in value:
        raise Refused("missing-field", f"{what} is not a monetary value {{amount, currency}}")
    amount = decimal_of(value["amount"], what)
    return {"amount": plain(amount), "currency": value["currency"]}


def ratio_of(numerator: int, denominator: int, what: str) -> str:
    """``"N:M"`` in lowest terms, when both fit the ledger's bounds (1 to 10^6)."""
    common = gcd(numerator, denominator)
    n, m = numerator // common, denominator // common
    if not (1 <= n <= 10**6 and 1 <= m <= 10**6):
        raise Refused("not-representable", f"{what} {n}:{m} has terms beyond 1,000,000")
    return f"{n}:{m}"


def text_of(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value.strip() or None if isinstance(value, str) else None


def ids_of(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key)
    return [v for v in value if isinstance(v, str) and v] if isinstance(value, list) else []
