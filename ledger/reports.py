"""The answers the ledger gives: frozen pydantic models whose JSON is the CLI's contract.

Field names are a contract (keys may be added, never renamed). Percentages are decimal
strings with 4 decimals; money is ``{"amount": "<decimal>", "currency": "USD"}``;
``known_at`` is the position the answer reflects.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any, ClassVar, NamedTuple, Self, cast

from pydantic import BaseModel, ConfigDict, Field, field_serializer
from pydantic_core import PydanticSerializationError

from . import rows
from .domain.entry import Entry
from .domain.instruments import Standing, exercisable, vested
from .domain.rules import apply_known
from .domain.state import CompanyState
from .domain.values import decimal_text, percent_text, percent_texts

ROLE_ORDER = ("ceo", "cfo", "coo", "cto", "cso", "president", "other")


def csv_cell(value: Any) -> str:
    """A CSV cell written as the JSON writes the value: true/false, empty for null."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class Report(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    csv_columns: ClassVar[tuple[str, ...]]
    """The CSV header: the JSON keys, flattened; a contract like the JSON's."""

    def csv_rows(self) -> list[dict[str, Any]]:
        """One flat row per line of the answer, keyed by ``csv_columns``."""
        raise NotImplementedError

    def in_order(self, row: dict[str, Any]) -> dict[str, Any]:
        """``row`` with every CSV column, in order (empty where it has none)."""
        return {column: row.get(column) for column in self.csv_columns}

    def json_text(self) -> str:
        """The JSON contract, as ``--format json`` prints it and the HTTP API sends it: the
        text of ``json.dumps(self.model_dump(mode="json"), indent=2)``, written by pydantic's
        serializer in a tenth of the time (the standard library's indenting encoder is pure
        Python). The two escape alike but for DEL, which pydantic leaves raw, and a lone
        surrogate, which it cannot write: the standard library writes that rare answer."""
        try:
            text = self.model_dump_json(indent=2, ensure_ascii=True)
        except PydanticSerializationError:
            return json.dumps(self.model_dump(mode="json"), indent=2)
        return text.replace("\x7f", "\\u007f")  # a raw DEL is only ever inside a string


class ValuationOut(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)
    amount: str
    currency: str
    basis: str
    effective_date: date


class Holder(BaseModel):
    """A holder's position: shares and percentages in total and by class (the percentages by
    class of one holder add up to its total, within the rounding), and fully diluted: its
    shares, outstanding awards (``options``) and outstanding warrants."""

    model_config = ConfigDict(frozen=True, defer_build=True)
    party: str
    shares: int
    ownership_percent: str | None
    voting_percent: str | None
    classes: dict[str, int]
    ownership_percent_by_class: dict[str, str | None]
    voting_percent_by_class: dict[str, str | None]
    name: str | None
    options: int
    warrants: int
    fully_diluted_shares: int
    fully_diluted_percent: str | None


class PoolOut(BaseModel):
    """A stock plan on a date: ``available`` = reserved − exercised − outstanding − retired."""

    model_config = ConfigDict(frozen=True, defer_build=True)
    plan: str
    name: str
    share_class: str
    reserved: int
    exercised: int
    outstanding: int
    retired: int
    available: int


class MoneyOut(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)
    amount: str
    currency: str


class WarrantOut(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)
    warrant: str
    holder: str
    name: str | None
    share_class: str
    quantity: int
    exercised: int
    cancelled: int
    outstanding: int
    exercise_price: MoneyOut
    expiration_date: date | None


class ConvertibleOut(BaseModel):
    """A convertible not converted or cancelled on the date."""

    model_config = ConfigDict(frozen=True, defer_build=True)
    convertible: str
    holder: str
    name: str | None
    kind: str
    amount: MoneyOut
    valuation_cap: MoneyOut | None
    discount_percent: str | None
    cap_basis: str
    interest_rate_percent: str | None
    maturity_date: date | None
    issued: date


# The CSV of a position has a row per class: ``shares`` and ``row_*_percent`` are the row's
# own (a column adds up to the total), ``holder_total_shares`` and ``ownership_percent``
# / ``voting_percent`` the holder's in the company, repeated on each of its rows.
# ``party_shares`` (cap table) and ``company_shares`` (holdings) are older names of
# ``holder_total_shares``, kept: CSV columns are a contract.
_ROW_PERCENTS = ("row_ownership_percent", "row_voting_percent")


