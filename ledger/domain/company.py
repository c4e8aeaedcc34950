"""A company's stream: the library-level event that carries a fact, and the aggregate.

The aggregate holds the company's facts in recording order; what the company looks like on
a date, as known at a moment, is the fold of those facts (``timeline.Timeline``), never a field
of the aggregate, because the answer depends on both times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple
from uuid import UUID

from .events import Fact


class CompanyEvent(NamedTuple):
    """One fact in a company's stream, as eventsourcing stores it: ``originator_id`` is the
    company slug, ``originator_version`` its order of recording in the company."""

    originator_id: str
    originator_version: int
    event_id: UUID
    recorded_by: str
    fact: Fact

    def mutate(self, aggregate: Company | None) -> Company:
        company = aggregate or Company(self.originator_id)
        company.events.append(self)
        company.version = self.originator_version
        return company


@dataclass
class Company:
    """The aggregate eventsourcing's repository rebuilds from a company's stream."""

    id: str
    version: int = 0
    events: list[CompanyEvent] = field(default_factory=list)
