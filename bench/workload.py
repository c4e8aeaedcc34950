"""The benchmark's event files, generated deterministically (seeded) into a temp directory.

- ``write_multi``: N companies x M events, company after company: a ``CompanyRegistered``, a
  ``ShareClassCreated`` and M-2 ``SharesIssued`` to a few holders, dates increasing.
- ``write_single``: one company with N events in date order: registration, class, then
  issuances and transfers; a transfer never exceeds what its sender holds, so every event is
  valid and the whole file records.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

START = date(2000, 1, 3)
SINGLE_COMPANY = "solo-corp"
HOLDERS_PER_COMPANY = 4
SINGLE_HOLDERS = 40
SINGLE_EVENTS_PER_DAY = 4


@dataclass(frozen=True, slots=True)
class Workload:
    """The sizes of one benchmark run."""

    companies: int = 1_000
    events_per_company: int = 100
    single_events: int = 20_000
    queries: int = 200
    repeat: int = 3

    @classmethod
    def quick(cls, repeat: int = 3) -> Workload:
        """Ten times smaller: a smoke test, not a measurement."""
        return cls(
            companies=100, events_per_company=100, single_events=2_000, queries=20, repeat=repeat
        )

    @property
    def multi_events(self) -> int:
        return self.companies * self.events_per_company


@dataclass(frozen=True, slots=True)
class EventFile:
    path: Path
    events: int
    companies: int
    first_date: date
    last_date: date


def _line(event: dict[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":")) + "\n"


def write_multi(path: Path, companies: int, per_company: int, seed: int = 1) -> EventFile:
    """``companies`` x ``per_company`` events, one company's events after another's."""
    if per_company < 3:
        raise ValueError("a company needs a registration, a class and at least one issuance")
    rng = random.Random(seed)
    last = START
    with path.open("w", encoding="utf-8") as out:
        for number in range(1, companies + 1):
            company = f"c{number:04d}"
            day = START + timedelta(days=number % 365)
            out.write(
                _line(
                    {
                        "type": "CompanyRegistered",
                        "company": company,
                        "name": f"Company {number}",
                        "effective_date": day.isoformat(),
                    }
                )
            )
            out.write(
                _line(
                    {
                        "type": "ShareClassCreated",
                        "company": company,
                        "share_class": "common",
                        "name": "Common Stock",
                        "kind": "common",
                        "effective_date": day.isoformat(),
                    }
                )
            )
            for _ in range(per_company - 2):
                day += timedelta(days=rng.randint(1, 5))
                out.write(
                    _line(
                        {
                            "type": "SharesIssued",
                            "company": company,
                            "holder": f"h{rng.randint(1, HOLDERS_PER_COMPANY)}",
                            "share_class": "common",
                            "shares": rng.randint(1, 10_000),
                            "effective_date": day.isoformat(),
                        }
                    )
                )
            last = max(last, day)
    return EventFile(path, companies * per_company, companies, START, last)


def write_single(path: Path, events: int, seed: int = 2) -> EventFile:
    """One company, ``events`` events in date order, about a quarter of them transfers."""
    if events < 3:
        raise ValueError("the single company needs a registration, a class and an issuance")
    rng = random.Random(seed)
    holdings: dict[str, int] = {}
    company = SINGLE_COMPANY
    day = START
    with path.open("w", encoding="utf-8") as out:
        out.write(
            _line(
                {
                    "type": "CompanyRegistered",
                    "company": company,
                    "name": "Solo Corp",
                    "effective_date": day.isoformat(),
                }
            )
        )
        out.write(
            _line(
                {
                    "type": "ShareClassCreated",
                    "company": company,
                    "share_class": "common",
                    "name": "Common Stock",
                    "kind": "common",
                    "effective_date": day.isoformat(),
                }
            )
        )
        for n in range(2, events):
            day = START + timedelta(days=n // SINGLE_EVENTS_PER_DAY)
            holders = [h for h, held in holdings.items() if held > 0]
            if len(holders) >= 2 and rng.random() < 0.25:
                sender = rng.choice(holders)
                receiver = f"p{rng.randint(1, SINGLE_HOLDERS)}"
                while receiver == sender:
                    receiver = f"p{rng.randint(1, SINGLE_HOLDERS)}"
                shares = rng.randint(1, min(holdings[sender], 5_000))
                holdings[sender] -= shares
                holdings[receiver] = holdings.get(receiver, 0) + shares
                out.write(
                    _line(
                        {
                            "type": "SharesTransferred",
                            "company": company,
                            "from": sender,
                            "to": receiver,
                            "share_class": "common",
                            "shares": shares,
                            "effective_date": day.isoformat(),
                        }
                    )
                )
            else:
                holder = f"p{rng.randint(1, SINGLE_HOLDERS)}"
                shares = rng.randint(1, 10_000)
                holdings[holder] = holdings.get(holder, 0) + shares
                out.write(
                    _line(
                        {
                            "type": "SharesIssued",
                            "company": company,
                            "holder": holder,
                            "share_class": "common",
                            "shares": shares,
                            "effective_date": day.isoformat(),
                        }
                    )
                )
    return EventFile(path, events, 1, START, day)
