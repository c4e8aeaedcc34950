"""Reading the whole log back in position order and folding every company from it.

The log is read in pages by position, each stored state decoded by the mapper's decoder
(pydantic, the one schema), and each company's events folded in timeline order
(``Timeline``: effective date, then version) into its state now. Memory grows with the log:
this is for stores that fit in memory (a rebuild, an audit, a benchmark); ``verify`` and
the read models stream instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .domain.fold import Entry, Timeline
from .domain.state import CompanyState
from .persistence.mapper import decode_state

if TYPE_CHECKING:
    from .app import Ledger

PAGE = 5_000


def fold_log(ledger: Ledger, page: int = PAGE) -> dict[str, CompanyState]:
    """Every company's state as of its last event, folded from the whole log."""
    store = ledger.store
    stop = store.last_position()
    entries: dict[str, list[Entry]] = {}
    after = 0
    while after < stop:
        rows = store.select_chain(after, stop, page)
        if not rows:
            break
        for row in rows:
            event_id, _, fact = decode_state(row.state)
            company = entries.get(row.originator_id)
            if company is None:
                company = entries[row.originator_id] = []
            company.append(Entry(fact, row.version, "", event_id))
        after = rows[-1].position
    return {company: Timeline(company, events).end for company, events in entries.items()}
