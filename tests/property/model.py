"""A naive model of the ledger for the state machine, written from docs/ alone.

Plain dictionaries, no import of ``ledger.domain``. It keeps every accepted event with its
recording order and the position the ledger gave it. Whether a new batch is valid is decided
by inserting it into each company's timeline, sorting by (effective_date, recording order),
replaying the whole timeline from nothing and checking every rule after every event. The
answers (cap table, roster, board) are replays of the events known at a position (a batch is
known whole), cut at a date, in the JSON shape of docs/contracts.md.

Corrections, just as simply: walking the log in recording order, a retraction takes its
target out of a dictionary of the events in force, a correction puts its replacement in
under its own id, in the target's place in recording order. A target must be an event in
force of the same company (never a retraction), else the batch breaks rule 6.

An investment given as a stake or a valuation buys shares derived (``derive``) from the
timeline where it stands when it is recorded; the model keeps that count, so a later
back-dated event or correction never changes it, as docs/events.md says.

Each event type is one function of ``APPLY`` (and, if the event file refuses some of its
forms, one of ``MALFORMED``): a new event type is one entry in each.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple

Event = dict[str, Any]

ROLE_ORDER = ("ceo", "cfo", "coo", "cto", "cso", "president", "other")
SEATED = ("director", "chair")  # observers take no seat


class Broken(Exception):
    """The timeline breaks a rule at some event."""


@dataclass(frozen=True)
class Accepted:
    event: Event
    order: int  # recording order across the whole ledger
    position: int  # the position the ledger gave it
    batch_end: int = -1  # the last position of its batch
    event_id: str | None = None  # the ledger's id (None: not recorded yet)


CORRECTIONS = ("EventRetracted", "EventCorrected")


class InForce(NamedTuple):
    event: Event
    slot: int  # its place among same-day events: its (or its target's) recording order
    origin: int  # the recording order of the event that brought it (a correction's own)


def in_force(log: list[Accepted]) -> list[InForce]:
    """The events in force, in timeline order."""
    live: dict[object, InForce] = {}
    for a in sorted(log, key=lambda a: a.order):
        e = a.event
        if e["type"] in CORRECTIONS:
            _, slot, _ = live.pop(e["target"])
            if e["type"] == "EventCorrected":
                live[a.event_id] = InForce(e["replacement"], slot, a.order)
        else:
            live[a.event_id or ("new", a.order)] = InForce(e, a.order, a.order)
    return sorted(live.values(), key=lambda f: (day(f.event), f.slot))


@dataclass
class Company:
    """One company at one date, as the replay leaves it."""

    registered: date | None = None
    votes: dict[str, int] = field(default_factory=dict)  # share class -> votes per share
    authorized: dict[str, int | None] = field(default_factory=dict)
    issued: dict[str, int] = field(default_factory=dict)
    held: dict[tuple[str, str], int] = field(default_factory=dict)  # (party, class) -> shares
    offices: list[dict[str, Any]] = field(default_factory=list)
    directors: dict[str, dict[str, Any]] = field(default_factory=dict)
    board_size: int | None = None
    valuation: dict[str, str] | None = None  # in the JSON shape of the cap table

    def seated(self) -> int:
        return sum(1 for d in self.directors.values() if d["seat"] in SEATED)


def day(event: Event) -> date:
    return date.fromisoformat(event["effective_date"])


MAX_SHARES = 10**15  # the most shares an event may give
MAX_TOTAL = 10**18  # the most a count or a valuation the ledger derives or sums may reach


def half_even(x: Fraction) -> int:
    """The integer nearest ``x``, a tie to the even one."""
    q, r = divmod(x.numerator, x.denominator)
    if 2 * r > x.denominator or (2 * r == x.denominator and q % 2 == 1):
        q += 1
    return q


def decimal(text: str) -> str:
    """An amount as the ledger answers it: the decimal in plain notation."""
    return format(Decimal(text), "f")


def money(m: dict[str, str]) -> Fraction:
    return Fraction(m["amount"])


def derive(c: Company, e: Event) -> int:
    """The shares an investment given as a stake or a valuation buys (docs/events.md): from
    O outstanding just before, exact fractions, one half-even rounding."""
    outstanding = sum(c.held.values())
    if outstanding == 0:
        raise Broken("nothing outstanding to derive from")
    amount = money(e["amount"])
    if "stake_percent" in e:
        stake = Fraction(e["stake_percent"]) / 100
        before = sum(n for (party, _), n in c.held.items() if party == e["investor"])
        exact = (stake * outstanding - before) / (1 - stake)
        if exact <= 0:
            raise Broken("the stake needs no new shares")
    else:
        if "post_money_valuation" in e:
            post = money(e["post_money_valuation"])
        else:
            post = money(e["pre_money_valuation"]) + amount
        bought = amount / post
        exact = outstanding * bought / (1 - bought)
    new = half_even(exact)
    if new <= 0:
        raise Broken("the investment buys no shares")
    return new


# --- each event type: how it changes the company (raising ``Broken`` where it cannot) ---


def _need_class(c: Company, cls: str) -> None:
    if cls not in c.votes:
        raise Broken("no such class then")


def _add(c: Company, party: str, cls: str, n: int) -> None:
    c.held[(party, cls)] = c.held.get((party, cls), 0) + n


def registered(c: Company, e: Event) -> None:
    if c.registered is not None:
        raise Broken("registered twice")
    c.registered = day(e)


def class_created(c: Company, e: Event) -> None:
    if e["share_class"] in c.votes:
        raise Broken("class twice")
    c.votes[e["share_class"]] = e.get("votes_per_share", 1)
    c.authorized[e["share_class"]] = e.get("authorized")
    c.issued[e["share_class"]] = 0


def issued(c: Company, e: Event) -> None:
    _need_class(c, e["share_class"])
    _add(c, e["holder"], e["share_class"], e["shares"])
    c.issued[e["share_class"]] += e["shares"]


def invested(c: Company, e: Event) -> None:
    """``e`` carries its shares: given, or derived (``derive``) when it was recorded."""
    _need_class(c, e["share_class"])
    new = e["shares"]
    _add(c, e["investor"], e["share_class"], new)
    c.issued[e["share_class"]] += new
    amount = e["amount"]
    if "post_money_valuation" in e:
        post = decimal(e["post_money_valuation"]["amount"])
    elif "pre_money_valuation" in e:
        post = decimal(str(Decimal(e["pre_money_valuation"]["amount"]) + Decimal(amount["amount"])))
    else:  # implied by the stake it bought: amount × shares after / new shares, to the cent
        implied = half_even(money(amount) * sum(c.held.values()) / new * 100)
        if implied > MAX_TOTAL * 100:
            raise Broken("an implied valuation over the bound")
        post = f"{implied // 100}.{implied % 100:02d}"
    c.valuation = {"amount": post, "currency": amount["currency"], "basis": "post-money",
                   "effective_date": e["effective_date"]}  # fmt: skip


def transferred(c: Company, e: Event) -> None:
    _need_class(c, e["share_class"])
    _add(c, e["from"], e["share_class"], -e["shares"])
    _add(c, e["to"], e["share_class"], e["shares"])


def cancelled(c: Company, e: Event) -> None:
    _need_class(c, e["share_class"])
    _add(c, e["holder"], e["share_class"], -e["shares"])
    c.issued[e["share_class"]] -= e["shares"]


def split(c: Company, e: Event) -> None:
    """Every M shares of the class become N: each holder's result and the authorized shares
    round down."""
    cls = e["share_class"]
    _need_class(c, cls)
    n, m = (int(term) for term in e["ratio"].split(":"))
    for key, held in c.held.items():
        if key[1] == cls:
            c.held[key] = held * n // m
    c.issued[cls] = sum(held for (_, k), held in c.held.items() if k == cls)
    authorized = c.authorized[cls]
    c.authorized[cls] = None if authorized is None else authorized * n // m


def authorized_changed(c: Company, e: Event) -> None:
    cls = e["share_class"]
    _need_class(c, cls)
    if e["authorized"] < c.issued[cls]:
        raise Broken("authorized below issued")
    c.authorized[cls] = e["authorized"]


def valued(c: Company, e: Event) -> None:
    c.valuation = {
        "amount": decimal(e["valuation"]["amount"]),
        "currency": e["valuation"]["currency"],
        "basis": e["basis"],
        "effective_date": e["effective_date"],
    }


def appointed(c: Company, e: Event) -> None:
    interim = e["type"] == "InterimCEOAppointed" or e.get("interim", False)
    role = "ceo" if e["type"] == "InterimCEOAppointed" else e["role"]
    title = e.get("title")
    if e["type"] == "InterimCEOAppointed" and title is None:
        title = "Interim Chief Executive Officer"
    c.offices.append(
        {"person": e["person"], "role": role, "title": title, "interim": interim,
         "since": e["effective_date"]}
    )  # fmt: skip


def departed(c: Company, e: Event) -> None:
    held = [o for o in c.offices if (o["person"], o["role"]) == (e["person"], e["role"])]
    if not held:
        raise Broken("departs an office not held")
    c.offices.remove(held[0])


def director_appointed(c: Company, e: Event) -> None:
    if e["person"] in c.directors:
        raise Broken("already a director")
    c.directors[e["person"]] = {
        "seat": e.get("seat", "director"),
        "since": e["effective_date"],
        "designated_by": e.get("designated_by"),
    }


def director_departed(c: Company, e: Event) -> None:
    if e["person"] not in c.directors:
        raise Broken("not a director")
    del c.directors[e["person"]]


def seat_retained(c: Company, e: Event) -> None:
    if e["person"] not in c.directors:
        raise Broken("retains a seat it does not have")


def board_size_set(c: Company, e: Event) -> None:
    c.board_size = e["seats"]


APPLY: dict[str, Callable[[Company, Event], None]] = {
    "CompanyRegistered": registered,
    "ShareClassCreated": class_created,
    "SharesIssued": issued,
    "InvestmentMade": invested,
    "SharesTransferred": transferred,
    "SharesCancelled": cancelled,
    "StockSplit": split,
    "AuthorizedSharesChanged": authorized_changed,
    "ValuationRecorded": valued,
    "ExecutiveAppointed": appointed,
    "InterimCEOAppointed": appointed,
    "ExecutiveDeparted": departed,
    "DirectorAppointed": director_appointed,
    "DirectorDeparted": director_departed,
    "BoardSeatRetained": seat_retained,
    "BoardSizeSet": board_size_set,
}
"""How each event type the model knows changes a company: one function each."""


def apply(c: Company, e: Event) -> None:
    """Apply one event to the company, then check every rule; raise ``Broken`` if any fails."""
    if c.registered is None and e["type"] != "CompanyRegistered":
        raise Broken("before registration")
    APPLY[e["type"]](c, e)
    # The invariants, after every event.
    if any(n < 0 for n in c.held.values()):
        raise Broken("a negative holding")
    if any(a is not None and c.issued[cls] > a for cls, a in c.authorized.items()):
        raise Broken("over the authorized shares")
    if sum(c.held.values()) > MAX_TOTAL or any(
        a is not None and a > MAX_TOTAL for a in c.authorized.values()
    ):
        raise Broken("a total over the bound")
    if sum(1 for o in c.offices if o["role"] == "ceo") > 1:
        raise Broken("two CEOs")
    offices = [(o["person"], o["role"]) for o in c.offices]
    if len(offices) != len(set(offices)):
        raise Broken("an office held twice")
    if c.board_size is not None and c.seated() > c.board_size:
        raise Broken("more directors than seats")


FORMS = ("shares", "stake_percent", "post_money_valuation", "pre_money_valuation")
"""The ways an investment says how many shares it buys: exactly one is given."""
RATIO = re.compile(r"^([1-9][0-9]{0,5}|1000000):([1-9][0-9]{0,5}|1000000)$")


def _malformed_investment(e: Event) -> bool:
    if sum(form in e for form in FORMS) != 1 or money(e["amount"]) <= 0:
        return True
    if "stake_percent" in e and not 0 < Fraction(e["stake_percent"]) < 100:
        return True
    return "post_money_valuation" in e and money(e["post_money_valuation"]) <= money(e["amount"])


MALFORMED: dict[str, Callable[[Event], bool]] = {
    "SharesTransferred": lambda e: e["from"] == e["to"],
    "InvestmentMade": _malformed_investment,
    "StockSplit": lambda e: not RATIO.match(e["ratio"]),
    "AuthorizedSharesChanged": lambda e: not 0 < e["authorized"] <= MAX_SHARES,
    "ValuationRecorded": lambda e: money(e["valuation"]) <= 0,
}
"""What the event-file validation refuses before any rule, by event type (the cases the
machine makes besides a count of shares out of 1..10^15)."""


def is_malformed(e: Event) -> bool:
    if e["type"] == "EventCorrected":
        return is_malformed(e["replacement"])
    if "shares" in e and not 0 < e["shares"] <= MAX_SHARES:
        return True
    malformed = MALFORMED.get(e["type"])
    return malformed is not None and malformed(e)


def percent(part: int, whole: int) -> str | None:
    """part/whole on a 0-100 scale, exactly 4 decimals, half to even; None if whole is 0."""
    if whole == 0:
        return None
    q, r = divmod(part * 100 * 10_000, whole)
    if 2 * r > whole or (2 * r == whole and q % 2 == 1):
        q += 1
    return f"{q // 10_000}.{q % 10_000:04d}"


class Model:
    def __init__(self) -> None:
        self.accepted: list[Accepted] = []
        self.orders = 0
        self.derived: dict[int, int] = {}  # recording order -> the shares it was derived to buy

    # --- validity ---

    def registered(self) -> set[str]:
        return {a.event["company"] for a in self.accepted if a.event["type"] == "CompanyRegistered"}

    def problems(self, batch: list[Event]) -> set[str]:
        """What is wrong with recording ``batch`` now: {"input"}, {"rule"}, both, or nothing."""
        found: set[str] = set()
        if any(is_malformed(e) for e in batch):
            return {"input"}  # the whole file is read before any rule is checked
        known = self.registered() | {
            e["company"] for e in batch if e["type"] == "CompanyRegistered"
        }
        if any(e["company"] not in known for e in batch):
            found.add("input")
        if self.bad_targets(batch):
            return found | {"rule"}
        new = [Accepted(e, self.orders + i + 1, -1) for i, e in enumerate(batch)]
        for company in {e["company"] for e in batch} & known:
            try:
                self.replay(company, extra=new)
            except Broken:
                found.add("rule")
        return found

    def bad_targets(self, batch: list[Event]) -> bool:
        """Whether a correction of ``batch`` targets no event in force of its company."""
        by_id = {a.event_id: a.event for a in self.accepted}
        undone = {a.event["target"] for a in self.accepted if a.event["type"] in CORRECTIONS}
        for e in batch:
            if e["type"] not in CORRECTIONS:
                continue
            target = by_id.get(e["target"])
            if (
                target is None
                or target["company"] != e["company"]
                or target["type"] == "EventRetracted"
                or e["target"] in undone
            ):
                return True
            undone.add(e["target"])
        return False

    def replay(
        self,
        company: str,
        *,
        extra: list[Accepted] = (),  # type: ignore[assignment]
        as_of: date | None = None,
        known_at: int | None = None,
        derived: dict[int, int] | None = None,
    ) -> Company:
        """The company from the events in force (``extra``: not recorded yet), as known at a
        position and as of a date. An investment given as a stake or a valuation buys the
        shares derived when it was recorded; a new one's are derived here, into
        ``derived`` (by the recording order of the event that brought it)."""
        derived = {} if derived is None else derived
        timeline = [
            a
            for a in [*self.accepted, *extra]
            if a.event["company"] == company and (known_at is None or a.position <= known_at)
        ]
        state = Company()
        for event, _, origin in in_force(timeline):
            if as_of is not None and day(event) > as_of:
                break
            if event["type"] == "InvestmentMade" and "shares" not in event:
                count = self.derived.get(origin)
                if count is None:  # a new one: derived where it stands
                    count = derived[origin] = derive(state, event)
                event = {**event, "shares": count}
            apply(state, event)
        return state

    def accept(self, batch: list[Event], positions: list[int], ids: list[str]) -> None:
        for event, position, event_id in zip(batch, positions, ids, strict=True):
            self.orders += 1
            self.accepted.append(Accepted(event, self.orders, position, positions[-1], event_id))
        # The shares the batch's investments buy are derived now and kept: a later
        # back-dated event or correction never derives them again.
        for company in {e["company"] for e in batch}:
            self.replay(company, derived=self.derived)

    def known(self, position: int) -> int:
        return position

    def positions(self) -> list[int]:
        """The positions that end a batch: the moments a reader could see, where the whole
        known timeline is valid. (Inside a batch the ledger leaves out events that cannot
        apply yet; the contract tests pin that down.)"""
        return sorted({a.batch_end for a in self.accepted})

    def dates(self, company: str) -> list[date]:
        log = [a for a in self.accepted if a.event["company"] == company]
        return sorted({day(f.event) for f in in_force(log)})

    # --- answers, in the JSON shape of docs/contracts.md ---

    def cap_table(self, company: str, as_of: date, known_at: int) -> dict[str, Any]:
        c = self.replay(company, as_of=as_of, known_at=known_at)
        parties: dict[str, dict[str, int]] = {}
        for (party, cls), n in c.held.items():
            if n:
                parties.setdefault(party, {})[cls] = n
        total = sum(sum(classes.values()) for classes in parties.values())
        all_votes = sum(n * c.votes[cls] for (_, cls), n in c.held.items())
        holders: list[dict[str, Any]] = [
            {
                "party": party,
                "shares": sum(classes.values()),
                "ownership_percent": percent(sum(classes.values()), total),
                "voting_percent": percent(
                    sum(n * c.votes[cls] for cls, n in classes.items()), all_votes
                ),
                "classes": dict(sorted(classes.items())),
                "ownership_percent_by_class": {
                    cls: percent(n, total) for cls, n in sorted(classes.items())
                },
                "voting_percent_by_class": {
                    cls: percent(n * c.votes[cls], all_votes) for cls, n in sorted(classes.items())
                },
            }
            for party, classes in parties.items()
        ]
        holders.sort(key=lambda h: (-h["shares"], h["party"]))
        return {
            "company": company,
            "as_of": as_of.isoformat(),
            "known_at": known_at,
            "total_shares": total,
            "holders": holders,
            "valuation": c.valuation,
        }

    def roster(self, company: str, as_of: date, known_at: int) -> dict[str, Any]:
        c = self.replay(company, as_of=as_of, known_at=known_at)
        officers = sorted(
            c.offices, key=lambda o: (ROLE_ORDER.index(o["role"]), o["since"], o["person"])
        )
        return {
            "company": company,
            "as_of": as_of.isoformat(),
            "known_at": known_at,
            "officers": officers,
        }

    def board(self, company: str, as_of: date, known_at: int) -> dict[str, Any]:
        c = self.replay(company, as_of=as_of, known_at=known_at)
        in_office = {o["person"] for o in c.offices}
        directors = [
            {"person": person, **d, "executive": person in in_office}
            for person, d in c.directors.items()
        ]
        directors.sort(key=lambda d: (d["since"], d["person"]))
        return {
            "company": company,
            "as_of": as_of.isoformat(),
            "known_at": known_at,
            "directors": directors,
        }
