"""The one fold of the ledger and its rules.

``evolve(state, fact)`` applies a fact without checking. Each rule is a pure check of
(state before, fact) that raises ``Broken``. ``Timeline.admit`` runs the checks over a
company's timeline in (effective_date, seq) order from the earliest date a batch touches,
so a back-dated event is checked against every later event; ``replay`` only evolves.
The aggregate's writes, the queries and the projections all use these functions.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple
from uuid import UUID

from .errors import RuleViolation
from .events import (
    AuthorizedSharesChanged,
    BoardSeatRetained,
    BoardSizeSet,
    CompanyRegistered,
    DirectorAppointed,
    DirectorDeparted,
    ExecutiveAppointed,
    ExecutiveDeparted,
    Fact,
    InterimCEOAppointed,
    InvestmentMade,
    ShareClassCreated,
    SharesCancelled,
    SharesIssued,
    SharesTransferred,
    StockSplit,
    ValuationRecorded,
)
from .state import SEATED, CompanyState, Director, Officer, ShareClass, Valuation
from .values import money_amount, parse_ratio, percent, round_shares

RULES = {
    1: "the company exists from its registration",
    2: "shares need their class, within its authorized shares",
    3: "no holding is ever negative",
    4: "officers: one CEO at a time, no office held twice, no departure from an office not held",
    5: "the board: directors within the board size, retained seats need a sitting director",
}


class Broken(Exception):
    """A rule does not hold for a fact at its date (internal; becomes a RuleViolation)."""

    def __init__(self, rule: int, detail: str) -> None:
        super().__init__(detail)
        self.rule = rule
        self.detail = detail


class Entry(NamedTuple):
    """A fact in a company's timeline (a tuple: cheap to build by the million). ``seq`` is
    its order of recording in the company (the stream version); ``where`` names it in
    errors (file and item, or event id)."""

    fact: Fact
    seq: int
    where: str
    event_id: UUID | None = None

    @property
    def key(self) -> tuple[date, int]:
        return (self.fact.effective_date, self.seq)


# --- evolve: apply without checking ---


def _add(state: CompanyState, party: str, share_class: str, shares: int) -> None:
    classes = state.holdings.setdefault(party, {})
    left = classes.get(share_class, 0) + shares
    if left:
        classes[share_class] = left
    else:
        del classes[share_class]
        if not classes:
            del state.holdings[party]


def _issue(state: CompanyState, party: str, share_class: str, shares: int) -> None:
    _add(state, party, share_class, shares)
    state.classes[share_class].issued += shares
    state.outstanding += shares


def _registered(s: CompanyState, f: CompanyRegistered) -> None:
    s.name = f.name
    s.registered = f.effective_date


def _class_created(s: CompanyState, f: ShareClassCreated) -> None:
    s.classes[f.share_class] = ShareClass(
        f.share_class, f.name, f.kind, f.authorized, f.votes_per_share
    )


def _issued(s: CompanyState, f: SharesIssued) -> None:
    _issue(s, f.holder, f.share_class, f.shares)


def _invested(s: CompanyState, f: InvestmentMade) -> None:
    new = f.new_shares
    _issue(s, f.investor, f.share_class, new)
    s.valuation = Valuation(
        post_money(f, s.outstanding), f.amount.currency, "post-money", f.effective_date
    )


def post_money(f: InvestmentMade, outstanding_after: int) -> Decimal:
    """The post-money valuation of an investment: given, pre-money + amount, or implied by
    the stake the money bought (amount × shares after / new shares)."""
    if f.post_money_valuation is not None:
        return f.post_money_valuation.amount
    if f.pre_money_valuation is not None:
        return f.pre_money_valuation.amount + f.amount.amount
    return money_amount(Fraction(f.amount.amount) * outstanding_after / f.new_shares)


def _transferred(s: CompanyState, f: SharesTransferred) -> None:
    _add(s, f.from_, f.share_class, -f.shares)
    _add(s, f.to, f.share_class, f.shares)


def _cancelled(s: CompanyState, f: SharesCancelled) -> None:
    _issue(s, f.holder, f.share_class, -f.shares)


def _split(s: CompanyState, f: StockSplit) -> None:
    n, m = parse_ratio(f.ratio)
    cls = s.classes[f.share_class]
    for party in [p for p, held in s.holdings.items() if f.share_class in held]:
        before = s.holdings[party][f.share_class]
        _issue(s, party, f.share_class, before * n // m - before)
    if cls.authorized is not None:
        cls.authorized = cls.authorized * n // m


def _authorized(s: CompanyState, f: AuthorizedSharesChanged) -> None:
    s.classes[f.share_class].authorized = f.authorized


def _valued(s: CompanyState, f: ValuationRecorded) -> None:
    s.valuation = Valuation(f.valuation.amount, f.valuation.currency, f.basis, f.effective_date)


def as_appointment(f: ExecutiveAppointed | InterimCEOAppointed) -> Officer:
    if isinstance(f, InterimCEOAppointed):
        return Officer(f.person, "ceo", f.title, True, f.effective_date)
    return Officer(f.person, f.role, f.title, f.interim, f.effective_date)


def _appointed(s: CompanyState, f: ExecutiveAppointed | InterimCEOAppointed) -> None:
    s.officers.append(as_appointment(f))


def _departed(s: CompanyState, f: ExecutiveDeparted) -> None:
    s.officers.remove(_office_left(s, f))


def _director_appointed(s: CompanyState, f: DirectorAppointed) -> None:
    s.directors[f.person] = Director(f.person, f.seat, f.effective_date, f.designated_by)


def _director_departed(s: CompanyState, f: DirectorDeparted) -> None:
    del s.directors[f.person]


def _seat_retained(s: CompanyState, f: BoardSeatRetained) -> None:
    """The seat simply continues; the fact is kept for the audit trail."""


def _board_size(s: CompanyState, f: BoardSizeSet) -> None:
    s.board_size = f.seats


# --- rules: pure checks of (state before, fact) ---


def _need_class(s: CompanyState, share_class: str) -> ShareClass:
    cls = s.classes.get(share_class)
    if cls is None:
        raise Broken(2, f"share class {share_class!r} does not exist at this date")
    return cls


def _within_authorized(s: CompanyState, share_class: str, new: int) -> None:
    cls = _need_class(s, share_class)
    if cls.authorized is not None and cls.issued + new > cls.authorized:
        raise Broken(
            2,
            f"issuing {new:,} {share_class} would make {cls.issued + new:,} issued, "
            f"over the {cls.authorized:,} authorized",
        )


def _need_holding(s: CompanyState, party: str, share_class: str, shares: int, what: str) -> None:
    _need_class(s, share_class)
    held = s.held(party, share_class)
    if shares > held:
        raise Broken(
            3,
            f"{what} of {shares:,} {share_class} from {party} exceeds their holding of {held:,}",
        )


def _check_registered(s: CompanyState, f: CompanyRegistered) -> None:
    if s.registered is not None:
        raise Broken(1, f"{f.company} is already registered (on {s.registered})")


def _check_class_created(s: CompanyState, f: ShareClassCreated) -> None:
    if f.share_class in s.classes:
        raise Broken(2, f"share class {f.share_class!r} already exists")


def _check_issued(s: CompanyState, f: SharesIssued) -> None:
    _within_authorized(s, f.share_class, f.shares)


def _check_invested(s: CompanyState, f: InvestmentMade) -> None:
    _within_authorized(s, f.share_class, f.new_shares)


def _check_transferred(s: CompanyState, f: SharesTransferred) -> None:
    _need_holding(s, f.from_, f.share_class, f.shares, "transfer")


def _check_cancelled(s: CompanyState, f: SharesCancelled) -> None:
    _need_holding(s, f.holder, f.share_class, f.shares, "cancellation")


def _check_split(s: CompanyState, f: StockSplit) -> None:
    _need_class(s, f.share_class)


def _check_authorized(s: CompanyState, f: AuthorizedSharesChanged) -> None:
    cls = _need_class(s, f.share_class)
    if f.authorized < cls.issued:
        raise Broken(
            2,
            f"authorized {f.authorized:,} {f.share_class} is below the {cls.issued:,} "
            "already issued",
        )


def _check_valued(s: CompanyState, f: ValuationRecorded) -> None:
    """Any valuation may be recorded once the company exists."""


def _check_appointed(s: CompanyState, f: ExecutiveAppointed | InterimCEOAppointed) -> None:
    new = as_appointment(f)
    for office in s.officers:
        if office.role == "ceo" and new.role == "ceo":
            who = "they already are" if office.person == new.person else f"{office.person} is"
            raise Broken(4, f"{new.person} cannot become CEO: {who} CEO (since {office.since})")
        if (
            office.person == new.person
            and office.role == new.role
            and (new.role != "other" or office.title == new.title)
        ):
            raise Broken(
                4,
                f"{new.person} already holds the office {_office_name(office)} "
                f"(since {office.since})",
            )


def _office_name(office: Officer) -> str:
    return f"other ({office.title})" if office.role == "other" else office.role


def _office_left(s: CompanyState, f: ExecutiveDeparted) -> Officer:
    held = [
        o
        for o in s.offices_of(f.person)
        if o.role == f.role and (f.role != "other" or f.title is None or o.title == f.title)
    ]
    if not held:
        office = f"other ({f.title})" if f.role == "other" and f.title else f.role
        raise Broken(4, f"{f.person} cannot depart the office {office}: they do not hold it")
    if len(held) > 1:
        titles = ", ".join(repr(o.title) for o in held)
        raise Broken(4, f"{f.person} holds several 'other' offices ({titles}): give the title")
    return held[0]


def _check_departed(s: CompanyState, f: ExecutiveDeparted) -> None:
    _office_left(s, f)


def _check_director_appointed(s: CompanyState, f: DirectorAppointed) -> None:
    sitting = s.directors.get(f.person)
    if sitting is not None:
        raise Broken(
            5, f"{f.person} is already on the board ({sitting.seat} since {sitting.since})"
        )
    if f.seat in SEATED and s.board_size is not None and s.seated() + 1 > s.board_size:
        raise Broken(
            5,
            f"appointing {f.person} would make {s.seated() + 1} directors on a board of "
            f"{s.board_size} seats",
        )


def _check_director_departed(s: CompanyState, f: DirectorDeparted) -> None:
    if f.person not in s.directors:
        raise Broken(5, f"{f.person} cannot leave the board: they are not a director")


def _check_seat_retained(s: CompanyState, f: BoardSeatRetained) -> None:
    if f.person not in s.directors:
        raise Broken(5, f"{f.person} cannot retain a board seat: they are not a director")


def _check_board_size(s: CompanyState, f: BoardSizeSet) -> None:
    if s.seated() > f.seats:
        raise Broken(
            5, f"a board of {f.seats} seats is smaller than the {s.seated()} sitting directors"
        )


_Handler = tuple[Callable[[CompanyState, Any], None], Callable[[CompanyState, Any], None]]
HANDLERS: dict[str, _Handler] = {
    "CompanyRegistered": (_check_registered, _registered),
    "ShareClassCreated": (_check_class_created, _class_created),
    "SharesIssued": (_check_issued, _issued),
    "InvestmentMade": (_check_invested, _invested),
    "SharesTransferred": (_check_transferred, _transferred),
    "SharesCancelled": (_check_cancelled, _cancelled),
    "StockSplit": (_check_split, _split),
    "AuthorizedSharesChanged": (_check_authorized, _authorized),
    "ValuationRecorded": (_check_valued, _valued),
    "ExecutiveAppointed": (_check_appointed, _appointed),
    "InterimCEOAppointed": (_check_appointed, _appointed),
    "ExecutiveDeparted": (_check_departed, _departed),
    "DirectorAppointed": (_check_director_appointed, _director_appointed),
    "DirectorDeparted": (_check_director_departed, _director_departed),
    "BoardSeatRetained": (_check_seat_retained, _seat_retained),
    "BoardSizeSet": (_check_board_size, _board_size),
}
"""Each event type's (rule, evolve). The one place a rule lives."""

