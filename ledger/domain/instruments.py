"""The rules and evolve of equity instruments (the second catalogue): stakeholders, stock plans,
awards (options and RSUs) with vesting, warrants, convertibles and class conversions.

What an instrument amounts to on a date (vested, outstanding, exercisable, a plan's available
shares, fully diluted) depends on the date alone, so it is computed here from the terms the
state keeps, never stored: an award expires after the end of its ``expiration_date`` without
an event, and its remainder goes back to its plan (or is retired) the day after.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from fractions import Fraction
from typing import NamedTuple

from . import equity
from .equity import (
    diluted_past_bound,
    issue,
    need_class,
    past_bound,
    within_authorized,
    within_bound,
)
from .errors import BOUND, Broken
from .events import (
    ConvertibleCancelled,
    ConvertibleConverted,
    ConvertibleIssued,
    Fact,
    OptionCancelled,
    OptionExercised,
    OptionGranted,
    SharesConverted,
    StakeholderRecorded,
    StockPlanCreated,
    StockPlanReserveChanged,
    StockSplit,
    WarrantCancelled,
    WarrantExercised,
    WarrantIssued,
)
from .state import (
    Award,
    AwardCount,
    CompanyState,
    Convertible,
    Handler,
    Plan,
    Stakeholder,
    Warrant,
    expired_on,
)
from .values import (
    MAX_TOTAL,
    decimal_text,
    money_amount,
    parse_ratio,
    round_down_shares,
    split_price,
)

# --- definitions: what an instrument amounts to on a date ---


def whole_months(start: date, on: date) -> int:
    """Whole months from ``start`` to ``on``: a month is complete on the same day of the month,
    or on the month's last day when it is shorter (from 31 January, one month is complete on
    28 February, or 29 in a leap year)."""
    months = (on.year - start.year) * 12 + on.month - start.month
    last = calendar.monthrange(on.year, on.month)[1]
    if on.day < min(start.day, last):
        months -= 1
    return months


def vested(award: Award, on: date) -> int:
    """What of ``award`` is vested on ``on``: 0 before ``start`` or within the cliff; then
    floor(quantity · v / months), v = max(cliff, whole months rounded down to ``every``);
    all of it after ``months``. Without a schedule, all of it from the grant."""
    if award.vesting is None:
        return award.quantity if on >= award.granted else 0
    start, months, cliff, every = award.vesting
    if on < start:
        return 0
    m = whole_months(start, on)
    if m < cliff:
        return 0
    if m >= months:
        return award.quantity
    v = max(cliff, m // every * every)
    return award.quantity * v // months


def exercisable(award: Award, on: date) -> int:
    """max(0, min(vested − exercised, outstanding))."""
    return max(0, min(vested(award, on) - award.exercised, award.outstanding(on)))


def awards_of(s: CompanyState, plan: str) -> list[Award]:
    return [a for a in s.awards.values() if a.plan == plan]


def retired(plan: Plan, on: date) -> int:
    """Shares out of a plan for good on ``on``: those its cancellations retired and, under
    ``on_cancel: retire``, the remainders of its expired awards."""
    if plan.on_cancel != "retire":
        return plan.retired
    return plan.retired + plan.expired(on)


def plan_outstanding(plan: Plan, on: date) -> int:
    """What its awards not expired on ``on`` have left."""
    return plan.unexercised - plan.expired(on)


def available(plan: Plan, on: date) -> int:
    """reserved − exercised − outstanding awards − retired."""
    return plan.reserved - plan.exercised - plan_outstanding(plan, on) - retired(plan, on)


class PlanStanding(NamedTuple):
    outstanding: int
    retired: int
    available: int


class Standing(NamedTuple):
    """What a company's instruments amount to on a date, in one pass over them (an answer's
    figures; the rules ask ``available`` of one plan): each holder's outstanding awards
    (``options``) and warrants, each plan's outstanding, retired and available shares, and
    fully diluted."""

    options: dict[str, int]
    warrants: dict[str, int]
    plans: dict[str, PlanStanding]
    fully_diluted: int

    @staticmethod
    def of(s: CompanyState, on: date, counts: Iterable[AwardCount] | None = None) -> Standing:
        """``counts``: the company's awards as counts, when ``s`` holds them only so."""
        if not (s.plans or s.warrants):  # an award is of a plan
            return Standing({}, {}, {}, s.outstanding)
        if counts is None:
            awards = s.awards.values()
            counts = ((a.holder, a.plan, a.unexercised(), a.expiration_date) for a in awards)
        options: dict[str, int] = {}
        granted = dict.fromkeys(s.plans, 0)
        expired = dict.fromkeys(s.plans, 0)
        for holder, plan, left, expiration in counts:
            if expired_on(expiration, on):
                expired[plan] += left
            elif left:
                options[holder] = options.get(holder, 0) + left
                granted[plan] += left
        warrants: dict[str, int] = {}
        for w in s.warrants.values():
            if n := w.outstanding(on):
                warrants[w.holder] = warrants.get(w.holder, 0) + n
        plans = {}
        for name, p in s.plans.items():
            gone = p.retired + (expired[name] if p.on_cancel == "retire" else 0)
            plans[name] = PlanStanding(
                granted[name], gone, p.reserved - p.exercised - granted[name] - gone
            )
        total = (
            s.outstanding
            + sum(options.values())
            + sum(warrants.values())
            + sum(p.available for p in plans.values())
        )
        return Standing(options, warrants, plans, total)


