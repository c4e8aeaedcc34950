"""The command line ``corpledger``: a thin shell over ``Ledger`` (docs/contracts.md).

Exit codes: 0 success; 2 bad input, a rule violated or a usage mistake (one line on
stderr starting ``error:``, nothing stored); 3 ``record`` stored the events but the read
models lag (lines on stderr starting ``warning:``; never record them again); 1 anything
else, with a message rather than a traceback unless ``--debug`` is given.

Output: ``--format json`` prints the API's result model (``model_dump(mode="json")``), the
stable contract; ``--format csv`` a header row and the model's ``csv_rows()``; ``--format
table`` (the default) Rich tables for people.
"""

from __future__ import annotations

import csv
import errno
import json
import os
import re
import shlex
import shutil
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TextIO

import typer
from typer.core import TyperArgument, TyperOption
from typer.main import get_command

from .formats import EVENT_FORMATS, ExportFormat
from .http.cache import DEFAULT_MB as DEFAULT_CACHE_MB

# The rest of the ledger (SQLAlchemy, psycopg, eventsourcing, the pydantic models, the
# exporters) is imported inside the functions that use it, so that ``--help``, ``--version``
# and usage mistakes answer without loading it, and Rich by the output that needs it: a
# JSON or CSV answer starts without it (tests/http/test_serve.py checks).
if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    from rich.console import Console
    from rich.progress import Progress, TaskID
    from rich.table import Table

    from .app import Ledger, RecordResult
    from .feed import Waiter
    from .files import Item
    from .ocf.importer import ImportResult
    from .ports import ProjectionError, ReadModels, StuckEvent
    from .reports import (
        Audit,
        AuditChange,
        AuditEvent,
        Board,
        CapTable,
        Companies,
        Grants,
        History,
        HistoryEvent,
        Holdings,
        Report,
        Roster,
    )

LAGGING = 3
"""The exit code of a ``record`` that stored its events but could not bring the read models
up to date."""

PROGRESS_THRESHOLD = 2_000
"""Inputs with more events than this show a progress bar (when stderr is a terminal)."""

BIG_FILE_BYTES = 256 * 1024
"""A file at least this big shows a spinner while it is parsed (when stderr is a terminal)."""

DEMO_AS_OF_BEFORE = date(2025, 6, 11)
DEMO_AS_OF_AFTER = date(2025, 6, 12)
DEMO_COMPANY = "scale-ai"


# --- options shared by every command -------------------------------------------------------


@dataclass
class Settings:
    """The global options, set by the callback before any command runs."""

    db: str | None = None
    debug: bool = False


settings = Settings()


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class RecordFormat(StrEnum):
    text = "text"
    json = "json"


class InputFormat(StrEnum):
    yaml = "yaml"
    json = "json"
    jsonl = "jsonl"


CompanyArgument = Annotated[
    str, typer.Argument(metavar="COMPANY", help="The company's slug, e.g. scale-ai.")
]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        metavar="DATE",
        help="The date the answer is for (YYYY-MM-DD, inclusive). Default: today (UTC).",
        show_default=False,
    ),
]
KnownAtOption = Annotated[
    str | None,
    typer.Option(
        "--known-at",
        metavar="POSITION|TIMESTAMP|DATE",
        help=(
            "Answer as the ledger knew it then: a log position (an integer), an ISO 8601 "
            "timestamp (no zone means UTC) or a date (the end of that day, UTC). "
            "Default: now."
        ),
        show_default=False,
    ),
]
FormatOption = Annotated[
    OutputFormat,
    typer.Option(
        "--format",
        "-f",
        case_sensitive=False,
        help="table for people; json and csv are stable contracts for programs.",
    ),
]

ActorOption = Annotated[
    str | None,
    typer.Option(
        "--actor",
        metavar="NAME",
        help="Who records (history's recorded_by). Default: $CORPLEDGER_ACTOR, else the "
        "operating-system user.",
        show_default=False,
    ),
]

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="URL",
        help=(
            "The ledger's database: sqlite:///FILE.db, sqlite:////ABSOLUTE/PATH.db or "
            "postgresql://USER@HOST:PORT/DB. Default: $CORPLEDGER_DB, else "
            "sqlite:///corpledger.db in the working directory. Before or after the command."
        ),
        show_default=False,
    ),
]
"""``--db``, accepted before the command (the callback's) and after it (each command's)."""

_PYTHON_TYPE = re.compile(r"<(bool|str|int|float|path|list\[\w+\])>")


def _help_without_python_types() -> None:
    """Typer's help shows each parameter's Python type (``<bool>``, ``<str>``,
    ``<list[str]>``) beside its name, which tells a person nothing: keep metavars and choices
    (``DATE``, ``<table|json|csv>``) only. Typer asks ``display_type_rich`` for that column
    (0.29); ``tests/e2e/test_first_steps.py`` fails if another version shows them again."""
    for kind in (TyperArgument, TyperOption):
        shown = kind.display_type_rich

        def display_type_rich(
            self: Any, ctx: Any, shown: Callable[[Any, Any], str | None] = shown
        ) -> str | None:
            label = shown(self, ctx)
            return None if label is None or _PYTHON_TYPE.fullmatch(label) else label

        kind.display_type_rich = display_type_rich  # type: ignore[method-assign]


_help_without_python_types()

app = typer.Typer(
    name="corpledger",
    help=(
        "An event-sourced ledger of corporate actions: cap tables, executive rosters and "
        "boards for any date (**--as-of**), as known at any moment (**--known-at**).\n\n"
        "Record event files with **record**, then ask **companies**, **cap-table**, **roster**, "
        "**board**, **holdings** or **history**; **verify** checks that nobody changed the "
        "stored events. "
        "Try **corpledger demo** for the Scale AI story.\n\n"
        "Exit codes: 0 success; 2 bad input or a rule violated (nothing stored); 3 record "
        "stored the events but the read models lag (do not record them again); 1 anything "
        "else."
    ),
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        from importlib import metadata  # here: --help starts without it

        say(f"corpledger {metadata.version('corpledger')}")
        raise typer.Exit()


@app.callback()
def _global_options(
    db: DbOption = None,
    debug: Annotated[
        bool,
        typer.Option("--debug", metavar="", help="Show the traceback of an unexpected error."),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            metavar="",
            help="Print the version and exit.",
            is_eager=True,
            callback=_print_version,
        ),
    ] = False,
) -> None:
    settings.db = db
    settings.debug = debug


def chosen_db(db: str | None) -> str | None:
    """``--db`` given after the command, else before it (else None: the default)."""
    return db if db is not None else settings.db


@contextmanager
def open_ledger(db: str | None, *, create: bool = False) -> Iterator[Ledger]:
    """The ledger of ``--db``. Only the commands that record (and ``init``) pass
    ``create``: any other on a database without a ledger says so and creates nothing."""
    from .app import Ledger

    with Ledger.open(chosen_db(db), create=create) as ledger:
        yield ledger


# --- output --------------------------------------------------------------------------------


def stdout_console() -> Console:
    from rich.console import Console

    class StdoutConsole(Console):
        def on_broken_pipe(self) -> None:
            # Rich would exit 1 here; ``run`` handles a closed pipe the same for every output.
            raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))

    return StdoutConsole(highlight=False, soft_wrap=False)


def escape(text: str) -> str:
    """``text`` with Rich's markup escaped (``rich.markup.escape``)."""
    from rich.markup import escape as escape_markup

    return escape_markup(text)


def say(line: str = "") -> None:
    """A plain line on stdout (never wrapped: programs may read it)."""
    print(line, flush=True)


def print_json(report: Report) -> None:
    say(report.json_text())


def write_csv(report: Report, out: TextIO) -> None:
    from .reports import csv_cell

    rows = report.csv_rows()
    header = list(report.csv_columns)
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: csv_cell(value) for key, value in row.items()})
    out.flush()


def emit(report: Report, fmt: OutputFormat, table: Callable[[], None]) -> None:
    if fmt is OutputFormat.json:
        print_json(report)
    elif fmt is OutputFormat.csv:
        write_csv(report, sys.stdout)
    else:
        table()


def shares_text(count: int) -> str:
    return f"{count:,}"


def percent_text(value: str | None) -> str:
    return "-" if value is None else value


def classes_text(classes: dict[str, int]) -> str:
    """A holder's share classes: the name alone for one class, else one line per class."""
    if len(classes) == 1:
        return next(iter(classes))
    return "\n".join(f"{c} {shares_text(n)}" for c, n in classes.items())


def money_text(amount: str, currency: str) -> str:
    return f"{Decimal(amount):,} {currency}"


def role_text(role: str) -> str:
    return role.upper() if len(role) == 3 else role.capitalize()


def new_table() -> Table:
    from rich import box
    from rich.table import Table

    return Table(box=box.SIMPLE_HEAD, pad_edge=False)


def add_id_column(table: Table, header: str, **options: Any) -> None:
    """A column of identifiers (slugs, event ids): folded over lines in a narrow terminal,
    never cut short, so that they can be copied whole."""
    table.add_column(header, overflow="fold", **options)


