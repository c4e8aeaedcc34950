"""The answers the ledger gives: frozen pydantic models whose JSON is the CLI's contract.

Field names are a contract (keys may be added, never renamed). Percentages are decimal
strings with 4 decimals; money is ``{"amount": "<decimal>", "currency": "USD"}``;
``known_at`` is the position the answer reflects.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any, ClassVar, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from .domain.entry import Entry
from .domain.events import Fact, fact_parties
from .domain.rules import apply_known
from .domain.state import CompanyState
from .domain.values import decimal_text, percent_text, percent_texts

ROLE_ORDER = ("ceo", "cfo", "coo", "cto", "cso", "president", "other")


class Report(BaseModel):
    model_config = ConfigDict(frozen=True)

    csv_columns: ClassVar[tuple[str, ...]]
    """The CSV header: the JSON keys, flattened; a contract like the JSON's."""

    def csv_rows(self) -> list[dict[str, Any]]:
        """One flat row per line of the answer, keyed by ``csv_columns``."""
        raise NotImplementedError


class ValuationOut(BaseModel):
    model_config = ConfigDict(frozen=True)
    amount: str
    currency: str
    basis: str
    effective_date: date


class Holder(BaseModel):
    """A holder's position: shares and percentages in total and by class (the percentages by
    class of one holder add up to its total, within the rounding)."""

    model_config = ConfigDict(frozen=True)
    party: str
    shares: int
    ownership_percent: str | None
    voting_percent: str | None
    classes: dict[str, int]
    ownership_percent_by_class: dict[str, str | None]
    voting_percent_by_class: dict[str, str | None]


# The CSV of a position has a row per class: ``shares`` and ``row_*_percent`` are the row's
# own (a column adds up to the total), ``holder_total_shares`` and ``ownership_percent``
# / ``voting_percent`` the holder's in the company, repeated on each of its rows.
# ``party_shares`` (cap table) and ``company_shares`` (holdings) are older names of
# ``holder_total_shares``, kept: CSV columns are a contract.
_ROW_PERCENTS = ("row_ownership_percent", "row_voting_percent")


class CapTable(Report):
    csv_columns = (
        "company", "as_of", "known_at", "total_shares", "party", "share_class", "shares",
        "party_shares", "ownership_percent", "voting_percent", "holder_total_shares",
        *_ROW_PERCENTS,
    )  # fmt: skip

    company: str
    as_of: date
    known_at: int
    total_shares: int
    holders: list[Holder]
    valuation: ValuationOut | None

    def csv_rows(self) -> list[dict[str, Any]]:
        head = {
            "company": self.company,
            "as_of": self.as_of,
            "known_at": self.known_at,
            "total_shares": self.total_shares,
        }
        return [
            {
                **head,
                "party": h.party,
                "share_class": share_class,
                "shares": shares,
                "party_shares": h.shares,
                "ownership_percent": h.ownership_percent,
                "voting_percent": h.voting_percent,
                "holder_total_shares": h.shares,
                "row_ownership_percent": h.ownership_percent_by_class[share_class],
                "row_voting_percent": h.voting_percent_by_class[share_class],
            }
            for h in self.holders
            for share_class, shares in sorted(h.classes.items())
        ]


class OfficerOut(BaseModel):
    model_config = ConfigDict(frozen=True)
    person: str
    role: str
    title: str | None
    interim: bool
    since: date


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
    model_config = ConfigDict(frozen=True)
    person: str
    seat: str
    since: date
    designated_by: str | None
    executive: bool


class Board(Report):
    csv_columns = ("company", "as_of", "known_at", *DirectorOut.model_fields)

    company: str
    as_of: date
    known_at: int
    directors: list[DirectorOut]

    def csv_rows(self) -> list[dict[str, Any]]:
        head = {"company": self.company, "as_of": self.as_of, "known_at": self.known_at}
        return [{**head, **d.model_dump()} for d in self.directors]


class Position(BaseModel):
    """A party's position in a company (see ``Holder``)."""

    model_config = ConfigDict(frozen=True)
    company: str
    shares: int
    ownership_percent: str | None
    voting_percent: str | None
    classes: dict[str, int]
    ownership_percent_by_class: dict[str, str | None]
    voting_percent_by_class: dict[str, str | None]


