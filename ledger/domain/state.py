"""The state of one company at one moment, as the fold leaves it.

Mutable on purpose: the fold owns the state it builds and ``copy()`` hands out an
independent one, which keeps replay cheap (plain dict operations per event).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any


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


@dataclass(frozen=True, slots=True)
class Stakeholder:
    name: str
    kind: str


@dataclass(slots=True)
class Plan:
    """A stock plan (an option pool). ``exercised`` is the sum of its awards' exercised;
    ``retired`` what cancellations took out of it for good (``on_cancel`` retire); the
    remainders of its expired awards are counted at a date (``Instruments``)."""

    plan: str
    name: str
    share_class: str
    reserved: int
    on_cancel: str
    exercised: int = 0
    retired: int = 0
    # Its awards' remainders (quantity − exercised − cancelled) summed as they change, in all
    # and by expiration date, so that what a plan has left is not a pass over every award.
    # Kept by the fold for its checks; derived from the awards, so not part of what a plan is.
    unexercised: int = field(default=0, compare=False, repr=False)
    expiring: dict[date, int] = field(default_factory=dict, compare=False, repr=False)
    expiry_dates: list[date] = field(default_factory=list, compare=False, repr=False)  # sorted

    def copy(self) -> Plan:
        return replace(self, expiring=dict(self.expiring), expiry_dates=list(self.expiry_dates))

    def count(self, award: Award, change: int) -> None:
        """Add ``change`` to the remainder of ``award``, one of the plan's."""
        self.unexercised += change
        expires = award.expiration_date
        if expires is not None:
            if expires not in self.expiring:
                insort(self.expiry_dates, expires)
                self.expiring[expires] = 0
            self.expiring[expires] += change

    def expired(self, on: date) -> int:
        """The remainders of the awards expired on ``on`` (after the end of their date)."""
        dates = self.expiry_dates
        return sum(self.expiring[d] for d in dates[: bisect_left(dates, on)])


def expired_on(expiration: date | None, on: date) -> bool:
    """After the end of its expiration date, what is left of an award or a warrant expires."""
    return expiration is not None and on > expiration


class Exercisable:
    """What an award and a warrant share: a quantity, exercised and cancelled in part, that
    may expire."""

    __slots__ = ()
    quantity: int
    exercised: int
    cancelled: int
    expiration_date: date | None

    def unexercised(self) -> int:
        """quantity − exercised − cancelled, expiry aside."""
        return self.quantity - self.exercised - self.cancelled

    def expired(self, on: date) -> bool:
        return expired_on(self.expiration_date, on)

    def outstanding(self, on: date) -> int:
        return 0 if self.expired(on) else self.quantity - self.exercised - self.cancelled


@dataclass(slots=True)
class Award(Exercisable):
    """An option or RSU granted from a plan. ``vesting`` is (start, months, cliff_months,
    every_months) or None (vested when granted)."""

    grant: str
    holder: str
    plan: str
    kind: str
    share_class: str
    quantity: int
    exercise_price: Decimal | None
    currency: str | None
    expiration_date: date | None
    vesting: tuple[date, int, int, int] | None
    granted: date
    exercised: int = 0
    cancelled: int = 0


AwardCount = tuple[str, str, int, date | None]
"""An award as far as its counts go, all that fully diluted and the pools read of it: holder,
plan, remainder (quantity − exercised − cancelled), expiration date. A cap table from the
read models reads no more of a thousand awards."""


@dataclass(slots=True)
class Warrant(Exercisable):
    warrant: str
    holder: str
    share_class: str
    quantity: int
    exercise_price: Decimal
    currency: str
    expiration_date: date | None
    issued: date
    exercised: int = 0
    cancelled: int = 0


@dataclass(frozen=True, slots=True)
class Convertible:
    """A SAFE or a note; ``settled`` is how it ended (converted or cancelled) and when."""

    convertible: str
    holder: str
    kind: str
    amount: Decimal
    currency: str
    valuation_cap: Decimal | None
    discount_percent: Decimal | None
    cap_basis: str
    interest_rate_percent: Decimal | None
    maturity_date: date | None
    issued: date
    settled: tuple[str, date] | None = None


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
    stakeholders: dict[str, Stakeholder] = field(default_factory=dict)
    plans: dict[str, Plan] = field(default_factory=dict)
    awards: dict[str, Award] = field(default_factory=dict)
    warrants: dict[str, Warrant] = field(default_factory=dict)
    convertibles: dict[str, Convertible] = field(default_factory=dict)
    # Its warrants' unexercised() summed as they change, so that diluted_ceiling (checked at
    # every issuance) is not a pass over every warrant.
    warrants_unexercised: int = 0

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
            stakeholders=dict(self.stakeholders),
            plans={k: p.copy() for k, p in self.plans.items()},
            awards={k: replace(a) for k, a in self.awards.items()},
            warrants={k: replace(w) for k, w in self.warrants.items()},
            convertibles=dict(self.convertibles),
            warrants_unexercised=self.warrants_unexercised,
        )

    def diluted_ceiling(self) -> int:
        """What fully diluted can reach on any date: outstanding shares, every plan's reserve
        not yet exercised, every warrant not yet exercised or cancelled (an exercise moves
        shares from one to the other). The bounds rule keeps it within 10^18."""
        return (
            self.outstanding
            + sum(p.reserved - p.exercised for p in self.plans.values())
            + self.warrants_unexercised
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


Handler = tuple[Callable[[CompanyState, Any], None], Callable[[CompanyState, Any], None]]
"""An event type's (rule, evolve): a pure check of (state before, fact) that raises
``Broken``, and the change it makes to the state."""
