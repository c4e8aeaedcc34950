"""The rules and evolve of officers and the board."""

from __future__ import annotations

from .errors import Broken
from .events import (
    BoardSeatRetained,
    BoardSizeSet,
    DirectorAppointed,
    DirectorDeparted,
    ExecutiveAppointed,
    ExecutiveDeparted,
    InterimCEOAppointed,
)
from .state import SEATED, CompanyState, Director, Handler, Officer


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


HANDLERS: dict[str, Handler] = {
    "ExecutiveAppointed": (_check_appointed, _appointed),
    "InterimCEOAppointed": (_check_appointed, _appointed),
    "ExecutiveDeparted": (_check_departed, _departed),
    "DirectorAppointed": (_check_director_appointed, _director_appointed),
    "DirectorDeparted": (_check_director_departed, _director_departed),
    "BoardSeatRetained": (_check_seat_retained, _seat_retained),
    "BoardSizeSet": (_check_board_size, _board_size),
}
"""Each governance event type's (rule, evolve)."""
