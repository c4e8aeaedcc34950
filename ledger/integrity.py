"""Integrity checks of a ledger, and the list of them ``corpledger verify`` runs.

``verify_chain`` streams the log in position order, a page at a time, recomputes the hash chain
(``ledger.persistence.chain``) and checks that each company's versions run 1, 2, … n. It
reports the first broken link: its position, company and event id, and what is wrong:

- **forged**: the stored event does not hash to its chain value: its content (or that chain
  value) was altered; or a column holds another type than the ledger writes (text where it
  wrote bytes, NULL, a number), whatever its content;
- **deleted**: positions are missing just before the broken link, so the event(s) there were
  deleted (a deletion of the very last event leaves no broken link: compare the head with one
  kept elsewhere);
- **reordered**: two events hold each other's content (or each other's place): each one
  hashes correctly at the other's position;
- **version**: a company's versions skip or go back without any broken link.

``CHECKS`` is the extension point of ``corpledger verify``: each check takes the open ledger and
returns a one-line summary, or raises a ``LedgerError`` whose exit code the command exits
with. Checks of the read models append themselves to the list.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from .app import Ledger
from .domain.errors import LedgerError
from .persistence.chain import GENESIS, chain_link
from .persistence.log import ChainRow, EventLog

PAGE = 1000
"""Stored events read per query: the log is streamed, never loaded whole."""


class TamperedError(LedgerError):
    """The stored events were altered, deleted or reordered behind the ledger's back."""


class Problem(StrEnum):
    forged = "forged"
    deleted = "deleted"
    reordered = "reordered"
    version = "version"


@dataclass(frozen=True)
class Link:
    """Where a problem is: a position, its company and the event id stored there."""

    position: int
    company: str
    event_id: str | None

    @staticmethod
    def of(row: ChainRow) -> Link:
        return Link(row.position, row.originator_id, _event_id(row.state))

    def __str__(self) -> str:
        event = f"event {self.event_id}" if self.event_id else "no event id"
        return f"position {self.position} (company {self.company}, {event})"


@dataclass(frozen=True)
class Break:
    """The first broken link of the chain, and what is wrong there."""

    problem: Problem
    link: Link
    detail: str
    other: Link | None = None  # the other event of a reordered pair

    def __str__(self) -> str:
        if self.other is not None:
            return f"{self.link} and {self.other}: {self.detail}"
        return f"{self.link}: {self.detail}"


@dataclass(frozen=True)
class ChainReport:
    """The outcome of ``verify_chain``: events checked, the head of the chain, any break."""

    events: int
    last_position: int
    head: bytes
    first_break: Break | None

    @property
    def intact(self) -> bool:
        return self.first_break is None

    @property
    def summary(self) -> str:
        if self.first_break is not None:
            return f"the ledger has been tampered with: {self.first_break}"
        return f"{self.events:,} events, chain intact, head {self.head.hex()}"


@dataclass
class _Suspect:
    """The first event whose link did not verify, with the chain value before it."""

    row: ChainRow
    previous_chain: bytes
    previous_position: int


def verify_chain(target: Ledger | EventLog, page: int = PAGE) -> ChainReport:
    """Recompute the hash chain over the log up to its last position when called, and check
    every company's versions; report the first broken link (``ChainReport.first_break``)."""
    source = target.store.log if isinstance(target, Ledger) else target
    stop = source.last_position()
    previous, previous_position, count = GENESIS, 0, 0
    versions: dict[str, int] = {}
    suspect: _Suspect | None = None
    partner: ChainRow | None = None
    version_problem: tuple[ChainRow, int] | None = None
    for row in _stream(source, stop, page):
        count += 1
        if suspect is None:
            if not row.well_formed or chain_link(previous, *_fields(row)) != row.chain:
                suspect = _Suspect(row, previous, previous_position)
        elif partner is None and _swapped(suspect, row, previous, previous_position):
            partner = row
        expected = versions.get(row.originator_id, 0) + 1
        if row.version != expected and version_problem is None:
            version_problem = (row, expected)
        versions[row.originator_id] = max(row.version, expected - 1)
        previous, previous_position = row.chain, row.position
    first_break = _diagnose(suspect, partner, version_problem)
    return ChainReport(count, previous_position, previous, first_break)


