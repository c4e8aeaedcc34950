"""The parameters the queries share, parsed the same way on the command line and in the HTTP
API: a date (``as_of``, an audit's bounds) and ``known_at`` (a position, a timestamp or a
date). A value that does not parse is an ``InputError`` naming the option or parameter."""

from __future__ import annotations

import re
from datetime import date, datetime

from .app import KnownAt
from .domain.errors import InputError

# ASCII digits only: ``\d`` would take other scripts' digits, which ``int`` reads too.
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_POSITION = re.compile(r"[+-]?[0-9]+")


def parse_as_of(text: str | None, option: str = "--as-of") -> date | None:
    """``--as-of``: an ISO date, YYYY-MM-DD."""
    return parse_date(option, text)


def parse_date(option: str, text: str | None) -> date | None:
    """A date option: an ISO date, YYYY-MM-DD."""
    if text is None:
        return None
    value = text.strip()
    if not _DATE.fullmatch(value):
        raise InputError(f"{option} {text!r} is not a date: write YYYY-MM-DD, e.g. 2025-06-12")
    try:
        return date.fromisoformat(value)
    except ValueError as e:
        raise InputError(f"{option} {text!r} is not a valid date: {e}") from None


def parse_known_at(text: str | None, option: str = "--known-at") -> KnownAt:
    """``--known-at``: a position (an integer), an ISO 8601 timestamp (naive means UTC) or
    a date (the end of that day, UTC). The API checks the value against the log."""
    if text is None:
        return None
    value = text.strip()
    if _POSITION.fullmatch(value):
        return int(value)
    if _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError as e:
            raise InputError(f"{option} {text!r} is not a valid date: {e}") from None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"{option} {text!r} is not a position (an integer), an ISO 8601 timestamp "
            "(e.g. 2025-06-12T09:30:00Z) or a date (YYYY-MM-DD)"
        ) from None