def fully_diluted(s: CompanyState, on: date) -> int:
    """Outstanding shares + outstanding awards + outstanding warrants + the plans' available
    shares (convertibles not yet converted are not counted)."""
    return Standing.of(s, on).fully_diluted


def _within_ceiling(s: CompanyState, what: str, more: int) -> None:
    ceiling = s.diluted_ceiling() + more
    if ceiling > MAX_TOTAL:
        raise diluted_past_bound(s, what, ceiling)


# --- stakeholders ---


def _check_stakeholder(s: CompanyState, f: StakeholderRecorded) -> None:
    """Any party may be named (or renamed) once the company exists."""


def _stakeholder(s: CompanyState, f: StakeholderRecorded) -> None:
    s.stakeholders[f.party] = Stakeholder(f.name, f.kind)


# --- stock plans ---


def _need_plan(s: CompanyState, plan: str) -> Plan:
    found = s.plans.get(plan)
    if found is None:
        raise Broken(7, f"stock plan {plan!r} does not exist at this date")
    return found


def _check_plan_created(s: CompanyState, f: StockPlanCreated) -> None:
    if f.plan in s.plans:
        raise Broken(7, f"stock plan {f.plan!r} already exists")
    need_class(s, f.share_class)
    _within_ceiling(s, f"a reserve of {f.reserved:,}", f.reserved)


def _plan_created(s: CompanyState, f: StockPlanCreated) -> None:
    s.plans[f.plan] = Plan(f.plan, f.name, f.share_class, f.reserved, f.on_cancel)


def _check_reserve(s: CompanyState, f: StockPlanReserveChanged) -> None:
    plan = _need_plan(s, f.plan)
    on = f.effective_date
    taken = plan.reserved - available(plan, on)
    if f.reserved < taken:
        raise Broken(
            7,
            f"a reserve of {f.reserved:,} for plan {f.plan} is below the {taken:,} it has "
            f"allocated ({plan.exercised:,} exercised, {plan_outstanding(plan, on):,} "
            f"outstanding, {retired(plan, on):,} retired)",
        )
    _within_ceiling(s, f"a reserve of {f.reserved:,}", f.reserved - plan.reserved)


def _reserve(s: CompanyState, f: StockPlanReserveChanged) -> None:
    s.plans[f.plan].reserved = f.reserved


# --- awards ---


def _need_award(s: CompanyState, grant: str) -> Award:
    award = s.awards.get(grant)
    if award is None:
        raise Broken(8, f"grant {grant!r} does not exist at this date")
    return award


def _used(what: str, id_: str, when: str) -> Broken:
    """Rule 8: a grant, warrant or convertible id is used once per company."""
    return Broken(8, f"{what} id {id_!r} is already used ({when})")