def _stream(source: EventLog, stop: int, page: int) -> Iterator[ChainRow]:
    after = 0
    while True:
        rows = source.chain_page(after, stop, page)
        if not rows:
            return
        yield from rows
        after = rows[-1].position


def _fields(row: ChainRow) -> tuple[str, int, str, bytes]:
    return row.originator_id, row.version, row.topic, row.state


def _swapped(suspect: _Suspect, row: ChainRow, previous: bytes, previous_position: int) -> bool:
    """Whether ``row`` and the suspect hold each other's events: each hashes correctly in the
    other's place, with their chain values left where they were (contents swapped) or moved
    along (positions swapped)."""
    first = suspect.row
    if not (first.well_formed and row.well_formed):
        return False
    # Contents swapped, chain values in place.
    if (
        chain_link(suspect.previous_chain, *_fields(row)) == first.chain
        and chain_link(previous, *_fields(first)) == row.chain
    ):
        return True
    # Whole rows swapped: the row now here belongs at the suspect's place, and vice versa.
    before_row = row.chain if previous_position == first.position else previous
    return (
        chain_link(suspect.previous_chain, *_fields(row)) == row.chain
        and chain_link(before_row, *_fields(first)) == first.chain
    )


def _diagnose(
    suspect: _Suspect | None,
    partner: ChainRow | None,
    version_problem: tuple[ChainRow, int] | None,
) -> Break | None:
    if suspect is None:
        if version_problem is None:
            return None
        row, expected = version_problem
        return Break(
            Problem.version,
            Link.of(row),
            f"version {row.version} of {row.originator_id} where version {expected} was due "
            "(the versions of a company run 1, 2, 3, … without gaps)",
        )
    row = suspect.row
    if partner is not None:
        return Break(
            Problem.reordered,
            Link.of(row),
            "a reordered pair: each holds the event whose link belongs at the other's position",
            Link.of(partner),
        )
    missing = row.position - suspect.previous_position - 1
    if missing > 0:
        first, last = suspect.previous_position + 1, row.position - 1
        where = f"position {first}" if missing == 1 else f"positions {first}-{last}"
        lacking = ""
        if version_problem is not None and version_problem[0].version > version_problem[1]:
            gap_row, expected = version_problem
            lacking = f"; {gap_row.originator_id} lacks version {expected}"
        return Break(
            Problem.deleted,
            Link.of(row),
            f"a deleted event: {where} missing just before this link{lacking}",
        )
    if not row.well_formed:
        return Break(
            Problem.forged,
            Link.of(row),
            "forged content: the stored event's columns are not of the types corpledger "
            "writes (text, a number or NULL where it wrote bytes or text)",
        )
    return Break(
        Problem.forged,
        Link.of(row),
        "forged content: the stored event does not hash to its chain value "
        "(it, or its chain value, was altered)",
    )


def _event_id(state: bytes) -> str | None:
    try:
        event_id = json.loads(state).get("event_id")
    except (ValueError, AttributeError):
        return None
    return event_id if isinstance(event_id, str) else None


# --- the checks of ``corpledger verify`` ---------------------------------------------------

Check = Callable[[Ledger], str]
"""A check of an open ledger: returns a one-line summary, or raises a ``LedgerError``."""


def check_chain(ledger: Ledger) -> str:
    """The hash chain and the companies' versions (``verify_chain``)."""
    report = verify_chain(ledger)
    if report.first_break is not None:
        raise TamperedError(report.summary)
    return report.summary


CHECKS: list[Check] = [check_chain]
"""What ``corpledger verify`` runs, in order; the first to raise decides the exit code."""


def run_checks(ledger: Ledger, checks: list[Check] | None = None) -> Iterator[str]:
    """Run ``checks`` (default ``CHECKS``) in order, yielding each summary line."""
    for check in CHECKS if checks is None else checks:
        yield check(ledger)
