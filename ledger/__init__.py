"""corpledger: an event-sourced ledger of corporate actions.

>>> from ledger import Ledger
>>> with Ledger.open("sqlite:///corpledger.db") as ledger:      # doctest: +SKIP
...     ledger.record(events)
...     ledger.cap_table("scale-ai", as_of=date(2025, 6, 13))

The names below load on first use, so that ``import ledger.cli`` (the command line's start)
does not pay for the database and model libraries a command may never need.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import Ledger, RecordResult
    from .domain.errors import ConflictError, InputError, LedgerError, RuleViolation, StoreError
    from .ports import ProjectionError

_HOMES = {
    "ConflictError": ".domain.errors",
    "InputError": ".domain.errors",
    "Ledger": ".app",
    "LedgerError": ".domain.errors",
    "ProjectionError": ".ports",
    "RecordResult": ".app",
    "RuleViolation": ".domain.errors",
    "StoreError": ".domain.errors",
}

__all__ = [
    "ConflictError",
    "InputError",
    "Ledger",
    "LedgerError",
    "ProjectionError",
    "RecordResult",
    "RuleViolation",
    "StoreError",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(home, __name__), name)
    globals()[name] = value
    return value