_EVOLVE = {name: handler[1] for name, handler in HANDLERS.items()}


def evolve(state: CompanyState, fact: Fact) -> CompanyState:
    """Apply ``fact`` to ``state`` (in place) without checking; returns the state."""
    _EVOLVE[fact.type](state, fact)
    return state


def check(state: CompanyState, fact: Fact) -> None:
    """Raise ``Broken`` if ``fact`` may not follow ``state``."""
    if state.registered is None and fact.type != "CompanyRegistered":
        raise Broken(1, f"{fact.company} is not registered at this date")
    HANDLERS[fact.type][0](state, fact)


def derive(state: CompanyState, fact: Fact) -> Fact:
    """Fill what the ledger derives at recording: the shares an InvestmentMade buys when
    given as a stake or a valuation. ``O`` is outstanding just before, ``H`` the investor's
    holding: stake s gives (s·O − H)/(1 − s); a post-money P gives O·a/(1 − a), a = amount/P."""
    if not isinstance(fact, InvestmentMade) or fact.shares is not None or fact.derived_shares:
        return fact
    if state.registered is None:
        return fact  # nothing to derive from before registration: check() reports rule 1
    outstanding = state.outstanding
    if outstanding == 0:
        raise Broken(2, "cannot derive shares from a stake or valuation: no shares are outstanding")
    if fact.stake_percent is not None:
        stake = Fraction(fact.stake_percent) / 100
        held = state.party_total(fact.investor)
        exact = (stake * outstanding - held) / (1 - stake)
        if exact <= 0:
            now = percent(held, outstanding)
            raise Broken(
                2,
                f"a total stake of {fact.stake_percent}% needs no new shares: "
                f"{fact.investor} already holds {now}%",
            )
    else:
        if fact.post_money_valuation is not None:
            post = Fraction(fact.post_money_valuation.amount)
        else:
            assert fact.pre_money_valuation is not None
            post = Fraction(fact.pre_money_valuation.amount) + Fraction(fact.amount.amount)
        bought = Fraction(fact.amount.amount) / post
        exact = outstanding * bought / (1 - bought)
    new = round_shares(exact)
    if new <= 0:
        raise Broken(2, f"the derived share count rounds to {new}: the investment buys no shares")
    return fact.model_copy(update={"derived_shares": new})


