"""The bad-input campaign: no input can poison the ledger.

Each example registers a company of its own (a class, a holder, a CEO who is a director),
then records an event file drawn by ``inputs.py`` (YAML, JSON or JSON Lines) with the command
line, run in-process. Either the file is refused: exit 2, every line on stderr an ``error:``
line, no traceback, and the log unchanged; or it is accepted (exit 0, never the lag code 3)
and then cap-table, roster, board, holdings, history, audit, ``projections rebuild`` and
``verify`` all succeed, and a plain good event still records. A file holding a value past a
documented bound must be refused.

One ledger per engine serves many examples (a fresh database every ``EXAMPLES_PER_LEDGER``,
so that verifying the whole log stays quick); ``make test`` runs a few hundred examples per
engine, ``make test-slow`` ten thousand.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import Ledger
from ledger.cli import run as run_cli
from ledger.domain.events import EVENT_TYPES
from tests.conftest import drop_pg_database, new_pg_database

from .inputs import (
    FIELD_KINDS,
    SLUG,
    Company,
    Drawn,
    Sources,
    event_fields,
    event_file_schema,
    file_bytes,
    setup_events,
)

EXAMPLES = {"sqlite": 150, "postgres": 60}
"""Per engine in ``make test`` (a PostgreSQL command costs about 0.25 s, most of it opening
the ledger: its examples are fewer)."""
SLOW_EXAMPLES = 10_000
EXAMPLES_PER_LEDGER = 150
MAX_ERROR_LINES = 20
MAX_ERROR_CHARACTERS = 256 * 1024
"""A refusal names the place and the value; it does not echo a whole expanded YAML bomb."""
LAG = 3
"""The exit code of a batch stored whose read models could not be brought up to date."""

CONTROL = "control-co"
PLAIN = (
    "- {type: SharesIssued, company: control-co, holder: plain-holder, share_class: common, "
    "shares: 1, effective_date: 2020-06-01}\n"
)
SOURCES = Sources.of(event_file_schema())
EXTENSIONS = {"yaml": "yaml", "json": "json", "jsonl": "jsonl"}
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_companies = itertools.count(1)


@dataclass(frozen=True)
class Run:
    """What one command did: exit code, standard output, standard error."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def __str__(self) -> str:
        err = self.err if len(self.err) < 2000 else f"{self.err[:2000]}… ({len(self.err):,} chars)"
        return f"corpledger {' '.join(a[:80] for a in self.args)} → exit {self.code}\n{err}"


@dataclass
class Campaign:
    """A ledger of one engine, shared by the examples, replaced every EXAMPLES_PER_LEDGER."""

    engine: str
    home: Path
    pg_template: str | None
    url: str = ""
    ledger: Ledger | None = None
    examples: int = 0
    poisoned: bool = False
    databases: list[str] = field(default_factory=list)

    def fresh(self) -> None:
        """A new ledger holding the control company."""
        self.close()
        if self.engine == "sqlite":
            self.url = f"sqlite:///{self.home}/ledger-{len(self.databases)}.db"
        else:
            assert self.pg_template is not None
            self.url = new_pg_database(self.pg_template)
        self.databases.append(self.url)
        self.ledger = Ledger.open(self.url)
        self.ledger.record(
            [
                {
                    "type": "CompanyRegistered",
                    "company": CONTROL,
                    "name": "Control",
                    "effective_date": "2020-01-01",
                },
                {
                    "type": "ShareClassCreated",
                    "company": CONTROL,
                    "share_class": "common",
                    "name": "Common",
                    "kind": "common",
                    "effective_date": "2020-01-01",
                },
            ],
            actor="campaign-setup",
        )
        self.examples, self.poisoned = 0, False

    def close(self) -> None:
        if self.ledger is not None:
            self.ledger.close()
            self.ledger = None

    def drop(self) -> None:
        self.close()
        if self.engine == "postgres":
            for url in self.databases:
                drop_pg_database(url)

    def new_company(self) -> Company:
        """A company of this example's own (see ``inputs.Company``)."""
        if self.ledger is None or self.poisoned or self.examples >= EXAMPLES_PER_LEDGER:
            self.fresh()
        assert self.ledger is not None
        self.examples += 1
        slug = f"co{next(_companies)}"
        result = self.ledger.record(setup_events(slug), actor="campaign-setup")
        return Company(slug, tuple(str(e.event_id) for e in result.recorded))

    def known(self, company: Company) -> Company:
        """``company`` with every event it has now (its first ones and the input's)."""
        assert self.ledger is not None
        events = self.ledger.history(company.slug).events
        return Company(company.slug, tuple(event.event_id for event in events))

    def position(self) -> int:
        assert self.ledger is not None
        return self.ledger.known_position()

    def cli(self, *args: str) -> Run:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run_cli(["--db", self.url, *args])
        return Run(args, code, out.getvalue(), err.getvalue())

    def write(self, name: str, content: bytes) -> str:
        path = self.home / name
        path.write_bytes(content)
        return str(path)


@pytest.fixture
def campaign(
    durable_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Campaign]:
    """The campaign's ledgers on the engine of ``durable_url`` (which it starts with)."""
    engine = "sqlite" if durable_url.startswith("sqlite") else "postgres"
    template = request.getfixturevalue("pg_server") if engine == "postgres" else None
    ledgers = Campaign(engine, tmp_path, template)
    try:
        yield ledgers
    finally:
        ledgers.drop()


# --- the oracle ---------------------------------------------------------------------------


