"""A fact in a company's timeline, and how messages name it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from operator import attrgetter, itemgetter
from typing import NamedTuple
from uuid import UUID

from .events import Fact


class Entry(NamedTuple):
    """A fact in a company's timeline (a tuple: cheap to build by the million). ``seq`` is
    its order of recording in the company (the stream version); ``where`` is its place in
    the input being recorded (file and item), empty once it is stored: errors name it by
    ``place``."""

    fact: Fact
    seq: int
    where: str
    event_id: UUID | None = None

    @property
    def key(self) -> tuple[date, int]:
        return (self.fact.effective_date, self.seq)


def place(entry: Entry) -> str:
    """How a message names an event: its place in the input being recorded, or, once
    stored, its id."""
    return entry.where or f"event {entry.event_id}"


key_of: Callable[[Entry], tuple[date, int]] = attrgetter("fact.effective_date", "seq")
"""An entry's place in the timeline (``Entry.key``), computed in C: it sorts every batch."""

seq_of: Callable[[Entry], int] = itemgetter(1)