_DILUTED = ("name", "options", "warrants", "fully_diluted_shares", "fully_diluted_percent")
"""A holder's columns of the second catalogue, repeated on each of its CSV rows."""


def _class_rows(head: dict[str, Any], held: Holder | Position) -> list[dict[str, Any]]:
    """A holder's (or position's) CSV rows: one per class, with the row's own percentages;
    one with an empty ``share_class`` and ``shares`` 0 when it holds instruments only."""
    if not held.classes:
        return [{**head, "share_class": None, "shares": 0}]
    return [
        {
            **head,
            "share_class": share_class,
            "shares": shares,
            "row_ownership_percent": held.ownership_percent_by_class[share_class],
            "row_voting_percent": held.voting_percent_by_class[share_class],
        }
        for share_class, shares in sorted(held.classes.items())
    ]


class CapTable(Report):
    csv_columns = (
        "company", "as_of", "known_at", "total_shares", "party", "share_class", "shares",
        "party_shares", "ownership_percent", "voting_percent", "holder_total_shares",
        *_ROW_PERCENTS, *_DILUTED, "fully_diluted_total",
    )  # fmt: skip

    company: str
    as_of: date
    known_at: int
    total_shares: int
    holders: list[Holder]
    valuation: ValuationOut | None
    fully_diluted_total: int
    pools: list[PoolOut]
    warrants: list[WarrantOut]
    convertibles: list[ConvertibleOut]

    def csv_rows(self) -> list[dict[str, Any]]:
        """One row per (holder, class); a holder of awards or warrants only gets one row with
        an empty ``share_class`` and ``shares`` 0."""
        head = {
            "company": self.company,
            "as_of": self.as_of,
            "known_at": self.known_at,
            "total_shares": self.total_shares,
            "fully_diluted_total": self.fully_diluted_total,
        }
        rows = []
        for h in self.holders:
            holder = {
                **head,
                "party": h.party,
                "party_shares": h.shares,
                "ownership_percent": h.ownership_percent,
                "voting_percent": h.voting_percent,
                "holder_total_shares": h.shares,
                **{name: getattr(h, name) for name in _DILUTED},
            }
            rows += _class_rows(holder, h)
        return [self.in_order(row) for row in rows]


class OfficerOut(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)
    person: str
    role: str
    title: str | None
    interim: bool
    since: date
    name: str | None


class Roster(Report):
    csv_columns = ("company", "as_of", "known_at", *OfficerOut.model_fields)

    company: str
    as_of: date
    known_at: int
    officers: list[OfficerOut]

    def csv_rows(self) -> list[dict[str, Any]]:
        head = {"company": self.company, "as_of": self.as_of, "known_at": self.known_at}
        return [{**head, **o.model_dump()} for o in self.officers]


class DirectorOut(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)
    person: str
    seat: str
    since: date
    designated_by: str | None
    executive: bool
    name: str | None


class Board(Report):
    csv_columns = ("company", "as_of", "known_at", *DirectorOut.model_fields)

    company: str
    as_of: date
    known_at: int
    directors: list[DirectorOut]

    def csv_rows(self) -> list[dict[str, Any]]:
        head = {"company": self.company, "as_of": self.as_of, "known_at": self.known_at}
        return [{**head, **d.model_dump()} for d in self.directors]


class GrantOut(BaseModel):
    """An award on a date: ``vested`` by its schedule, ``outstanding`` = quantity − exercised −
    cancelled (0 once expired), ``exercisable`` = max(0, min(vested − exercised,
    outstanding))."""

    model_config = ConfigDict(frozen=True, defer_build=True)
    grant: str
    holder: str
    name: str | None
    plan: str
    kind: str
    share_class: str
    quantity: int
    exercise_price: MoneyOut | None
    vesting: VestingOut | None
    expiration_date: date | None
    granted: date
    vested: int
    exercised: int
    cancelled: int
    outstanding: int
    exercisable: int