class Holdings(Report):
    csv_columns = (
        "party", "as_of", "known_at", "company", "share_class", "shares", "company_shares",
        "ownership_percent", "voting_percent", "holder_total_shares", *_ROW_PERCENTS,
    )  # fmt: skip

    party: str
    as_of: date
    known_at: int
    positions: list[Position]

    def csv_rows(self) -> list[dict[str, Any]]:
        head = {"party": self.party, "as_of": self.as_of, "known_at": self.known_at}
        return [
            {
                **head,
                "company": p.company,
                "share_class": share_class,
                "shares": shares,
                "company_shares": p.shares,
                "ownership_percent": p.ownership_percent,
                "voting_percent": p.voting_percent,
                "holder_total_shares": p.shares,
                "row_ownership_percent": p.ownership_percent_by_class[share_class],
                "row_voting_percent": p.voting_percent_by_class[share_class],
            }
            for p in self.positions
            for share_class, shares in sorted(p.classes.items())
        ]


class CompanyOut(BaseModel):
    model_config = ConfigDict(frozen=True)
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
    model_config = ConfigDict(frozen=True)
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


def holders_of(state: CompanyState) -> list[Holder]:
    """The holders as models, built from values already typed and checked, without
    validating them again: what ``model_construct`` does, minus its per-field bookkeeping
    (five times slower, where a cap table of a thousand holders builds a thousand models).
    Every holder has every field: one set of their names serves them all (frozen models never
    change it)."""
    names = set(Holder.model_fields)
    holders = []
    assign = object.__setattr__
    for fields in _holder_fields(state):
        holder = Holder.__new__(Holder)
        assign(holder, "__dict__", fields)
        assign(holder, "__pydantic_fields_set__", names)
        assign(holder, "__pydantic_extra__", None)
        assign(holder, "__pydantic_private__", None)
        holders.append(holder)
    return holders


def _holder_fields(state: CompanyState) -> list[dict[str, Any]]:
    """The holders, in order (shares descending, then party), as the fields of ``Holder``:
    every field, each of its type."""
    per_share = {name: c.votes_per_share for name, c in state.classes.items()}
    holders: list[tuple[int, str, int, dict[str, int]]] = []
    for party, classes in state.holdings.items():
        if len(classes) == 1:  # the common case, without the sums
            [(share_class, shares)] = classes.items()
            party_votes = shares * per_share[share_class]
            classes = {share_class: shares}  # the report's own, not the state's
        else:
            shares = sum(classes.values())
            party_votes = sum(n * per_share[c] for c, n in classes.items())
            classes = dict(sorted(classes.items()))
        holders.append((-shares, party, party_votes, classes))
    holders.sort()  # shares descending, then party (unique: the rest is never compared)
    # The percentages a column at a time: two calls, not two per holder.
    outstanding, total_votes = state.outstanding, state.total_votes()
    ownership = percent_texts([-h[0] for h in holders], outstanding)
    voting = percent_texts([h[2] for h in holders], total_votes)
    fields = []
    for (negative, party, _, classes), owned, voted in zip(holders, ownership, voting, strict=True):
        if len(classes) == 1:  # the class's percentages are the holder's
            [share_class] = classes
            owned_by_class, voted_by_class = {share_class: owned}, {share_class: voted}
        else:
            owned_by_class, voted_by_class = _by_class(classes, per_share, outstanding, total_votes)
        fields.append(
            {
                "party": party,
                "shares": -negative,
                "ownership_percent": owned,
                "voting_percent": voted,
                "classes": classes,
                "ownership_percent_by_class": owned_by_class,
                "voting_percent_by_class": voted_by_class,
            }
        )
    return fields


def _by_class(
    classes: dict[str, int], per_share: dict[str, int], outstanding: int, total_votes: int
) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """A position's ownership and voting percentages by class."""
    names = list(classes)
    owned = percent_texts([classes[c] for c in names], outstanding)
    voted = percent_texts([classes[c] * per_share[c] for c in names], total_votes)
    return dict(zip(names, owned, strict=True)), dict(zip(names, voted, strict=True))


def cap_table_of(state: CompanyState, as_of: date, known_at: int) -> CapTable:
    v = state.valuation
    return CapTable(
        company=state.company,
        as_of=as_of,
        known_at=known_at,
        total_shares=state.outstanding,
        holders=holders_of(state),
        valuation=None
        if v is None
        else ValuationOut(
            amount=decimal_text(v.amount),
            currency=v.currency,
            basis=v.basis,
            effective_date=v.effective_date,
        ),
    )


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
                person=o.person, role=o.role, title=o.title, interim=o.interim, since=o.since
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


