"""A hypothesis state machine: random valid and invalid events, back-dated ones included,
retractions and corrections too, recorded into the real ledger and into the naive model of
``model.py`` side by side.

The ledger must accept a batch exactly when the model does; a refusal raises InputError or
RuleViolation (as the model predicts) and stores nothing. After every step the ledger's answers
keep the invariants at every date where anything changes, and for a random (as_of, known_at)
its cap table (valuation, fully diluted, pools, warrants and convertibles included), roster,
board and grants equal the model's; a refused single event breaks the rule the model names.
Those answers come from the read models (caught up as each batch is recorded); at a random
position, a batch's inside included, they equal the fold's; and at the end of each example
``verify`` finds the history tables equal to the fold at every date and every position.

The events: every type of docs/events.md, investments in each of their four forms, both
catalogues (stakeholders, stock plans, options and RSUs with vesting and expiry, warrants,
SAFEs and notes converted by shares or by a price, class conversions). A new event
type is a blind strategy in ``any_event``, a kind of ``plausible`` event drawn from the model's
state, and its function in the model's ``APPLY``.

Runs on in-memory SQLite and a SQLite file (the default profile keeps it fast), on PostgreSQL
with fewer examples (marked ``postgres``), and as a long campaign (marked ``slow``).
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar
from uuid import uuid4

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from ledger import InputError, Ledger, RuleViolation
from ledger.persistence.url import MEMORY_URL
from tests import builders as b
from tests.conftest import drop_pg_database, new_pg_database
from tests.property.model import (
    FORMS,
    SEATED,
    Company,
    Event,
    Model,
    exercisable,
    outstanding,
)

START = date(2021, 1, 1)
LAST_DAY = 24  # events fall on START + 0..24 days, drawn in any order (same days are common)
COMPANIES = ("alpha", "beta")
PARTIES = ("ana", "ben", "cy")
PEOPLE = ("ana", "ben", "dee")
# Each class name always comes with the same definition: one with a limit, one non-voting.
CLASSES: dict[str, dict[str, Any]] = {
    "common": {"kind": "common"},
    "pref": {"kind": "preferred", "authorized": 300},
    "mute": {"kind": "common", "votes_per_share": 0},
}


def on(n: int) -> str:
    return (START + timedelta(days=n)).isoformat()


days = st.integers(0, LAST_DAY).map(on)
companies = st.sampled_from(COMPANIES)
parties = st.sampled_from(PARTIES)
people = st.sampled_from(PEOPLE)
classes = st.sampled_from(sorted(CLASSES))
amounts = st.integers(1, 250)
money = st.one_of(  # whole dollars, or cents
    st.integers(1, 10**6).map(str),
    st.integers(1, 10**8).map(lambda c: f"{c // 100}.{c % 100:02d}"),
)
stakes = st.one_of(  # a percentage strictly between 0 and 100, up to 4 decimals
    st.integers(1, 99).map(str),
    st.integers(1, 999_999).map(lambda u: f"{u // 10_000}.{u % 10_000:04d}"),
)
MISTAKES = (None,) * 12 + ("post-money at the amount", "two forms", "a whole stake", "no money")
RATIOS = ("2:1", "1:2", "3:2", "1:10", "10:1", "1:1000000", "1000000:1")
ISSUES = ("SharesIssued", "InvestmentMade")
BASES = ("post-money", "409a", "tender", "other")
FAR = (date(2021, 2, 27), date(2021, 2, 28), date(2021, 3, 1), date(2021, 4, 30), date(2024, 2, 29))


@st.composite
def registrations(draw: st.DrawFn) -> Event:
    return b.registered(draw(companies), on(draw(st.integers(0, 10))))


@st.composite
def class_creations(draw: st.DrawFn) -> Event:
    name = draw(classes)
    return b.share_class(draw(companies), name, draw(days), **CLASSES[name])


@st.composite
def issuances(draw: st.DrawFn) -> Event:
    return b.issued(draw(companies), draw(parties), draw(classes), draw(amounts), draw(days))


@st.composite
def transfers(draw: st.DrawFn) -> Event:
    giver, taker = draw(st.lists(parties, min_size=2, max_size=2, unique=True))
    return b.transferred(draw(companies), giver, taker, draw(classes), draw(amounts), draw(days))


@st.composite
def cancellations(draw: st.DrawFn) -> Event:
    return b.cancelled(draw(companies), draw(parties), draw(classes), draw(amounts), draw(days))


@st.composite
def investment(draw: st.DrawFn, company: str, investor: str, share_class: str, when: str) -> Event:
    """An investment in one of its four forms (shares, a total stake, a post- or a
    pre-money valuation); now and then one the event file refuses: two forms, a post-money
    not above the amount, a stake of 100%, an amount of 0."""
    amount = draw(money, label="amount")
    form = draw(st.sampled_from(FORMS), label="form")
    terms: dict[str, Callable[[], Any]] = {
        "shares": lambda: draw(amounts),
        "stake_percent": lambda: draw(stakes),
        "post_money": lambda: format(Decimal(amount) + Decimal(draw(money)), "f"),
        "pre_money": lambda: draw(money),
    }
    form = form.removesuffix("_valuation")
    given = {form: terms[form]()}
    mistake = draw(st.sampled_from(MISTAKES), label="mistake")
    if mistake == "post-money at the amount":
        given["post_money"] = amount
    elif mistake == "two forms":
        second = "stake_percent" if form == "shares" else "shares"
        given[second] = terms[second]()
    elif mistake == "a whole stake":
        given = {"stake_percent": "100"}
    elif mistake == "no money":
        amount = "0"
    return b.invested(company, investor, share_class, amount, when, **given)


@st.composite
def investments(draw: st.DrawFn) -> Event:
    return draw(investment(draw(companies), draw(parties), draw(classes), draw(days)))


ratios = st.sampled_from((*RATIOS, *RATIOS, "0:1", "2:0", "1000001:1", "2/1"))
"""A split ratio; now and then one the event file refuses."""


@st.composite
def splits(draw: st.DrawFn) -> Event:
    return b.split(draw(companies), draw(classes), draw(ratios), draw(days))


@st.composite
def authorized_changes(draw: st.DrawFn) -> Event:
    """A new authorized count of a class (0 is refused when the file is read)."""
    return b.authorized(draw(companies), draw(classes), draw(st.integers(0, 400)), draw(days))


@st.composite
def valuations(draw: st.DrawFn) -> Event:
    """A valuation (of 0 now and then: refused when the file is read)."""
    amount = draw(st.one_of(money, st.just("0")))
    return b.valuation(draw(companies), amount, draw(days), draw(st.sampled_from(BASES)))


@st.composite
def appointments(draw: st.DrawFn) -> Event:
    company, person, when = draw(companies), draw(people), draw(days)
    if draw(st.booleans()):
        return b.interim_ceo(company, person, when)
    role = draw(st.sampled_from(["ceo", "cfo"]))
    return b.executive_appointed(
        company, person, role, when, interim=draw(st.sampled_from([None, True])),
        title=draw(st.sampled_from([None, "Chief"])),
    )  # fmt: skip


@st.composite
def departures(draw: st.DrawFn) -> Event:
    role = draw(st.sampled_from(["ceo", "cfo"]))
    return b.executive_departed(draw(companies), draw(people), role, draw(days))


@st.composite
def director_appointments(draw: st.DrawFn) -> Event:
    return b.director_appointed(
        draw(companies),
        draw(people),
        draw(days),
        seat=draw(st.sampled_from([None, "chair", "observer"])),
        designated_by=draw(st.sampled_from([None, "ana", "fund"])),
    )


@st.composite
def director_departures(draw: st.DrawFn) -> Event:
    return b.director_departed(draw(companies), draw(people), draw(days))


@st.composite
def retained_seats(draw: st.DrawFn) -> Event:
    return b.seat_retained(draw(companies), draw(people), draw(days))


@st.composite
def board_sizes(draw: st.DrawFn) -> Event:
    return b.board_size(draw(companies), draw(st.integers(1, 3)), draw(days))


@st.composite
def ghost_events(draw: st.DrawFn) -> Event:
    """An event of a company nobody registers: an input error."""
    return b.issued("ghost", draw(parties), "common", draw(amounts), draw(days))


@st.composite
def malformed_events(draw: st.DrawFn) -> Event:
    """Zero shares, or a transfer to oneself: refused when the file is read."""
    party = draw(parties)
    if draw(st.booleans()):
        return b.issued(draw(companies), party, draw(classes), 0, draw(days))
    return b.transferred(draw(companies), party, party, draw(classes), draw(amounts), draw(days))


# --- the second catalogue ---

PLANS = ("pool", "spare")
GRANTS = ("g1", "g2", "g3")
WARRANTS = ("w1", "w2")
CONVERTIBLES = ("c1", "c2")
NAMES = ("Ana Lima", "Ben Øster", "Cy 陈", "Dee Fund LP")
REASONS = ("forfeited", "expired", "cancelled", "repurchased", "other")
quantities = st.integers(0, 250)  # 0 now and then: refused when the file is read
prices = st.integers(1, 10**4).map(lambda c: f"{c // 100}.{c % 100:02d}" if c % 3 else str(c))
SHORT_MONTH_ENDS = (date(2020, 2, 29), date(2020, 4, 30), date(2019, 11, 30), date(2020, 8, 31))


def expirations(when: str) -> st.SearchStrategy[str | None]:
    """None, or a day of the range (before ``when`` now and then: refused when read)."""
    earliest = (date.fromisoformat(when) - START).days
    within = st.integers(earliest, LAST_DAY).map(on)
    return st.one_of(st.none(), within, st.none(), within, within, days)


@st.composite
def vesting(draw: st.DrawFn) -> dict[str, Any]:
    """A schedule starting long before the range (back-dated) or within it; its cliff beyond
    its months now and then (refused when read)."""
    months = draw(st.integers(1, 48))
    schedule = {
        "start": draw(
            st.one_of(
                st.integers(-900, LAST_DAY).map(on),
                st.sampled_from(SHORT_MONTH_ENDS).map(date.isoformat),
            )
        ),
        "months": months,
    }
    if draw(st.booleans()):
        cliff = draw(st.integers(0, months + 1 if draw(st.integers(0, 9)) == 9 else months))
        schedule["cliff_months"] = cliff
    if draw(st.booleans()):
        schedule["every_months"] = draw(st.integers(1, 6))
    return schedule


vestings = st.one_of(st.none(), vesting())


@st.composite
def stakeholders(draw: st.DrawFn) -> Event:
    return b.instrument(
        "StakeholderRecorded", draw(companies), draw(days),
        party=draw(st.sampled_from(sorted({*PARTIES, *PEOPLE}))), name=draw(st.sampled_from(NAMES)),
        kind=draw(st.sampled_from(["individual", "institution"])),
    )  # fmt: skip


@st.composite
def plan(draw: st.DrawFn, company: str, name: str, share_class: str, when: str) -> Event:
    return b.instrument(
        "StockPlanCreated", company, when, plan=name, name=name.title(), share_class=share_class,
        reserved=draw(st.integers(0, 400)),
        on_cancel=draw(st.sampled_from([None, "return", "retire"])),
    )  # fmt: skip


@st.composite
def plans(draw: st.DrawFn) -> Event:
    return draw(plan(draw(companies), draw(st.sampled_from(PLANS)), draw(classes), draw(days)))


@st.composite
def reserves(draw: st.DrawFn) -> Event:
    return b.instrument(
        "StockPlanReserveChanged", draw(companies), draw(days),
        plan=draw(st.sampled_from(PLANS)), reserved=draw(st.integers(0, 400)),
    )  # fmt: skip


@st.composite
def grant(draw: st.DrawFn, company: str, plan: str, quantity: int, when: str) -> Event:
    """An option or an RSU, with or without vesting and an expiration date; now and then
    priced as the other kind (refused when read)."""
    kind = draw(st.sampled_from(["option", "option", "rsu"]))
    priced = (kind == "option") != (draw(st.integers(0, 15)) == 15)
    return b.instrument(
        "OptionGranted", company, when, grant=draw(st.sampled_from(GRANTS)), holder=draw(parties),
        plan=plan, quantity=quantity, kind=None if kind == "option" and draw(st.booleans())
        else kind, exercise_price=b.usd(draw(prices)) if priced else None,
        expiration_date=draw(expirations(when)), vesting=draw(vestings),
    )  # fmt: skip


@st.composite
def grants(draw: st.DrawFn) -> Event:
    when = draw(days)
    return draw(grant(draw(companies), draw(st.sampled_from(PLANS)), draw(quantities), when))


@st.composite
def instrument_ends(draw: st.DrawFn) -> Event:
    """An exercise or a cancellation (all, or some) of an award or a warrant."""
    kind = draw(st.sampled_from(["Option", "Warrant"]))
    key, ids = ("grant", GRANTS) if kind == "Option" else ("warrant", WARRANTS)
    fields: dict[str, Any] = {key: draw(st.sampled_from(ids))}
    if draw(st.booleans()):
        return b.instrument(f"{kind}Exercised", draw(companies), draw(days),
                            quantity=draw(quantities), **fields)  # fmt: skip
    return b.instrument(
        f"{kind}Cancelled", draw(companies), draw(days), **fields,
        quantity=draw(st.one_of(st.none(), quantities)), reason=draw(st.sampled_from(REASONS)),
    )  # fmt: skip


@st.composite
def warrant(draw: st.DrawFn, company: str, share_class: str, when: str) -> Event:
    return b.instrument(
        "WarrantIssued", company, when, warrant=draw(st.sampled_from(WARRANTS)),
        holder=draw(parties), share_class=share_class, quantity=draw(quantities),
        exercise_price=b.usd(draw(prices)), expiration_date=draw(expirations(when)),
    )  # fmt: skip


@st.composite
def warrants(draw: st.DrawFn) -> Event:
    return draw(warrant(draw(companies), draw(classes), draw(days)))


@st.composite
def convertible(draw: st.DrawFn, company: str, when: str) -> Event:
    """A SAFE or a note: a cap (mostly well above the amount; at or below it, a post-money
    one refuses a conversion), a discount, a basis, interest (on a SAFE now and then: refused
    when read)."""
    kind = draw(st.sampled_from(["safe", "note"]))
    amount = draw(st.integers(100, 10**5))
    above = st.integers(2, 50).map(lambda k: amount * k)
    cap = draw(st.one_of(st.none(), above, above, st.integers(1, amount)))
    return b.instrument(
        "ConvertibleIssued", company, when, convertible=draw(st.sampled_from(CONVERTIBLES)),
        holder=draw(parties), kind=kind, amount=b.usd(amount),
        valuation_cap=None if cap is None else b.usd(cap),
        discount_percent=draw(st.sampled_from([None, "20", "12.5", "99.99"])),
        cap_basis=draw(st.sampled_from([None, "post-money", "pre-money"])),
        interest_rate_percent=draw(st.sampled_from([None, None, "8", "0", "5.25"]))
        if kind == "note" or draw(st.integers(0, 9)) == 9 else None,
        maturity_date=draw(st.sampled_from([None, "2023-01-01"])),
    )  # fmt: skip


@st.composite
def convertibles(draw: st.DrawFn) -> Event:
    return draw(convertible(draw(companies), draw(days)))


@st.composite
def conversion(draw: st.DrawFn, company: str, name: str, share_class: str, when: str) -> Event:
    """By shares, by the round's price alone (the ledger derives the shares), by both or by
    neither (refused when read)."""
    given = draw(st.sampled_from(["price", "price", "shares", "both", "neither"]))
    return b.instrument(
        "ConvertibleConverted", company, when, convertible=name, share_class=share_class,
        shares=draw(amounts) if given in ("shares", "both") else None,
        price_per_share=b.usd(draw(prices)) if given in ("price", "both") else None,
    )  # fmt: skip


@st.composite
def convertible_ends(draw: st.DrawFn) -> Event:
    company, name, when = draw(companies), draw(st.sampled_from(CONVERTIBLES)), draw(days)
    if draw(st.booleans()):
        return draw(conversion(company, name, draw(classes), when))
    reason = draw(st.sampled_from(["repaid", "cancelled", "other"]))
    return b.instrument("ConvertibleCancelled", company, when, convertible=name, reason=reason)


@st.composite
def class_conversions(draw: st.DrawFn) -> Event:
    """Shares of one class into another (into the same one now and then: refused when read)."""
    return b.instrument(
        "SharesConverted", draw(companies), draw(days), holder=draw(parties),
        from_class=draw(classes), to_class=draw(classes), shares=draw(amounts),
        ratio=draw(st.sampled_from([None, *RATIOS])),
    )  # fmt: skip


any_event = st.one_of(  # the simplest first: hypothesis leans towards it
    issuances(),
    transfers(),
    cancellations(),
    class_creations(),
    investments(),
    splits(),
    authorized_changes(),
    valuations(),
    appointments(),
    departures(),
    director_appointments(),
    director_departures(),
    retained_seats(),
    board_sizes(),
    registrations(),
    ghost_events(),
    malformed_events(),
    stakeholders(),
    plans(),
    reserves(),
    grants(),
    instrument_ends(),
    warrants(),
    convertibles(),
    convertible_ends(),
    class_conversions(),
)


class LedgerMachine(RuleBasedStateMachine):
    """Drives one fresh ledger per example. Subclasses say where it lives."""

    new_store: ClassVar[Callable[[], tuple[str, Callable[[], None]]]]

    def __init__(self) -> None:
        super().__init__()
        url, self.drop_store = type(self).new_store()
        self.ledger = Ledger.open(url)
        self.model = Model()

    def teardown(self) -> None:
        try:
            # The history tables equal the fold at every date and every position: rows of a
            # past position never change, so one check at the end covers every step.
            read_models = self.ledger.read_models
            assert read_models is not None
            assert read_models.verify().startswith("read models match the fold")
        finally:
            self.ledger.close()
            self.drop_store()

    # --- recording ---

    def submit(self, batch: list[Event], data: st.DataObject) -> None:
        problems = self.model.problems(batch)
        before = self.ledger.known_position()
        if problems:
            with pytest.raises((InputError, RuleViolation)) as refused:
                self.ledger.record(batch, actor="machine")
            kind = "input" if isinstance(refused.value, InputError) else "rule"
            assert kind in problems, f"the model expects {problems}, got: {refused.value}"
            if kind == "rule" and len(batch) == 1 and "rule ?" not in problems:
                # One event: the first rule it breaks in the timeline, as the model numbers it.
                assert isinstance(refused.value, RuleViolation)
                rule = f"rule {refused.value.rule}"
                assert rule in problems, f"the model expects {problems}, got: {refused.value}"
            assert self.ledger.known_position() == before, "a refused batch stored something"
        else:
            result = self.ledger.record(batch, actor="machine")
            assert result.skipped == []
            assert [(r.company, r.type) for r in result.recorded] == [
                (e["company"], e["type"]) for e in batch
            ]
            positions = [r.position or 0 for r in result.recorded]
            assert positions == sorted(set(positions)), "positions follow the batch"
            assert positions[0] > before
            self.model.accept(batch, positions, [str(r.event_id) for r in result.recorded])
        self.compare(data)

    @initialize(
        registered=st.integers(0, 6),
        later=st.integers(0, 12),
        beta=st.one_of(st.none(), st.integers(0, 6)),
        pool=st.one_of(st.none(), st.sampled_from(["return", "retire"])),
    )
    def register_companies(
        self, registered: int, later: int, beta: int | None, pool: str | None
    ) -> None:
        """alpha with two classes (one limited, from a later date), often a stock plan of
        common; sometimes beta, bare."""
        batch = [
            b.registered("alpha", on(registered)),
            b.share_class("alpha", "common", on(registered), **CLASSES["common"]),
            b.share_class("alpha", "pref", on(registered + later), **CLASSES["pref"]),
        ]
        if pool is not None:
            batch.append(
                b.instrument(
                    "StockPlanCreated", "alpha", on(registered), plan="pool", name="Pool",
                    share_class="common", reserved=200, on_cancel=pool,
                )
            )  # fmt: skip
        if beta is not None:
            batch.append(b.registered("beta", on(beta)))
        result = self.ledger.record(batch)
        self.model.accept(
            batch,
            [r.position or 0 for r in result.recorded],
            [str(r.event_id) for r in result.recorded],
        )

    @rule(event=any_event, data=st.data())
    def record_an_event(self, event: Event, data: st.DataObject) -> None:
        self.submit([event], data)

    @rule(data=st.data())
    def record_a_plausible_event(self, data: st.DataObject) -> None:
        self.submit([self.plausible(data)], data)

    @rule(data=st.data())
    def record_a_batch(self, data: st.DataObject) -> None:
        size = data.draw(st.integers(2, 3), label="size")
        batch = [
            data.draw(any_event, label="event") if data.draw(st.booleans(), label="blind") else
            self.plausible(data)
            for _ in range(size)
        ]  # fmt: skip
        self.submit(batch, data)

    @rule(data=st.data())
    def record_a_correction(self, data: st.DataObject) -> None:
        """A retraction or a correction of a recorded event: mostly of a fact in force of the
        same company, sometimes of an event already retracted or corrected, of a retraction,
        of another company's event or of no event at all (each refused, rule 6). A
        replacement is the target with other shares or another date, or any event."""
        if not self.model.accepted:
            return
        target = data.draw(st.sampled_from(self.model.accepted), label="target")
        company, target_id = target.event["company"], target.event_id
        mistake = data.draw(st.integers(0, 9), label="mistake")
        if mistake == 0:
            company = data.draw(companies.filter(lambda c: c != company), label="other")
        elif mistake == 1:
            target_id = str(uuid4())
        fact = target.event
        if fact["type"] == "EventCorrected":
            fact = fact["replacement"]
        if fact["type"] == "EventRetracted" or data.draw(st.booleans(), label="retract"):
            self.submit([b.retracted(company, target_id)], data)
            return
        if data.draw(st.integers(0, 3), label="any") == 0:
            replacement = {**data.draw(any_event, label="replacement"), "company": company}
        else:
            replacement = {**fact, "company": company}
            if "shares" in replacement and data.draw(st.booleans(), label="reshare"):
                replacement["shares"] = data.draw(amounts, label="shares")
            if data.draw(st.booleans(), label="redate"):
                replacement["effective_date"] = data.draw(days, label="date")
        self.submit([b.corrected(company, target_id, replacement)], data)

    def plausible(self, data: st.DataObject) -> Event:
        """An event drawn from the model's current state so that it has a fair chance to be
        valid: shares of an existing class, a transfer or cancellation of shares someone holds,
        an office or a seat for someone without it, the end of an office or a seat someone
        has. Its date is still drawn over the range, so it may well be back-dated past what
        makes it valid. First a company and a kind of event, then one of that kind."""
        registered = sorted(self.model.registered())
        if not registered:
            return data.draw(any_event, label="event")
        company = data.draw(st.sampled_from(registered), label="company")
        end = self.model.replay(company)

        def when(earliest: int = 0) -> str:
            return on(data.draw(st.integers(earliest, LAST_DAY), label="day"))

        def late(earliest: int = 0) -> str:  # hypothesis leans to small numbers: to late dates
            return on(LAST_DAY - data.draw(st.integers(0, LAST_DAY - earliest), label="days back"))

        def since(iso: str) -> int:
            return (date.fromisoformat(iso) - START).days

        created = {
            a.event["share_class"]: since(a.event["effective_date"])
            for a in self.model.accepted
            if a.event["company"] == company and a.event["type"] == "ShareClassCreated"
        }
        held = [(party, cls, n) for (party, cls), n in sorted(end.held.items()) if n > 0]
        first_issue = min(
            (
                since(a.event["effective_date"])
                for a in self.model.accepted
                if a.event["company"] == company and a.event["type"] in ISSUES
            ),
            default=0,
        )
        offices = {(o["person"], o["role"]): since(o["since"]) for o in end.offices}
        has_ceo = any(role == "ceo" for _, role in offices)
        roles = ("cfo",) if has_ceo else ("ceo", "cfo")
        vacant = [(p, r) for p in PEOPLE for r in roles if (p, r) not in offices]
        seats = {person: since(d["since"]) for person, d in end.directors.items()}
        outside = [person for person in PEOPLE if person not in seats]

        kinds: dict[str, Callable[[], Event]] = {}
        if created:

            def issue() -> Event:
                cls = data.draw(st.sampled_from(sorted(created)))
                return b.issued(
                    company, data.draw(parties), cls, data.draw(amounts), when(created[cls])
                )

            kinds["issue"] = issue

            def split() -> Event:
                cls = data.draw(st.sampled_from(sorted(created)))
                ratio = data.draw(st.sampled_from(RATIOS))
                return b.split(company, cls, ratio, late(created[cls]))

            kinds["split"] = split

            def authorize() -> Event:
                """Around the class's issued shares now: above, at, or just below them."""
                cls = data.draw(st.sampled_from(sorted(created)))
                issued = end.issued.get(cls, 0)
                count = max(1, issued + data.draw(st.integers(-2, 100)))
                return b.authorized(company, cls, count, when(created[cls]))

            kinds["authorize"] = authorize
        if held:

            def move() -> Event:
                party, cls, n = data.draw(st.sampled_from(held))
                shares = data.draw(st.one_of(st.integers(1, n), st.integers(n + 1, n + 20)))
                if data.draw(st.booleans()):
                    return b.cancelled(company, party, cls, shares, late())
                taker = data.draw(parties.filter(lambda q: q != party))
                return b.transferred(company, party, taker, cls, shares, late())

            kinds["move"] = move

            def invest() -> Event:
                """Once shares are outstanding: a stake or a valuation derives from them."""
                cls = data.draw(st.sampled_from(sorted(created)))
                investor = data.draw(parties)
                earliest = max(created[cls], first_issue)
                return data.draw(investment(company, investor, cls, late(earliest)))

            kinds["invest"] = invest
        if vacant:

            def appoint() -> Event:
                person, role = data.draw(st.sampled_from(vacant))
                return b.executive_appointed(company, person, role, when())

            kinds["appoint"] = appoint
        if offices:

            def depart() -> Event:
                person, role = data.draw(st.sampled_from(sorted(offices)))
                return b.executive_departed(company, person, role, when(offices[person, role]))

            kinds["depart"] = depart
        if outside:

            def seat() -> Event:
                person = data.draw(st.sampled_from(outside))
                kind = data.draw(st.sampled_from([None, "observer"]))
                return b.director_appointed(company, person, when(), seat=kind)

            kinds["seat"] = seat
        if seats:

            def unseat() -> Event:
                person = data.draw(st.sampled_from(sorted(seats)))
                if data.draw(st.booleans()):
                    return b.seat_retained(company, person, when(seats[person]))
                return b.director_departed(company, person, when(seats[person]))

            kinds["unseat"] = unseat

        def size() -> Event:
            n = end.seated()
            return b.board_size(company, data.draw(st.integers(max(n, 1), n + 1)), when())

        kinds["size"] = size

        def value() -> Event:
            return b.valuation(company, data.draw(money), when(), data.draw(st.sampled_from(BASES)))

        kinds["value"] = value
        pools = {
            a.event["plan"]: since(a.event["effective_date"])
            for a in self.model.accepted
            if a.event["company"] == company and a.event["type"] == "StockPlanCreated"
        }
        kinds.update(plausible_instruments(data, company, end, created, pools, held, late))
        # Shares move more often than people: weigh the kinds accordingly.
        weights = {
            "issue": 3,
            "invest": 3,
            "move": 4,
            "pool": 2,
            "grant": 4,
            "exercise": 4,
            "convert": 3,
        }
        choices = [kind for kind in sorted(kinds) for _ in range(weights.get(kind, 1))]
        return kinds[data.draw(st.sampled_from(choices), label="kind")]()

    # --- the ledger's answers ---

    def compare(self, data: st.DataObject) -> None:
        """For a random (as_of, known_at) the ledger answers as the model does."""
        as_of = START + timedelta(days=data.draw(st.integers(-3, LAST_DAY + 3), label="as_of"))
        last = self.ledger.known_position()
        assert last == max(self.model.positions(), default=0)
        known_at = data.draw(st.sampled_from([None, 0, *self.model.positions()]), label="known_at")
        position = last if known_at is None else self.model.known(known_at)
        registered = self.model.registered()
        for company in COMPANIES:
            if company not in registered:
                with pytest.raises(InputError, match="unknown company"):
                    self.ledger.cap_table(company, as_of=as_of, known_at=known_at)
                continue
            for report in ("cap_table", "roster", "board", "grants"):
                answer = getattr(self.ledger, report)(company, as_of, known_at)
                expected = getattr(self.model, report)(company, as_of, position)
                assert answer.model_dump(mode="json") == expected, (report, company)
            # Vesting and expiry far from the range: whole months ending on a short month's
            # last day, and a remainder long expired.
            far = data.draw(st.sampled_from(FAR), label="far")
            assert self.ledger.grants(company, far, known_at).model_dump(mode="json") == (
                self.model.grants(company, far, position)
            )
            party = data.draw(parties, label="grants of")
            mine = self.model.grants(company, as_of, position)
            mine["grants"] = [g for g in mine["grants"] if g["holder"] == party]
            answer = self.ledger.grants(company, as_of, known_at, holder=party)
            assert answer.model_dump(mode="json") == mine
        self.compare_read_models_with_the_fold(data, as_of, last)

    def compare_read_models_with_the_fold(
        self, data: st.DataObject, as_of: date, last: int
    ) -> None:
        """At any position, a batch's inside included, the read models answer as the fold
        (``replay_known``) does; at every batch end the whole tables agree with it."""
        if last == 0:
            return
        known_at = data.draw(st.integers(0, last), label="any position")
        for company in sorted(self.model.registered()):
            for report in ("cap_table", "roster", "board"):
                ask = getattr(self.ledger, report)
                assert ask(company, as_of, known_at).model_dump(mode="json") == ask(
                    company, as_of, known_at, fold=True
                ).model_dump(mode="json"), (report, company, as_of, known_at)
        for party in PARTIES:
            assert self.ledger.holdings(party, as_of, known_at).model_dump(
                mode="json"
            ) == self.ledger.holdings(party, as_of, known_at, fold=True).model_dump(mode="json")

    @invariant()
    def every_date_keeps_the_invariants(self) -> None:
        for company in sorted(self.model.registered()):
            history = self.ledger.history(company)
            assert [e.position for e in history.events] == [
                a.position for a in self.model.accepted if a.event["company"] == company
            ], "every accepted event is stored once, nothing else"
            for when in self.model.dates(company):
                table = self.ledger.cap_table(company, as_of=when)
                assert all(h.fully_diluted_shares > 0 for h in table.holders)
                assert all(n > 0 for h in table.holders for n in h.classes.values())
                assert sum(h.shares for h in table.holders) == table.total_shares
                assert all(p.available >= 0 for p in table.pools)
                assert table.fully_diluted_total == sum(
                    h.fully_diluted_shares for h in table.holders
                ) + sum(p.available for p in table.pools)
                roster = self.ledger.roster(company, as_of=when)
                assert sum(1 for o in roster.officers if o.role == "ceo") <= 1
                seats = self.model.replay(company, as_of=when).board_size
                if seats is not None:
                    board = self.ledger.board(company, as_of=when)
                    assert sum(1 for d in board.directors if d.seat in SEATED) <= seats


