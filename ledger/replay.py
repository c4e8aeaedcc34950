"""Reading the whole log back in position order and folding every company from it.

The log is read by one query in position order, a page at a time (``EventLog.whole_log``), each
stored state decoded by the mapper's decoder (pydantic, the one schema), and each
company's events folded in timeline order
(effective date, then version; corrections applied) into its state now. Memory grows with the log:
this is for stores that fit in memory (a rebuild, an audit, a benchmark); ``verify`` and
the read models stream instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .domain.corrections import in_force
from .domain.entry import Entry
from .domain.rules import replay
from .domain.state import CompanyState
from .persistence.mapper import decode_state

if TYPE_CHECKING:
    from .app import Ledger

PAGE = 5_000


def fold_log(ledger: Ledger, page: int = PAGE) -> dict[str, CompanyState]:
    """Every company's state as of its last event, folded from the whole log."""
    from .app import gc_paused  # the garbage collector would re-walk every entry kept

    with gc_paused():
        return _fold_log(ledger, page)


def _fold_log(ledger: Ledger, page: int) -> dict[str, CompanyState]:
    entries: dict[str, list[Entry]] = {}
    new = tuple.__new__  # Entry(...) built in C: once per event of the log
    for rows in ledger.store.log.whole_log(page):
        for _, company_id, version, state in rows:
            event_id, _, fact = decode_state(state)
            company = entries.get(company_id)
            if company is None:
                company = entries[company_id] = []
            company.append(new(Entry, (fact, version, "", event_id)))
    # The end state only: the fold of the entries in force (what ``Timeline`` keeps besides
    # is not needed here).
    return {company: replay(in_force(events), company) for company, events in entries.items()}
