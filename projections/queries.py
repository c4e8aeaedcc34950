"""The answers read from the history tables: the rows valid on D and known at T, turned into the
same reports the fold gives, by the same report functions (``ledger.reports``).

Known at the position the tables stand at, the rows are simply those still believed
(``known_to IS NULL``), which a partial covering index answers; known at an earlier position
the full condition on ``known_from``/``known_to`` applies.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from operator import itemgetter
from typing import Any

from ledger.domain.instruments import Standing
from ledger.domain.state import (
    Award,
    AwardCount,
    CompanyState,
    Convertible,
    Director,
    Officer,
    Plan,
    ShareClass,
    Stakeholder,
    Valuation,
    Warrant,
)
from ledger.reports import (
    Board,
    CapTable,
    DirectorOut,
    Grants,
    Holdings,
    OneClass,
    Position,
    Roster,
    board_from,
    cap_table_of,
    grants_of,
    holdings_from,
    position_of,
    roster_of,
)

from .database import Database
from .history import POOL, SECURITY, STAKEHOLDER, Shape

INSTRUMENTS = (SECURITY, POOL, STAKEHOLDER)
"""The tables a company's instruments and stakeholders are read from."""


def _when(db: Database, now: bool, alias: str = "") -> str:
    """The SQL condition of the rows valid on D and known at T (parameters: D, D[, T, T])."""
    m, a = db.mark, alias
    # valid_from bounds the indexes' range; valid_to filters what it holds.
    valid_to = db.date_filter(f"{a}valid_to")
    valid = f"{a}valid_from <= {m} AND ({a}valid_to IS NULL OR {valid_to} > {m})"
    if now:
        return f"{a}known_to IS NULL AND {valid}"
    return f"{valid} AND {a}known_from <= {m} AND ({a}known_to IS NULL OR {a}known_to > {m})"


def _params(db: Database, as_of: date, known_at: int, now: bool) -> list[Any]:
    day = db.to_sql("valid_from", as_of)
    return [day, day] if now else [day, day, known_at, known_at]


def _fetch(raw: Any, sql: str, params: Sequence[Any]) -> list[Any]:
    cur = raw.cursor()
    cur.execute(sql, params)
    return list(cur.fetchall())


def company_state(
    db: Database, raw: Any, company: str, as_of: date, known_at: int, now: bool
) -> CompanyState:
    """The company on ``as_of`` as known at ``known_at``, as far as the report builders read
    it: holdings and class totals, the valuation, the instruments, plans and stakeholders."""
    state, held = _company(db, raw, company, as_of, known_at, now)
    _hold(state, held)
    return state


def cap_table(
    db: Database, raw: Any, company: str, as_of: date, known_at: int, now: bool
) -> CapTable:
    counts: list[AwardCount] = []
    state, held = _company(db, raw, company, as_of, known_at, now, counts)
    one_class = None
    if len(state.classes) == 1:  # the common case: the rows go to the report as they are
        [share_class] = state.classes
        one_class = OneClass(share_class, held)
    else:
        _hold(state, held)
    standing = Standing.of(state, as_of, counts)
    return cap_table_of(state, as_of, known_at, standing, one_class)


# The columns of a holdings row (party, share class, shares, votes per share), taken from
# every row at once.
_SHARE_CLASS = itemgetter(1)
_SHARES = itemgetter(2)


def _company(
    db: Database,
    raw: Any,
    company: str,
    as_of: date,
    known_at: int,
    now: bool,
    counts: list[AwardCount] | None = None,
) -> tuple[CompanyState, list[Any]]:
    """``company_state`` but for its holdings, given as the rows (party, share class,
    shares, votes per share) they are read from.

    Given ``counts``, the awards go there as counts (their terms unread) instead of into the
    state: all a cap table needs of them."""
    when, params = _when(db, now), _params(db, as_of, known_at, now)
    # SQLite's planner prefers the non-partial index on the same leading columns: name the
    # partial covering one, which holds every column the query reads.
    hint = " INDEXED BY cap_table_history_now" if now and db.kind == "sqlite" else ""
    with db.together(raw):  # PostgreSQL: both queries in one round trip
        held_by = db.read_cursor(raw)
        held_by.execute(
            f"SELECT party, share_class, shares, votes_per_share FROM cap_table_history{hint} "
            f"WHERE company = {db.mark} AND {when}",
            [company, *params],
        )
        valued = db.read_cursor(raw)
        valued.execute(
            "SELECT amount, currency, basis, effective_date FROM valuation_history "
            f"WHERE company = {db.mark} AND {when}",
            [company, *params],
        )
        instruments = _select_instruments(db, raw, company, now, params, counts is not None)
    held, valuation = held_by.fetchall(), valued.fetchall()
    state = CompanyState(company)
    _fill_instruments(db, state, instruments, counts)
    share_classes = set(map(_SHARE_CLASS, held))
    if len(share_classes) == 1:  # one class: a row per holder
        [share_class] = share_classes
        votes_per_share = {share_class: held[-1][3]}
        issued = {share_class: sum(map(_SHARES, held))}
    else:
        votes_per_share, issued = {}, {}
        for _, share_class, shares, votes in held:
            votes_per_share[share_class] = votes
            issued[share_class] = issued.get(share_class, 0) + shares
    for share_class, total in issued.items():
        state.classes[share_class] = ShareClass(
            share_class, "", "", None, int(votes_per_share[share_class]), total
        )
        state.outstanding += total
    if valuation:
        amount, currency, basis, effective = valuation[0]
        state.valuation = Valuation(
            Decimal(amount), currency, basis, db.from_sql("effective_date", effective)
        )
    return state, held


