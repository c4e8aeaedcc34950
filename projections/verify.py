"""``corpledger verify``'s check of the read models: for every company, the history tables equal
the fold at every effective date, as known now and as known at each position the company
has an event at (the only positions where its answers can change).

The comparison is of interval sets, not of (date, position) pairs one at a time. Walking the
company's positions T in order, the rows believed at T come from the rows believed at T−1 by
the rows whose ``known_from`` or ``known_to`` is T. The event at T (effective on d) can only
change the answers on d and later, so the check at T is:

- before d, the rows opened and closed at T describe the same values (nothing changed);
- from d on, the believed rows equal the fold's history from d on: ``replay_known`` of the
  events known at T effective before d, then folded on date by date (``segments_from``).

By induction every date is checked at every position. The fold's state before d is carried
along while events come in date order and replayed from the start for a back-dated one.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from ledger.domain.corrections import correct
from ledger.domain.entry import Entry
from ledger.domain.errors import LedgerError
from ledger.domain.events import Correction
from ledger.domain.rules import apply_known
from ledger.domain.state import CompanyState
from ledger.persistence.log import decode
from ledger.ports import ProjectionError
from ledger.rows import Key, Value

from .history import SHAPES, Row, Shape, segments_from

if TYPE_CHECKING:
    from .service import ReadModelService


class ReadModelMismatch(LedgerError):
    """A read model differs from the fold (exit code 1)."""


@dataclass(frozen=True)
class Stored:
    """A row of a history table with its transaction time."""

    row: Row
    known_from: int
    known_to: int | None


def verify_read_models(service: ReadModelService, company: str | None = None) -> str:
    """Catch up, then check every company (or one); returns a summary line or raises
    ``ReadModelMismatch`` naming the first difference. If they cannot catch up, the tables
    are checked up to where they stand, then ``ProjectionError`` (exit 1) names the event
    they cannot get past: they are behind the fold."""
    try:
        position = service.catch_up()
        stuck = None
    except ProjectionError as e:
        if e.stuck is None:
            raise
        position, stuck = service.tracked(), e
    db = service.db
    with service.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        if company is not None:
            if not db.log(raw).has_company(company):
                raise service.ledger.unknown_company(company)
            companies = [company]
        else:
            companies = db.log(raw).companies()
            extra = _companies_in_tables(raw) - set(companies)
            if extra:
                raise ReadModelMismatch(
                    f"read models differ from the fold: rows of {', '.join(sorted(extra))}, "
                    "which has no events"
                )
        rows = 0
        for name in companies:
            entries = []
            positions = []
            for pos, _, version, state in db.log(raw).company_log(name, until=position):
                event_id, _, fact = decode(int(pos), name, state)
                entries.append(Entry(fact, int(version), "", event_id))  # stored: named by id
                positions.append(int(pos))
            for shape in SHAPES:
                stored = _stored(db, raw, shape, name)
                rows += len(stored)
                _check(shape, name, entries, positions, stored)
    which = f"company {company}" if company else _plural(len(companies), "company", "companies")
    if stuck is not None:
        raise ProjectionError(
            f"read models are behind the fold: they match it ({which}, {rows:,} rows) up to "
            f"position {position}, but {stuck} (see corpledger projections status)",
            stuck=stuck.stuck,
        )
    return (
        f"read models match the fold: {which}, {rows:,} rows, at every date and every "
        f"position up to {position}"
    )


def _companies_in_tables(raw: Any) -> set[str]:
    found: set[str] = set()
    cur = raw.cursor()
    for shape in SHAPES:
        cur.execute(f"SELECT DISTINCT company FROM {shape.table}")
        found |= {r[0] for r in cur.fetchall()}
    return found


def _stored(db: Any, raw: Any, shape: Shape, company: str) -> list[Stored]:
    columns = [*shape.key_columns, *shape.value_columns, "valid_from", "valid_to"]
    cur = raw.cursor()
    cur.execute(
        f"SELECT {', '.join(columns)}, known_from, known_to FROM {shape.table} "
        f"WHERE company = {db.mark}",
        (company,),
    )
    fetched = cur.fetchall()
    rows = db.rows(shape, [r[:-2] for r in fetched])
    return [
        Stored(row, int(r[-2]), None if r[-1] is None else int(r[-1]))
        for row, r in zip(rows, fetched, strict=True)
    ]


Function = list[tuple[date, date | None, Value]]
"""A key's value over time: (from, to, value) pieces, merged where equal and adjacent."""


def _function(rows: Iterable[Row], start: date | None = None, end: date | None = None) -> Function:
    """The rows of one key clipped to [start, end) and merged (the canonical form)."""
    pieces: Function = []
    for row in sorted(rows, key=lambda r: r.valid_from):
        lo = row.valid_from if start is None or row.valid_from > start else start
        hi = row.valid_to
        if end is not None and (hi is None or hi > end):
            hi = end
        if hi is not None and hi <= lo:
            continue
        if pieces and pieces[-1][1] == lo and pieces[-1][2] == row.value:
            pieces[-1] = (pieces[-1][0], hi, row.value)
        else:
            pieces.append((lo, hi, row.value))
    return pieces