def assert_refused_cleanly(run: Run) -> None:
    """Exit 2: one to MAX_ERROR_LINES lines on stderr, each an ``error:`` line; no
    traceback; nothing on stdout."""
    assert len(run.err) <= MAX_ERROR_CHARACTERS, f"{len(run.err):,} characters on stderr: {run}"
    lines = run.err.splitlines()
    assert run.out == "", run
    assert 1 <= len(lines) <= MAX_ERROR_LINES, run
    assert all(line.startswith("error: ") for line in lines), run
    assert "Traceback" not in run.err, run


def assert_succeeds(run: Run) -> None:
    assert run.code == 0, run
    assert "Traceback" not in run.err, run


def walk(events: list[Any]) -> Iterator[dict[str, Any]]:
    """Each event of a file, and each correction's replacement."""
    for event in events:
        if isinstance(event, dict):
            yield event
            if isinstance(event.get("replacement"), dict):
                yield event["replacement"]


def latest_day(events: list[Any]) -> str | None:
    """The latest valid effective date in the file (the queries ask about it)."""
    days = []
    for event in walk(events):
        day = event.get("effective_date")
        if isinstance(day, str) and _DAY.fullmatch(day):
            with contextlib.suppress(ValueError):
                days.append(date.fromisoformat(day))
    return max(days).isoformat() if days else None


def party_of(events: list[Any]) -> str:
    """A party the file names (for ``holdings``), else the company's founder."""
    for event in walk(events):
        for name in ("holder", "investor", "from", "to", "person"):
            value = event.get(name)
            if isinstance(value, str) and SLUG.fullmatch(value):
                return value
    return "founder"


def companies_of(company: Company, events: list[Any]) -> list[str]:
    """The example's company and the companies the file registers."""
    found = [company.slug]
    for event in walk(events):
        slug = event.get("company")
        registers = event.get("type") == "CompanyRegistered" and isinstance(slug, str)
        if registers and SLUG.fullmatch(slug) and slug not in found:
            found.append(slug)
    return found[:3]


def check_input(campaign: Campaign, company: Company, drawn: Drawn, fmt: str, shown: str) -> bool:
    """The oracle for one event file; returns whether the file was accepted."""
    path = campaign.write(f"input.{EXTENSIONS[fmt]}", file_bytes(drawn, fmt))
    before = campaign.position()
    recorded = campaign.cli("record", path)
    assert recorded.code != LAG, f"accepted input left the read models behind: {recorded}"
    if drawn.past_bounds:
        assert recorded.code == 2, f"a value past a bound was not refused {drawn.past_bounds}"
    if recorded.code == 2:
        assert_refused_cleanly(recorded)
        assert campaign.position() == before, f"a refused file changed the log: {recorded}"
        return False
    assert_succeeds(recorded)
    day = latest_day(drawn.events)
    as_of = ["--as-of", day] if day else []
    to = ["--to", day] if day and day > date.today().isoformat() else []
    formats = ["--format", shown]
    for slug in companies_of(company, drawn.events):
        for query in ("cap-table", "roster", "board"):
            assert_succeeds(campaign.cli(query, slug, *as_of, *formats))
        assert_succeeds(campaign.cli("history", slug, *formats))
        assert_succeeds(campaign.cli("audit", slug, *to, *formats))
    assert_succeeds(campaign.cli("holdings", party_of(drawn.events), *as_of, *formats))
    assert_succeeds(campaign.cli("projections", "rebuild"))
    assert_succeeds(campaign.cli("verify"))
    assert_succeeds(campaign.cli("record", campaign.write("plain.yaml", PLAIN.encode())))
    return True


def checked(campaign: Campaign, company: Company, drawn: Drawn, fmt: str, shown: str) -> bool:
    """``check_input``; a failure leaves the ledger to be replaced before the next example
    (a shrink of this one), which must not meet what this one left behind."""
    try:
        return check_input(campaign, company, drawn, fmt, shown)
    except Exception:
        campaign.poisoned = True
        raise


def run_campaign(campaign: Campaign, examples: int) -> None:
    """``examples`` event files, each on a company of its own, through the oracle."""

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def one_file(data: st.DataObject) -> None:
        company = campaign.new_company()
        drawn = data.draw(SOURCES.event_file(company), label="event file")
        fmt = data.draw(st.sampled_from(list(EXTENSIONS)), label="file format")
        shown = data.draw(st.sampled_from(["table", "json", "csv"]), label="output format")
        if checked(campaign, company, drawn, fmt, shown) and data.draw(st.booleans()):
            # A second file, whose corrections may target the first file's events.
            company = campaign.known(company)
            drawn = data.draw(SOURCES.event_file(company), label="second event file")
            checked(campaign, company, drawn, fmt, shown)

    one_file()


@pytest.mark.timeout(1200)  # shrinking a failure replays it hundreds of times
def test_no_event_file_poisons_the_ledger(campaign: Campaign) -> None:
    run_campaign(campaign, EXAMPLES[campaign.engine])


@pytest.mark.slow
@pytest.mark.timeout(8 * 3600)
def test_no_event_file_poisons_the_ledger_in_a_long_campaign(campaign: Campaign) -> None:
    run_campaign(campaign, SLOW_EXAMPLES)


# --- the campaign covers every field -----------------------------------------------------


def test_every_field_of_every_event_type_has_boundary_values_of_its_kind() -> None:
    unprobed = {
        f"{kind}.{name}"
        for kind in EVENT_TYPES
        for name in event_fields(kind)
        if name not in FIELD_KINDS
    }
    assert unprobed == set()


@pytest.mark.parametrize("kind", sorted(EVENT_TYPES))
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_schema_of_corpledger_schema_draws_events_of_every_type(
    kind: str, data: st.DataObject
) -> None:
    event = data.draw(SOURCES.schema.event(kind))
    assert event["type"] == kind
    assert set(event) <= set(event_fields(kind))