def plausible_instruments(
    data: st.DataObject,
    company: str,
    end: Company,
    created: dict[str, int],
    pools: dict[str, int],
    held: list[tuple[str, str, int]],
    late: Callable[[int], str],
) -> dict[str, Callable[[], Event]]:
    """The kinds of plausible instrument events: a plan of an existing class, a reserve
    around what its plan has taken, a grant around what is available, an exercise around
    what is exercisable, a cancellation around what is outstanding, a conversion of an open
    convertible or of shares someone holds, all judged at the last day (so back-dated ones
    may break a rule)."""
    last = START + timedelta(days=LAST_DAY)
    kinds: dict[str, Callable[[], Event]] = {}

    def since(when: date) -> int:
        return max(0, (when - START).days)

    def around(n: int) -> int:  # within n mostly, just beyond it now and then
        within = st.integers(1, max(n, 1))
        return data.draw(st.one_of(within, within, within, st.integers(n + 1, n + 5)))

    def name() -> Event:
        party = data.draw(st.sampled_from(sorted({*PARTIES, *PEOPLE})))
        return b.instrument("StakeholderRecorded", company, late(0), party=party,
                            name=data.draw(st.sampled_from(NAMES)), kind="individual")  # fmt: skip

    kinds["name"] = name
    if created:

        def pool() -> Event:
            cls = data.draw(st.sampled_from(sorted(created)))
            name = data.draw(st.sampled_from(PLANS))
            return data.draw(plan(company, name, cls, late(created[cls])))

        def issue_warrant() -> Event:
            cls = data.draw(st.sampled_from(sorted(created)))
            return data.draw(warrant(company, cls, late(created[cls])))

        kinds["pool"], kinds["warrant"] = pool, issue_warrant
    if end.plans:

        def reserve() -> Event:
            p = data.draw(st.sampled_from(sorted(end.plans.values(), key=lambda p: p["plan"])))
            taken = p["reserved"] - end.available(p, last)
            reserved = max(0, taken + data.draw(st.integers(-2, 100)))
            return b.instrument(
                "StockPlanReserveChanged", company, late(0), plan=p["plan"], reserved=reserved
            )

        def award() -> Event:
            p = data.draw(st.sampled_from(sorted(end.plans.values(), key=lambda p: p["plan"])))
            quantity = around(end.available(p, last))
            return data.draw(grant(company, p["plan"], quantity, late(pools.get(p["plan"], 0))))

        kinds["reserve"], kinds["grant"] = reserve, award
    ends = [(key, i) for key, found in (("grant", end.awards), ("warrant", end.warrants))
            for i in sorted(found)]  # fmt: skip
    if ends:

        def exercise_or_cancel() -> Event:
            key, name = data.draw(st.sampled_from(ends))
            kind = "Option" if key == "grant" else "Warrant"
            instrument = (end.awards if key == "grant" else end.warrants)[name]
            left = outstanding(instrument, last)
            when = late(since(instrument["issued"]))
            if data.draw(st.booleans()):
                can = exercisable(instrument, last) if key == "grant" else left
                return b.instrument(f"{kind}Exercised", company, when, quantity=around(can),
                                    **{key: name})  # fmt: skip
            quantity = data.draw(st.one_of(st.none(), st.just(around(left))))
            return b.instrument(f"{kind}Cancelled", company, when, quantity=quantity,
                                reason="forfeited", **{key: name})  # fmt: skip

        kinds["exercise"] = exercise_or_cancel
    kinds["safe"] = lambda: data.draw(convertible(company, late(0)))
    still_open = sorted(name for name, c in end.convertibles.items() if c["open"])
    if still_open and created:

        def convert() -> Event:
            name = data.draw(st.sampled_from(still_open))
            if data.draw(st.integers(0, 3)) == 0:
                return b.instrument("ConvertibleCancelled", company, late(0), convertible=name,
                                    reason="repaid")  # fmt: skip
            cls = data.draw(st.sampled_from(sorted(created)))
            issued = since(date.fromisoformat(end.convertibles[name]["effective_date"]))
            return data.draw(conversion(company, name, cls, late(max(created[cls], issued))))

        kinds["convert"] = convert
    if held and len(created) > 1:

        def convert_shares() -> Event:
            party, cls, n = data.draw(st.sampled_from(held))
            into = data.draw(st.sampled_from(sorted(set(created) - {cls})))
            return b.instrument(
                "SharesConverted", company, late(max(created[cls], created[into])), holder=party,
                from_class=cls, to_class=into, shares=around(n),
                ratio=data.draw(st.sampled_from([None, *RATIOS])),
            )  # fmt: skip

        kinds["convert shares"] = convert_shares
    return kinds


