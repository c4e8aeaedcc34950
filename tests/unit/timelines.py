"""Builders for unit tests of the fold: facts from plain dicts (as an event file gives them),
entries numbered like the items of one file, timelines admitted batch by batch. No I/O."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from ledger.domain.entry import Entry
from ledger.domain.errors import RuleViolation
from ledger.domain.events import FACT_ADAPTER, STORED, Fact
from ledger.domain.rules import replay
from ledger.domain.state import CompanyState
from ledger.domain.timeline import Timeline

COMPANY = "acme"
FILE = "acme.yaml"


def fact(type_: str, effective_date: str | date, **fields: Any) -> Fact:
    """A fact of company ``acme`` validated as an event file's item would be."""
    data = {"type": type_, "company": COMPANY, "effective_date": effective_date, **fields}
    return FACT_ADAPTER.validate_python(data)


def stored_fact(data: dict[str, Any]) -> Fact:
    """A fact as the store loads it (ledger-set fields such as derived_shares allowed)."""
    return FACT_ADAPTER.validate_python(data, context={STORED: True})


def entries(*facts: Fact, after: int = 0) -> list[Entry]:
    """Entries numbered after ``after``; each is ``acme.yaml item <seq>``."""
    return [Entry(f, seq, f"{FILE} item {seq}") for seq, f in enumerate(facts, start=after + 1)]


def admit(timeline: Timeline, *facts: Fact) -> Timeline:
    """Admit ``facts`` as one batch recorded after everything in ``timeline``."""
    extended, _ = timeline.admit(entries(*facts, after=timeline.last_seq))
    return extended


def build(*facts: Fact) -> Timeline:
    """A timeline of ``facts`` admitted as one batch into an empty company."""
    return admit(Timeline(COMPANY), *facts)


def refused(timeline: Timeline, *facts: Fact) -> RuleViolation:
    """The violation raised when ``facts`` are admitted as one batch."""
    with pytest.raises(RuleViolation) as caught:
        admit(timeline, *facts)
    return caught.value


def state_of(*facts: Fact) -> CompanyState:
    """The state after evolving ``facts`` in order, without checking."""
    return replay(entries(*facts), COMPANY)


def invalid(data: dict[str, Any]) -> tuple[tuple[str | int, ...], str, str]:
    """(location, error type, message) of the first problem of an invalid event."""
    with pytest.raises(ValidationError) as caught:
        FACT_ADAPTER.validate_python({"company": COMPANY, "effective_date": "2020-01-01", **data})
    first = caught.value.errors()[0]
    return first["loc"], first["type"], first["msg"]


def registered(*facts: Fact) -> Timeline:
    """``acme`` registered on 2020-01-01 with a common class (1,000,000 authorized), then
    ``facts``."""
    return build(
        fact("CompanyRegistered", "2020-01-01", name="Acme, Inc."),
        fact(
            "ShareClassCreated",
            "2020-01-01",
            share_class="common",
            name="Common",
            kind="common",
            authorized=1_000_000,
        ),
        *facts,
    )