def _check(
    shape: Shape,
    company: str,
    entries: Sequence[Entry],
    positions: Sequence[int],
    stored: Sequence[Stored],
) -> None:
    where = set(positions)
    opened: dict[int, list[Row]] = {}
    closed: dict[int, list[Row]] = {}
    for s in stored:
        for moment in (s.known_from, s.known_to):
            if moment is not None and moment not in where:
                _fail(
                    shape,
                    company,
                    moment,
                    s.row.valid_from,
                    f"a row is known from or to position {moment}, where {company} has no event",
                )
        opened.setdefault(s.known_from, []).append(s.row)
        if s.known_to is not None:
            closed.setdefault(s.known_to, []).append(s.row)
    believed: dict[Key, list[Row]] = {}  # by valid_from
    known: list[Entry] = []  # timeline order
    keys: list[tuple[date, int]] = []
    end = CompanyState(company)  # the fold of everything known
    before = CompanyState(company)  # the fold of what is known before last_day
    last_day: date | None = None
    for entry, position in zip(entries, positions, strict=True):
        on = entry.fact.effective_date
        if isinstance(entry.fact, Correction):  # a back-dated change from its earliest date
            on = correct(known, entry) or on
            keys[:] = [e.key for e in known]
            last_day = max([on, *(d for d in (last_day,) if d), *(e.key[0] for e in known[-1:])])
            start = _replayed(company, (e for e in known if e.fact.effective_date < on))
            before = _replayed(company, (e for e in known if e.fact.effective_date < last_day))
            end = _replayed(company, known)
        elif last_day is None or on >= last_day:
            if last_day is None or on > last_day:
                before = end.copy()
            start = before.copy()
            known.append(entry)
            keys.append(entry.key)
            apply_known(end, entry)
            last_day = on
        else:  # back-dated: fold again from the start
            at = bisect.bisect_right(keys, entry.key)
            known.insert(at, entry)
            keys.insert(at, entry.key)
            start = _replayed(company, (e for e in known if e.fact.effective_date < on))
            before = _replayed(company, (e for e in known if e.fact.effective_date < last_day))
            end = _replayed(company, known)
        later = known[bisect.bisect_left(keys, (on, 0)) :]
        expected = segments_from([shape], start, later, on)[0]
        gone, new = closed.get(position, []), opened.get(position, [])
        for row in gone:
            believed[row.key].remove(row)
        for row in new:
            rows = believed.setdefault(row.key, [])
            bisect.insort(rows, row, key=_by_start)
            if _overlaps(rows):
                _fail(shape, company, position, row.valid_from, "two believed rows overlap")
        # Before `on`, nothing changed at this position.
        for key in {r.key for r in [*gone, *new]}:
            now = believed.get(key, [])
            was = sorted(
                [*(r for r in now if r not in new), *(r for r in gone if r.key == key)],
                key=_by_start,
            )
            then, after = _function(was, end=on), _function(now, end=on)
            if then != after:
                # Before `on` the fold did not change at this position: it still says what
                # was believed just before (checked at the earlier positions).
                day = _first(then, after)
                _fail(
                    shape,
                    company,
                    position,
                    day,
                    f"{_describe(shape, key)}: the table says {_value_at(shape, after, day)}, "
                    f"the fold {_value_at(shape, then, day)}",
                )
        # From `on` on, the believed rows are the fold's history.
        for key in believed.keys() | expected.keys():
            table = _function(_reaching(believed.get(key, []), on), start=on)
            fold = _function(expected.get(key, []), start=on)
            if table != fold:
                day = _first(table, fold)
                _fail(
                    shape,
                    company,
                    position,
                    day,
                    f"{_describe(shape, key)}: the table says {_value_at(shape, table, day)}, "
                    f"the fold {_value_at(shape, fold, day)}",
                )


def _overlaps(rows: list[Row]) -> bool:
    return any(a.valid_to is None or a.valid_to > b.valid_from for a, b in pairwise(rows))


def _by_start(row: Row) -> date:
    return row.valid_from


def _reaching(rows: list[Row], on: date) -> list[Row]:
    """The rows (by valid_from) that end after ``on`` or never: the last few."""
    i = len(rows)
    while i > 0 and (rows[i - 1].valid_to is None or rows[i - 1].valid_to > on):  # type: ignore[operator]
        i -= 1
    return rows[i:]


def _replayed(company: str, entries: Iterable[Entry]) -> CompanyState:
    state = CompanyState(company)
    for entry in entries:
        apply_known(state, entry)
    return state


def _first(a: Function, b: Function) -> date:
    """The first date where two functions differ."""
    days = sorted({p[0] for p in a} | {p[0] for p in b} | {p[1] for p in [*a, *b] if p[1]})
    for day in days:
        if _at(a, day) != _at(b, day):
            return day
    return days[0] if days else date.min


def _at(f: Function, day: date) -> Value | None:
    for lo, hi, value in f:
        if lo <= day and (hi is None or day < hi):
            return value
    return None


def _describe(shape: Shape, key: Key) -> str:
    if not key:
        return "the valuation"
    return " ".join(f"{c} {v}" for c, v in zip(shape.key_columns, key, strict=True))


def _value_at(shape: Shape, f: Function, day: date) -> str:
    value = _at(f, day)
    if value is None:
        return "nothing"
    return ", ".join(f"{c} {v}" for c, v in zip(shape.value_columns, value, strict=True))


def _fail(shape: Shape, company: str, position: int, day: date, detail: str) -> None:
    raise ReadModelMismatch(
        f"read model {shape.projection} ({shape.table}) differs from the fold for {company} "
        f"as of {day} known at position {position}: {detail}"
    )


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"
