"""The one fold: every event type's rule and evolve, and the fold of a company's entries.

``evolve(state, fact)`` applies a fact without checking. Each rule is a pure check of
(state before, fact) that raises ``Broken``; the handlers live by subject (``equity``,
``governance``) and meet in ``HANDLERS``. ``Timeline.admit`` (``timeline``) runs the checks
over a company's timeline; ``replay`` only evolves. The aggregate's writes, the queries and
the projections all use these functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from . import equity as e
from . import governance as g
from . import instruments as i
from .entry import Entry
from .errors import Broken
from .events import Fact
from .state import CompanyState, Handler

HANDLERS: dict[str, Handler] = {**e.HANDLERS, **g.HANDLERS, **i.HANDLERS}
"""Each event type's (rule, evolve). The one place a rule lives."""

EVOLVE = {name: handler[1] for name, handler in HANDLERS.items()}


def evolve(state: CompanyState, fact: Fact) -> CompanyState:
    """Apply ``fact`` to ``state`` (in place) without checking; returns the state."""
    EVOLVE[fact.type](state, fact)
    return state


def check(state: CompanyState, fact: Fact) -> None:
    """Raise ``Broken`` if ``fact`` may not follow ``state``."""
    if state.registered is None and fact.type != "CompanyRegistered":
        raise Broken(1, f"{fact.company} is not registered at this date")
    HANDLERS[fact.type][0](state, fact)


def derive(state: CompanyState, fact: Fact) -> Fact:
    """Fill what the ledger derives at recording: the shares of an ``InvestmentMade`` given by
    a stake or a valuation, and of a ``ConvertibleConverted`` given by a price."""
    return i.derive(state, e.derive(state, fact))


DERIVED = ("InvestmentMade", "ConvertibleConverted")
"""The event types whose recording may fill a count the ledger derives."""


def replay(entries: Iterable[Entry], company: str, *, as_of: date | None = None) -> CompanyState:
    """The state from ``entries`` (already in timeline order) effective on or before ``as_of``."""
    state = CompanyState(company)
    for entry in entries:
        if as_of is not None and entry.fact.effective_date > as_of:
            break
        EVOLVE[entry.fact.type](state, entry.fact)
    return state


def replay_known(
    entries: Iterable[Entry], company: str, *, as_of: date | None = None
) -> CompanyState:
    """The fold of the log as known at an earlier position: like ``replay``, except that an
    event that cannot apply where it stands is left out. That happens only part-way through
    a batch: a batch is checked and committed whole, so a position inside it can show an
    event without another of the same batch it relies on (an issuance recorded after the
    transfer it funds). At batch boundaries every event applies and this equals ``replay``."""
    state = CompanyState(company)
    for entry in entries:
        if as_of is not None and entry.fact.effective_date > as_of:
            break
        apply_known(state, entry)
    return state


def apply_known(state: CompanyState, entry: Entry) -> bool:
    """One step of ``replay_known``: apply ``entry`` to ``state`` (in place) if it can apply
    where it stands; returns whether it did. The projections fold with it step by step."""
    fact = entry.fact
    try:
        check(state, fact)
    except Broken as broken:
        # The bounds are for what is recorded; what is known folds as ``replay`` folds it
        # (every check of a fact runs before its bounds: a numbered rule held).
        if broken.rule != "bounds":
            return False
    EVOLVE[fact.type](state, fact)
    return True