class VestingOut(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)
    start: date
    months: int
    cliff_months: int
    every_months: int


class Grants(Report):
    csv_columns = (
        "company", "as_of", "known_at", "grant", "holder", "name", "plan", "kind",
        "share_class", "quantity", "exercise_price_amount", "exercise_price_currency",
        "vesting_start", "vesting_months", "vesting_cliff_months", "vesting_every_months",
        "expiration_date", "granted", "vested", "exercised", "cancelled", "outstanding",
        "exercisable",
    )  # fmt: skip

    company: str
    as_of: date
    known_at: int
    grants: list[GrantOut]

    def csv_rows(self) -> list[dict[str, Any]]:
        head = {"company": self.company, "as_of": self.as_of, "known_at": self.known_at}
        rows = []
        for g in self.grants:
            row = {**head, **g.model_dump(exclude={"exercise_price", "vesting"})}
            price, vesting = g.exercise_price, g.vesting
            row["exercise_price_amount"] = price.amount if price else None
            row["exercise_price_currency"] = price.currency if price else None
            for term in VestingOut.model_fields:
                row[f"vesting_{term}"] = getattr(vesting, term) if vesting else None
            rows.append(self.in_order(row))
        return rows


class PositionConvertible(BaseModel):
    """A convertible a party holds in a company (not yet converted or cancelled)."""

    model_config = ConfigDict(frozen=True, defer_build=True)
    convertible: str
    kind: str
    amount: MoneyOut
    valuation_cap: MoneyOut | None
    discount_percent: str | None


class Position(BaseModel):
    """A party's position in a company (see ``Holder``): shares, its outstanding awards and
    warrants, fully diluted, and the ids of its awards, warrants and open convertibles."""

    model_config = ConfigDict(frozen=True, defer_build=True)
    company: str
    shares: int
    ownership_percent: str | None
    voting_percent: str | None
    classes: dict[str, int]
    ownership_percent_by_class: dict[str, str | None]
    voting_percent_by_class: dict[str, str | None]
    name: str | None
    options: int
    warrants: int
    fully_diluted_shares: int
    fully_diluted_percent: str | None
    grant_ids: list[str]
    warrant_ids: list[str]
    convertibles: list[PositionConvertible]


class Holdings(Report):
    csv_columns = (
        "party", "as_of", "known_at", "company", "share_class", "shares", "company_shares",
        "ownership_percent", "voting_percent", "holder_total_shares", *_ROW_PERCENTS,
        *_DILUTED,
    )  # fmt: skip

    party: str
    as_of: date
    known_at: int
    positions: list[Position]

    def csv_rows(self) -> list[dict[str, Any]]:
        """One row per (company, class); a position of awards, warrants or convertibles only
        gets one row with an empty ``share_class`` and ``shares`` 0."""
        head = {"party": self.party, "as_of": self.as_of, "known_at": self.known_at}
        rows = []
        for p in self.positions:
            position = {
                **head,
                "company": p.company,
                "company_shares": p.shares,
                "ownership_percent": p.ownership_percent,
                "voting_percent": p.voting_percent,
                "holder_total_shares": p.shares,
                **{name: getattr(p, name) for name in _DILUTED},
            }
            rows += _class_rows(position, p)
        return [self.in_order(row) for row in rows]


class CompanyOut(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)
    company: str
    name: str | None
    registered: date | None
    events: int
    last_position: int


class Companies(Report):
    """Every company of the ledger as known at a position, ordered by slug."""

    csv_columns = ("known_at", *CompanyOut.model_fields)

    known_at: int
    companies: list[CompanyOut]

    def csv_rows(self) -> list[dict[str, Any]]:
        return [{"known_at": self.known_at, **c.model_dump()} for c in self.companies]


class HistoryEvent(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)
    event_id: str
    position: int
    company: str
    type: str
    effective_date: date
    recorded_at: datetime
    recorded_by: str
    source: str | None
    retracted_by: str | None
    corrected_by: str | None
    data: dict[str, Any]

    @field_serializer("recorded_at")
    def _utc(self, moment: datetime) -> str:
        return moment.isoformat().replace("+00:00", "Z")


