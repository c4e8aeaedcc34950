"""The questions the golden stored events answer, and how the ledger is asked them.

A question is a line of text: the query, its subject, then its parameters (``cap_table acme
as_of=2020-03-15 known_at=12``); the frozen answers are keyed by it."""

from __future__ import annotations

from datetime import date
from typing import Any

from ledger import Ledger

COMPANIES = ("acme", "globex")
PARTIES = ("ana", "ben", "seed-fund", "carol", "bank")
AS_OF = ("2020-03-15", "2020-12-31", "2021-07-01")
AUDITED = "from=2020-01-01 to=2021-12-31"


def questions(positions: list[int]) -> list[str]:
    """Every question, known at each of ``positions`` (the log's end after each batch)."""
    asked = []
    for known_at in positions:
        asked += [
            f"companies known_at={known_at}",
            f"history acme known_at={known_at}",
            f"party_history ana known_at={known_at}",
            f"party_history bank known_at={known_at}",
            f"audit acme {AUDITED} known_at={known_at}",
        ]
        for as_of in AS_OF:
            at = f"as_of={as_of} known_at={known_at}"
            asked += [f"cap_table {company} {at}" for company in COMPANIES]
            asked += [f"roster acme {at}", f"board acme {at}", f"grants acme {at}"]
            asked += [f"holdings {party} {at}" for party in PARTIES]
    return asked


def ask(ledger: Ledger, question: str, *, fold: bool = True) -> Any:
    """The answer to ``question`` as JSON: folded from the events, or with ``fold`` False
    from the read models (for the queries they answer)."""
    query, *words = question.split()
    subject = [word for word in words if "=" not in word]
    given = dict(word.split("=", 1) for word in words if "=" in word)
    known_at = int(given["known_at"])
    if query == "companies":
        report: Any = ledger.companies(known_at)
    elif query == "history":
        report = ledger.history(subject[0], known_at)
    elif query == "party_history":
        report = ledger.party_history(subject[0], known_at)
    elif query == "audit":
        start, end = (date.fromisoformat(given[k]) for k in ("from", "to"))
        report = ledger.audit(subject[0], start, end, known_at)
    else:
        answer = getattr(ledger, query)
        report = answer(subject[0], date.fromisoformat(given["as_of"]), known_at, fold=fold)
    return report.model_dump(mode="json")