def position_of(state: CompanyState, party: str) -> Position | None:
    classes = state.holdings.get(party)
    if not classes:
        return None
    shares = sum(classes.values())
    per_share = {name: c.votes_per_share for name, c in state.classes.items()}
    total_votes = state.total_votes()
    classes = dict(sorted(classes.items()))
    owned_by_class, voted_by_class = _by_class(classes, per_share, state.outstanding, total_votes)
    return Position(
        company=state.company,
        shares=shares,
        ownership_percent=_pct(shares, state.outstanding),
        voting_percent=_pct(state.votes(party), total_votes),
        classes=classes,
        ownership_percent_by_class=owned_by_class,
        voting_percent_by_class=voted_by_class,
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

AUDITED_TABLES = ("cap_table", "roster", "board")
"""The tables an audit compares, in the order its changes of one day are listed."""

_AUDIT_KEYS = {
    "cap_table": ("party", "share_class"),
    "roster": ("person", "role", "title"),
    "board": ("person",),
}

AuditKey = tuple[str, tuple[str | None, ...]]
"""(table, the row's key values)."""


def audit_rows(state: CompanyState) -> dict[AuditKey, dict[str, Any]]:
    """Every row of the cap table (party, class: shares), the roster (person, role, title:
    interim, since) and the board (person: seat, designated_by, executive, since) in a
    state: what an audit compares from one day to the next."""
    rows: dict[AuditKey, dict[str, Any]] = {}
    for party, held in state.holdings.items():
        for share_class, shares in held.items():
            rows["cap_table", (party, share_class)] = {"shares": shares}
    for o in state.officers:
        rows["roster", (o.person, o.role, o.title)] = {"interim": o.interim, "since": o.since}
    for d in state.directors.values():
        rows["board", (d.person,)] = {
            "seat": d.seat,
            "designated_by": d.designated_by,
            "executive": state.is_executive(d.person),
            "since": d.since,
        }
    return rows


class AuditCorrection(BaseModel):
    """What a correction behind a change corrected: its target (event id and type) and why."""

    model_config = ConfigDict(frozen=True)
    type: str
    target: str
    target_type: str
    reason: str


class AuditEvent(BaseModel):
    """An event behind a change, with its provenance. For a replacement in force, the
    correction that carries it (its event_id, position, recorded_at and recorded_by; ``type``
    is the replacement's) and, in ``correction``, what it corrected and why."""

    model_config = ConfigDict(frozen=True)
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

    model_config = ConfigDict(frozen=True)
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
        "correction_target", "correction_target_type", "correction_reason",
    )  # fmt: skip

    model_config = ConfigDict(frozen=True, populate_by_name=True, serialize_by_alias=True)

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
    return dict(zip(_AUDIT_KEYS[table], values, strict=True))


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
    change its row (``_behind``), else every event of that day."""
    state = CompanyState(company)
    i, count = 0, len(entries)
    while i < count and entries[i].fact.effective_date < start:
        apply_known(state, entries[i])
        i += 1
    rows = audit_rows(state)
    while i < count and entries[i].fact.effective_date <= end:
        on = entries[i].fact.effective_date
        todays: list[Entry] = []
        while i < count and entries[i].fact.effective_date == on:
            apply_known(state, entries[i])
            todays.append(entries[i])
            i += 1
        after = audit_rows(state)
        changed = [k for k in rows.keys() | after.keys() if rows.get(k) != after.get(k)]
        changed.sort(key=lambda k: (AUDITED_TABLES.index(k[0]), [v or "" for v in k[1]]))
        for key in changed:
            behind = [e for e in todays if _behind(key, e.fact)] or todays
            yield DayChange(on, key, rows.get(key), after.get(key), behind)
        rows = after


_OFFICES = frozenset({"ExecutiveAppointed", "InterimCEOAppointed", "ExecutiveDeparted"})
_SEATS = frozenset({"DirectorAppointed", "DirectorDeparted", "BoardSeatRetained", *_OFFICES})
"""Events that change a person's roster rows; and their board row (an office makes a
director executive)."""


def _behind(key: AuditKey, fact: Fact) -> bool:
    """Whether ``fact`` can change the row ``key``: a move of the party's shares of the class,
    or a class-wide event (a split); an office or seat event of the person."""
    table, values = key
    if table == "cap_table":
        if getattr(fact, "share_class", None) != values[1]:
            return False
        parties = fact_parties(fact)
        return values[0] in parties or fact.type == "StockSplit"
    person = getattr(fact, "person", None)
    return person == values[0] and fact.type in (_OFFICES if table == "roster" else _SEATS)