def _check_granted(s: CompanyState, f: OptionGranted) -> None:
    if f.grant in s.awards:
        raise _used("grant", f.grant, f"granted {s.awards[f.grant].granted}")
    plan = _need_plan(s, f.plan)
    left = available(plan, f.effective_date)
    if f.quantity > left:
        raise Broken(
            7,
            f"a grant of {f.quantity:,} from plan {f.plan} exceeds its {left:,} available "
            f"shares (reserved {plan.reserved:,})",
        )


def _granted(s: CompanyState, f: OptionGranted) -> None:
    v = f.vesting
    s.awards[f.grant] = award = Award(
        f.grant,
        f.holder,
        f.plan,
        f.kind,
        s.plans[f.plan].share_class,
        f.quantity,
        None if f.exercise_price is None else f.exercise_price.amount,
        None if f.exercise_price is None else f.exercise_price.currency,
        f.expiration_date,
        None if v is None else (v.start, v.months, v.cliff_months, v.every_months),
        f.effective_date,
    )
    s.plans[f.plan].count(award, f.quantity)


def _not_expired(what: str, expiration: date | None, on: date) -> None:
    if expiration is not None and on > expiration:
        raise Broken(8, f"{what} expired at the end of {expiration}: nothing is exercised after")


def _check_exercised(s: CompanyState, f: OptionExercised) -> None:
    award = _need_award(s, f.grant)
    on = f.effective_date
    _not_expired(f"grant {f.grant}", award.expiration_date, on)
    can = exercisable(award, on)
    if f.quantity > can:
        raise Broken(
            8,
            f"exercising {f.quantity:,} of grant {f.grant} exceeds its {can:,} exercisable "
            f"({vested(award, on):,} vested, {award.exercised:,} exercised, "
            f"{award.outstanding(on):,} outstanding)",
        )
    within_authorized(s, award.share_class, f.quantity)
    if s.outstanding + f.quantity > MAX_TOTAL:
        raise past_bound(s, f"issuing {f.quantity:,} {award.share_class}", f.quantity)


def _exercised(s: CompanyState, f: OptionExercised) -> None:
    award = s.awards[f.grant]
    award.exercised += f.quantity
    plan = s.plans[award.plan]
    plan.exercised += f.quantity
    plan.count(award, -f.quantity)
    issue(s, award.holder, award.share_class, f.quantity)


def _cancellable(what: str, outstanding: int, quantity: int | None) -> int:
    """How much a cancellation takes: ``quantity``, or all that is outstanding."""
    if outstanding == 0:
        raise Broken(8, f"{what} has nothing outstanding to cancel")
    if quantity is not None and quantity > outstanding:
        raise Broken(
            8, f"cancelling {quantity:,} of {what} exceeds its {outstanding:,} outstanding"
        )
    return outstanding if quantity is None else quantity


def _check_option_cancelled(s: CompanyState, f: OptionCancelled) -> None:
    award = _need_award(s, f.grant)
    _cancellable(f"grant {f.grant}", award.outstanding(f.effective_date), f.quantity)


def _option_cancelled(s: CompanyState, f: OptionCancelled) -> None:
    award = s.awards[f.grant]
    taken = f.quantity if f.quantity is not None else award.outstanding(f.effective_date)
    award.cancelled += taken
    plan = s.plans[award.plan]
    plan.count(award, -taken)
    if plan.on_cancel == "retire":
        plan.retired += taken


# --- warrants ---


def _need_warrant(s: CompanyState, warrant: str) -> Warrant:
    found = s.warrants.get(warrant)
    if found is None:
        raise Broken(8, f"warrant {warrant!r} does not exist at this date")
    return found


def _check_warrant_issued(s: CompanyState, f: WarrantIssued) -> None:
    if f.warrant in s.warrants:
        raise _used("warrant", f.warrant, f"issued {s.warrants[f.warrant].issued}")
    need_class(s, f.share_class)
    _within_ceiling(s, f"a warrant for {f.quantity:,}", f.quantity)


def _warrant_issued(s: CompanyState, f: WarrantIssued) -> None:
    s.warrants_unexercised += f.quantity
    s.warrants[f.warrant] = Warrant(
        f.warrant,
        f.holder,
        f.share_class,
        f.quantity,
        f.exercise_price.amount,
        f.exercise_price.currency,
        f.expiration_date,
        f.effective_date,
    )