def _hold(state: CompanyState, held: Sequence[Any]) -> None:
    """The state's holdings from the rows ``_company`` read."""
    holdings = state.holdings
    for party, share_class, shares, _ in held:
        classes = holdings.get(party)
        if classes is None:
            holdings[party] = {share_class: shares}
        else:
            classes[share_class] = shares


def _select_instruments(
    db: Database, raw: Any, company: str, now: bool, params: Sequence[Any], counts: bool = False
) -> list[Any]:
    """Send the queries of the company's instruments, plans and stakeholders (one cursor
    each, in ``INSTRUMENTS`` order; ``_fill_instruments`` reads them). With ``counts``, the
    awards come apart from the other instruments, as their counts only (``AwardCount``)."""
    when = _when(db, now)
    cursors = []
    for shape in INSTRUMENTS:
        where = f"company = {db.mark} AND {when}"
        if counts and shape is SECURITY:
            where += " AND plan IS NULL"  # the warrants and convertibles
        cur = db.read_cursor(raw)
        cur.execute(
            f"SELECT {', '.join(_columns(shape))} FROM {shape.table} WHERE {where}",
            [company, *params],
        )
        cursors.append(cur)
    if counts:
        # As for the holdings: SQLite's planner is to be told of the covering index.
        hint = " INDEXED BY security_history_counts" if now and db.kind == "sqlite" else ""
        cur = db.read_cursor(raw)
        cur.execute(
            "SELECT holder, plan, quantity - exercised - cancelled, expiration_date "
            f"FROM {SECURITY.table}{hint} WHERE company = {db.mark} AND {when} "
            "AND plan IS NOT NULL",
            [company, *params],
        )
        cursors.append(cur)
    return cursors


def _columns(shape: Shape) -> tuple[str, ...]:
    return (*shape.key_columns, *shape.value_columns)


def _fill_instruments(
    db: Database,
    state: CompanyState,
    cursors: Sequence[Any],
    counts: list[AwardCount] | None = None,
) -> None:
    """The state's awards (or, given ``counts``, their counts there), warrants, open
    convertibles, plans and stakeholders from the rows of ``_select_instruments``: what the
    stored terms are; the report builders compute what they amount to on the date."""
    securities, pools, stakeholders, *awards = (cur.fetchall() for cur in cursors)
    if counts is not None:
        from_sql = db.from_sql
        counts += (
            (holder, plan, int(left), from_sql("expiration_date", expires))
            for holder, plan, left, expires in awards[0]
        )
    for (
        security,
        kind,
        holder,
        plan,
        share_class,
        quantity,
        exercised,
        cancelled,
        expires,
        text,
    ) in securities:
        expires = db.from_sql("expiration_date", expires)
        terms = json.loads(text)
        if kind == "warrant":
            state.warrants[security] = Warrant(
                security,
                holder,
                share_class,
                int(quantity),
                Decimal(terms["exercise_price"]),
                terms["currency"],
                expires,
                date.fromisoformat(terms["issued"]),
                int(exercised),
                int(cancelled),
            )
        elif kind == "convertible":
            state.convertibles[security] = Convertible(
                security,
                holder,
                terms["kind"],
                Decimal(terms["amount"]),
                terms["currency"],
                _decimal(terms["valuation_cap"]),
                _decimal(terms["discount_percent"]),
                terms["cap_basis"],
                _decimal(terms["interest_rate_percent"]),
                _day(terms["maturity_date"]),
                date.fromisoformat(terms["issued"]),
            )
        else:
            v = terms["vesting"]
            state.awards[security] = Award(
                security,
                holder,
                plan,
                kind,
                share_class,
                int(quantity),
                _decimal(terms["exercise_price"]),
                terms["currency"],
                expires,
                None
                if v is None
                else (
                    date.fromisoformat(v["start"]),
                    v["months"],
                    v["cliff_months"],
                    v["every_months"],
                ),
                date.fromisoformat(terms["granted"]),
                int(exercised),
                int(cancelled),
            )
    for plan, name, share_class, on_cancel, reserved, exercised, retired in pools:
        state.plans[plan] = Plan(
            plan, name, share_class, int(reserved), on_cancel, int(exercised), int(retired)
        )
    # The sums the fold keeps as it goes: a plan's of its awards' remainders, the warrants'.
    for award in state.awards.values():
        if award.plan in state.plans:
            state.plans[award.plan].count(award, award.unexercised())
    state.warrants_unexercised = sum(w.unexercised() for w in state.warrants.values())
    state.stakeholders = _named(stakeholders)


