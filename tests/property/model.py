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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

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


def in_force(log: list[Accepted]) -> list[tuple[Event, int]]:
    """The events in force, as (event, recording order), in timeline order."""
    live: dict[object, tuple[Event, int]] = {}
    for a in sorted(log, key=lambda a: a.order):
        e = a.event
        if e["type"] in CORRECTIONS:
            _, slot = live.pop(e["target"])
            if e["type"] == "EventCorrected":
                live[a.event_id] = (e["replacement"], slot)
        else:
            live[a.event_id or ("new", a.order)] = (e, a.order)
    return sorted(live.values(), key=lambda pair: (day(pair[0]), pair[1]))


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

    def seated(self) -> int:
        return sum(1 for d in self.directors.values() if d["seat"] in SEATED)


def day(event: Event) -> date:
    return date.fromisoformat(event["effective_date"])


def apply(c: Company, e: Event) -> None:
    """Apply one event to the company, then check every rule; raise ``Broken`` if any fails."""
    kind = e["type"]
    if kind == "CompanyRegistered":
        if c.registered is not None:
            raise Broken("registered twice")
        c.registered = day(e)
        return
    if c.registered is None:
        raise Broken("before registration")
    if kind == "ShareClassCreated":
        if e["share_class"] in c.votes:
            raise Broken("class twice")
        c.votes[e["share_class"]] = e.get("votes_per_share", 1)
        c.authorized[e["share_class"]] = e.get("authorized")
        c.issued[e["share_class"]] = 0
    elif kind in ("SharesIssued", "SharesTransferred", "SharesCancelled"):
        cls = e["share_class"]
        if cls not in c.votes:
            raise Broken("no such class then")
        n = e["shares"]
        if kind == "SharesIssued":
            c.held[(e["holder"], cls)] = c.held.get((e["holder"], cls), 0) + n
            c.issued[cls] += n
        elif kind == "SharesTransferred":
            c.held[(e["from"], cls)] = c.held.get((e["from"], cls), 0) - n
            c.held[(e["to"], cls)] = c.held.get((e["to"], cls), 0) + n
        else:
            c.held[(e["holder"], cls)] = c.held.get((e["holder"], cls), 0) - n
            c.issued[cls] -= n
    elif kind in ("ExecutiveAppointed", "InterimCEOAppointed"):
        interim = kind == "InterimCEOAppointed" or e.get("interim", False)
        role = "ceo" if kind == "InterimCEOAppointed" else e["role"]
        title = e.get("title")
        if kind == "InterimCEOAppointed" and title is None:
            title = "Interim Chief Executive Officer"
        c.offices.append(
            {"person": e["person"], "role": role, "title": title, "interim": interim,
             "since": e["effective_date"]}
        )  # fmt: skip
    elif kind == "ExecutiveDeparted":
        held = [o for o in c.offices if (o["person"], o["role"]) == (e["person"], e["role"])]
        if not held:
            raise Broken("departs an office not held")
        c.offices.remove(held[0])
    elif kind == "DirectorAppointed":
        if e["person"] in c.directors:
            raise Broken("already a director")
        c.directors[e["person"]] = {
            "seat": e.get("seat", "director"),
            "since": e["effective_date"],
            "designated_by": e.get("designated_by"),
        }
    elif kind == "DirectorDeparted":
        if e["person"] not in c.directors:
            raise Broken("not a director")
        del c.directors[e["person"]]
    elif kind == "BoardSeatRetained":
        if e["person"] not in c.directors:
            raise Broken("retains a seat it does not have")
    elif kind == "BoardSizeSet":
        c.board_size = e["seats"]
    else:
        raise AssertionError(f"the model does not know {kind}")
    # The invariants, after every event.
    if any(n < 0 for n in c.held.values()):
        raise Broken("a negative holding")
    if any(a is not None and c.issued[cls] > a for cls, a in c.authorized.items()):
        raise Broken("over the authorized shares")
    if sum(1 for o in c.offices if o["role"] == "ceo") > 1:
        raise Broken("two CEOs")
    offices = [(o["person"], o["role"]) for o in c.offices]
    if len(offices) != len(set(offices)):
        raise Broken("an office held twice")
    if c.board_size is not None and c.seated() > c.board_size:
        raise Broken("more directors than seats")


def is_malformed(e: Event) -> bool:
    """What the event-file validation refuses before any rule (the cases the machine makes)."""
    if e["type"] == "EventCorrected":
        return is_malformed(e["replacement"])
    if "shares" in e and e["shares"] <= 0:
        return True
    return bool(e["type"] == "SharesTransferred" and e["from"] == e["to"])


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
    ) -> Company:
        timeline = [
            a
            for a in [*self.accepted, *extra]
            if a.event["company"] == company and (known_at is None or a.position <= known_at)
        ]
        state = Company()
        for event, _ in in_force(timeline):
            if as_of is not None and day(event) > as_of:
                break
            apply(state, event)
        return state

    def accept(self, batch: list[Event], positions: list[int], ids: list[str]) -> None:
        for event, position, event_id in zip(batch, positions, ids, strict=True):
            self.orders += 1
            self.accepted.append(Accepted(event, self.orders, position, positions[-1], event_id))

    def known(self, position: int) -> int:
        return position

    def positions(self) -> list[int]:
        """The positions that end a batch: the moments a reader could see, where the whole
        known timeline is valid. (Inside a batch the ledger leaves out events that cannot
        apply yet; the contract tests pin that down.)"""
        return sorted({a.batch_end for a in self.accepted})

    def dates(self, company: str) -> list[date]:
        log = [a for a in self.accepted if a.event["company"] == company]
        return sorted({day(event) for event, _ in in_force(log)})

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
            "valuation": None,
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