def replay(entries: Iterable[Entry], company: str, *, as_of: date | None = None) -> CompanyState:
    """The state from ``entries`` (already in timeline order) effective on or before ``as_of``."""
    state = CompanyState(company)
    for entry in entries:
        if as_of is not None and entry.fact.effective_date > as_of:
            break
        _EVOLVE[entry.fact.type](state, entry.fact)
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
    except Broken:
        return False
    _EVOLVE[fact.type](state, fact)
    return True


def violation(entry: Entry, broken: Broken, *, because: Entry | None = None) -> RuleViolation:
    """Turn a broken rule into the one-line error users see."""
    fact = entry.fact
    rule = f"rule {broken.rule} ({RULES[broken.rule]})"
    if because is None:
        return RuleViolation(
            f"{entry.where} ({fact.type}, {fact.effective_date}): {rule}: {broken.detail}",
            rule=broken.rule,
        )
    return RuleViolation(
        f"{because.where} ({because.fact.type}, {because.fact.effective_date}): {rule}: "
        f"it makes the later {fact.type} of {fact.effective_date} ({entry.where}) impossible: "
        f"{broken.detail}",
        rule=broken.rule,
    )


class Timeline:
    """A company's events in (effective_date, seq) order and the state after all of them."""

    __slots__ = ("company", "end", "entries", "keys")

    def __init__(self, company: str, entries: Sequence[Entry] = ()) -> None:
        self.company = company
        self.entries = sorted(entries, key=lambda e: e.key)
        self.keys = [e.key for e in self.entries]
        self.end = replay(self.entries, company)

    def tail(self) -> Timeline:
        """This timeline keeping only its last entry in memory (the end state is whole):
        enough to ``admit`` entries in order (``key >= keys[-1]``), as a long batch being
        recorded does chunk after chunk. Anything else needs the whole timeline, read again."""
        tail = Timeline.__new__(Timeline)
        for name in Timeline.__slots__:
            setattr(tail, name, getattr(self, name))
        tail.entries = self.entries[-1:]
        tail.keys = self.keys[-1:]
        return tail

    @property
    def last_seq(self) -> int:
        return max((e.seq for e in self.entries), default=0)

    @property
    def registered(self) -> date | None:
        return self.end.registered

    def admit(self, new: Sequence[Entry]) -> tuple[Timeline, list[Entry]]:
        """Check ``new`` entries (seq after every existing one) against the whole timeline.

        Returns the extended timeline and the new entries as they are to be stored (with
        derived shares filled in). Raises ``RuleViolation`` naming the event that breaks.
        In-order entries are checked from the end state alone; a back-dated one re-checks
        every later event from its date on."""
        ordered = sorted(new, key=lambda e: e.key)
        start = ordered[0].key
        if not self.entries or start >= self.keys[-1]:
            state, tail, head = self.end.copy(), ordered, self.entries
        else:
            cut = bisect.bisect_left(self.keys, start)
            merged = sorted([*self.entries[cut:], *ordered], key=lambda e: e.key)
            head, tail = self.entries[:cut], merged
            state = replay(head, self.company)
        fresh = {id(e) for e in ordered}
        stored: dict[int, Entry] = {}
        checked: list[Entry] = []
        for entry in tail:
            is_new = id(entry) in fresh
            try:
                if is_new:
                    fact = derive(state, entry.fact)
                    if fact is not entry.fact:
                        stored[entry.seq] = entry = entry._replace(fact=fact)
                check(state, entry.fact)
            except Broken as broken:
                if broken.rule == 1 and entry.fact.type != "CompanyRegistered":
                    broken = self._before_registration(entry, broken, [*head, *tail])
                because = None if is_new else self._culprit(head, checked, entry, ordered)
                raise violation(entry, broken, because=because) from None
            _EVOLVE[entry.fact.type](state, entry.fact)
            checked.append(entry)
        extended = Timeline.__new__(Timeline)
        extended.company = self.company
        extended.entries = [*head, *checked]
        extended.keys = [e.key for e in extended.entries]
        extended.end = state
        return extended, [stored.get(e.seq, e) for e in new]

    def _culprit(
        self, head: Sequence[Entry], before: list[Entry], failing: Entry, new: list[Entry]
    ) -> Entry:
        """The new entry that makes the earlier-recorded ``failing`` entry break: the first
        (in timeline order) that, with the new entries before it, breaks the timeline up to
        ``failing``. ``before`` is what was admitted ahead of ``failing``, derived counts
        filled in. Runs on the error path only (one replay per new entry before it)."""
        new_seqs = {e.seq for e in new}
        candidates = [e for e in before if e.seq in new_seqs]
        for i, candidate in enumerate(candidates[:-1]):
            allowed = {e.seq for e in candidates[: i + 1]}
            state = replay(head, self.company)
            try:
                for e in [*before, failing]:
                    if e.seq in new_seqs and e.seq not in allowed:
                        continue
                    check(state, e.fact)
                    _EVOLVE[e.fact.type](state, e.fact)
            except Broken:
                return candidate
        return candidates[-1] if candidates else new[0]

    @staticmethod
    def _before_registration(entry: Entry, broken: Broken, timeline: list[Entry]) -> Broken:
        for other in timeline:
            if isinstance(other.fact, CompanyRegistered):
                return Broken(
                    1,
                    f"effective before {entry.fact.company}'s registration on "
                    f"{other.fact.effective_date}",
                )
        return broken