class History(Report):
    known_at: int
    events: list[HistoryEvent]

    def _head(self) -> dict[str, Any]:
        raise NotImplementedError

    def effective_until(self, day: date | None) -> Self:
        """Only the events effective on or before ``day`` (all of them for None)."""
        if day is None:
            return self
        events = [e for e in self.events if e.effective_date <= day]
        return self.model_copy(update={"events": events})

    def csv_rows(self) -> list[dict[str, Any]]:
        rows = []
        for e in self.events:
            row = {**self._head(), **e.model_dump(mode="json")}
            row["data"] = json.dumps(row["data"], sort_keys=True)
            rows.append(row)
        return rows


class CompanyHistory(History):
    csv_columns = ("known_at", *HistoryEvent.model_fields)

    company: str

    def _head(self) -> dict[str, Any]:
        return {"known_at": self.known_at}


class PartyHistory(History):
    csv_columns = ("party", "known_at", *HistoryEvent.model_fields)

    party: str

    def _head(self) -> dict[str, Any]:
        return {"party": self.party, "known_at": self.known_at}


# --- building answers from a folded state ---


_pct = percent_text


class OneClass(NamedTuple):
    """The holdings of a company of one share class as the read models fetch them, a row
    (party, share class, shares, votes per share) per holder: ranked as they come, without
    the dict of dicts of ``CompanyState.holdings`` (the fold's) built and walked again."""

    share_class: str
    rows: Iterable[tuple[str, str, int, int]]


_PARTY, _SHARES = itemgetter(0), itemgetter(2)
"""A ``OneClass`` row's party and shares."""


def holders_of(
    state: CompanyState, on: date | Standing, one_class: OneClass | None = None
) -> list[Holder]:
    """The holders, in order (fully diluted shares descending, then party); ``one_class``:
    the holdings, when the state holds them only so.

    The models are built from values already typed and checked, without validating them
    again: what ``model_construct`` does, minus its per-field bookkeeping (five times slower,
    where a cap table of a thousand holders builds a thousand models). Every holder has every
    field: one set of their names serves them all (frozen models never change it)."""
    standing = on if isinstance(on, Standing) else Standing.of(state, on)
    options, warrants = standing.options, standing.warrants
    instruments = options or warrants
    parties, held, diluted, classes = _ranked(state, standing, one_class)
    per_share = {name: c.votes_per_share for name, c in state.classes.items()}
    # The percentages a column at a time: one call a column, not one a holder; a column that
    # is another's (the same fractions) is not worked out twice.
    outstanding, total_votes = state.outstanding, state.total_votes()
    ownership = percent_texts(held, outstanding)
    if len(set(per_share.values())) == 1 and total_votes:
        # Every class has the same votes per share: a holder's votes are the same share of
        # the company's votes as its shares of the outstanding, class by class too.
        voting = ownership
    else:
        voting = percent_texts([_votes(c, per_share) for c in classes], total_votes)
    if instruments or standing.fully_diluted != outstanding:
        diluted_percent = percent_texts(diluted, standing.fully_diluted)
    else:
        diluted_percent = ownership
    names, every_field = state.stakeholders, _HOLDER_FIELDS
    # A company of one class: every holder's percentages are that class's.
    sole = next(iter(state.classes)) if len(state.classes) == 1 else None
    holders: list[Holder] = []
    add = holders.append
    for party, shares, fully_diluted, by_class, owned, voted, of_diluted in zip(
        parties, held, diluted, classes, ownership, voting, diluted_percent, strict=True
    ):
        if sole is not None and shares:
            owned_by_class, voted_by_class = {sole: owned}, {sole: voted}
        elif len(by_class) == 1:  # the class's percentages are the holder's
            [share_class] = by_class
            owned_by_class, voted_by_class = {share_class: owned}, {share_class: voted}
        else:
            owned_by_class, voted_by_class = _by_class(
                by_class, per_share, outstanding, total_votes
            )
        named = names.get(party) if names else None
        holder = _new_holder(Holder)
        _set_dict(
            holder,
            {
                "party": party,
                "shares": shares,
                "ownership_percent": owned,
                "voting_percent": voted,
                "classes": by_class,
                "ownership_percent_by_class": owned_by_class,
                "voting_percent_by_class": voted_by_class,
                "name": None if named is None else named.name,
                "options": options.get(party, 0) if instruments else 0,
                "warrants": warrants.get(party, 0) if instruments else 0,
                "fully_diluted_shares": fully_diluted,
                "fully_diluted_percent": of_diluted,
            },
        )
        _set_fields_set(holder, every_field)
        _set_extra(holder, None)
        _set_private(holder, None)
        add(holder)
    return holders