def add_number_column(table: Table, header: str, **options: Any) -> None:
    """A column of numbers: right-aligned, never wrapped (the identifiers fold instead)."""
    table.add_column(header, justify="right", no_wrap=True, **options)


def names_of(ledger: Ledger, parties: Iterable[str], known_at: int) -> dict[str, str]:
    """The names the ledger knows of ``parties``: those of the parties that are companies
    registered in it (a person's name is not recorded)."""
    wanted = set(parties) & set(ledger.store.log.companies())
    names = {}
    for party in sorted(wanted):
        state, _, _ = ledger.state(party, date.max, known_at)
        if state.name:
            names[party] = state.name
    return names


def named(slug: str, names: dict[str, str]) -> str:
    """A slug, and under it the name the ledger knows (if any)."""
    name = names.get(slug)
    return escape(slug) if name is None else f"{escape(slug)}\n[dim]{escape(name)}[/]"


def heading(console: Console, title: str, when: str) -> None:
    """A report's two title lines: what it is, then as of when and as known when."""
    console.print(escape(title), style="bold", soft_wrap=True)
    console.print(escape(when), soft_wrap=True)


def when_text(as_of: date, known_at: int) -> str:
    return f"as of {as_of}, known at position {known_at}"


@dataclass(frozen=True)
class Header:
    """What a title says about the company: its name and registration date; when nothing
    of it is in force at the position asked, why."""

    name: str | None
    registered: date | None
    unknown: str | None = None

    @staticmethod
    def of(ledger: Ledger, company: str, known_at: int) -> Header:
        state, _, _ = ledger.state(company, date.max, known_at)
        if state.registered is not None:
            return Header(state.name, state.registered)
        # The company is in the ledger (else the query failed), yet not registered as known
        # at ``known_at``: it was recorded later, or every event of it is retracted.
        first = ledger.history(company).events[0].position
        if first > known_at:
            why = (
                f"nothing known of {company} at position {known_at}; it was first recorded "
                f"at position {first}"
            )
        else:
            why = f"every event of {company} as known at position {known_at} is retracted"
        return Header(state.name, None, why)

    def label(self, company: str) -> str:
        return f"{self.name} ({company})" if self.name else company

    def empty_note(self, company: str, as_of: date, what: str) -> str:
        if self.unknown is not None:
            return f"{self.unknown}: no {what}."
        if self.registered is None or as_of < self.registered:
            when = f" (registered {self.registered})" if self.registered else ""
            return f"{company} was not registered yet on {as_of}{when}: no {what}."
        return f"No {what} on {as_of}."


def show_cap_table(console: Console, ledger: Ledger, t: CapTable) -> None:
    head = Header.of(ledger, t.company, t.known_at)
    heading(console, f"{head.label(t.company)}: cap table", when_text(t.as_of, t.known_at))
    if not t.holders:
        console.print(head.empty_note(t.company, t.as_of, "shares outstanding"))
    else:
        names = names_of(ledger, (h.party for h in t.holders), t.known_at)
        names.update({h.party: h.name for h in t.holders if h.name})
        # Outstanding and fully diluted side by side, once the company has instruments.
        diluted = t.fully_diluted_total != t.total_shares or any(
            h.options or h.warrants for h in t.holders
        )
        if diluted:
            table = diluted_table(console, t, names)
        else:
            table = new_table()
            table.show_footer = True
            add_id_column(table, "Holder", footer="Total")
            add_id_column(table, "Class")
            add_number_column(table, "Shares", footer=shares_text(t.total_shares))
            add_number_column(table, "Ownership %", footer="100.0000")
            add_number_column(table, "Voting %")
            for h in t.holders:
                table.add_row(
                    named(h.party, names),
                    classes_text(h.classes),
                    shares_text(h.shares),
                    percent_text(h.ownership_percent),
                    percent_text(h.voting_percent),
                )
        console.print(table)
    if t.pools:
        show_pools(console, t)
    if t.warrants:
        show_warrants(console, t)
    if t.convertibles:
        show_convertibles(console, t)
    v = t.valuation
    if v is not None:
        console.print(
            f"Valuation: {money_text(v.amount, v.currency)} ({v.basis}, {v.effective_date})"
        )


def diluted_table(console: Console, t: CapTable, names: dict[str, str]) -> Table:
    """Outstanding and fully diluted side by side. The classes go under the holder's name;
    the percentages of the outstanding shares and of the votes (always in the JSON and CSV)
    only where the terminal has room for them."""
    owned, voting = console.width >= 100, console.width >= 120
    table = new_table()
    table.show_footer = True
    add_id_column(table, "Holder", footer="Total", min_width=12)
    add_number_column(table, "Shares", footer=shares_text(t.total_shares))
    if owned:
        add_number_column(table, "Ownership %", footer="100.0000")
    if voting:
        add_number_column(table, "Voting %")
    add_number_column(table, "Options")
    add_number_column(table, "Warrants")
    add_number_column(table, "Diluted", footer=shares_text(t.fully_diluted_total))
    add_number_column(table, "Diluted %", footer="100.0000")
    for h in t.holders:
        holder = named(h.party, names)
        if h.classes:
            holder += f"\n[dim]{escape(classes_text(h.classes))}[/]"
        row = [holder, shares_text(h.shares)]
        if owned:
            row.append(percent_text(h.ownership_percent))
        if voting:
            row.append(percent_text(h.voting_percent))
        row += [
            shares_text(h.options) if h.options else "",
            shares_text(h.warrants) if h.warrants else "",
            shares_text(h.fully_diluted_shares),
            percent_text(h.fully_diluted_percent),
        ]
        table.add_row(*row)
    return table


def show_pools(console: Console, t: CapTable) -> None:
    table = new_table()
    table.title, table.title_justify = "Stock plans", "left"
    add_id_column(table, "Plan")
    add_id_column(table, "Class")
    for header in ("Reserved", "Exercised", "Outstanding", "Retired", "Available"):
        add_number_column(table, header)
    for p in t.pools:
        table.add_row(
            f"{escape(p.plan)}\n[dim]{escape(p.name)}[/]",
            escape(p.share_class),
            *(
                shares_text(n)
                for n in (p.reserved, p.exercised, p.outstanding, p.retired, p.available)
            ),
        )
    console.print(table)


def show_warrants(console: Console, t: CapTable) -> None:
    table = new_table()
    table.title, table.title_justify = "Warrants", "left"
    add_id_column(table, "Warrant")
    add_id_column(table, "Holder")
    add_id_column(table, "Class")
    add_number_column(table, "Outstanding")
    add_number_column(table, "Exercise price")
    table.add_column("Expires", no_wrap=True)
    for w in t.warrants:
        table.add_row(
            escape(w.warrant),
            named(w.holder, {w.holder: w.name} if w.name else {}),
            escape(w.share_class),
            shares_text(w.outstanding),
            money_text(w.exercise_price.amount, w.exercise_price.currency),
            str(w.expiration_date or ""),
        )
    console.print(table)


def show_convertibles(console: Console, t: CapTable) -> None:
    table = new_table()
    table.title, table.title_justify = "Convertibles (not counted in fully diluted)", "left"
    add_id_column(table, "Convertible")
    add_id_column(table, "Holder")
    table.add_column("Kind")
    add_number_column(table, "Amount")
    add_number_column(table, "Cap")
    add_number_column(table, "Discount %")
    for c in t.convertibles:
        cap = c.valuation_cap
        table.add_row(
            escape(c.convertible),
            named(c.holder, {c.holder: c.name} if c.name else {}),
            f"{c.kind} ({c.cap_basis} cap)" if cap else c.kind,
            money_text(c.amount.amount, c.amount.currency),
            money_text(cap.amount, cap.currency) if cap else "",
            percent_text(c.discount_percent),
        )
    console.print(table)


def show_grants(console: Console, ledger: Ledger, g: Grants) -> None:
    head = Header.of(ledger, g.company, g.known_at)
    heading(console, f"{head.label(g.company)}: grants", when_text(g.as_of, g.known_at))
    if not g.grants:
        console.print(head.empty_note(g.company, g.as_of, "grants"))
        return
    # Narrow terminals: the holder, plan, kind, price and expiry go under the grant id;
    # cancelled is quantity − exercised − outstanding (in the JSON and CSV).
    table = new_table()
    add_id_column(table, "Grant")
    for header in ("Quantity", "Vested", "Exercised", "Outstanding", "Exercisable"):
        add_number_column(table, header)
    for a in g.grants:
        price = a.exercise_price
        kind = (
            a.kind if price is None else f"{a.kind} at {money_text(price.amount, price.currency)}"
        )
        terms = [f"{a.holder} ({a.name})" if a.name else a.holder, a.plan, kind]
        if a.expiration_date is not None:
            terms.append(f"expires {a.expiration_date}")
        table.add_row(
            f"[bold]{escape(a.grant)}[/]" + "".join(f"\n{escape(t)}" for t in terms),
            *(
                shares_text(n)
                for n in (a.quantity, a.vested, a.exercised, a.outstanding, a.exercisable)
            ),
        )
    console.print(table)


