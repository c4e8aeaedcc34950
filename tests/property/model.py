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

The second catalogue just as plainly: plans, awards, warrants and convertibles are
dictionaries of their terms and counts; what they amount to on a date (vested, outstanding,
exercisable, a plan's available shares, fully diluted) is computed from those when asked. A
conversion given by its price alone derives its shares (``conversion``) when it is recorded
and keeps them, as an investment does. Where a check of the second catalogue fails, ``Broken``
carries the rule's number.

Each event type is one function of ``APPLY`` (and, if the event file refuses some of its
forms, one of ``MALFORMED``): a new event type is one entry in each.
"""

from __future__ import annotations

import calendar
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
    """The timeline breaks a rule at some event: ``rule`` is its number where the model pins
    it down (the second catalogue's checks), else None."""

    def __init__(self, why: str, rule: int | None = None) -> None:
        super().__init__(why)
        self.rule = rule


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
    names: dict[str, str] = field(default_factory=dict)  # party -> display name
    plans: dict[str, dict[str, Any]] = field(default_factory=dict)
    awards: dict[str, dict[str, Any]] = field(default_factory=dict)  # grant -> award
    warrants: dict[str, dict[str, Any]] = field(default_factory=dict)
    convertibles: dict[str, dict[str, Any]] = field(default_factory=dict)

    def seated(self) -> int:
        return sum(1 for d in self.directors.values() if d["seat"] in SEATED)

    def outstanding(self) -> int:
        return sum(self.held.values())

    def available(self, plan: dict[str, Any], on: date) -> int:
        """reserved − exercised − its awards outstanding − retired."""
        awards = [a for a in self.awards.values() if a["plan"] == plan["plan"]]
        return int(
            plan["reserved"]
            - plan["exercised"]
            - sum(outstanding(a, on) for a in awards)
            - retired(plan, awards, on)
        )

    def fully_diluted(self, on: date) -> int:
        """Shares, awards and warrants outstanding, and what the plans have available."""
        return (
            self.outstanding()
            + sum(outstanding(a, on) for a in self.awards.values())
            + sum(outstanding(w, on) for w in self.warrants.values())
            + sum(self.available(p, on) for p in self.plans.values())
        )

    def ceiling(self) -> int:
        """The most fully diluted can ever reach: shares, reserves not exercised, warrants
        not exercised or cancelled."""
        return (
            self.outstanding()
            + sum(int(p["reserved"] - p["exercised"]) for p in self.plans.values())
            + sum(unexercised(w) for w in self.warrants.values())
        )


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
    split_instruments(c, cls, n, m)


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


# --- the second catalogue: stakeholders, plans, awards, warrants, convertibles ---


def month_end(start: date, k: int) -> date:
    """The day the k-th month from ``start`` completes: the same day of the month, or the
    month's last day when it is shorter."""
    index = start.month - 1 + k
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def months_from(start: date, on: date) -> int:
    """Whole months from ``start`` to ``on`` (``on`` not before ``start``)."""
    k = (on.year - start.year) * 12 + on.month - start.month
    while month_end(start, k) > on:
        k -= 1
    return k


def vested(award: dict[str, Any], on: date) -> int:
    q: int = award["quantity"]
    schedule = award["vesting"]
    if schedule is None:
        return q if on >= award["issued"] else 0
    start = date.fromisoformat(schedule["start"])
    if on < start:
        return 0
    m = months_from(start, on)
    months: int = schedule["months"]
    cliff: int = schedule.get("cliff_months", 0)
    if m < cliff:
        return 0
    if m >= months:
        return q
    every: int = schedule.get("every_months", 1)
    return q * max(cliff, m // every * every) // months


def expired(instrument: dict[str, Any], on: date) -> bool:
    return instrument["expiration"] is not None and on > instrument["expiration"]


def unexercised(instrument: dict[str, Any]) -> int:
    return int(instrument["quantity"] - instrument["exercised"] - instrument["cancelled"])


def outstanding(instrument: dict[str, Any], on: date) -> int:
    """An award's or a warrant's: what is neither exercised nor cancelled, until it expires."""
    return 0 if expired(instrument, on) else unexercised(instrument)


def exercisable(award: dict[str, Any], on: date) -> int:
    done: int = award["exercised"]
    return max(0, min(vested(award, on) - done, outstanding(award, on)))


def retired(plan: dict[str, Any], awards: list[dict[str, Any]], on: date) -> int:
    """Out of the plan for good: what cancellations retired and, under retire, the remainders
    of its expired awards."""
    if plan["on_cancel"] != "retire":
        return int(plan["retired"])
    return int(plan["retired"]) + sum(unexercised(a) for a in awards if expired(a, on))


def stakeholder(c: Company, e: Event) -> None:
    c.names[e["party"]] = e["name"]


def plan_created(c: Company, e: Event) -> None:
    if e["plan"] in c.plans:
        raise Broken("a plan twice", 7)
    _need_class(c, e["share_class"])
    c.plans[e["plan"]] = {
        "plan": e["plan"], "name": e["name"], "share_class": e["share_class"],
        "reserved": e["reserved"], "on_cancel": e.get("on_cancel", "return"),
        "exercised": 0, "retired": 0,
    }  # fmt: skip


def _plan(c: Company, name: str) -> dict[str, Any]:
    if name not in c.plans:
        raise Broken("no such plan then", 7)
    return c.plans[name]


def reserve_changed(c: Company, e: Event) -> None:
    _plan(c, e["plan"])["reserved"] = e["reserved"]  # a cut below what is taken: invariant 7


def _expiration(e: Event) -> date | None:
    return None if e.get("expiration_date") is None else date.fromisoformat(e["expiration_date"])


def granted(c: Company, e: Event) -> None:
    if e["grant"] in c.awards:
        raise Broken("a grant id twice", 8)
    plan = _plan(c, e["plan"])
    c.awards[e["grant"]] = {
        "grant": e["grant"], "holder": e["holder"], "plan": e["plan"],
        "kind": e.get("kind", "option"), "share_class": plan["share_class"],
        "quantity": e["quantity"], "price": e.get("exercise_price"),
        "expiration": _expiration(e), "vesting": e.get("vesting"), "issued": day(e),
        "exercised": 0, "cancelled": 0,
    }  # fmt: skip


def _instrument(found: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    if name not in found:
        raise Broken("no such instrument then", 8)
    return found[name]


def _exercise(c: Company, instrument: dict[str, Any], e: Event, can: int) -> None:
    if expired(instrument, day(e)):
        raise Broken("exercised after it expired", 8)
    if e["quantity"] > can:
        raise Broken("more than can be exercised", 8)
    instrument["exercised"] += e["quantity"]
    _add(c, instrument["holder"], instrument["share_class"], e["quantity"])
    c.issued[instrument["share_class"]] += e["quantity"]


def option_exercised(c: Company, e: Event) -> None:
    award = _instrument(c.awards, e["grant"])
    _exercise(c, award, e, exercisable(award, day(e)))
    c.plans[award["plan"]]["exercised"] += e["quantity"]


def _cancel(instrument: dict[str, Any], e: Event) -> int:
    left = outstanding(instrument, day(e))
    taken = e.get("quantity", left)
    if left == 0 or taken > left:
        raise Broken("cancels more than is outstanding", 8)
    instrument["cancelled"] += taken
    return int(taken)


def option_cancelled(c: Company, e: Event) -> None:
    award = _instrument(c.awards, e["grant"])
    taken = _cancel(award, e)
    plan = c.plans[award["plan"]]
    if plan["on_cancel"] == "retire":
        plan["retired"] += taken


def warrant_issued(c: Company, e: Event) -> None:
    if e["warrant"] in c.warrants:
        raise Broken("a warrant id twice", 8)
    _need_class(c, e["share_class"])
    c.warrants[e["warrant"]] = {
        "warrant": e["warrant"], "holder": e["holder"], "share_class": e["share_class"],
        "quantity": e["quantity"], "price": e["exercise_price"],
        "expiration": _expiration(e), "issued": day(e), "exercised": 0, "cancelled": 0,
    }  # fmt: skip


def warrant_exercised(c: Company, e: Event) -> None:
    warrant = _instrument(c.warrants, e["warrant"])
    _exercise(c, warrant, e, outstanding(warrant, day(e)))


def warrant_cancelled(c: Company, e: Event) -> None:
    _cancel(_instrument(c.warrants, e["warrant"]), e)


def convertible_issued(c: Company, e: Event) -> None:
    if e["convertible"] in c.convertibles:
        raise Broken("a convertible id twice", 8)
    c.convertibles[e["convertible"]] = {**e, "open": True}


def _open_convertible(c: Company, name: str) -> dict[str, Any]:
    found = _instrument(c.convertibles, name)
    if not found["open"]:
        raise Broken("converted or cancelled already", 8)
    return found


def conversion(c: Company, e: Event) -> int:
    """The shares a conversion given by its price alone derives (docs/events.md): exact
    fractions, one rounding down, the largest of the candidates that apply."""
    if c.registered is None:
        raise Broken("before registration")
    terms = _open_convertible(c, e["convertible"])
    when, issued_on = day(e), day(terms)
    amount = money(terms["amount"])
    if terms["kind"] == "note" and "interest_rate_percent" in terms:
        rate = Fraction(terms["interest_rate_percent"]) / 100
        amount *= 1 + rate * max(0, (when - issued_on).days) / 365
    price = money(e["price_per_share"])
    candidates = [amount / price]
    if "discount_percent" in terms:
        candidates.append(amount / (price * (1 - Fraction(terms["discount_percent"]) / 100)))
    if "valuation_cap" in terms:
        cap = money(terms["valuation_cap"])
        diluted = c.fully_diluted(when)
        basis = terms.get("cap_basis", "pre-money" if terms["kind"] == "note" else "post-money")
        if basis == "post-money":
            a = amount / cap
            if a >= 1:
                raise Broken("the amount reaches the post-money cap", 8)
            candidates.append(diluted * a / (1 - a))
        else:
            candidates.append(diluted * amount / cap)
    shares = int(max(candidates))  # positive: rounds down
    if shares == 0:
        raise Broken("converts to no shares", 8)
    if shares > MAX_TOTAL:
        raise Broken("a derived count over the bound")
    return shares


def convertible_converted(c: Company, e: Event) -> None:
    """``e`` carries its shares: given, or derived (``conversion``) when it was recorded."""
    terms = _open_convertible(c, e["convertible"])
    _need_class(c, e["share_class"])
    terms["open"] = False
    _add(c, terms["holder"], e["share_class"], e["shares"])
    c.issued[e["share_class"]] += e["shares"]


def convertible_cancelled(c: Company, e: Event) -> None:
    _open_convertible(c, e["convertible"])["open"] = False


def shares_converted(c: Company, e: Event) -> None:
    source, target = e["from_class"], e["to_class"]
    _need_class(c, source)
    if e["shares"] > c.held.get((e["holder"], source), 0):
        raise Broken("converts more than is held", 3)
    n, m = (int(term) for term in e.get("ratio", "1:1").split(":"))
    new = e["shares"] * n // m
    if new == 0:
        raise Broken("converts to no shares", 2)
    _need_class(c, target)
    _add(c, e["holder"], source, -e["shares"])
    c.issued[source] -= e["shares"]
    _add(c, e["holder"], target, new)
    c.issued[target] += new


def split_price(price: dict[str, str], n: int, m: int) -> dict[str, str]:
    """price × M / N, half-even to 10 places, in plain notation without trailing zeros."""
    units = half_even(money(price) * m / n * 10**10)
    text = f"{units // 10**10}.{units % 10**10:010d}".rstrip("0").rstrip(".")
    return {"amount": text, "currency": price["currency"]}


def split_instruments(c: Company, cls: str, n: int, m: int) -> None:
    """Awards and warrants of the class scale (rounded down, the price divided), plans
    delivering it too (a plan's exercised: its awards')."""
    for instrument in [*c.awards.values(), *c.warrants.values()]:
        if instrument["share_class"] == cls:
            for key in ("quantity", "exercised", "cancelled"):
                instrument[key] = instrument[key] * n // m
            if instrument["price"] is not None:
                instrument["price"] = split_price(instrument["price"], n, m)
    for plan in c.plans.values():
        if plan["share_class"] == cls:
            plan["reserved"] = plan["reserved"] * n // m
            plan["retired"] = plan["retired"] * n // m
            plan["exercised"] = sum(
                a["exercised"] for a in c.awards.values() if a["plan"] == plan["plan"]
            )


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
    "StakeholderRecorded": stakeholder,
    "StockPlanCreated": plan_created,
    "StockPlanReserveChanged": reserve_changed,
    "OptionGranted": granted,
    "OptionExercised": option_exercised,
    "OptionCancelled": option_cancelled,
    "WarrantIssued": warrant_issued,
    "WarrantExercised": warrant_exercised,
    "WarrantCancelled": warrant_cancelled,
    "ConvertibleIssued": convertible_issued,
    "ConvertibleConverted": convertible_converted,
    "ConvertibleCancelled": convertible_cancelled,
    "SharesConverted": shares_converted,
}
"""How each event type the model knows changes a company: one function each."""


DERIVED: dict[str, Callable[[Company, Event], int]] = {
    "InvestmentMade": derive,
    "ConvertibleConverted": conversion,
}
"""The events whose shares, when not given, the ledger derives at recording and keeps."""


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
    if any(c.available(plan, day(e)) < 0 for plan in c.plans.values()):
        raise Broken("a plan's available shares below 0", 7)
    if c.ceiling() > MAX_TOTAL:
        raise Broken("fully diluted could pass the bound")


FORMS = ("shares", "stake_percent", "post_money_valuation", "pre_money_valuation")
"""The ways an investment says how many shares it buys: exactly one is given."""
RATIO = re.compile(r"^([1-9][0-9]{0,5}|1000000):([1-9][0-9]{0,5}|1000000)$")


def _malformed_investment(e: Event) -> bool:
    if sum(form in e for form in FORMS) != 1 or money(e["amount"]) <= 0:
        return True
    if "stake_percent" in e and not 0 < Fraction(e["stake_percent"]) < 100:
        return True
    return "post_money_valuation" in e and money(e["post_money_valuation"]) <= money(e["amount"])


def _expires_before(e: Event) -> bool:
    return "expiration_date" in e and e["expiration_date"] < e["effective_date"]


def _malformed_grant(e: Event) -> bool:
    schedule = e.get("vesting")
    return (
        (e.get("kind", "option") == "option") != ("exercise_price" in e)
        or _expires_before(e)
        or (schedule is not None and schedule.get("cliff_months", 0) > schedule["months"])
    )


def _malformed_convertible(e: Event) -> bool:
    discount = e.get("discount_percent")
    return ("interest_rate_percent" in e and e["kind"] != "note") or (
        discount is not None and not 0 < Fraction(discount) < 100
    )


MALFORMED: dict[str, Callable[[Event], bool]] = {
    "SharesTransferred": lambda e: e["from"] == e["to"],
    "InvestmentMade": _malformed_investment,
    "StockSplit": lambda e: not RATIO.match(e["ratio"]),
    "AuthorizedSharesChanged": lambda e: not 0 < e["authorized"] <= MAX_SHARES,
    "ValuationRecorded": lambda e: money(e["valuation"]) <= 0,
    "StockPlanCreated": lambda e: not 0 < e["reserved"] <= MAX_SHARES,
    "OptionGranted": _malformed_grant,
    "WarrantIssued": _expires_before,
    "ConvertibleIssued": _malformed_convertible,
    "ConvertibleConverted": lambda e: "shares" not in e and "price_per_share" not in e,
    "SharesConverted": lambda e: e["from_class"] == e["to_class"],
}
"""What the event-file validation refuses before any rule, by event type (the cases the
machine makes besides a count of shares or a quantity out of 1..10^15)."""


def is_malformed(e: Event) -> bool:
    if e["type"] == "EventCorrected":
        return is_malformed(e["replacement"])
    if any(key in e and not 0 < e[key] <= MAX_SHARES for key in ("shares", "quantity")):
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


def _money_out(m: dict[str, str] | None) -> dict[str, str] | None:
    return None if m is None else {"amount": decimal(m["amount"]), "currency": m["currency"]}


def _decimal_or_none(text: str | None) -> str | None:
    return None if text is None else decimal(text)


def _iso(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


class Model:
    def __init__(self) -> None:
        self.accepted: list[Accepted] = []
        self.orders = 0
        self.derived: dict[int, int] = {}  # recording order -> the shares it was derived to buy

    # --- validity ---

    def registered(self) -> set[str]:
        return {a.event["company"] for a in self.accepted if a.event["type"] == "CompanyRegistered"}

    def problems(self, batch: list[Event]) -> set[str]:
        """What is wrong with recording ``batch`` now: {"input"}, {"rule"}, both, or nothing;
        with "rule N" for each broken company (N its rule's number, or ? where the model does
        not say)."""
        found: set[str] = set()
        if any(is_malformed(e) for e in batch):
            return {"input"}  # the whole file is read before any rule is checked
        known = self.registered() | {
            e["company"] for e in batch if e["type"] == "CompanyRegistered"
        }
        if any(e["company"] not in known for e in batch):
            found.add("input")
        if self.bad_targets(batch):
            return found | {"rule", "rule 6"}
        new = [Accepted(e, self.orders + i + 1, -1) for i, e in enumerate(batch)]
        for company in {e["company"] for e in batch} & known:
            try:
                self.replay(company, extra=new)
            except Broken as broken:
                # What a correction breaks, it breaks as a correction.
                rule = 6 if any(e["type"] in CORRECTIONS for e in batch) else broken.rule
                found |= {"rule", f"rule {rule or '?'}"}
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
            if event["type"] in DERIVED and "shares" not in event:
                count = self.derived.get(origin)
                if count is None:  # a new one: derived where it stands
                    count = derived[origin] = DERIVED[event["type"]](state, event)
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
        options: dict[str, int] = {}  # a party's outstanding awards
        warrants: dict[str, int] = {}
        for a in c.awards.values():
            if n := outstanding(a, as_of):
                options[a["holder"]] = options.get(a["holder"], 0) + n
        for w in c.warrants.values():
            if n := outstanding(w, as_of):
                warrants[w["holder"]] = warrants.get(w["holder"], 0) + n
        total = sum(sum(classes.values()) for classes in parties.values())
        diluted = c.fully_diluted(as_of)
        all_votes = sum(n * c.votes[cls] for (_, cls), n in c.held.items())
        holders: list[dict[str, Any]] = []
        for party in {*parties, *options, *warrants}:
            classes = dict(sorted(parties.get(party, {}).items()))
            shares = sum(classes.values())
            mine = shares + options.get(party, 0) + warrants.get(party, 0)
            holders.append(
                {
                    "party": party,
                    "shares": shares,
                    "ownership_percent": percent(shares, total),
                    "voting_percent": percent(
                        sum(n * c.votes[cls] for cls, n in classes.items()), all_votes
                    ),
                    "classes": classes,
                    "ownership_percent_by_class": {
                        cls: percent(n, total) for cls, n in classes.items()
                    },
                    "voting_percent_by_class": {
                        cls: percent(n * c.votes[cls], all_votes) for cls, n in classes.items()
                    },
                    "name": c.names.get(party),
                    "options": options.get(party, 0),
                    "warrants": warrants.get(party, 0),
                    "fully_diluted_shares": mine,
                    "fully_diluted_percent": percent(mine, diluted),
                }
            )
        holders.sort(key=lambda h: (-h["fully_diluted_shares"], h["party"]))
        return {
            "company": company,
            "as_of": as_of.isoformat(),
            "known_at": known_at,
            "total_shares": total,
            "holders": holders,
            "valuation": c.valuation,
            "fully_diluted_total": diluted,
            "pools": [
                {
                    "plan": p["plan"],
                    "name": p["name"],
                    "share_class": p["share_class"],
                    "reserved": p["reserved"],
                    "exercised": p["exercised"],
                    "outstanding": sum(
                        outstanding(a, as_of) for a in c.awards.values() if a["plan"] == name
                    ),
                    "retired": retired(
                        p, [a for a in c.awards.values() if a["plan"] == name], as_of
                    ),
                    "available": c.available(p, as_of),
                }
                for name, p in sorted(c.plans.items())
            ],
            "warrants": [
                {
                    "warrant": name,
                    "holder": w["holder"],
                    "name": c.names.get(w["holder"]),
                    "share_class": w["share_class"],
                    "quantity": w["quantity"],
                    "exercised": w["exercised"],
                    "cancelled": w["cancelled"],
                    "outstanding": outstanding(w, as_of),
                    "exercise_price": _money_out(w["price"]),
                    "expiration_date": _iso(w["expiration"]),
                }
                for name, w in sorted(c.warrants.items())
            ],
            "convertibles": [
                {
                    "convertible": name,
                    "holder": v["holder"],
                    "name": c.names.get(v["holder"]),
                    "kind": v["kind"],
                    "amount": _money_out(v["amount"]),
                    "valuation_cap": _money_out(v.get("valuation_cap")),
                    "discount_percent": _decimal_or_none(v.get("discount_percent")),
                    "cap_basis": v.get(
                        "cap_basis", "pre-money" if v["kind"] == "note" else "post-money"
                    ),
                    "interest_rate_percent": _decimal_or_none(v.get("interest_rate_percent")),
                    "maturity_date": v.get("maturity_date"),
                    "issued": v["effective_date"],
                }
                for name, v in sorted(c.convertibles.items())
                if v["open"]
            ],
        }

    def grants(self, company: str, as_of: date, known_at: int) -> dict[str, Any]:
        c = self.replay(company, as_of=as_of, known_at=known_at)
        grants = [
            {
                "grant": name,
                "holder": a["holder"],
                "name": c.names.get(a["holder"]),
                "plan": a["plan"],
                "kind": a["kind"],
                "share_class": a["share_class"],
                "quantity": a["quantity"],
                "exercise_price": _money_out(a["price"]),
                "vesting": None
                if a["vesting"] is None
                else {"cliff_months": 0, "every_months": 1, **a["vesting"]},
                "expiration_date": _iso(a["expiration"]),
                "granted": a["issued"].isoformat(),
                "vested": vested(a, as_of),
                "exercised": a["exercised"],
                "cancelled": a["cancelled"],
                "outstanding": outstanding(a, as_of),
                "exercisable": exercisable(a, as_of),
            }
            for name, a in sorted(c.awards.items())
        ]
        return {
            "company": company,
            "as_of": as_of.isoformat(),
            "known_at": known_at,
            "grants": grants,
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
            "officers": [{**o, "name": c.names.get(o["person"])} for o in officers],
        }

    def board(self, company: str, as_of: date, known_at: int) -> dict[str, Any]:
        c = self.replay(company, as_of=as_of, known_at=known_at)
        in_office = {o["person"] for o in c.offices}
        directors = [
            {"person": person, "name": c.names.get(person), **d, "executive": person in in_office}
            for person, d in c.directors.items()
        ]
        directors.sort(key=lambda d: (d["since"], d["person"]))
        return {
            "company": company,
            "as_of": as_of.isoformat(),
            "known_at": known_at,
            "directors": directors,
        }
