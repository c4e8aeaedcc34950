"""corpledger: an event-sourced ledger of corporate actions.

>>> from ledger import Ledger
>>> with Ledger.open("sqlite:///corpledger.db") as ledger:      # doctest: +SKIP
...     ledger.record(events)
...     ledger.cap_table("scale-ai", as_of=date(2025, 6, 13))
"""

from .app import Ledger, RecordResult
from .domain.errors import ConflictError, InputError, LedgerError, RuleViolation, StoreError
from .ports import ProjectionError

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