def show_roster(console: Console, ledger: Ledger, r: Roster) -> None:
    head = Header.of(ledger, r.company, r.known_at)
    heading(console, f"{head.label(r.company)}: officers", when_text(r.as_of, r.known_at))
    if not r.officers:
        console.print(head.empty_note(r.company, r.as_of, "officers in office"))
        return
    names = names_of(ledger, (o.person for o in r.officers), r.known_at)
    names.update({o.person: o.name for o in r.officers if o.name})
    table = new_table()
    table.add_column("Role", no_wrap=True)
    add_id_column(table, "Person")
    table.add_column("Title")
    table.add_column("Since", no_wrap=True)
    table.add_column("Interim")
    for o in r.officers:
        table.add_row(
            role_text(o.role),
            named(o.person, names),
            escape(o.title or ""),
            str(o.since),
            "interim" if o.interim else "",
        )
    console.print(table)


def show_board(console: Console, ledger: Ledger, b: Board) -> None:
    head = Header.of(ledger, b.company, b.known_at)
    heading(console, f"{head.label(b.company)}: board", when_text(b.as_of, b.known_at))
    if not b.directors:
        console.print(head.empty_note(b.company, b.as_of, "directors"))
        return
    people = [p for d in b.directors for p in (d.person, d.designated_by) if p is not None]
    names = names_of(ledger, people, b.known_at)
    names.update({d.person: d.name for d in b.directors if d.name})
    table = new_table()
    add_id_column(table, "Person")
    add_id_column(table, "Seat")
    table.add_column("Since", no_wrap=True)
    add_id_column(table, "Designated by")
    table.add_column("Executive")
    for d in b.directors:
        table.add_row(
            named(d.person, names),
            escape(d.seat),
            str(d.since),
            named(d.designated_by, names) if d.designated_by else "",
            "executive" if d.executive else "non-executive",
        )
    console.print(table)


def show_holdings(console: Console, ledger: Ledger, h: Holdings) -> None:
    heading(console, f"{h.party}: holdings", when_text(h.as_of, h.known_at))
    if not h.positions:
        console.print(f"{h.party} holds no shares in any company of the ledger on {h.as_of}.")
        return
    names = names_of(ledger, (p.company for p in h.positions), h.known_at)
    table = new_table()
    add_id_column(table, "Company")
    add_id_column(table, "Class")
    add_number_column(table, "Shares")
    add_number_column(table, "Ownership %")
    add_number_column(table, "Voting %")
    for p in h.positions:
        table.add_row(
            named(p.company, names),
            classes_text(p.classes),
            shares_text(p.shares),
            percent_text(p.ownership_percent),
            percent_text(p.voting_percent),
        )
    console.print(table)


def show_companies(console: Console, c: Companies) -> None:
    heading(
        console,
        "Companies",
        f"known at position {c.known_at}, {len(c.companies):,} "
        + ("company" if len(c.companies) == 1 else "companies"),
    )
    if not c.companies:
        console.print("No companies.")
        return
    table = new_table()
    table.add_column("Company")
    table.add_column("Name")
    table.add_column("Registered")
    table.add_column("Events", justify="right")
    table.add_column("Last position", justify="right")
    for company in c.companies:
        table.add_row(
            company.company,
            escape(company.name or ""),
            str(company.registered or ""),
            f"{company.events:,}",
            f"{company.last_position:,}",
        )
    console.print(table)


_COMMON_FIELDS = {"type", "company", "effective_date", "source", "note", "external_id"}


def event_details(data: dict[str, Any]) -> str:
    """The fields particular to an event type, as ``name=value`` pairs."""
    parts = []
    for key, value in data.items():
        if key in _COMMON_FIELDS or key == "replacement":
            continue
        if isinstance(value, dict) and set(value) == {"amount", "currency"}:
            value = money_text(str(value["amount"]), str(value["currency"]))
        elif isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int):
            value = shares_text(value)
        parts.append(f"{key}={value}")
    return ", ".join(parts)


def show_history(console: Console, h: History) -> None:
    from .reports import PartyHistory

    if isinstance(h, PartyHistory):
        title = f"{h.party}: every event touching them"
    else:
        title = f"{getattr(h, 'company', '')}: history"
    heading(console, title, f"known at position {h.known_at}, {plural(len(h.events), 'event')}")
    if not h.events:
        console.print("No events.")
        return
    table = new_table()
    add_number_column(table, "Pos")
    table.add_column("Effective", no_wrap=True)
    add_id_column(table, "Event")
    for e in h.events:
        lines = [f"[bold]{e.type}[/]" + (f" of {e.company}" if isinstance(h, PartyHistory) else "")]
        details = event_details(e.data)
        if details:
            lines.append(escape(details))
        replacement = e.data.get("replacement")
        if isinstance(replacement, dict):
            lines.append(
                escape(
                    f"replacement: {replacement.get('type')} of "
                    f"{replacement.get('effective_date')}: {event_details(replacement)}"
                )
            )
        if e.retracted_by or e.corrected_by:
            how = "retracted" if e.retracted_by else "corrected"
            lines.append(f"[bold red]{how} by {e.retracted_by or e.corrected_by}[/]")
        if e.data.get("note"):
            lines.append(f"[italic]note: {escape(str(e.data['note']))}[/]")
        provenance = f"recorded {e.recorded_at:%Y-%m-%d %H:%M:%S}Z by {e.recorded_by}"
        if e.source:
            provenance += f"; source: {e.source}"
        if e.data.get("external_id"):
            provenance += f"; external_id: {e.data['external_id']}"
        lines.append(f"[dim]{escape(provenance)}[/]")
        lines.append(f"[dim]event {e.event_id}[/]")  # what a correction's target names
        table.add_row(str(e.position), str(e.effective_date), "\n".join(lines))
    console.print(table)


def value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return shares_text(value)
    return "—" if value is None else str(value)


def values_text(values: dict[str, Any] | None) -> str:
    """A row's values as ``name=value`` pairs; a dash for no row."""
    if values is None:
        return "—"
    return ", ".join(f"{key}={value_text(value)}" for key, value in values.items())


def change_text(c: AuditChange) -> str:
    """A row that appears or goes with all its values; a row that changes, only the fields
    that changed (``shares 8,000,000 → 7,000,000``)."""
    if c.before is None or c.after is None:
        return f"{values_text(c.before)} → {values_text(c.after)}"
    return "; ".join(
        f"{name} {value_text(c.before.get(name))} → {value_text(c.after.get(name))}"
        for name in c.changed
    )


def behind_text(e: AuditEvent) -> str:
    """An event behind a change: what it is, where it is in the log, who recorded it."""
    fix = e.correction
    what = f"{e.type} (position {e.position})"
    if fix is not None:
        what = (
            f"{fix.type} (position {e.position}) of {fix.target_type} event {fix.target}: "
            f"replacement {e.type}"
        )
    line = f"{what}, recorded {e.recorded_at:%Y-%m-%d %H:%M:%S}Z by {e.recorded_by}"
    if e.source:
        line += f"; source: {e.source}"
    if fix is not None:
        line += f"; reason: {fix.reason}"
    return line


def show_audit(console: Console, a: Audit) -> None:
    heading(
        console,
        f"{a.company}: changes from {a.from_} to {a.to}",
        f"known at position {a.known_at}, {plural(len(a.changes), 'change')}",
    )
    if not a.changes:
        console.print("No changes.")
        return
    table = new_table()
    table.add_column("Effective", no_wrap=True)
    add_id_column(table, "Change")
    add_id_column(table, "Behind it")
    for c in a.changes:
        key = " ".join(v for v in c.key.values() if v is not None)
        change = f"[bold]{c.table.replace('_', ' ')}[/] {escape(key)}\n" + escape(change_text(c))
        behind = [escape(behind_text(e)) for e in c.events]
        table.add_row(str(c.effective_date), change, "\n".join(behind))
    console.print(table)


# --- commands --------------------------------------------------------------------------------


@app.command()
def init(db: DbOption = None) -> None:
    """Create the ledger's schema, or migrate it to the newest revision (safe to repeat)."""
    from .persistence import schema
    from .persistence.url import resolve_url, store_config

    config = store_config(resolve_url(chosen_db(db)))
    engine = schema.engine_for(config)
    try:
        before = schema.upgrade(engine)
        after = schema.current_revision(engine)
    finally:
        engine.dispose()
    if before is None:
        say(f"created the ledger schema (revision {after}) at {config.display}")
    elif before == after:
        say(f"the ledger at {config.display} is up to date (schema revision {after})")
    else:
        say(f"migrated the ledger at {config.display} from revision {before} to {after}")
    with open_ledger(db, create=True) as ledger:
        last = ledger.known_position()
    say(f"last position in the log: {last}" if last else "the log is empty")