def _named(rows: Sequence[Any]) -> dict[str, Stakeholder]:
    return {party: Stakeholder(name, kind) for party, name, kind in rows}


def _stakeholders(
    db: Database, raw: Any, company: str, as_of: date, known_at: int, now: bool
) -> dict[str, Stakeholder]:
    """The company's stakeholders (their names beside their slugs)."""
    return _named(
        _fetch(
            raw,
            f"SELECT {', '.join(_columns(STAKEHOLDER))} FROM {STAKEHOLDER.table} "
            f"WHERE company = {db.mark} AND {_when(db, now)}",
            [company, *_params(db, as_of, known_at, now)],
        )
    )


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def roster(db: Database, raw: Any, company: str, as_of: date, known_at: int, now: bool) -> Roster:
    rows = _fetch(
        raw,
        "SELECT person, role, title, interim, since FROM roster_history "
        f"WHERE company = {db.mark} AND {_when(db, now)}",
        [company, *_params(db, as_of, known_at, now)],
    )
    state = CompanyState(company)
    state.officers = [
        Officer(
            person,
            role,
            title,
            bool(db.from_sql("interim", interim)),
            db.from_sql("since", since),
        )
        for person, role, title, interim, since in rows
    ]
    state.stakeholders = _stakeholders(db, raw, company, as_of, known_at, now)
    return roster_of(state, as_of, known_at)


def grants(
    db: Database,
    raw: Any,
    company: str,
    as_of: date,
    known_at: int,
    now: bool,
    holder: str | None = None,
) -> Grants:
    state = CompanyState(company)
    params = _params(db, as_of, known_at, now)
    with db.together(raw):
        instruments = _select_instruments(db, raw, company, now, params)
    _fill_instruments(db, state, instruments)
    return grants_of(state, as_of, known_at, holder)


def board(db: Database, raw: Any, company: str, as_of: date, known_at: int, now: bool) -> Board:
    rows = _fetch(
        raw,
        "SELECT person, seat, designated_by, executive, since FROM board_history "
        f"WHERE company = {db.mark} AND {_when(db, now)}",
        [company, *_params(db, as_of, known_at, now)],
    )
    named = _stakeholders(db, raw, company, as_of, known_at, now)
    directors = []
    for person, seat, designated_by, executive, since in rows:
        director = Director(person, seat, db.from_sql("since", since), designated_by)
        directors.append(
            DirectorOut(
                person=director.person,
                name=named[person].name if person in named else None,
                seat=director.seat,
                since=director.since,
                designated_by=director.designated_by,
                executive=bool(db.from_sql("executive", executive)),
            )
        )
    return board_from(company, as_of, known_at, directors)


def holdings(db: Database, raw: Any, party: str, as_of: date, known_at: int, now: bool) -> Holdings:
    params = _params(db, as_of, known_at, now)
    companies = [
        r[0]
        for r in _fetch(
            raw,
            f"SELECT company FROM party_companies WHERE party = {db.mark} ORDER BY company",
            [party],
        )
    ]
    positions: list[Position] = []
    for company in companies:
        held = _fetch(
            raw,
            "SELECT share_class, shares FROM cap_table_history "
            f"WHERE company = {db.mark} AND party = {db.mark} AND {_when(db, now)}",
            [company, party, *params],
        )
        state = CompanyState(company)
        if held:
            state.holdings[party] = {str(share_class): int(shares) for share_class, shares in held}
        # The company's instruments, plans and names (fully diluted counts them all).
        with db.together(raw):
            instruments = _select_instruments(db, raw, company, now, params)
        _fill_instruments(db, state, instruments)
        # The company's totals by class on D as known at T: the denominators. A class total is
        # at most 10^18 (the bounds rule), so SUM stays within SQLite's 64-bit integers
        # (PostgreSQL's SUM of BIGINT is NUMERIC); votes are multiplied in Python.
        for share_class, votes, shares in _fetch(
            raw,
            "SELECT share_class, votes_per_share, SUM(shares) FROM cap_table_history "
            f"WHERE company = {db.mark} AND {_when(db, now)} "
            "GROUP BY share_class, votes_per_share",
            [company, *params],
        ):
            total = int(shares)
            state.classes[share_class] = ShareClass(share_class, "", "", None, int(votes), total)
            state.outstanding += total
        position = position_of(state, party, as_of)
        if position is not None:
            positions.append(position)
    return holdings_from(party, as_of, known_at, positions)