# The slots of a model, set through their descriptors: a third faster than
# ``object.__setattr__``, which looks each name up (four per holder).
_new_holder = Holder.__new__
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__
_HOLDER_FIELDS = set(Holder.model_fields)


def _ranked(
    state: CompanyState, dilution: Standing, one_class: OneClass | None
) -> tuple[list[str], list[int], list[int], list[dict[str, int]]]:
    """The holders in order, fully diluted shares descending, then party (unique), as
    columns: parties, shares, fully diluted shares, shares by class (the report's own dict,
    in class order). A party with only awards or warrants is a holder of 0 shares."""
    options, warrants = dilution.options, dilution.warrants
    if one_class is not None and not (options or warrants):
        # Fully diluted is shares: the rows in order by two stable sorts on keys taken at C
        # speed (by party, then by shares descending, which keeps the parties' order among
        # equal shares), no key made per holder.
        rows = sorted(one_class.rows, key=_PARTY)
        rows.sort(key=_SHARES, reverse=True)
        held = list(map(_SHARES, rows))
        share_class = one_class.share_class
        return list(map(_PARTY, rows)), held, held, [{share_class: n} for n in held]
    ranked: list[tuple[int, str, int, dict[str, int]]]
    if one_class is not None:
        share_class = one_class.share_class
        ranked = [
            (-shares, party, shares, {share_class: shares})
            for party, _, shares, _ in one_class.rows
        ]
    else:
        ranked = []
        add = ranked.append
        for party, classes in state.holdings.items():
            if len(classes) == 1:  # the common case, without the sums
                [shares] = classes.values()
                classes = classes.copy()  # the report's own, not the state's
            else:
                shares = sum(classes.values())
                classes = dict(sorted(classes.items()))
            add((-shares, party, shares, classes))
    if options or warrants:
        instruments_only = (options.keys() | warrants.keys()).difference(h[1] for h in ranked)
        ranked = [
            (negative - options.get(party, 0) - warrants.get(party, 0), party, shares, classes)
            for negative, party, shares, classes in ranked
        ]
        ranked += (
            (-(options.get(party, 0) + warrants.get(party, 0)), party, 0, {})
            for party in instruments_only
        )
    ranked.sort()  # the parties are unique: the rest is never compared
    return (
        [h[1] for h in ranked],
        [h[2] for h in ranked],
        [-h[0] for h in ranked],
        [h[3] for h in ranked],
    )


def _votes(classes: dict[str, int], per_share: dict[str, int]) -> int:
    return sum(shares * per_share[share_class] for share_class, shares in classes.items())


def _by_class(
    classes: dict[str, int], per_share: dict[str, int], outstanding: int, total_votes: int
) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """A position's ownership and voting percentages by class."""
    names = list(classes)
    owned = percent_texts([classes[c] for c in names], outstanding)
    voted = percent_texts([classes[c] * per_share[c] for c in names], total_votes)
    return dict(zip(names, owned, strict=True)), dict(zip(names, voted, strict=True))


def _name(state: CompanyState, party: str) -> str | None:
    named = state.stakeholders.get(party)
    return None if named is None else named.name


def _money(amount: Decimal, currency: str) -> MoneyOut:
    return MoneyOut(amount=decimal_text(amount), currency=currency)


def _decimal(value: Decimal | None) -> str | None:
    return None if value is None else decimal_text(value)


def pools_of(state: CompanyState, standing: Standing) -> list[PoolOut]:
    return [
        PoolOut(
            plan=p.plan,
            name=p.name,
            share_class=p.share_class,
            reserved=p.reserved,
            exercised=p.exercised,
            outstanding=standing.plans[name].outstanding,
            retired=standing.plans[name].retired,
            available=standing.plans[name].available,
        )
        for name, p in sorted(state.plans.items())
    ]