class Feedback:
    """A Rich progress display on stderr, started only when stderr is a terminal and the
    input is big; otherwise every call does nothing."""

    def __init__(self) -> None:
        self.terminal = sys.stderr.isatty()
        self._progress: Progress | None = None

    def _display(self) -> Progress:
        if self._progress is None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.start()
        return self._progress

    def task(self, description: str, total: int | None, *, big: bool) -> TaskID | None:
        if not (self.terminal and big):
            return None
        return self._display().add_task(description, total=total)

    def advance(self, task: TaskID | None, completed: int) -> None:
        if task is not None and self._progress is not None:
            self._progress.update(task, completed=completed)

    def done(self, task: TaskID | None) -> None:
        if task is not None and self._progress is not None:
            self._progress.update(task, visible=False)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()


def file_is_big(path: str) -> bool:
    if path == "-":
        return False
    try:
        return Path(path).stat().st_size >= BIG_FILE_BYTES
    except OSError:
        return False


def events_in(files: Sequence[str], input_format: str | None) -> int | None:
    """About how many events the files hold, for the progress bar: the lines of JSON Lines
    files (counted in binary, a fraction of a second for a million), None if any file is of
    another format or standard input."""
    from .domain.errors import InputError
    from .files import format_of

    total = 0
    for path in files:
        try:
            if path == "-" or format_of(path, input_format) != "jsonl":
                return None
            with open(path, "rb") as f:
                total += sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))
        except (InputError, OSError):
            return None  # reported when the file is read
    return total


def stream(files: Sequence[str], input_format: str | None) -> Iterator[Item]:
    """The items of every file, in order, read lazily: ``Ledger.record`` validates, checks
    and stores them a chunk at a time, so a file of millions of events is never held whole."""
    from .files import read_items

    for path in files:
        yield from read_items(path, input_format)


def companies_text(companies: Sequence[str]) -> str:
    unique = list(dict.fromkeys(companies))
    if len(unique) <= 3:
        return ", ".join(unique)
    return f"{len(unique)} companies"


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


def summarize(result: RecordResult) -> list[str]:
    """One line per outcome of a record call (and one per external_id no-op)."""
    lines = []
    recorded, skipped = result.recorded, result.skipped
    if result.dry_run:
        line = f"dry run: {plural(len(recorded), 'event')} valid, nothing stored"
        if skipped:
            line += f" ({len(skipped):,} already recorded)"
        lines.append(line)
    elif recorded:
        positions = [e.position for e in recorded if e.position is not None]
        span = f"{min(positions)}-{max(positions)}" if len(positions) > 1 else f"{positions[0]}"
        word = "positions" if len(positions) > 1 else "position"
        companies = companies_text([e.company for e in recorded])
        lines.append(f"recorded {plural(len(recorded), 'event')} for {companies} ({word} {span})")
    if skipped:
        lines.append(
            f"{plural(len(skipped), 'event')} already recorded "
            "(same external_id, same content; nothing new stored):"
        )
        lines += [
            f"  {s.where}: {s.company} external_id {s.external_id!r} is event {s.event_id}"
            for s in skipped
        ]
    if not recorded and not skipped and not result.dry_run:
        lines.append("nothing to record: the input holds no events")
    return lines


def lag_warnings(result: RecordResult, lagging: ProjectionError) -> list[str]:
    """What a record says when its events are stored but the read models lag."""
    many = len(result.recorded) > 1
    stored = "the events above ARE stored" if many else "the event above IS stored"
    return [
        f"warning: {stored}: do not record {'them' if many else 'it'} again",
        f"warning: the read models lag behind the log: {one_line(str(lagging))}",
        "warning: queries answer from the events until the read models catch up "
        "(see corpledger projections status)",
    ]


