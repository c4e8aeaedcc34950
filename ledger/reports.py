"""The answers the ledger gives: frozen pydantic models whose JSON is the CLI's contract.

Field names are a contract (keys may be added, never renamed). Percentages are decimal
strings with 4 decimals; money is ``{"amount": "<decimal>", "currency": "USD"}``;
``known_at`` is the position the answer reflects.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, field_serializer

from .domain.state import CompanyState
from .domain.values import decimal_text, percent_text

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
    model_config = ConfigDict(frozen=True)
    party: str
    shares: int
    ownership_percent: str | None
    voting_percent: str | None
    classes: dict[str, int]


class CapTable(Report):
    csv_columns = (
        "company", "as_of", "known_at", "total_shares", "party", "share_class", "shares",
        "party_shares", "ownership_percent", "voting_percent",
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
    model_config = ConfigDict(frozen=True)
    company: str
    shares: int
    ownership_percent: str | None
    voting_percent: str | None
    classes: dict[str, int]


class Holdings(Report):
    csv_columns = (
        "party", "as_of", "known_at", "company", "share_class", "shares", "company_shares",
        "ownership_percent", "voting_percent",
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
            }
            for p in self.positions
            for share_class, shares in sorted(p.classes.items())
        ]


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
    total, votes = state.outstanding, state.total_votes()
    per_share = {name: c.votes_per_share for name, c in state.classes.items()}
    holders: list[tuple[int, str, dict[str, Any]]] = []
    for party, classes in state.holdings.items():
        if len(classes) == 1:  # the common case, without the sums
            [(share_class, shares)] = classes.items()
            party_votes = shares * per_share[share_class]
            classes = {share_class: shares}  # the report's own, not the state's
        else:
            shares = sum(classes.values())
            party_votes = sum(n * per_share[c] for c, n in classes.items())
            classes = dict(sorted(classes.items()))
        fields = {
            "party": party,
            "shares": shares,
            "ownership_percent": _pct(shares, total),
            "voting_percent": _pct(party_votes, votes),
            "classes": classes,
        }
        holders.append((-shares, party, fields))
    holders.sort()  # shares descending, then party (unique: the fields are never compared)
    return [fields for _, _, fields in holders]


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
    return Position(
        company=state.company,
        shares=shares,
        ownership_percent=_pct(shares, state.outstanding),
        voting_percent=_pct(state.votes(party), state.total_votes()),
        classes=dict(sorted(classes.items())),
    )


def holdings_from(party: str, as_of: date, known_at: int, positions: list[Position]) -> Holdings:
    """A party's holdings from its positions (folded, or read from the cap table's model)."""
    return Holdings(
        party=party,
        as_of=as_of,
        known_at=known_at,
        positions=sorted(positions, key=lambda p: (-p.shares, p.company)),
    )
