"""The state of one company at one moment, as the fold leaves it.

Mutable on purpose: the fold owns the state it builds and ``copy()`` hands out an
independent one, which keeps replay cheap (plain dict operations per event).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(slots=True)
class ShareClass:
    share_class: str
    name: str
    kind: str
    authorized: int | None
    votes_per_share: int
    issued: int = 0


@dataclass(frozen=True, slots=True)
class Officer:
    person: str
    role: str
    title: str | None
    interim: bool
    since: date


@dataclass(frozen=True, slots=True)
class Director:
    person: str
    seat: str
    since: date
    designated_by: str | None


@dataclass(frozen=True, slots=True)
class Valuation:
    amount: Decimal
    currency: str
    basis: str
    effective_date: date


SEATED = ("director", "chair")
"""Seats that count against the board size; observers do not."""


@dataclass(slots=True)
class CompanyState:
    company: str
    name: str | None = None
    registered: date | None = None
    classes: dict[str, ShareClass] = field(default_factory=dict)
    holdings: dict[str, dict[str, int]] = field(default_factory=dict)
    """party → share class → shares; a party with no shares left is removed."""
    outstanding: int = 0
    officers: list[Officer] = field(default_factory=list)
    directors: dict[str, Director] = field(default_factory=dict)
    board_size: int | None = None
    valuation: Valuation | None = None

    def copy(self) -> CompanyState:
        return CompanyState(
            company=self.company,
            name=self.name,
            registered=self.registered,
            classes={
                k: ShareClass(
                    c.share_class, c.name, c.kind, c.authorized, c.votes_per_share, c.issued
                )
                for k, c in self.classes.items()
            },
            holdings={party: dict(classes) for party, classes in self.holdings.items()},
            outstanding=self.outstanding,
            officers=list(self.officers),
            directors=dict(self.directors),
            board_size=self.board_size,
            valuation=self.valuation,
        )

    def held(self, party: str, share_class: str) -> int:
        return self.holdings.get(party, {}).get(share_class, 0)

    def party_total(self, party: str) -> int:
        return sum(self.holdings.get(party, {}).values())

    def votes(self, party: str) -> int:
        return sum(
            shares * self.classes[share_class].votes_per_share
            for share_class, shares in self.holdings.get(party, {}).items()
        )

    def total_votes(self) -> int:
        return sum(c.issued * c.votes_per_share for c in self.classes.values())

    def seated(self) -> int:
        return sum(1 for d in self.directors.values() if d.seat in SEATED)

    def offices_of(self, person: str) -> list[Officer]:
        return [o for o in self.officers if o.person == person]

    def is_executive(self, person: str) -> bool:
        """A director is executive on a date when they hold an officer role then."""
        return any(o.person == person for o in self.officers)