def warn(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def warn_if_lagging(ledger: Ledger) -> None:
    """A query answered from the events because the read models could not catch up."""
    if ledger.lagging is not None:
        warn(
            f"warning: {one_line(str(ledger.lagging))}; answered from the events instead "
            "(see corpledger projections status)"
        )


LISTED_IDS = 20
"""A batch of at most this many events has the id of each printed by ``record``."""


def recorded_ids(result: RecordResult) -> list[str]:
    """The event ids a batch stored, one line each (what a correction's ``target`` names);
    for a bigger batch, where to find them."""
    recorded = result.recorded
    if result.dry_run or not recorded:
        return []
    if len(recorded) > LISTED_IDS:
        companies = list(dict.fromkeys(e.company for e in recorded))
        company = companies[0] if len(companies) == 1 else "COMPANY"
        return [f"event ids: corpledger history {company} (or --format json) lists them"]
    lines = []
    for e in recorded:
        line = f"  position {e.position}: {e.type} {e.company} {e.effective_date}"
        line += f" event {e.event_id}"
        if e.external_id is not None:
            line += f" (external_id {e.external_id})"
        lines.append(line)
    return lines


@app.command()
def record(
    files: Annotated[
        list[str],
        typer.Argument(
            metavar="FILE",
            help="Event files: .yaml/.yml, .json (a list of events) or .jsonl (one event a "
            "line); - reads standard input (give --input-format).",
            show_default=False,
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", metavar="", help="Check everything, store nothing.")
    ] = False,
    actor: ActorOption = None,
    input_format: Annotated[
        InputFormat | None,
        typer.Option(
            "--input-format",
            case_sensitive=False,
            help="The format of every FILE; needed for - (standard input). Default: from "
            "each file's extension.",
            show_default=False,
        ),
    ] = None,
    no_project: Annotated[
        bool,
        typer.Option(
            "--no-project",
            metavar="",
            help="Return once the events are stored, without bringing the read models up to "
            "date (a worker, or the next query, does it).",
        ),
    ] = False,
    output_format: Annotated[
        RecordFormat,
        typer.Option(
            "--format",
            "-f",
            case_sensitive=False,
            help="text for people (a batch of up to 20 events lists each event's id); json "
            "lists every event stored and skipped, with its event_id and position.",
        ),
    ] = RecordFormat.text,
    db: DbOption = None,
) -> None:
    """Validate event files and store them as **one atomic batch**: all of it, or none.

    Every event is checked against each company's whole effective-dated timeline, so a
    back-dated event that breaks any later date is refused. An event whose external_id the
    company already has with the same content is reported as already recorded.

    Exit 3: the events are stored, but the read models cannot catch up (an event they cannot
    apply, named on stderr); do not record them again.
    """
    feedback = Feedback()
    fmt = input_format.value if input_format else None
    try:
        with open_ledger(db, create=True) as ledger:
            big = any(file_is_big(path) for path in files)
            total = events_in(files, fmt) if big and feedback.terminal else None
            task = feedback.task(
                "checking" if dry_run else "checking and storing",
                total,
                big=big and (total is None or total > PROGRESS_THRESHOLD),
            )
            result = ledger.record(
                stream(files, fmt),
                actor=actor,
                dry_run=dry_run,
                # The read models current on return: a long batch writes them in its own
                # transaction; otherwise they catch up after the commit.
                project=not no_project,
                progress=lambda done: feedback.advance(task, done),
            )
            feedback.done(task)
            lagging = result.lagging
    finally:
        feedback.close()
    if output_format is RecordFormat.json:
        say(json.dumps(result.as_json(), indent=2))
        return
    for line in [*summarize(result), *recorded_ids(result)]:
        say(line)
    if lagging is not None:
        for line in lag_warnings(result, lagging):
            warn(line)
        raise typer.Exit(LAGGING)


@app.command("cap-table")
def cap_table(
    company: CompanyArgument,
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    fmt: FormatOption = OutputFormat.table,
    db: DbOption = None,
) -> None:
    """Holders, shares by class, ownership % and voting %, totals and the last valuation."""
    from .params import parse_as_of, parse_known_at

    day, known = parse_as_of(as_of), parse_known_at(known_at)
    with open_ledger(db) as ledger:
        report = ledger.cap_table(company, as_of=day, known_at=known)
        warn_if_lagging(ledger)
        emit(report, fmt, lambda: show_cap_table(stdout_console(), ledger, report))


@app.command()
def grants(
    company: CompanyArgument,
    holder: Annotated[
        str | None, typer.Option("--holder", metavar="PARTY", help="Only this party's awards.")
    ] = None,
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    fmt: FormatOption = OutputFormat.table,
    db: DbOption = None,
) -> None:
    """Awards: quantity, vested, exercised, cancelled, outstanding, exercisable."""
    from .params import parse_as_of, parse_known_at

    day, known = parse_as_of(as_of), parse_known_at(known_at)
    with open_ledger(db) as ledger:
        report = ledger.grants(company, as_of=day, known_at=known, holder=holder)
        warn_if_lagging(ledger)
        emit(report, fmt, lambda: show_grants(stdout_console(), ledger, report))


@app.command()
def roster(
    company: CompanyArgument,
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    fmt: FormatOption = OutputFormat.table,
    db: DbOption = None,
) -> None:
    """Officers in office: role, person, title, since, interim."""
    from .params import parse_as_of, parse_known_at

    day, known = parse_as_of(as_of), parse_known_at(known_at)
    with open_ledger(db) as ledger:
        report = ledger.roster(company, as_of=day, known_at=known)
        warn_if_lagging(ledger)
        emit(report, fmt, lambda: show_roster(stdout_console(), ledger, report))


@app.command()
def board(
    company: CompanyArgument,
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    fmt: FormatOption = OutputFormat.table,
    db: DbOption = None,
) -> None:
    """Directors: person, seat, since, designated by, executive or not."""
    from .params import parse_as_of, parse_known_at

    day, known = parse_as_of(as_of), parse_known_at(known_at)
    with open_ledger(db) as ledger:
        report = ledger.board(company, as_of=day, known_at=known)
        warn_if_lagging(ledger)
        emit(report, fmt, lambda: show_board(stdout_console(), ledger, report))


@app.command()
def holdings(
    party: Annotated[str, typer.Argument(metavar="PARTY", help="The party's slug, e.g. meta.")],
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    fmt: FormatOption = OutputFormat.table,
    db: DbOption = None,
) -> None:
    """Every position of a party across the companies of the ledger."""
    from .params import parse_as_of, parse_known_at

    day, known = parse_as_of(as_of), parse_known_at(known_at)
    with open_ledger(db) as ledger:
        report = ledger.holdings(party, as_of=day, known_at=known)
        warn_if_lagging(ledger)
        emit(report, fmt, lambda: show_holdings(stdout_console(), ledger, report))


@app.command()
def companies(
    known_at: KnownAtOption = None,
    fmt: FormatOption = OutputFormat.table,
    db: DbOption = None,
) -> None:
    """Every company in the ledger: slug, name, registration date, events, last position."""
    from .params import parse_known_at

    known = parse_known_at(known_at)
    with open_ledger(db) as ledger:
        report = ledger.companies(known_at=known)
    emit(report, fmt, lambda: show_companies(stdout_console(), report))


@app.command()
def history(
    company: Annotated[
        str | None,
        typer.Argument(
            metavar="COMPANY",
            help="The company's slug (or give --party instead).",
            show_default=False,
        ),
    ] = None,
    party: Annotated[
        str | None,
        typer.Option(
            "--party",
            metavar="PARTY",
            help="Every event touching this party, across all companies.",
            show_default=False,
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="DATE",
            help="Only events effective on or before this date (YYYY-MM-DD).",
            show_default=False,
        ),
    ] = None,
    known_at: KnownAtOption = None,
    fmt: FormatOption = OutputFormat.table,
    db: DbOption = None,
) -> None:
    """The audit trail: every event with its effective date, position, recorded_at,
    recorded_by and source, in the order recorded."""
    from .domain.errors import InputError
    from .params import parse_as_of, parse_known_at

    if (company is None) == (party is None):
        raise InputError("history needs a COMPANY or --party PARTY (one of them, not both)")
    day, known = parse_as_of(as_of), parse_known_at(known_at)
    with open_ledger(db) as ledger:
        report: History = (
            ledger.history(company, known_at=known)
            if company is not None
            else ledger.party_history(party or "", known_at=known)
        )
    report = report.effective_until(day)
    emit(report, fmt, lambda: show_history(stdout_console(), report))


@app.command()
def events(
    after: Annotated[
        int,
        typer.Option("--after", metavar="POSITION", min=0, help="Start after this log position."),
    ] = 0,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            metavar="",
            help="Keep going: print each event as it is recorded, until Ctrl-C or SIGTERM "
            "(exit 0).",
        ),
    ] = False,
    company: Annotated[
        str | None,
        typer.Option("--company", metavar="COMPANY", help="Only this company's events."),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            metavar="EVENTS",
            min=1,
            help="Stop after this many events.",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """The change feed: every event after --after in log order, one JSON object per line
    (the history event, with company). Resume after the last position printed to see every
    later event exactly once."""
    from .feed import PAGE, Feed

    left = limit
    with open_ledger(db) as ledger, Feed(ledger) as feed:
        waiter = feed.waiter()
        with cancelled_on_signals(waiter):
            while not waiter.cancelled and (left is None or left > 0):
                page = feed.page(after, min(PAGE, left or PAGE), company)
                found, after = page.events, page.end  # past the other companies' events too
                if found:
                    sys.stdout.write("".join(feed_line(e) for e in found))
                    sys.stdout.flush()
                    left = None if left is None else left - len(found)
                elif not follow:
                    break
                else:
                    waiter.wait_for(after, FOLLOW_WAIT, company)
                    if waiter.cancelled:
                        break


FOLLOW_WAIT = 60.0
"""Seconds ``events --follow`` waits at a time (a wait ends early when an event arrives)."""


def feed_line(event: HistoryEvent) -> str:
    """An event of the change feed as a line of JSON Lines."""
    return json.dumps(event.model_dump(mode="json"), separators=(",", ":")) + "\n"


@contextmanager
def cancelled_on_signals(waiter: Waiter) -> Iterator[None]:
    """Ctrl-C or SIGTERM cancels ``waiter``: a follower stops at once, and cleanly."""
    previous = {
        sig: signal.signal(sig, lambda *_: waiter.cancel())
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@app.command()
def audit(
    company: CompanyArgument,
    start: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="DATE",
            help="The first effective date (YYYY-MM-DD, inclusive). Default: the first event.",
            show_default=False,
        ),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(
            "--to",
            metavar="DATE",
            help="The last effective date (YYYY-MM-DD, inclusive). Default: today (UTC).",
            show_default=False,
        ),
    ] = None,
    known_at: KnownAtOption = None,
    fmt: FormatOption = OutputFormat.table,
    db: DbOption = None,
) -> None:
    """Every change in a period to holdings, officers and the board: each row whose value
    differs from the day before, with the events behind it, who recorded them, when and
    from which source."""
    from .params import parse_date, parse_known_at

    first, last = parse_date("--from", start), parse_date("--to", end)
    known = parse_known_at(known_at)
    with open_ledger(db) as ledger:
        report = ledger.audit(company, first, last, known_at=known)
    emit(report, fmt, lambda: show_audit(stdout_console(), report))


@dataclass(frozen=True)
class ExportRequest:
    """``corpledger export``'s arguments, for the kind of export they ask for."""

    companies: list[str]  # the positional companies and the --company options
    every: bool
    as_of: str | None
    known_at: str | None
    fmt: ExportFormat | None
    out: Path
    after: int | None
    db: str | None

    def only(self, kind: str, *allowed: str) -> None:
        """Refuse the options this kind of export does not take."""
        from .domain.errors import InputError

        given = {
            "--all": self.every,
            "--as-of": self.as_of is not None,
            "--known-at": self.known_at is not None,
            "--format": self.fmt is not None,
            "--after": self.after is not None,
        }
        for option, present in given.items():
            if present and option not in allowed:
                raise InputError(f"{option} does not apply to {kind}")


def export_tables(r: ExportRequest) -> dict[str, Any]:
    from .domain.errors import InputError
    from .exports import company_tables, write_export
    from .params import parse_as_of, parse_known_at

    r.only("an export of companies", "--all", "--as-of", "--known-at", "--format")
    if r.every == bool(r.companies):
        raise InputError("export needs COMPANY… (or --company C) or --all, one of them")
    day, known = parse_as_of(r.as_of), parse_known_at(r.known_at)
    if day is None or r.fmt is None:
        raise InputError("export of companies needs --as-of DATE and --format parquet|csv|jsonl")
    with open_ledger(r.db) as ledger:
        position = ledger.known_position(known)
        companies = (
            [c.company for c in ledger.companies(known_at=position).companies]
            if r.every
            else list(dict.fromkeys(r.companies))
        )
        tables = company_tables(ledger, companies, day, position)
    head = {"known_at": position, "as_of": day.isoformat(), "companies": companies}
    return write_export(r.out, r.fmt, tables, {"kind": "companies", **head})


def export_events(r: ExportRequest) -> dict[str, Any]:
    from .domain.errors import InputError
    from .exports import event_table, write_export

    r.only("export events", "--format", "--after")
    if len(r.companies) > 1:
        raise InputError("export events takes one --company at most")
    if r.fmt not in EVENT_FORMATS:
        raise InputError("export events needs --format parquet|jsonl")
    after = r.after or 0
    company = r.companies[0] if r.companies else None
    with open_ledger(r.db) as ledger:
        position = ledger.known_position()
        table = event_table(ledger, after, company, position)
    head = {"known_at": position, "as_of": None, "after": after, "company": company}
    return write_export(r.out, r.fmt, [table], {"kind": "events", **head})


def export_ocf(r: ExportRequest) -> dict[str, Any]:
    from .domain.errors import InputError
    from .ocf.exporter import write_package
    from .params import parse_as_of

    r.only("export ocf", "--as-of")
    if len(r.companies) != 1:
        raise InputError("export ocf takes one company")
    with open_ledger(r.db) as ledger:
        written = write_package(ledger, r.companies[0], r.out, as_of=parse_as_of(r.as_of))
    return {"files": [{"path": path, "rows": n} for path, n in written.files.items()]}


EXPORT_KINDS: dict[str, Callable[[ExportRequest], dict[str, Any]]] = {
    "events": export_events,
    "ocf": export_ocf,
}
"""What ``corpledger export KIND …`` does for a first argument naming a kind; any other first
argument is a company. A company named like a kind is exported with ``--company NAME``."""


@app.command()
def export(
    targets: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="events|ocf|COMPANY",
            help="events: the event log; ocf COMPANY: an Open Cap Table Format package; else "
            "the companies to export.",
            show_default=False,
        ),
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", metavar="", help="Every company of the ledger.")
    ] = False,
    company: Annotated[
        list[str] | None,
        typer.Option(
            "--company",
            metavar="COMPANY",
            help="A company to export (one named events, say); with events: only its events.",
            show_default=False,
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="DATE",
            help="The date of the tables (YYYY-MM-DD).",
            show_default=False,
        ),
    ] = None,
    known_at: KnownAtOption = None,
    fmt: Annotated[
        ExportFormat | None,
        typer.Option(
            "--format",
            "-f",
            case_sensitive=False,
            help="The files' format.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="DIR",
            help="The directory to write (created if missing).",
            show_default=False,
        ),
    ] = None,
    after: Annotated[
        int | None,
        typer.Option(
            "--after",
            metavar="POSITION",
            min=0,
            help="With events: after this position.",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Files for downstream tools (docs/exports.md): the cap table, grants, roster and board
    of companies as of --as-of (one file per table, every company in it), or the event log
    (export events), as Parquet, CSV or JSON Lines, with a manifest.json of rows and SHA-256
    checksums. export ocf COMPANY writes an Open Cap Table Format package (docs/ocf-export.md),
    with --as-of its events up to that date."""
    from .domain.errors import InputError

    given = list(targets or [])
    kind = given.pop(0) if given and given[0] in EXPORT_KINDS else None
    if out is None:
        raise InputError("export needs --out DIR")
    request = ExportRequest(
        given + list(company or []), every, as_of, known_at, fmt, out, after, chosen_db(db)
    )
    manifest = (EXPORT_KINDS[kind] if kind else export_tables)(request)
    for file in manifest["files"]:
        say(f"{out / file['path']}: {plural(file['rows'], 'row')}")


@app.command()
def report(
    company: CompanyArgument,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            metavar="FILE.html",
            help="The HTML file to write (replaced if it exists).",
            show_default=False,
        ),
    ],
    as_of: AsOfOption = None,
    known_at: KnownAtOption = None,
    db: DbOption = None,
) -> None:
    """Write the company's page as one self-contained HTML file that opens offline: cap
    table, pools, grants, roster, board, charts and history as of --as-of, known at
    --known-at, with sliders over every other date and recording."""
    from .params import parse_as_of, parse_known_at
    from .web.view import render_company_page  # jinja2 and plotly: only for this command

    day, known = parse_as_of(as_of), parse_known_at(known_at)
    with open_ledger(db) as ledger:
        page = render_company_page(ledger, company, day, known)
    write_whole(out, page)
    say(f"wrote {out} ({len(page.encode()) / 1_000_000:.1f} MB)")


def write_whole(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file beside it: a reader never sees
    half a file, and a failure leaves the previous one in place."""
    from .domain.errors import InputError

    part = path.with_name(f".{path.name}.part")
    try:
        part.write_text(text, encoding="utf-8")
        part.replace(path)
    except OSError as e:
        part.unlink(missing_ok=True)
        raise InputError(f"--out {path}: cannot write it: {e.strerror or e}") from None


@app.command()
def verify(
    company: Annotated[
        str | None,
        typer.Option(
            "--company",
            metavar="COMPANY",
            help="Check the read models of this company only (the chain is always whole).",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Check that nobody has changed the stored events: recompute the hash chain over the whole
    log and check every company's versions. Then check that the read models equal the fold
    for every company, at every effective date, as known now and at every position.

    Prints a summary (events, the chain's head; the read models checked) and exits 0; exits 1
    naming the first broken link (position, company, event id) and what is wrong: a forged
    event, a deleted one, a reordered pair; or the first difference of a read model; or the
    event the read models cannot apply (they are behind the fold)."""
    from .integrity import CHECKS, run_checks
    from .ports import check_read_models

    with open_ledger(db) as ledger:
        checks = [*CHECKS, lambda opened: check_read_models(opened, company)]
        for line in run_checks(ledger, checks):
            say(line)


# --- projections: the read models ----------------------------------------------------------

import_app = typer.Typer(
    help="Bring other formats into the ledger: ocf (Open Cap Table Format packages).",
    no_args_is_help=True,
)
app.add_typer(import_app, name="import")


class ImportFormat(StrEnum):
    table = "table"
    json = "json"


@import_app.command("ocf")
def import_ocf(
    path: Annotated[
        str,
        typer.Argument(
            metavar="PATH",
            help="An OCF package: a directory or a .zip holding Manifest.ocf.json.",
            show_default=False,
        ),
    ],
    company: Annotated[
        str | None,
        typer.Option(
            "--company",
            metavar="SLUG",
            help="The company's slug in the ledger. Default: from the issuer's legal name.",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", metavar="", help="Map and check everything, store nothing."),
    ] = False,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid",
            metavar="",
            help="Store what maps even when some objects have error findings; the findings "
            "list what was left out.",
        ),
    ] = False,
    output_format: Annotated[
        ImportFormat,
        typer.Option(
            "--format",
            "-f",
            case_sensitive=False,
            help="table for people; json {company, events, stored, skipped, findings} for "
            "programs (printed whatever the exit code).",
        ),
    ] = ImportFormat.table,
    actor: ActorOption = None,
    db: DbOption = None,
) -> None:
    """Import an Open Cap Table Format package as **one atomic batch**, with findings.

    Every object is checked against its OCF schema, then for what the ledger needs (ids
    that resolve, quantities that add up, securities still in force). An error finding
    stores nothing (exit 2) unless --skip-invalid. Importing the same package again stores
    nothing new: each event's external_id is "ocf:" and the id of its OCF object.
    """
    from .domain.errors import InputError
    from .ocf.importer import Finding, ImportResult, import_package  # the OCF schemas load lazily

    try:
        if not Path(path).exists():  # said before a ledger is made at --db
            raise InputError(f"{path}: no such file or directory")
        with open_ledger(db, create=True) as ledger:
            result = import_package(
                ledger,
                path,
                company=company,
                dry_run=dry_run,
                skip_invalid=skip_invalid,
                actor=actor,
            )
    except InputError as e:
        if output_format is ImportFormat.json:
            unreadable = Finding(
                code="unreadable-package", severity="error", file=path, object_id=None,
                message=one_line(str(e)),
            )  # fmt: skip
            empty = ImportResult(
                company=company or "", events=0, stored=0, skipped=0, findings=[unreadable]
            )
            say(empty.model_dump_json())
        raise
    refused = bool(result.errors) and not skip_invalid
    if output_format is ImportFormat.json:
        say(result.model_dump_json())
    else:
        show_import(result, dry_run=dry_run, refused=refused)
    if refused:
        raise typer.Exit(2)


SEVERITIES = ("error", "warning", "info")


def show_import(result: ImportResult, *, dry_run: bool, refused: bool) -> None:
    """An import for people: what it did, the findings counted by code, then each finding on
    one line (``severity code file#object: message``), errors first."""
    if refused:
        outcome = "nothing stored: there are error findings (--skip-invalid stores the rest)"
    elif dry_run:
        outcome = "dry run: nothing stored"
    else:
        outcome = f"{plural(result.stored, 'event')} stored"
    say(
        f"{result.company}: {plural(result.events, 'event')} mapped, {result.skipped:,} "
        f"already recorded; {outcome}"
    )
    counts = {s: sum(f.severity == s for f in result.findings) for s in SEVERITIES}
    say("findings: " + ", ".join(f"{counts[s]} {s}" for s in SEVERITIES))
    by_code: dict[tuple[str, str], int] = {}
    for f in result.findings:
        by_code[f.severity, f.code] = by_code.get((f.severity, f.code), 0) + 1
    for (severity, code), count in sorted(by_code.items(), key=lambda i: SEVERITIES.index(i[0][0])):
        say(f"  {count:>5}  {severity:<7} {code}")
    if result.findings:
        say()
    for f in sorted(result.findings, key=lambda f: SEVERITIES.index(f.severity)):
        place = f"{f.file}#{f.object_id}" if f.object_id else f.file
        say(f"{f.severity:<7} {f.code}  {place}: {f.message}")


projections_app = typer.Typer(
    help="The read models (bitemporal history tables): run the worker, see where each "
    "projection stands, rebuild them.",
    no_args_is_help=True,
)
app.add_typer(projections_app, name="projections")


def read_models_of(ledger: Ledger) -> ReadModels:
    from .domain.errors import LedgerError

    models = ledger.read_models
    if models is None:
        raise LedgerError(
            "no read models are installed (the corpledger.read_models entry point): "
            "reinstall corpledger"
        )
    return models


@contextmanager
def stopping_on_signals() -> Iterator[threading.Event]:
    """An event set by Ctrl-C or SIGTERM: the worker finishes its batch and stops."""
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@projections_app.command("run")
def projections_run(
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            metavar="",
            help="Keep running: project new events as they are recorded (PostgreSQL: on "
            "its notifications; SQLite: polling), until Ctrl-C or SIGTERM.",
        ),
    ] = False,
    poll: Annotated[
        float,
        typer.Option(
            "--poll",
            metavar="SECONDS",
            min=0.01,
            help="With --follow: seconds between looks at the log (PostgreSQL: the longest "
            "wait for a notification).",
        ),
    ] = 1.0,
    batch_size: Annotated[
        int,
        typer.Option(
            "--batch-size",
            metavar="EVENTS",
            min=1,
            help="Events per transaction (each commits its rows and the position reached).",
        ),
    ] = 1_000,
    db: DbOption = None,
) -> None:
    """Bring the read models up to date (the events after each projection's tracked
    position, a batch per transaction); with --follow, keep doing it. Ctrl-C or SIGTERM stops
    it cleanly after the batch in hand; a killed worker resumes from the last batch it
    committed."""
    with open_ledger(db) as ledger, stopping_on_signals() as stop:
        models = read_models_of(ledger)
        position = models.run(
            follow=follow,
            stop=stop,
            poll=poll,
            on_batch=lambda reached: say(f"projected up to position {reached}"),
            batch_size=batch_size,
        )
        word = "stopped" if stop.is_set() else "up to date"
        say(f"projections {word} at position {position}")


@projections_app.command("status")
def projections_status(fmt: FormatOption = OutputFormat.table, db: DbOption = None) -> None:
    """Each projection's tracked position and its lag behind the end of the log, and the event
    it cannot apply if that is why it lags (position, company, event id, type, reason)."""
    from .ports import StuckEvent
    from .reports import csv_cell

    with open_ledger(db) as ledger:
        rows = read_models_of(ledger).status()
    if fmt is OutputFormat.json:
        say(json.dumps([{**r._asdict(), "stuck": stuck_json(r.stuck)} for r in rows], indent=2))
    elif fmt is OutputFormat.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["name", "position", "lag", *(f"stuck_{c}" for c in StuckEvent._fields)])
        for r in rows:
            cells = [csv_cell(v) for v in r.stuck] if r.stuck else [""] * len(StuckEvent._fields)
            writer.writerow([r.name, r.position, r.lag, *cells])
    else:
        table = new_table()
        for column in ("Projection", "Position", "Lag"):
            table.add_column(column, justify="left" if column == "Projection" else "right")
        for r in rows:
            table.add_row(r.name, f"{r.position:,}", f"{r.lag:,}")
        console = stdout_console()
        console.print(table)
        for stuck in dict.fromkeys(r.stuck for r in rows if r.stuck):
            line = f"Stuck: the projections cannot apply the event at {stuck.place()}"
            console.print(escape(f"{line}: {stuck.reason}"), soft_wrap=True)


def stuck_json(stuck: StuckEvent | None) -> dict[str, Any] | None:
    if stuck is None:
        return None
    return {
        **stuck._asdict(),
        "effective_date": None if stuck.effective_date is None else str(stuck.effective_date),
    }


@projections_app.command("rebuild")
def projections_rebuild(
    company: Annotated[
        str | None,
        typer.Option(
            "--company",
            metavar="COMPANY",
            help="Rebuild this company's rows only (one transaction).",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Rebuild the read models from the events: every table (cleared, then projected again in
    batches), or one company's rows. The tables come out as a run from the start makes them."""
    from .ports import ProjectionError

    with open_ledger(db) as ledger:
        try:
            position = read_models_of(ledger).rebuild(company)
        except ProjectionError as e:
            if e.stuck is None:
                raise
            kept = (
                f"{company}'s rows are as they were"
                if company
                else "the read models stand rebuilt, whole, up to the event before it"
            )
            raise ProjectionError(
                f"the rebuild stopped at position {e.stuck.position}: {e}; {kept}; queries "
                "answer from the events meanwhile (see corpledger projections status)",
                stuck=e.stuck,
            ) from None
    which = f"{company}'s rows" if company else "the read models"
    say(f"rebuilt {which} up to position {position}")


@app.command()
def serve(
    host: Annotated[
        str, typer.Option("--host", metavar="HOST", help="The address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", metavar="PORT", min=0, max=65535, help="The TCP port.")
    ] = 8000,
    no_auth: Annotated[
        bool,
        typer.Option(
            "--no-auth",
            metavar="",
            help="Let every request in without a token (only on a loopback address).",
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option("--workers", metavar="N", min=1, max=64, help="Worker processes."),
    ] = 1,
    no_project: Annotated[
        bool,
        typer.Option(
            "--no-project",
            metavar="",
            help="A POST returns once its events are stored and queries answer as of the read "
            "models, waiting for min_position: a worker (corpledger projections run --follow) "
            "keeps them up to date.",
        ),
    ] = False,
    cache_mb: Annotated[
        int,
        typer.Option(
            "--cache-mb",
            metavar="MB",
            min=0,
            max=1 << 20,
            help="Memory for the answer cache of each worker, in MiB (0: no cache).",
        ),
    ] = DEFAULT_CACHE_MB,
    db: DbOption = None,
) -> None:
    """The HTTP API (docs/http.md): the queries as JSON, POST /v1/events, OpenAPI at
    /openapi.json and interactive docs at /docs. Requests need a token (corpledger tokens)."""
    # Imported here: FastAPI and uvicorn would slow every other command's start.
    import uvicorn

    from .app import Ledger
    from .domain.errors import InputError
    from .http.app import ENV_CACHE_MB, ENV_DB, ENV_NO_AUTH, ENV_NO_PROJECT, is_loopback
    from .persistence.url import resolve_url

    if no_auth and not is_loopback(host):
        raise InputError(
            f"--no-auth is refused on host {host}: only a loopback address (127.0.0.1, ::1, "
            "localhost) may serve without tokens"
        )
    url = resolve_url(chosen_db(db))
    with Ledger.open(url, create=False) as ledger:  # refuse a database without a ledger now
        warn(f"corpledger serve: {ledger.config.display} on http://{host}:{port}")
    os.environ[ENV_DB] = url
    os.environ[ENV_NO_AUTH] = "1" if no_auth else "0"
    os.environ[ENV_NO_PROJECT] = "1" if no_project else "0"
    os.environ[ENV_CACHE_MB] = str(cache_mb)
    uvicorn.run(
        "ledger.http.app:from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )


tokens_app = typer.Typer(
    help="The HTTP API's bearer tokens: create (shown once), list, revoke.",
    no_args_is_help=True,
)
app.add_typer(tokens_app, name="tokens")


class TokenRole(StrEnum):
    reader = "reader"
    writer = "writer"


@tokens_app.command("create")
def tokens_create(
    role: Annotated[
        TokenRole,
        typer.Option("--role", case_sensitive=False, help="reader: GET; writer: GET and POST."),
    ],
    name: Annotated[
        str,
        typer.Option(
            "--name", metavar="NAME", help="Its name: history's recorded_by for its POSTs."
        ),
    ],
    db: DbOption = None,
) -> None:
    """Make a token and print it alone on standard output: it is shown this once (only its
    SHA-256 is stored)."""
    from .http.tokens import Role, TokenStore

    with open_ledger(db, create=True) as ledger:
        say(TokenStore(ledger.engine).create(name, Role(role.value)))


TOKEN_COLUMNS = ("name", "role", "created_at", "revoked_at")


@tokens_app.command("list")
def tokens_list(fmt: FormatOption = OutputFormat.table, db: DbOption = None) -> None:
    """Every token: name, role, when made, when revoked (never the secret)."""
    from .http.tokens import TokenStore
    from .reports import csv_cell

    with open_ledger(db) as ledger:
        found = TokenStore(ledger.engine).list()
    rows = [
        {"name": t.name, "role": t.role.value,
         "created_at": t.created_at.isoformat().replace("+00:00", "Z"),
         "revoked_at": t.revoked_at and t.revoked_at.isoformat().replace("+00:00", "Z")}
        for t in found
    ]  # fmt: skip
    if fmt is OutputFormat.json:
        say(json.dumps({"tokens": rows}, indent=2))
    elif fmt is OutputFormat.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(TOKEN_COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: csv_cell(v) for k, v in row.items()} for row in rows)
    else:
        table = new_table()
        for column in TOKEN_COLUMNS:
            table.add_column(column)
        for row in rows:
            table.add_row(*(escape(row[c] or "") for c in TOKEN_COLUMNS))
        stdout_console().print(table)


@tokens_app.command("revoke")
def tokens_revoke(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The token's name.")],
    db: DbOption = None,
) -> None:
    """Revoke a token: the next request with it gets 401. Its name stays taken."""
    from .http.tokens import TokenStore

    with open_ledger(db) as ledger:
        revoked = TokenStore(ledger.engine).revoke(name)
    say(f"revoked token {name}" if revoked else f"token {name} was revoked already")


@app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of an event file (a list of events)."""
    from .domain.events import event_file_json_schema

    say(json.dumps(event_file_json_schema(), indent=2))


# --- the demo --------------------------------------------------------------------------------


def demo_events() -> Traversable:
    """The Scale AI story, shipped as package data."""
    from importlib import resources

    return resources.files("ledger") / "demo" / "scale-ai.yaml"


def is_meta_investment(data: Any) -> bool:
    """Whether an event (as written in the file) is Meta's investment of 2025-06-12."""
    return (
        isinstance(data, dict)
        and data.get("type") == "InvestmentMade"
        and data.get("investor") == "meta"
        and str(data.get("effective_date")) == DEMO_AS_OF_AFTER.isoformat()
    )


def record_story(console: Console, ledger: Ledger, items: list[Item]) -> None:
    """Record the story in two batches, the second from Meta's investment on: two moments
    of transaction time, so the known-at illustration has a moment to point at."""
    split = next((n for n, item in enumerate(items) if is_meta_investment(item.data)), 0)
    for batch in (items[:split], items[split:]):
        if batch:
            for line in summarize(ledger.record(batch, actor="corpledger-demo")):
                console.print(escape(line))


def has_company(ledger: Ledger, company: str) -> bool:
    from .domain.errors import InputError

    try:
        ledger.history(company)
    except InputError:
        return False
    return True


def rule(console: Console, text: str) -> None:
    console.print()
    console.rule(f"[bold]{escape(text)}[/]", align="left")


@app.command()
def demo(
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="URL",
            help="Record the story into this ledger instead of the demo's own SQLite file.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Record the Scale AI story in a fresh ledger and show it before and after
    2025-06-12: Meta's non-voting 49% stake, Wang leaving for Meta while keeping his board
    seat, Droege as interim CEO.

    Without --db (here or before the command) it records into its own SQLite file in your
    cache folder, replaced on each run and kept to explore afterwards; $CORPLEDGER_DB is not
    used, so the demo never writes into your own ledger by accident.
    """
    from .domain.errors import LedgerError
    from .files import Item, read_items

    story = demo_events()
    if not story.is_file():
        raise LedgerError(f"the demo's events file is missing from the package: {story}")
    url = chosen_db(db)
    own = url is None
    if url is None:
        url = f"sqlite:///{fresh_demo_file()}"
    console = stdout_console()
    from importlib import resources

    with resources.as_file(story) as path, open_ledger(url, create=True) as ledger:
        console.print(
            f"[bold]corpledger demo[/]: the Scale AI story ({escape(path.name)}) "
            f"in {escape(ledger.config.display)}",
            soft_wrap=True,
        )
        if has_company(ledger, DEMO_COMPANY):
            console.print(f"{DEMO_COMPANY} is already in this ledger: showing it as recorded.")
        else:
            items = [
                Item(item.where.replace(str(path), path.name), item.data)
                for item in read_items(str(path))
            ]
            record_story(console, ledger, items)
        history = ledger.history(DEMO_COMPANY)
        notional = sum(
            1 for e in history.events if "notional" in str(e.data.get("note", "")).lower()
        )
        console.print()
        console.print(
            "[bold yellow]Note:[/] Scale AI's share counts are not public. The story starts "
            "from an explicitly notional founders' share count, so every share count below is "
            "notional; the percentages, amounts, valuations, people and dates come from "
            f"sourced public facts. {notional} events carry a note marking a notional value "
            "(see the history command)."
        )
        for day in (DEMO_AS_OF_BEFORE, DEMO_AS_OF_AFTER):
            rule(console, f"Cap table as of {day}")
            show_cap_table(console, ledger, ledger.cap_table(DEMO_COMPANY, as_of=day))
        for day in (DEMO_AS_OF_BEFORE, DEMO_AS_OF_AFTER):
            rule(console, f"Executive roster as of {day}")
            show_roster(console, ledger, ledger.roster(DEMO_COMPANY, as_of=day))
        rule(console, f"Board as of {DEMO_AS_OF_AFTER}")
        show_board(console, ledger, ledger.board(DEMO_COMPANY, as_of=DEMO_AS_OF_AFTER))
        meta = next((e for e in history.events if is_meta_investment(e.data)), None)
        if meta is not None and meta.position > 1:
            before = meta.position - 1
            rule(console, f"Known at position {before}: before Meta's investment was recorded")
            console.print(
                f"The same date, {DEMO_AS_OF_AFTER}, as the ledger knew it before Meta's "
                f"investment (effective {meta.effective_date}) was recorded at position "
                f"{meta.position}: valid time and transaction time are separate axes."
            )
            show_cap_table(
                console,
                ledger,
                ledger.cap_table(DEMO_COMPANY, as_of=DEMO_AS_OF_AFTER, known_at=before),
            )
        console.print()
        kept = f"The demo ledger stays at {url.removeprefix('sqlite:///')}. " if own else ""
        console.print(f"{escape(kept)}Explore it:", soft_wrap=True)
        program = command_to_run_again()
        shown = ledger.config.display  # the password, if any, hidden
        for command in (f"history {DEMO_COMPANY}", f"cap-table {DEMO_COMPANY} --as-of 2024-06-01"):
            say(f"  {program} --db '{shown}' {command}")
        activate = Path(sys.argv[0]).parent / "activate"
        if program != "corpledger" and activate.is_file():
            say(f"(or put corpledger on your PATH first: source {shlex.quote(str(activate))})")


def demo_file() -> Path:
    """The demo's own ledger: one fixed file in the user's cache folder, so each run reuses
    it rather than leaving a new folder behind, and it stays to explore after the demo."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "corpledger" / "demo.db"


def fresh_demo_file() -> Path:
    """``demo_file``, emptied: the story is told on a fresh ledger each run."""
    path = demo_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
        leftover.unlink(missing_ok=True)
    return path


def command_to_run_again() -> str:
    """How to run corpledger again from the user's shell: ``corpledger`` when the PATH finds
    this very program; else its path as it was started (``.venv/bin/corpledger`` after
    ``make demo``), or this interpreter with ``-m ledger``."""
    started = sys.argv[0]
    if Path(started).name != "corpledger":
        return f"{shlex.quote(sys.executable)} -m ledger"
    if os.sep not in started:
        return "corpledger"  # found on the PATH
    found = shutil.which("corpledger")
    if found is not None and Path(found).resolve() == Path(started).resolve():
        return "corpledger"
    return shlex.quote(started)


# --- entry point -----------------------------------------------------------------------------


def one_line(message: str) -> str:
    return " ".join(part.strip() for part in str(message).splitlines() if part.strip())


def fail(*messages: str) -> None:
    """Each message on its own line (``error: ...``): one, or each problem of an input."""
    for message in messages:
        print(f"error: {one_line(message)}", file=sys.stderr, flush=True)


def reader_left() -> int:
    """The reader of stdout left early (``| head``): exit quietly with 0. As Python's docs
    recommend, stdout goes to devnull, so the flush at exit does not hit the closed pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 0


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    settings.db, settings.debug = None, False
    command = get_command(app)
    try:
        outcome = command.main(
            args=list(argv) if argv is not None else None,
            prog_name="corpledger",
            standalone_mode=False,
        )
    except typer.TyperException as e:
        # Usage mistakes (unknown option or command, missing argument, bad choice): exit 2.
        if type(e).__name__ == "NoArgsIsHelpError":
            return 0
        context = getattr(e, "ctx", None)
        where = f" (see {context.command_path} --help)" if context is not None else ""
        fail(f"{e.format_message()}{where}")
        return e.exit_code
    except typer.Abort:
        fail("aborted")
        return 1
    except KeyboardInterrupt:
        fail("interrupted")
        return 130
    except SystemExit as e:
        # Typer answers a closed stdout with exit 1; a reader leaving early is no error.
        if isinstance(e.__context__, BrokenPipeError):
            return reader_left()
        raise
    except Exception as e:
        # Imported here, not at the top: ``--help`` and usage mistakes start without them.
        from .domain.errors import LedgerError
        from .persistence.faults import fault

        if settings.debug:
            traceback.print_exc()
        if isinstance(e, LedgerError):
            fail(*e.lines)
            return e.exit_code
        if isinstance(e, UnicodeEncodeError) and e.reason == "surrogates not allowed":
            # Bytes that are not UTF-8 in an argument (Python keeps them as surrogates), met
            # where the text goes to the database or out.
            bad = e.object[e.start : e.end].encode("utf-8", "surrogateescape")
            fail(f"an argument holds bytes that are not UTF-8 text ({bad!r}): write it in UTF-8")
            return 2
        found = fault(e)  # a full disk, a read-only database, a lost connection: say that
        if found is not None:
            fail(found)
        elif settings.debug:
            fail(f"{type(e).__name__}: {e}")
        else:
            fail(f"{type(e).__name__}: {e} (run with --debug for the traceback)")
        return 1
    return outcome if isinstance(outcome, int) else 0


def main() -> NoReturn:
    """The console script ``corpledger``."""
    sys.exit(run())