def warrants_of(state: CompanyState, on: date) -> list[WarrantOut]:
    return [
        WarrantOut(
            warrant=w.warrant,
            holder=w.holder,
            name=_name(state, w.holder),
            share_class=w.share_class,
            quantity=w.quantity,
            exercised=w.exercised,
            cancelled=w.cancelled,
            outstanding=w.outstanding(on),
            exercise_price=_money(w.exercise_price, w.currency),
            expiration_date=w.expiration_date,
        )
        for _, w in sorted(state.warrants.items())
    ]


def convertibles_of(state: CompanyState) -> list[ConvertibleOut]:
    """The convertibles not converted or cancelled (the state is as of the date)."""
    return [
        ConvertibleOut(
            convertible=c.convertible,
            holder=c.holder,
            name=_name(state, c.holder),
            kind=c.kind,
            amount=_money(c.amount, c.currency),
            valuation_cap=None if c.valuation_cap is None else _money(c.valuation_cap, c.currency),
            discount_percent=_decimal(c.discount_percent),
            cap_basis=c.cap_basis,
            interest_rate_percent=_decimal(c.interest_rate_percent),
            maturity_date=c.maturity_date,
            issued=c.issued,
        )
        for _, c in sorted(state.convertibles.items())
        if c.settled is None
    ]


def cap_table_of(
    state: CompanyState,
    as_of: date,
    known_at: int,
    standing: Standing | None = None,
    one_class: OneClass | None = None,
) -> CapTable:
    """``standing``: what the instruments amount to on ``as_of``, if already worked out;
    ``one_class``: the holdings, when the state holds them only so (``holders_of``)."""
    v = state.valuation
    if standing is None:
        standing = Standing.of(state, as_of)
    return CapTable(
        company=state.company,
        as_of=as_of,
        known_at=known_at,
        total_shares=state.outstanding,
        holders=holders_of(state, standing, one_class),
        valuation=None
        if v is None
        else ValuationOut(
            amount=decimal_text(v.amount),
            currency=v.currency,
            basis=v.basis,
            effective_date=v.effective_date,
        ),
        fully_diluted_total=standing.fully_diluted,
        pools=pools_of(state, standing),
        warrants=warrants_of(state, as_of),
        convertibles=convertibles_of(state),
    )


def grants_of(state: CompanyState, as_of: date, known_at: int, holder: str | None = None) -> Grants:
    """Every award granted by ``as_of`` (of ``holder`` if given), by grant id."""
    grants = []
    for _, a in sorted(state.awards.items()):
        if holder is not None and a.holder != holder:
            continue
        v = a.vesting
        grants.append(
            GrantOut(
                grant=a.grant,
                holder=a.holder,
                name=_name(state, a.holder),
                plan=a.plan,
                kind=a.kind,
                share_class=a.share_class,
                quantity=a.quantity,
                exercise_price=None
                if a.exercise_price is None or a.currency is None
                else _money(a.exercise_price, a.currency),
                vesting=None
                if v is None
                else VestingOut(start=v[0], months=v[1], cliff_months=v[2], every_months=v[3]),
                expiration_date=a.expiration_date,
                granted=a.granted,
                vested=vested(a, as_of),
                exercised=a.exercised,
                cancelled=a.cancelled,
                outstanding=a.outstanding(as_of),
                exercisable=exercisable(a, as_of),
            )
        )
    return Grants(company=state.company, as_of=as_of, known_at=known_at, grants=grants)


def roster_of(state: CompanyState, as_of: date, known_at: int) -> Roster:
    officers = sorted(
        state.officers,
        key=lambda o: (ROLE_ORDER.index(o.role), o.since, o.person, o.title or ""),
    )
    return Roster(
        company=state.company,
        as_of=as_of,
        known_at=known_at,
        officers=[
            OfficerOut(
                person=o.person,
                name=_name(state, o.person),
                role=o.role,
                title=o.title,
                interim=o.interim,
                since=o.since,
            )
            for o in officers
        ],
    )


