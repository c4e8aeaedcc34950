"""The one fold of the ledger and its rules.

``evolve(state, fact)`` applies a fact without checking. Each rule is a pure check of
(state before, fact) that raises ``Broken``. ``Timeline.admit`` runs the checks over a
company's timeline in (effective_date, seq) order from the earliest date a batch touches,
so a back-dated event is checked against every later event; ``replay`` only evolves.
The aggregate's writes, the queries and the projections all use these functions.

Corrections (``EventRetracted``, ``EventCorrected``) never enter the fold themselves: the
log of a company (every event, in recording order) becomes the entries *in force* by
``in_force`` / ``correct`` (the target leaves, a replacement takes the target's place in
recording order on its own effective date), and the fold runs over those. Rule 6 is checked
by ``Timeline.admit`` like every other rule, over the timeline with the correction applied.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from decimal import Decimal
from fractions import Fraction
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple
from uuid import UUID

from .errors import InputError, RuleViolation
from .events import (
    AuthorizedSharesChanged,
    BoardSeatRetained,
    BoardSizeSet,
    CompanyRegistered,
    Correction,
    DirectorAppointed,
    DirectorDeparted,
    EventCorrected,
    EventRetracted,
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
from .values import MAX_TOTAL, money_amount, parse_ratio, percent, round_shares

RULES: dict[int | str, str] = {
    1: "the company exists from its registration",
    2: "shares need their class, within its authorized shares",
    3: "no holding is ever negative",
    4: "officers: one CEO at a time, no office held twice, no departure from an office not held",
    5: "the board: directors within the board size, retained seats need a sitting director",
    6: "a correction targets an event of the company in force and keeps the timeline valid",
    "bounds": "what the ledger derives or sums stays within 10^18",
}
"""The rules by number (the invariants of docs/rules.md), and the bounds of derived and summed
numbers (a derived count, a split's result, a class or company total, a derived valuation)."""


def rule_name(rule: int | str) -> str:
    """A rule as messages name it: ``rule 3 (no holding is ever negative)``."""
    return f"rule {rule} ({RULES[rule]})"


class Broken(Exception):
    """A rule does not hold for a fact at its date (internal; becomes a RuleViolation)."""

    def __init__(self, rule: int | str, detail: str) -> None:
        super().__init__(detail)
        self.rule = rule
        self.detail = detail


class Entry(NamedTuple):
    """A fact in a company's timeline (a tuple: cheap to build by the million). ``seq`` is
    its order of recording in the company (the stream version); ``where`` is its place in
    the input being recorded (file and item), empty once it is stored: errors name it by
    ``place``."""

    fact: Fact
    seq: int
    where: str
    event_id: UUID | None = None

    @property
    def key(self) -> tuple[date, int]:
        return (self.fact.effective_date, self.seq)


def place(entry: Entry) -> str:
    """How a message names an event: its place in the input being recorded, or, once
    stored, its id."""
    return entry.where or f"event {entry.event_id}"


key_of: Callable[[Entry], tuple[date, int]] = attrgetter("fact.effective_date", "seq")
"""An entry's place in the timeline (``Entry.key``), computed in C: it sorts every batch."""

seq_of: Callable[[Entry], int] = itemgetter(1)


# --- corrections: from a company's log to the entries in force ---


def replacement_entry(correction: Entry, slot: int) -> Entry | None:
    """The entry an ``EventCorrected`` puts in force: its replacement, in the target's place
    in recording order (``slot``, the target's seq: a same-day order of events stays as it
    was) and named by the correction's event id (so a later correction can target it)."""
    fact = correction.fact
    if not isinstance(fact, EventCorrected):
        return None
    return Entry(fact.replacement, slot, correction.where, correction.event_id)


def correct(entries: list[Entry], correction: Entry) -> date | None:
    """Apply ``correction`` to ``entries`` (in force, timeline order) in place: its target
    leaves, its replacement (if any) comes in. Returns the earliest effective date whose
    state changes, or None when the target is not in force (nothing changes)."""
    fact = correction.fact
    assert isinstance(fact, Correction)
    # Corrections are rare: a scan beats keeping an index of every entry.
    target_id = fact.target_id
    at = next((i for i, e in enumerate(entries) if e.event_id == target_id), None)
    if at is None:
        return None
    target = entries.pop(at)
    on = target.fact.effective_date
    replacement = replacement_entry(correction, target.seq)
    if replacement is not None:
        bisect.insort(entries, replacement, key=key_of)
        on = min(on, replacement.fact.effective_date)
    return on


def in_force(log: Iterable[Entry]) -> list[Entry]:
    """The entries in force, in timeline order, from a company's log (any order): every
    fact, minus those retracted or corrected, plus replacements. Filter the log by position
    first to get the entries in force as known at that position."""
    facts: list[Entry] = []
    corrections: list[Entry] = []
    for entry in log:
        (corrections if isinstance(entry.fact, Correction) else facts).append(entry)
    facts.sort(key=key_of)
    # A correction only targets an earlier event, so applying them in recording order after
    # every fact is the same as walking the log in order.
    for entry in sorted(corrections, key=lambda e: e.seq):
        correct(facts, entry)
    return facts


def undone_by(log: Iterable[Entry]) -> dict[UUID, Entry]:
    """Each event taken out of force (retracted or corrected) → the correction that did."""
    return {entry.fact.target_id: entry for entry in log if isinstance(entry.fact, Correction)}


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


def split_result(s: CompanyState, f: StockSplit) -> tuple[dict[str, int], int | None]:
    """Each holder's shares of the class after the split (rounded down), and the class's
    authorized shares after it."""
    n, m = parse_ratio(f.ratio)
    after = {
        party: held[f.share_class] * n // m
        for party, held in s.holdings.items()
        if f.share_class in held
    }
    authorized = s.classes[f.share_class].authorized
    return after, None if authorized is None else authorized * n // m


def _split(s: CompanyState, f: StockSplit) -> None:
    after, authorized = split_result(s, f)
    for party, shares in after.items():
        _issue(s, party, f.share_class, shares - s.holdings[party][f.share_class])
    s.classes[f.share_class].authorized = authorized


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


BOUND = f"{MAX_TOTAL:,} (10^18)"


def _past_bound(s: CompanyState, what: str, new: int) -> Broken:
    """The company's total outstanding would pass the bound (checking it bounds every class's
    total and every holding too, which it sums). The check itself is inline: it runs for
    every issuance."""
    return Broken(
        "bounds",
        f"{what} would make {s.outstanding + new:,} shares of {s.company} outstanding, over "
        f"the bound of {BOUND}",
    )


def _check_issued(s: CompanyState, f: SharesIssued) -> None:
    _within_authorized(s, f.share_class, f.shares)
    if s.outstanding + f.shares > MAX_TOTAL:
        raise _past_bound(s, f"issuing {f.shares:,} {f.share_class}", f.shares)


def _check_invested(s: CompanyState, f: InvestmentMade) -> None:
    new = f.new_shares
    _within_authorized(s, f.share_class, new)
    if s.outstanding + new > MAX_TOTAL:
        raise _past_bound(s, f"issuing {new:,} {f.share_class}", new)
    if f.post_money_valuation is None and f.pre_money_valuation is None:
        implied = post_money(f, s.outstanding + new)
        if implied > MAX_TOTAL:
            raise Broken(
                "bounds",
                f"{f.amount} for {new:,} of {s.outstanding + new:,} shares implies a "
                f"post-money valuation of {implied:,} {f.amount.currency}, over the bound of "
                f"{BOUND}",
            )


def _check_transferred(s: CompanyState, f: SharesTransferred) -> None:
    _need_holding(s, f.from_, f.share_class, f.shares, "transfer")


def _check_cancelled(s: CompanyState, f: SharesCancelled) -> None:
    _need_holding(s, f.holder, f.share_class, f.shares, "cancellation")


def _check_split(s: CompanyState, f: StockSplit) -> None:
    cls = _need_class(s, f.share_class)
    after, authorized = split_result(s, f)
    issued = sum(after.values())
    what = f"a {f.ratio} split of {f.share_class}"
    if s.outstanding + issued - cls.issued > MAX_TOTAL:
        raise _past_bound(s, f"{what} ({cls.issued:,} → {issued:,})", issued - cls.issued)
    if authorized is not None and authorized > MAX_TOTAL:
        raise Broken(
            "bounds",
            f"{what} would make {authorized:,} {f.share_class} authorized, over the bound of "
            f"{BOUND}",
        )


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
    if new > MAX_TOTAL:
        raise Broken("bounds", f"the derived share count {new:,} is over the bound of {BOUND}")
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
    except Broken as broken:
        # The bounds are for what is recorded; what is known folds as ``replay`` folds it
        # (every check of a fact runs before its bounds: a numbered rule held).
        if broken.rule != "bounds":
            return False
    _EVOLVE[fact.type](state, fact)
    return True


def violation(entry: Entry, broken: Broken, *, because: Entry | None = None) -> RuleViolation:
    """Turn a broken rule into the one-line error users see."""
    fact = entry.fact
    rule = rule_name(broken.rule)
    if because is None:
        return RuleViolation(
            f"{place(entry)} ({fact.type}, {fact.effective_date}): {rule}: {broken.detail}",
            rule=broken.rule,
        )
    return RuleViolation(
        f"{place(because)} ({because.fact.type}, {because.fact.effective_date}): {rule}: "
        f"it makes the later {fact.type} of {fact.effective_date} ({place(entry)}) impossible: "
        f"{broken.detail}",
        rule=broken.rule,
    )


class Timeline:
    """A company's log (every event it recorded, corrections included, by seq), the entries
    in force in (effective_date, seq) order, and the state after all of them."""

    __slots__ = ("company", "end", "entries", "keys", "log", "undone")

    def __init__(self, company: str, log: Sequence[Entry] = ()) -> None:
        self.company = company
        self.log = sorted(log, key=seq_of)
        self.entries = in_force(self.log)
        self.keys = list(map(key_of, self.entries))
        self.undone = undone_by(self.log)
        self.end = replay(self.entries, company)

    def tail(self) -> Timeline:
        """This timeline keeping only its last entry (and last logged event) in memory, the end
        state whole: enough to ``admit`` entries in order (``key >= keys[-1]``), as a long
        batch being recorded does chunk after chunk. Anything else (a back-dated event, a
        correction) needs the whole timeline, read again."""
        tail = Timeline.__new__(Timeline)
        for name in Timeline.__slots__:
            setattr(tail, name, getattr(self, name))
        tail.log = self.log[-1:]
        tail.entries = self.entries[-1:]
        tail.keys = self.keys[-1:]
        return tail

    @property
    def last_seq(self) -> int:
        return self.log[-1].seq if self.log else 0

    @property
    def registered(self) -> date | None:
        return self.end.registered

    def admit(
        self, new: Sequence[Entry], elsewhere: Callable[[UUID], str | None] | None = None
    ) -> tuple[Timeline, list[Entry]]:
        """Check ``new`` entries (seq after every existing one) against the whole timeline.

        Returns the extended timeline and the new entries as they are to be stored (derived
        shares filled in; a correction with its target's effective date). Raises
        ``RuleViolation`` naming the event that breaks. In-order entries are checked from
        the end state alone; a back-dated one, or a correction, re-checks every later event
        from the earliest date it changes. A correction may target only an event recorded
        before it (stored, or earlier in the batch); ``elsewhere`` names the company of an
        event id that is not this company's (for the error message only)."""
        corrections = sorted((e for e in new if isinstance(e.fact, Correction)), key=seq_of)
        facts = sorted((e for e in new if not isinstance(e.fact, Correction)), key=key_of)
        completed: dict[int, Entry] = {}  # corrections by seq, as they are to be stored
        undone = self.undone
        # Every entry of the tail is new (in order, from the end state), or new ones are
        # told apart from stored ones by identity.
        fresh: set[int] | None = None
        if not corrections:
            start = key_of(facts[0])
            if not self.entries or start >= self.keys[-1]:
                state, tail, head = self.end.copy(), facts, self.entries
            else:
                fresh = {id(e) for e in facts}
                cut = bisect.bisect_left(self.keys, start)
                head = self.entries[:cut]
                tail = sorted([*self.entries[cut:], *facts], key=key_of)
                state = replay(head, self.company)
        else:
            fresh = {id(e) for e in facts}
            working = sorted([*self.entries, *facts], key=key_of)
            undone = dict(undone)
            first = key_of(facts[0]) if facts else None
            for correction in corrections:
                target = self._target(correction, new, undone, working, elsewhere)
                acts = correction.fact
                assert isinstance(acts, Correction)
                # Stored with its target's date and whole event id (a file may name it by
                # a prefix or an external_id): a replay never resolves it again.
                correction = correction._replace(
                    fact=acts.model_copy(
                        update={
                            "effective_date": target.fact.effective_date,
                            "target": target.event_id,
                        }
                    )
                )
                assert isinstance(correction.fact, Correction)
                completed[correction.seq] = correction
                on = correct(working, correction)
                assert on is not None  # _target found it in force
                undone[correction.fact.target_id] = correction
                fresh.update(id(e) for e in working if e.event_id == correction.event_id)
                if first is None or (on, 0) < first:
                    first = (on, 0)
            assert first is not None
            cut = bisect.bisect_left(working, first, key=key_of)
            head, tail = working[:cut], working[cut:]
            state = replay(head, self.company)
        replaced = {e.event_id: e.seq for e in corrections if isinstance(e.fact, EventCorrected)}
        stored: dict[int, Entry] = {}
        checked: list[Entry] = []
        for entry in tail:
            is_new = fresh is None or id(entry) in fresh
            try:
                if is_new and isinstance(entry.fact, InvestmentMade):
                    fact = derive(state, entry.fact)
                    if fact is not entry.fact:
                        entry = entry._replace(fact=fact)
                        if entry.event_id in replaced:
                            seq = replaced[entry.event_id]
                            done = completed[seq]
                            completed[seq] = done._replace(
                                fact=done.fact.model_copy(update={"replacement": fact})
                            )
                        else:
                            stored[entry.seq] = entry
                check(state, entry.fact)
            except Broken as broken:
                if broken.rule == 1 and entry.fact.type != "CompanyRegistered":
                    broken = self._before_registration(entry, broken, [*head, *tail])
                if is_new and entry.event_id in replaced:
                    raise self._breaks_rule_6(
                        completed[replaced[entry.event_id]], entry, broken, replacement=True
                    ) from None
                if is_new or not corrections:
                    because = None if is_new else self._culprit(head, checked, entry, facts)
                    raise violation(entry, broken, because=because) from None
                culprit = self._blame(new, completed)
                if culprit.seq in completed:
                    raise self._breaks_rule_6(completed[culprit.seq], entry, broken) from None
                raise violation(entry, broken, because=culprit) from None
            _EVOLVE[entry.fact.type](state, entry.fact)
            checked.append(entry)
        if completed or stored:
            to_store = [completed.get(e.seq) or stored.get(e.seq, e) for e in new]
        else:
            to_store = list(new)
        extended = Timeline.__new__(Timeline)
        extended.company = self.company
        extended.log = [*self.log, *sorted(to_store, key=seq_of)]
        extended.entries = [*head, *checked]
        if head is self.entries:
            extended.keys = [*self.keys, *map(key_of, checked)]
        else:
            extended.keys = list(map(key_of, extended.entries))
        extended.undone = undone
        extended.end = state
        return extended, to_store

    def _target(
        self,
        correction: Entry,
        new: Sequence[Entry],
        undone: dict[UUID, Entry],
        working: list[Entry],
        elsewhere: Callable[[UUID], str | None] | None,
    ) -> Entry:
        """The entry in force that ``correction`` acts on, or a rule 6 violation saying why
        there is none."""
        fact = correction.fact
        assert isinstance(fact, Correction)

        def refused(detail: str) -> RuleViolation:
            return RuleViolation(
                f"{place(correction)} ({fact.type}): {rule_name(6)}: {detail}", rule=6
            )

        logged = self._named(correction, new)
        if logged is None:
            assert isinstance(fact.target, UUID)  # a prefix or an external_id names one
            other = elsewhere(fact.target) if elsewhere is not None else None
            there = f": it is an event of {other}" if other else ""
            raise refused(f"event {fact.target} is not an event of {self.company}{there}")
        target = logged.event_id
        assert target is not None
        if target in undone:
            by = undone[target]
            how = "retracted" if isinstance(by.fact, EventRetracted) else "corrected"
            raise refused(f"event {target} is already {how} by {place(by)}")
        if logged.seq > correction.seq:
            raise refused(
                f"event {target} ({place(logged)}) is recorded after the correction: a "
                "correction targets only an event recorded before it (stored, or earlier in "
                "the batch)"
            )
        if isinstance(logged.fact, EventRetracted):
            raise refused(
                f"event {target} is a retraction: a retraction is not retracted or corrected "
                "(record the event again instead)"
            )
        for entry in working:
            if entry.event_id == target:
                return entry
        raise refused(f"event {target} is not in force")  # pragma: no cover (undone above)

    def _named(self, correction: Entry, new: Sequence[Entry]) -> Entry | None:
        """The event of the log (stored, or earlier in the batch) that ``correction`` names:
        by its whole event id (None if the company has none such: rule 6 says so), by the
        first characters of it, or by its external_id. A prefix or an external_id that
        names no event, or a prefix that names several, is an input error."""
        fact = correction.fact
        assert isinstance(fact, Correction)
        logged = (e for e in [*self.log, *new] if e is not correction)
        if isinstance(fact.target, UUID):
            return next((e for e in logged if e.event_id == fact.target), None)
        where, company = correction.where, self.company
        if fact.target is None:
            external_id = fact.target_external_id
            named = next((e for e in logged if e.fact.external_id == external_id), None)
            if named is None:
                raise InputError(
                    f"{where}: field 'target_external_id': no event of {company} has "
                    f"external_id {external_id!r}"
                )
            return named
        prefix = fact.target
        found = [e for e in logged if str(e.event_id).startswith(prefix)]
        if not found:
            raise InputError(
                f"{where}: field 'target': no event of {company} has an event id starting "
                f"{prefix!r}"
            )
        if len(found) > 1:
            ids = ", ".join(str(e.event_id) for e in found[:3])
            raise InputError(
                f"{where}: field 'target': {prefix!r} starts the event ids of {len(found)} "
                f"events of {company} ({ids}{', …' if len(found) > 3 else ''}): give more "
                "of its characters"
            )
        return found[0]

    def _blame(self, new: Sequence[Entry], completed: dict[int, Entry]) -> Entry:
        """The change of a batch with corrections that first makes a stored event break:
        apply the batch's entries one by one in recording order (a fact goes into the
        timeline, a correction acts) and replay the whole timeline after each. Error path
        only: one replay per entry of the batch."""
        ids = {e.event_id for e in new if e.event_id is not None}
        seqs = {e.seq for e in new}
        working = list(self.entries)
        changes = sorted(new, key=lambda e: e.seq)
        for change in changes:
            change = completed.get(change.seq, change)
            if isinstance(change.fact, Correction):
                correct(working, change)
            else:
                bisect.insort(working, change, key=key_of)
            state = CompanyState(self.company)
            try:
                for entry in working:
                    is_new = entry.seq in seqs or entry.event_id in ids
                    fact = derive(state, entry.fact) if is_new else entry.fact
                    try:
                        check(state, fact)
                    except Broken:
                        if is_new:
                            break  # it needs a later entry of the batch: not this change
                        raise
                    _EVOLVE[fact.type](state, fact)
            except Broken:
                return change
        return completed.get(changes[-1].seq, changes[-1])

    @staticmethod
    def _breaks_rule_6(
        correction: Entry, failing: Entry, broken: Broken, *, replacement: bool = False
    ) -> RuleViolation:
        """A correction that would leave the timeline invalid: rule 6, naming the correction,
        its target, and the event that would break with its own rule and numbers."""
        fact = correction.fact
        assert isinstance(fact, Correction)
        if replacement:
            what = f"its replacement {failing.fact.type} of {failing.fact.effective_date}"
        else:
            change = "with its replacement" if isinstance(fact, EventCorrected) else "without it"
            what = (
                f"{change}, the later {failing.fact.type} of {failing.fact.effective_date} "
                f"({place(failing)})"
            )
        return RuleViolation(
            f"{place(correction)} ({fact.type} of event {fact.target_id}, "
            f"{fact.effective_date}): "
            f"{rule_name(6)}: {what} breaks {rule_name(broken.rule)}: "
            f"{broken.detail}",
            rule=6,
        )

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