def _check_warrant_exercised(s: CompanyState, f: WarrantExercised) -> None:
    warrant = _need_warrant(s, f.warrant)
    on = f.effective_date
    _not_expired(f"warrant {f.warrant}", warrant.expiration_date, on)
    left = warrant.outstanding(on)
    if f.quantity > left:
        raise Broken(
            8,
            f"exercising {f.quantity:,} of warrant {f.warrant} exceeds its {left:,} outstanding",
        )
    within_authorized(s, warrant.share_class, f.quantity)
    if s.outstanding + f.quantity > MAX_TOTAL:
        raise past_bound(s, f"issuing {f.quantity:,} {warrant.share_class}", f.quantity)


def _warrant_exercised(s: CompanyState, f: WarrantExercised) -> None:
    warrant = s.warrants[f.warrant]
    warrant.exercised += f.quantity
    s.warrants_unexercised -= f.quantity
    issue(s, warrant.holder, warrant.share_class, f.quantity)


def _check_warrant_cancelled(s: CompanyState, f: WarrantCancelled) -> None:
    warrant = _need_warrant(s, f.warrant)
    _cancellable(f"warrant {f.warrant}", warrant.outstanding(f.effective_date), f.quantity)


def _warrant_cancelled(s: CompanyState, f: WarrantCancelled) -> None:
    warrant = s.warrants[f.warrant]
    cancelled = f.quantity if f.quantity is not None else warrant.outstanding(f.effective_date)
    warrant.cancelled += cancelled
    s.warrants_unexercised -= cancelled


# --- convertibles ---


def _need_open_convertible(s: CompanyState, convertible: str) -> Convertible:
    found = s.convertibles.get(convertible)
    if found is None:
        raise Broken(8, f"convertible {convertible!r} does not exist at this date")
    if found.settled is not None:
        how, on = found.settled
        raise Broken(8, f"convertible {convertible} was already {how} on {on}")
    return found


def _check_convertible_issued(s: CompanyState, f: ConvertibleIssued) -> None:
    if f.convertible in s.convertibles:
        raise _used("convertible", f.convertible, f"issued {s.convertibles[f.convertible].issued}")


def _convertible_issued(s: CompanyState, f: ConvertibleIssued) -> None:
    cap = f.valuation_cap
    s.convertibles[f.convertible] = Convertible(
        f.convertible,
        f.holder,
        f.kind,
        f.amount.amount,
        f.amount.currency,
        None if cap is None else cap.amount,
        f.discount_percent,
        f.cap_basis,
        f.interest_rate_percent,
        f.maturity_date,
        f.effective_date,
    )


def converting_amount(c: Convertible, on: date) -> Fraction:
    """A = the amount, plus a note's simple interest per 365 days from its issue to ``on``."""
    amount = Fraction(c.amount)
    if c.interest_rate_percent is None:
        return amount
    days = max(0, (on - c.issued).days)
    return amount * (1 + Fraction(c.interest_rate_percent) / 100 * days / 365)


def _plain(amount: Fraction) -> str:
    """An amount to the cent, without trailing zeros: 1000000, 1080219.18."""
    return decimal_text(money_amount(amount).normalize())


def conversion_shares(c: Convertible, price: Fraction, diluted: int, on: date) -> int:
    """The shares a conversion at the round's ``price`` derives, exact until one rounding
    down: the most of A / price, the discount's A / (price · (1 − d)) and the cap's shares
    (post-money: F · a / (1 − a), a = A / cap; pre-money: F · A / cap), F being ``diluted``."""
    amount = converting_amount(c, on)
    candidates = [amount / price]
    if c.discount_percent is not None:
        candidates.append(amount / (price * (1 - Fraction(c.discount_percent) / 100)))
    if c.valuation_cap is not None:
        cap = Fraction(c.valuation_cap)
        if c.cap_basis == "post-money":
            a = amount / cap
            if a >= 1:
                raise Broken(
                    8,
                    f"convertible {c.convertible} converts {_plain(amount)} {c.currency} "
                    f"at a post-money cap of {decimal_text(c.valuation_cap)} {c.currency}: "
                    "the amount must be below the cap",
                )
            candidates.append(diluted * a / (1 - a))
        else:
            candidates.append(diluted * amount / cap)
    return round_down_shares(max(candidates))