def board_of(state: CompanyState, as_of: date, known_at: int) -> Board:
    return board_from(
        state.company,
        as_of,
        known_at,
        [
            DirectorOut(
                person=d.person,
                name=_name(state, d.person),
                seat=d.seat,
                since=d.since,
                designated_by=d.designated_by,
                executive=state.is_executive(d.person),
            )
            for d in state.directors.values()
        ],
    )


def board_from(company: str, as_of: date, known_at: int, directors: list[DirectorOut]) -> Board:
    """The board from its directors (folded, or read from the board's read model)."""
    return Board(
        company=company,
        as_of=as_of,
        known_at=known_at,
        directors=sorted(directors, key=lambda d: (d.since, d.person)),
    )


def position_of(state: CompanyState, party: str, on: date) -> Position | None:
    """``party``'s position in the company on ``on`` (the state is as of it), or None when it
    holds nothing there: no shares, awards, warrants or open convertibles."""
    held = state.holdings.get(party, {})
    grants = sorted(a.grant for a in state.awards.values() if a.holder == party)
    warrant_ids = sorted(w.warrant for w in state.warrants.values() if w.holder == party)
    convertibles = [
        PositionConvertible(
            convertible=c.convertible,
            kind=c.kind,
            amount=c.amount,
            valuation_cap=c.valuation_cap,
            discount_percent=c.discount_percent,
        )
        for c in convertibles_of(state)
        if c.holder == party
    ]
    if not (held or grants or warrant_ids or convertibles):
        return None
    shares = sum(held.values())
    per_share = {name: c.votes_per_share for name, c in state.classes.items()}
    total_votes = state.total_votes()
    classes = dict(sorted(held.items()))
    owned_by_class, voted_by_class = _by_class(classes, per_share, state.outstanding, total_votes)
    standing = Standing.of(state, on)
    options, warrants, total = standing.options, standing.warrants, standing.fully_diluted
    diluted = shares + options.get(party, 0) + warrants.get(party, 0)
    return Position(
        company=state.company,
        shares=shares,
        ownership_percent=_pct(shares, state.outstanding),
        voting_percent=_pct(state.votes(party), total_votes),
        classes=classes,
        ownership_percent_by_class=owned_by_class,
        voting_percent_by_class=voted_by_class,
        name=_name(state, party),
        options=options.get(party, 0),
        warrants=warrants.get(party, 0),
        fully_diluted_shares=diluted,
        fully_diluted_percent=_pct(diluted, total),
        grant_ids=grants,
        warrant_ids=warrant_ids,
        convertibles=convertibles,
    )


def holdings_from(party: str, as_of: date, known_at: int, positions: list[Position]) -> Holdings:
    """A party's holdings from its positions (folded, or read from the cap table's model)."""
    return Holdings(
        party=party,
        as_of=as_of,
        known_at=known_at,
        positions=sorted(positions, key=lambda p: (-p.shares, p.company)),
    )


# --- the audit report: every change of the rows in a period, with the events behind it ---

AUDITED_TABLES = tuple(table.name for table in rows.AUDITED)
"""The tables an audit compares, in the order its changes of one day are listed."""

AuditKey = tuple[str, tuple[str | None, ...]]
"""(table, the row's key values)."""


def audit_rows(state: CompanyState) -> dict[AuditKey, dict[str, Any]]:
    """Every row of the audited tables (``rows.AUDITED``) in a state, with the value columns
    the audit shows: what an audit compares from one day to the next."""
    return {
        (table.name, cast(tuple[str | None, ...], key)): table.audit_value(value)
        for table in rows.AUDITED
        for key, value in table.rows(state).items()
    }


class AuditCorrection(BaseModel):
    """What a correction behind a change corrected: its target (event id and type) and why."""

    model_config = ConfigDict(frozen=True, defer_build=True)
    type: str
    target: str
    target_type: str
    reason: str


class AuditEvent(BaseModel):
    """An event behind a change, with its provenance. For a replacement in force, the
    correction that carries it (its event_id, position, recorded_at and recorded_by; ``type``
    is the replacement's) and, in ``correction``, what it corrected and why."""

    model_config = ConfigDict(frozen=True, defer_build=True)
    event_id: str
    position: int
    type: str
    recorded_at: datetime
    recorded_by: str
    source: str | None
    correction: AuditCorrection | None = None

    @field_serializer("recorded_at")
    def _utc(self, moment: datetime) -> str:
        return moment.isoformat().replace("+00:00", "Z")


