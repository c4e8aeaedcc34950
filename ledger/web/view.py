"""The company page: the view's data for every step of its two sliders, and the page itself.

The page shows a company as of a date (the date slider: the company's effective dates) as
known at a position (the known-at slider: the positions of its events).
Every figure comes from the ledger's own report builders (``ledger.reports``) folded by
``Ledger.state``; the page only formats them, and computes the percentages of the cap
table from the share counts with the same rule (4 decimals, half-even).

The data of every (date, position) cell is embedded compactly, so the sliders redraw without
a server:
- a *state* is what the fold sees: the events in force known at the position that bear on
  the date (for a company with awards or warrants, the date too: vesting and expiry move
  with it). Cells with the same state share one snapshot; only distinct states are folded.
- each distinct row of a table (a holder's classes, options and warrants; a grant; an
  officer...) is stored once; a snapshot lists its rows by number, the holders and grants as
  a difference from a parent snapshot (the previous date at the same position).
- the grid of cells → snapshots is stored per position as the difference from the previous
  position's: the dates from the first that changes, run-length encoded.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from ..app import KnownAt, Ledger, today
from ..reports import (
    Board,
    CapTable,
    Grants,
    HistoryEvent,
    Roster,
    board_of,
    cap_table_of,
    grants_of,
    roster_of,
)

TIMED_TYPES = frozenset({"OptionGranted", "WarrantIssued"})
"""Events whose figures move with the date alone (vesting, expiry): a company with any of
them has a distinct state at every date."""

DELTA_SECTIONS = ("holders", "grants")
"""The long tables, stored as a difference from a parent snapshot."""

LISTED_SECTIONS = ("pools", "warrants", "convertibles", "officers", "directors")
"""The short tables, stored whole (a list of row numbers, in the report's order)."""


@dataclass(frozen=True)
class Recording:
    """A known-at step: the position of one of the company's events (when and by whom it was
    recorded), or a position asked for that is not one."""

    position: int
    recorded_at: str | None
    recorded_by: str | None


@dataclass
class Rows:
    """Each distinct row of each table, numbered once."""

    numbers: dict[str, dict[str, int]] = field(default_factory=dict)
    rows: dict[str, list[Any]] = field(default_factory=dict)

    def number(self, section: str, row: list[Any]) -> int:
        text = json.dumps(row, sort_keys=True)
        numbered = self.numbers.setdefault(section, {})
        if text not in numbered:
            numbered[text] = len(numbered)
            self.rows.setdefault(section, []).append(row)
        return numbered[text]


@dataclass(frozen=True)
class Answers:
    """The report models of one cell: what the page shows there."""

    cap_table: CapTable
    grants: Grants
    roster: Roster
    board: Board
    votes: dict[str, int]
    """Votes per share of each class: the page weighs a holder's classes by them."""


def answers(ledger: Ledger, company: str, as_of: date, position: int) -> Answers:
    """The company as of ``as_of`` known at ``position``: one fold, four reports."""
    state, _, _ = ledger.state(company, as_of, position)
    return Answers(
        cap_table_of(state, as_of, position),
        grants_of(state, as_of, position),
        roster_of(state, as_of, position),
        board_of(state, as_of, position),
        {name: c.votes_per_share for name, c in state.classes.items()},
    )


def section_rows(a: Answers) -> dict[str, list[list[Any]]]:
    """Each table of a cell as rows of plain values, in the report's order. Holders carry
    their share counts only: the page derives their totals and percentages."""
    t = a.cap_table
    return {
        "holders": [[h.party, h.name, h.classes, h.options, h.warrants] for h in t.holders],
        "grants": [
            [
                g.grant,
                g.holder,
                g.name,
                g.plan,
                g.kind,
                g.share_class,
                g.quantity,
                g.vested,
                g.exercised,
                g.cancelled,
                g.outstanding,
                g.exercisable,
            ]
            for g in a.grants.grants
        ],
        "pools": [
            [
                p.plan,
                p.name,
                p.share_class,
                p.reserved,
                p.exercised,
                p.outstanding,
                p.retired,
                p.available,
            ]
            for p in t.pools
        ],
        "warrants": [
            [
                w.warrant,
                w.holder,
                w.name,
                w.share_class,
                w.quantity,
                w.exercised,
                w.cancelled,
                w.outstanding,
                _money(w.exercise_price.amount, w.exercise_price.currency),
                _day(w.expiration_date),
            ]
            for w in t.warrants
        ],
        "convertibles": [
            [
                c.convertible,
                c.holder,
                c.name,
                c.kind,
                _money(c.amount.amount, c.amount.currency),
                None
                if c.valuation_cap is None
                else _money(c.valuation_cap.amount, c.valuation_cap.currency),
                c.discount_percent,
                c.cap_basis,
            ]
            for c in t.convertibles
        ],
        "officers": [
            [o.role, o.title, o.person, o.name, o.since.isoformat(), o.interim]
            for o in a.roster.officers
        ],
        "directors": [
            [d.person, d.name, d.seat, d.since.isoformat(), d.designated_by, d.executive]
            for d in a.board.directors
        ],
    }


def _money(amount: str, currency: str) -> str:
    """Money as the CLI's table writes it: thousands separators, then the currency."""
    whole, _, cents = amount.partition(".")
    sign = "-" if whole.startswith("-") else ""
    grouped = f"{int(whole.lstrip('-') or 0):,}"
    return f"{sign}{grouped}{'.' + cents if cents else ''} {currency}"


def _day(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def snapshot_scalars(a: Answers) -> dict[str, Any]:
    t, v = a.cap_table, a.cap_table.valuation
    return {
        "total": t.total_shares,
        "diluted": t.fully_diluted_total,
        "votes": a.votes,
        "valuation": None
        if v is None
        else [_money(v.amount, v.currency), v.basis, v.effective_date.isoformat()],
    }


def affects_from(e: HistoryEvent) -> date:
    """The earliest date whose state an event can change: a correction's replacement may
    take effect before its target."""
    replacement = e.data.get("replacement")
    if isinstance(replacement, dict) and "effective_date" in replacement:
        return min(e.effective_date, date.fromisoformat(str(replacement["effective_date"])))
    return e.effective_date


def recordings(events: Sequence[HistoryEvent], asked: int) -> list[Recording]:
    """The known-at steps: the position of each of the company's events, and the position
    asked for if it is not one of them; in position order."""
    steps = [Recording(e.position, _moment(e), e.recorded_by) for e in events]
    if all(e.position != asked for e in events):
        steps.append(Recording(asked, None, None))
        steps.sort(key=lambda s: s.position)
    return steps


def _moment(e: HistoryEvent) -> str:
    return e.recorded_at.isoformat(timespec="seconds").replace("+00:00", "Z")


def history_rows(events: Iterable[HistoryEvent]) -> list[dict[str, Any]]:
    """The company's events as the page lists them (every one known at the latest position;
    the page shows those known at the chosen one)."""
    positions = {e.event_id: e.position for e in events}
    rows = []
    for e in events:
        undone = e.retracted_by or e.corrected_by
        data = e.data
        rows.append(
            {
                "position": e.position,
                "event_id": e.event_id,
                "type": e.type,
                "effective_date": e.effective_date.isoformat(),
                "affects_from": affects_from(e).isoformat(),
                "recorded_at": _moment(e),
                "recorded_by": e.recorded_by,
                "source": e.source,
                "note": data.get("note"),
                "details": event_details(data),
                "round": data.get("round"),
                "undone": None
                if undone is None
                else {
                    "how": "retracted" if e.retracted_by else "corrected",
                    "by": undone,
                    "position": positions.get(undone),
                },
            }
        )
    return rows


_COMMON_FIELDS = {"type", "company", "effective_date", "source", "note", "external_id"}


def event_details(data: dict[str, Any]) -> str:
    """The fields particular to an event type, as ``name=value`` pairs (a correction's
    replacement in brackets)."""
    parts = []
    for key, value in data.items():
        if key in _COMMON_FIELDS:
            continue
        if key == "replacement" and isinstance(value, dict):
            value = f"[{value.get('type')} of {value.get('effective_date')}: "
            value += f"{event_details(data[key])}]"
        elif isinstance(value, dict) and set(value) == {"amount", "currency"}:
            value = _money(str(value["amount"]), str(value["currency"]))
        elif isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int):
            value = f"{value:,}"
        parts.append(f"{key}={value}")
    return ", ".join(parts)


def company_view(
    ledger: Ledger, company: str, as_of: date | None = None, known_at: KnownAt = None
) -> dict[str, Any]:
    """Everything the page shows, for every step of its sliders: a JSON-ready dict.
    ``start`` names the step of (``as_of``, ``known_at``) (defaults: today, now)."""
    position = ledger.known_position(known_at)
    as_of = as_of or today()
    events = ledger.history(company).events  # raises for an unknown company
    latest = ledger.known_position()
    steps = recordings(events, position)
    dates = sorted({e.effective_date for e in events} | {as_of})
    timed = any(
        e.type in TIMED_TYPES or (e.data.get("replacement") or {}).get("type") in TIMED_TYPES
        for e in events
    )
    # Which events a cell's fold sees, as bits: known at its position, bearing on its date.
    known = [0] * len(steps)
    bearing = [0] * len(dates)
    for bit, e in enumerate(events):
        for j, step in enumerate(steps):
            if e.position <= step.position:
                known[j] |= 1 << bit
        start = affects_from(e)
        for i, day in enumerate(dates):
            if start <= day:
                bearing[i] |= 1 << bit

    rows = Rows()
    states: dict[tuple[int, date | None], int] = {}
    snapshots: list[dict[str, Any]] = []
    members: list[dict[str, set[int]]] = []
    grid: list[list[int]] = []
    for j, step in enumerate(steps):
        line: list[int] = []
        for i, day in enumerate(dates):
            key = (known[j] & bearing[i], day if timed else None)
            if key not in states:
                parent = line[-1] if line else (grid[-1][0] if grid else None)
                a = answers(ledger, company, day, step.position)
                numbered = {
                    name: [rows.number(name, row) for row in table]
                    for name, table in section_rows(a).items()
                }
                snapshot: dict[str, Any] = {
                    "parent": parent,
                    **snapshot_scalars(a),
                    **{name: numbered[name] for name in LISTED_SECTIONS},
                }
                mine = {name: set(numbered[name]) for name in DELTA_SECTIONS}
                theirs = members[parent] if parent is not None else {}
                for name in DELTA_SECTIONS:
                    before = theirs.get(name, set())
                    snapshot[name] = [sorted(before - mine[name]), sorted(mine[name] - before)]
                states[key] = len(snapshots)
                snapshots.append(snapshot)
                members.append(mine)
            line.append(states[key])
        grid.append(line)

    return {
        "company": company,
        "name": ledger.state(company, date.max, latest)[0].name,
        "dates": [d.isoformat() for d in dates],
        "recordings": [
            {"position": s.position, "recorded_at": s.recorded_at, "recorded_by": s.recorded_by}
            for s in steps
        ],
        "latest": latest,
        "start": {"date": dates.index(as_of), "known": [s.position for s in steps].index(position)},
        "rows": rows.rows,
        "snapshots": snapshots,
        "grid": encode_grid(grid),
        "events": history_rows(events),
    }


def encode_grid(grid: list[list[int]]) -> list[list[Any]]:
    """Each position's snapshots by date, as [the first date that differs from the previous
    position's, [snapshot, how many dates, ...]] (run-length encoded)."""
    encoded: list[list[Any]] = []
    before: list[int] = []
    for line in grid:
        start = next(
            (i for i, (a, b) in enumerate(zip(line, before, strict=False)) if a != b),
            min(len(line), len(before)),
        )
        runs: list[int] = []
        for snapshot in line[start:]:
            if runs and runs[-2] == snapshot:
                runs[-1] += 1
            else:
                runs += [snapshot, 1]
        encoded.append([start, runs])
        before = line
    return encoded


# --- the page ------------------------------------------------------------------------------


def script_json(value: Any) -> Markup:
    """JSON to embed in a <script> element: ``<``, ``>`` and ``&`` escaped, so no stored
    text can close the element (``</script>``) or open a comment (``<!--``)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("ledger.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["script_json"] = script_json
    return env


def static_text(name: str) -> str:
    """One of the page's own assets (ledger/web/static)."""
    return (resources.files("ledger.web") / "static" / name).read_text(encoding="utf-8")


@cache
def plotly_js() -> str:
    """plotly.js as the installed plotly package bundles it: the charts' library, served or
    inlined from the package, never from a network."""
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def render_company_page(
    ledger: Ledger,
    company: str,
    as_of: date | None = None,
    known_at: KnownAt = None,
    *,
    assets_url: str | None = None,
) -> str:
    """The company page as one HTML document, as of ``as_of`` as known at ``known_at``.

    ``assets_url`` None inlines every asset (plotly.js, the page's script and style): the
    self-contained report. Otherwise the page loads ``plotly.min.js``, ``view.js`` and
    ``view.css`` from that URL (a server's route for ``plotly_js`` and ``static_text``)."""
    view = company_view(ledger, company, as_of, known_at)
    inline = assets_url is None
    return (
        environment()
        .get_template("company.html")
        .render(
            view=view,
            title=view["name"] or company,
            assets_url=assets_url,
            plotly=Markup(plotly_js().replace("</script", "<\\/script")) if inline else None,
            script=Markup(static_text("view.js")) if inline else None,
            style=Markup(static_text("view.css")) if inline else None,
        )
    )