def _priced_in_its_currency(c: Convertible, f: ConvertibleConverted) -> None:
    price = f.price_per_share
    if price is not None and price.currency != c.currency:
        raise Broken(
            8, f"the price is in {price.currency}, convertible {c.convertible} in {c.currency}"
        )


def derive_conversion(s: CompanyState, f: ConvertibleConverted) -> ConvertibleConverted:
    """Fill ``derived_shares`` of a conversion given by its price alone."""
    if f.shares is not None or f.derived_shares or s.registered is None:
        return f
    c = s.convertibles.get(f.convertible)
    if c is None or c.settled is not None:
        return f  # check() says why
    assert f.price_per_share is not None  # the model needs shares or a price
    _priced_in_its_currency(c, f)
    on = f.effective_date
    new = conversion_shares(c, Fraction(f.price_per_share.amount), fully_diluted(s, on), on)
    if new <= 0:
        raise Broken(8, f"convertible {c.convertible} converts to {new} shares")
    if new > MAX_TOTAL:
        raise Broken("bounds", f"the derived share count {new:,} is over the bound of {BOUND}")
    return f.model_copy(update={"derived_shares": new})


def _check_converted(s: CompanyState, f: ConvertibleConverted) -> None:
    c = _need_open_convertible(s, f.convertible)
    _priced_in_its_currency(c, f)
    new = f.new_shares
    within_authorized(s, f.share_class, new)
    within_bound(s, new, lambda: f"issuing {new:,} {f.share_class}")


def _converted(s: CompanyState, f: ConvertibleConverted) -> None:
    c = s.convertibles[f.convertible]
    s.convertibles[f.convertible] = replace(c, settled=("converted", f.effective_date))
    issue(s, c.holder, f.share_class, f.new_shares)


def _check_convertible_cancelled(s: CompanyState, f: ConvertibleCancelled) -> None:
    _need_open_convertible(s, f.convertible)


def _convertible_cancelled(s: CompanyState, f: ConvertibleCancelled) -> None:
    c = s.convertibles[f.convertible]
    s.convertibles[f.convertible] = replace(c, settled=("cancelled", f.effective_date))


# --- class conversions ---


def converted_shares(f: SharesConverted) -> int:
    n, m = parse_ratio(f.ratio)
    return f.shares * n // m


def _check_shares_converted(s: CompanyState, f: SharesConverted) -> None:
    need_class(s, f.from_class)
    held = s.held(f.holder, f.from_class)
    if f.shares > held:
        raise Broken(
            3,
            f"converting {f.shares:,} {f.from_class} of {f.holder} exceeds their holding of "
            f"{held:,}",
        )
    new = converted_shares(f)
    if new == 0:
        raise Broken(
            2, f"{f.shares:,} {f.from_class} at {f.ratio} convert to no {f.to_class} shares"
        )
    within_authorized(s, f.to_class, new)
    within_bound(s, new - f.shares, lambda: f"converting to {new:,} {f.to_class}")


def _shares_converted(s: CompanyState, f: SharesConverted) -> None:
    issue(s, f.holder, f.from_class, -f.shares)
    issue(s, f.holder, f.to_class, converted_shares(f))


# --- splits reach the instruments of the class ---


def split_instruments(s: CompanyState, f: StockSplit) -> None:
    """Scale every award and warrant on the split class (quantity, exercised, cancelled,
    rounded down; the exercise price divided, half-even to 10 places) and every plan
    delivering it (reserved, retired; exercised as its awards' sum)."""
    n, m = parse_ratio(f.ratio)
    cls = f.share_class
    for a in s.awards.values():
        if a.share_class == cls:
            a.quantity, a.exercised, a.cancelled = (
                a.quantity * n // m,
                a.exercised * n // m,
                a.cancelled * n // m,
            )
            if a.exercise_price is not None:
                a.exercise_price = split_price(a.exercise_price, n, m)
    for w in s.warrants.values():
        if w.share_class == cls:
            w.quantity, w.exercised, w.cancelled = (
                w.quantity * n // m,
                w.exercised * n // m,
                w.cancelled * n // m,
            )
            w.exercise_price = split_price(w.exercise_price, n, m)
    s.warrants_unexercised = sum(w.unexercised() for w in s.warrants.values())
    for p in s.plans.values():
        if p.share_class == cls:
            p.reserved, p.retired = p.reserved * n // m, p.retired * n // m
            p.exercised, p.unexercised, p.expiring, p.expiry_dates = 0, 0, {}, []
            for a in awards_of(s, p.plan):
                p.exercised += a.exercised
                p.count(a, a.unexercised())