class AuditChange(BaseModel):
    """One row whose value at the end of ``effective_date`` differs from the day before
    (``before`` None: the row appears; ``after`` None: it goes); ``changed`` names the
    fields whose values differ (every field of a row that appears or goes)."""

    model_config = ConfigDict(frozen=True, defer_build=True)
    effective_date: date
    table: str
    key: dict[str, str | None]
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    changed: list[str]
    events: list[AuditEvent]


def changed_fields(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """The fields of a row whose values differ, in the row's order."""
    if before is None or after is None:
        return list(before or after or {})
    return [name for name, value in after.items() if before.get(name) != value]


class Audit(Report):
    csv_columns = (
        "company", "from", "to", "known_at", "effective_date", "table", "party",
        "share_class", "person", "role", "title", "before", "after", "event_id", "position",
        "type", "recorded_at", "recorded_by", "source", "changed", "correction_type",
        "correction_target", "correction_target_type", "correction_reason", "security", "kind",
        "plan",
    )  # fmt: skip

    model_config = ConfigDict(
        frozen=True, defer_build=True, populate_by_name=True, serialize_by_alias=True
    )

    company: str
    from_: date = Field(alias="from")
    to: date
    known_at: int
    changes: list[AuditChange]

    def csv_rows(self) -> list[dict[str, Any]]:
        """One row per (change, event behind it); before and after as JSON text, the fields
        changed separated by spaces; a correction behind it in the ``correction_*`` columns."""
        head = {
            "company": self.company,
            "from": self.from_,
            "to": self.to,
            "known_at": self.known_at,
        }
        rows: list[dict[str, Any]] = []
        for change in self.changes:
            dumped = change.model_dump(mode="json")
            row = {
                **head,
                "effective_date": change.effective_date,
                "table": change.table,
                **change.key,
                "before": _json_text(dumped["before"]),
                "after": _json_text(dumped["after"]),
            }
            changed = " ".join(change.changed)
            for event in dumped["events"]:
                correction = event.pop("correction") or dict.fromkeys(AuditCorrection.model_fields)
                corrected = {f"correction_{name}": value for name, value in correction.items()}
                rows.append({**row, **event, "changed": changed, **corrected})
        return rows


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True)


def audit_key(table: str, values: tuple[str | None, ...]) -> dict[str, str | None]:
    return dict(zip(rows.BY_NAME[table].key_columns, values, strict=True))


class DayChange(NamedTuple):
    """A row changed on a day, and the events in force effective that day behind it."""

    on: date
    key: AuditKey
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    events: list[Entry]


def changes_between(
    company: str, entries: Sequence[Entry], start: date, end: date
) -> Iterator[DayChange]:
    """The changes of the rows (``audit_rows``) on each effective date in [start, end]:
    the fold (``apply_known``) of ``entries`` (in force, timeline order) at the end of the
    day compared with the end of the day before. Only a day with an event can change, so
    only those are compared. The events behind a change are those of that day that can
    change its row (its table's ``behind``), else every event of that day."""
    state = CompanyState(company)
    i, count = 0, len(entries)
    while i < count and entries[i].fact.effective_date < start:
        apply_known(state, entries[i])
        i += 1
    before = audit_rows(state)
    while i < count and entries[i].fact.effective_date <= end:
        on = entries[i].fact.effective_date
        todays: list[Entry] = []
        while i < count and entries[i].fact.effective_date == on:
            apply_known(state, entries[i])
            todays.append(entries[i])
            i += 1
        after = audit_rows(state)
        changed = [k for k in before.keys() | after.keys() if before.get(k) != after.get(k)]
        changed.sort(key=lambda k: (AUDITED_TABLES.index(k[0]), [v or "" for v in k[1]]))
        for table, key in changed:
            can = rows.BY_NAME[table].behind
            behind = [e for e in todays if can(state, key, e.fact)] or todays
            yield DayChange(
                on, (table, key), before.get((table, key)), after.get((table, key)), behind
            )
        before = after