# --- where the ledger lives ---

_stores = itertools.count()


def in_memory() -> tuple[str, Callable[[], None]]:
    return MEMORY_URL, lambda: None


def in_sqlite_files(directory: Path) -> Callable[[], tuple[str, Callable[[], None]]]:
    def new_store() -> tuple[str, Callable[[], None]]:
        path = directory / f"machine-{next(_stores)}.db"

        def drop() -> None:
            for leftover in directory.glob(f"{path.name}*"):
                leftover.unlink()

        return f"sqlite:///{path}", drop

    return new_store


def in_postgres(template: str) -> Callable[[], tuple[str, Callable[[], None]]]:
    def new_store() -> tuple[str, Callable[[], None]]:
        url = new_pg_database(template)
        return url, lambda: drop_pg_database(url)

    return new_store


def run(new_store: Callable[[], tuple[str, Callable[[], None]]], **overrides: Any) -> None:
    machine = type("Machine", (LedgerMachine,), {"new_store": staticmethod(new_store)})
    run_state_machine_as_test(machine, settings=settings(settings(), **overrides))


def test_the_in_memory_ledger_behaves_as_the_model() -> None:
    run(in_memory, stateful_step_count=50)


def test_a_sqlite_file_ledger_behaves_as_the_model(tmp_path: Path) -> None:
    run(in_sqlite_files(tmp_path), stateful_step_count=40)


@pytest.mark.postgres
def test_a_postgresql_ledger_behaves_as_the_model(pg_server: str) -> None:
    run(in_postgres(pg_server), stateful_step_count=30, max_examples=12)


@pytest.mark.slow
@pytest.mark.timeout(3600)  # HYPOTHESIS_PROFILE=slow: 1,000 examples of 100 steps each
def test_a_long_campaign_keeps_the_ledger_and_the_model_in_step() -> None:
    with tempfile.TemporaryDirectory() as directory:
        run(in_sqlite_files(Path(directory)), stateful_step_count=100)
    run(in_memory, stateful_step_count=100)