def check_split_instruments(s: CompanyState, f: StockSplit) -> None:
    """A split keeps every plan of the class within its reserve (rounding each figure down
    can take more from a reserve than from what it allocated) and fully diluted within the
    bound."""
    if not (s.plans or s.warrants):
        return
    after = s.copy()
    split_instruments(after, f)
    for plan in after.plans.values():
        left = available(plan, f.effective_date)
        if left < 0:
            raise Broken(
                7,
                f"a {f.ratio} split leaves plan {plan.plan} {-left:,} shares short: its "
                f"reserve rounds to {plan.reserved:,}",
            )
    _within_ceiling(after, f"a {f.ratio} split of {f.share_class}", 0)


def _check_split(s: CompanyState, f: StockSplit) -> None:
    equity.HANDLERS["StockSplit"][0](s, f)
    check_split_instruments(s, f)


def _split(s: CompanyState, f: StockSplit) -> None:
    equity.HANDLERS["StockSplit"][1](s, f)
    split_instruments(s, f)


INSTRUMENT_IDS = ("grant", "warrant", "convertible")
"""The fields by which an event names an instrument."""


def instrument_holders(facts: Iterable[Fact]) -> dict[tuple[str, str], set[str]]:
    """(id field, id) → the holders a company's facts (any order, corrections' replacements
    included) give that instrument: who an exercise, a cancellation or a conversion touches."""
    holders: dict[tuple[str, str], set[str]] = {}
    for fact in facts:
        fact = getattr(fact, "replacement", None) or fact
        if isinstance(fact, OptionGranted):
            holders.setdefault(("grant", fact.grant), set()).add(fact.holder)
        elif isinstance(fact, WarrantIssued):
            holders.setdefault(("warrant", fact.warrant), set()).add(fact.holder)
        elif isinstance(fact, ConvertibleIssued):
            holders.setdefault(("convertible", fact.convertible), set()).add(fact.holder)
    return holders


def holders_of_instrument(fact: Fact, holders: dict[tuple[str, str], set[str]]) -> set[str]:
    """The holders of the instrument ``fact`` names, if it names one."""
    for field in INSTRUMENT_IDS:
        value = getattr(fact, field, None) if field in type(fact).model_fields else None
        if isinstance(value, str):
            return holders.get((field, value), set())
    return set()


def derive(s: CompanyState, fact: Fact) -> Fact:
    """What the ledger derives at recording for an instrument event (a conversion's shares)."""
    if isinstance(fact, ConvertibleConverted):
        return derive_conversion(s, fact)
    return fact


HANDLERS: dict[str, Handler] = {
    "StakeholderRecorded": (_check_stakeholder, _stakeholder),
    "StockPlanCreated": (_check_plan_created, _plan_created),
    "StockPlanReserveChanged": (_check_reserve, _reserve),
    "OptionGranted": (_check_granted, _granted),
    "OptionExercised": (_check_exercised, _exercised),
    "OptionCancelled": (_check_option_cancelled, _option_cancelled),
    "WarrantIssued": (_check_warrant_issued, _warrant_issued),
    "WarrantExercised": (_check_warrant_exercised, _warrant_exercised),
    "WarrantCancelled": (_check_warrant_cancelled, _warrant_cancelled),
    "ConvertibleIssued": (_check_convertible_issued, _convertible_issued),
    "ConvertibleConverted": (_check_converted, _converted),
    "ConvertibleCancelled": (_check_convertible_cancelled, _convertible_cancelled),
    "SharesConverted": (_check_shares_converted, _shares_converted),
    "StockSplit": (_check_split, _split),
}
"""Each instrument event type's (rule, evolve), and a split's, which reaches the instruments
of its class besides the shares (``equity``'s)."""
