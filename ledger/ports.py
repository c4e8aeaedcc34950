"""The ports of the ledger: what it needs from the read models, and how it finds them.

Nothing in ``ledger/`` imports ``projections/`` (the dependency rule, STYLE.md 1): the read
models implement ``ReadModels`` and are found at run time through the entry point group
``corpledger.read_models`` (declared in ``pyproject.toml``). Without one installed the ledger
answers every query by folding the events.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import date
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from .domain.errors import LedgerError
from .reports import Board, CapTable, Grants, Holdings, Roster

if TYPE_CHECKING:
    from .app import Ledger
    from .domain.entry import Entry
    from .domain.state import CompanyState

ENTRY_POINT_GROUP = "corpledger.read_models"


class StuckEvent(NamedTuple):
    """A stored event the projections cannot apply (a value beyond what a read-model column
    holds, say, stored by an older version): they stand just before it and stay there, since
    an event is never skipped. ``type`` and ``effective_date`` are None when the event cannot
    even be read; ``event_id`` too when its JSON has none."""

    position: int
    company: str
    event_id: str | None
    type: str | None
    effective_date: date | None
    reason: str

    def place(self) -> str:
        """``position 12 (company acme, event 5c0e…, SharesIssued of 2021-01-01)``."""
        event = f"event {self.event_id}" if self.event_id else "no event id"
        if self.type is not None:
            event += f", {self.type}"
            if self.effective_date is not None:
                event += f" of {self.effective_date}"
        return f"position {self.position} (company {self.company}, {event})"


class ProjectionError(LedgerError):
    """A projection cannot go on. When an event is the cause, ``stuck`` names it and the
    message names the projections and the event (position, company, event id, type, the
    reason); the projections then stand just before it, every batch they committed whole.
    Otherwise (``stuck`` None) the tables are the cause: out of step, or changed behind the
    projections' back."""

    def __init__(self, message: str, *, stuck: StuckEvent | None = None) -> None:
        super().__init__(message)
        self.stuck = stuck


class ProjectionStatus(NamedTuple):
    """Where a projection stands: its tracked position, how far behind the log it is, and the
    event it cannot apply if that is why (None when it can go on)."""

    name: str
    position: int
    lag: int
    stuck: StuckEvent | None = None


Known = Callable[[str, int], "tuple[Sequence[Entry], CompanyState] | None"]
"""What the ledger holds of a company just before its event ``seq`` (called with the
company and ``seq``): its events in force, in timeline order, and the state they fold to
(the caller's to read, not to change); None when it does not hold exactly those (they are
read from the log)."""


class InTransactionProjector(Protocol):
    """The read models of one append, written in its transaction (``projections.inline``)."""

    def fold(self, entries: Sequence[Entry], first: int) -> None:
        """Project ``entries``, just written at positions ``first``, ``first + 1``…; a
        database error is raised (the append fails), the fold's stops the projecting."""
        ...

    def finish(self) -> int:
        """Move the tracking positions to the last event projected; returns it."""
        ...


class ReadModels(Protocol):
    """The read models of one ledger (``projections.service.ReadModelService``).

    Positions are those of the global log. Every query reads the tables as of ``as_of``,
    known at position ``known_at`` (None: the end of the log), catching up first when the
    tables are behind it, and raises ``InputError`` for a company the log does not have."""

    def in_transaction(
        self,
        raw: Any,
        start: int,
        settle: Callable[[], None],
        behind: Callable[[Callable[[], None]], None],
        known: Known,
    ) -> InTransactionProjector | None:
        """A projector writing the read models of the events an append writes, in the append's
        transaction, through ``raw`` (its driver connection; ``start``: the position before
        its first event; ``settle`` waits for its writes in flight, ``behind`` runs one after
        them; ``known``: the companies as the ledger already read them), if the read models
        stand at ``start``; else None (they catch up after the commit)."""
        ...

    def catch_up(self, until: int | None = None) -> int:
        """Project every event up to ``until`` (default: the end of the log), in batches, each
        one transaction; returns the position the projections stand at. An event they cannot
        apply raises ``ProjectionError`` naming it (``stuck``), once the events before it
        are committed."""
        ...

    def tracked(self) -> int:
        """The position the projections stand at (the lowest, were they out of step)."""
        ...

    def run(
        self,
        *,
        follow: bool,
        stop: threading.Event,
        poll: float = 1.0,
        on_batch: Callable[[int], None] | None = None,
        batch_size: int | None = None,
    ) -> int:
        """Catch up; with ``follow``, keep catching up as events arrive until ``stop`` is set.
        ``batch_size`` events per transaction (default 1,000). Returns the position reached."""
        ...

    def status(self) -> list[ProjectionStatus]:
        """Each projection's position and lag behind the end of the log, and the event after
        its position if it cannot apply it (tried, and rolled back)."""
        ...

    def rebuild(self, company: str | None = None) -> int:
        """Rebuild every table from the log (or one company's rows); returns the position.
        An event the projections cannot apply stops it with ``ProjectionError`` naming the
        event: a full rebuild keeps the batches before it, a company's rebuild nothing."""
        ...

    def cap_table(self, company: str, as_of: date, known_at: int | None = None) -> CapTable: ...

    def grants(
        self,
        company: str,
        as_of: date,
        known_at: int | None = None,
        holder: str | None = None,
    ) -> Grants:
        """The company's awards (of ``holder`` if given) with what they amount to on
        ``as_of``."""
        ...

    def roster(self, company: str, as_of: date, known_at: int | None = None) -> Roster: ...

    def board(self, company: str, as_of: date, known_at: int | None = None) -> Board: ...

    def holdings(self, party: str, as_of: date, known_at: int | None = None) -> Holdings: ...

    def verify(self, company: str | None = None) -> str:
        """Check the tables against the fold; a one-line summary, or raise ``LedgerError``
        naming the first difference, or ``ProjectionError`` naming the event the tables
        cannot get past (they are behind the fold)."""
        ...


ReadModelFactory = Callable[["Ledger"], ReadModels]


@cache
def read_model_factory() -> ReadModelFactory | None:
    """The installed read models' factory (the entry point named ``default`` of the group
    ``corpledger.read_models``, else the only one), or None when none is installed."""
    found = list(entry_points(group=ENTRY_POINT_GROUP))
    if not found:
        return None
    chosen = next((ep for ep in found if ep.name == "default"), found[0])
    factory: ReadModelFactory = chosen.load()
    return factory


def check_read_models(ledger: Ledger, company: str | None = None) -> str:
    """``corpledger verify``'s check of the read models (``ReadModels.verify``): a summary, or
    a ``LedgerError`` (exit 1) naming the first difference from the fold, or the event the
    read models cannot get past (``ProjectionError``: they are behind the fold)."""
    models = ledger.read_models
    if models is None:
        return "read models: none installed, nothing to check"
    return models.verify(company)
