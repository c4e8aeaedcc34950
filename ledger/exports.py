"""Exports for downstream tools (``corpledger export``; docs/exports.md): the cap table,
grants, roster and board of companies as of a date, as known at a position, or the event
log, as Parquet, CSV or JSON Lines files with a ``manifest.json``.

One file per table, every company in it (its ``company`` column tells them apart): the same
files whatever the number of companies, ready to load into one table each. The columns are
the CLI's CSV columns of that query (the event log: the ``history`` event's keys), typed for
Parquet by ``COLUMN_TYPES``: dates as dates, counts as 64-bit integers, money and
percentages as decimal text (never a float), ``data`` as JSON text.

An export is written whole or not at all: every answer is computed first (a bad company or
date is refused before anything is written), the files are written into a new directory
beside or inside the target, and only then moved into place, ``manifest.json`` last.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from .app import Ledger
from .domain.errors import InputError
from .feed import Feed
from .formats import ExportFormat
from .reports import Board, CapTable, Grants, HistoryEvent, Report, Roster, csv_cell

MANIFEST = "manifest.json"

# Parquet column types by column name (the same name has the same type in every file); any
# other column is text. Money amounts and percentages are decimal text.
_INT64 = {
    "known_at", "total_shares", "shares", "party_shares", "holder_total_shares", "options",
    "warrants", "fully_diluted_shares", "fully_diluted_total", "quantity", "vesting_months",
    "vesting_cliff_months", "vesting_every_months", "vested", "exercised", "cancelled",
    "outstanding", "exercisable", "position",
}  # fmt: skip
_DATE = {"as_of", "since", "vesting_start", "expiration_date", "granted", "effective_date"}
_BOOL = {"interim", "executive"}
_TIMESTAMP = {"recorded_at"}
_JSON = {"data"}
_DECIMAL = {
    "ownership_percent", "voting_percent", "row_ownership_percent", "row_voting_percent",
    "fully_diluted_percent", "exercise_price_amount",
}  # fmt: skip


def column_type(column: str) -> str:
    """The type of a column: int64, date, bool, timestamp, json, decimal or string."""
    for kind, names in (
        ("int64", _INT64),
        ("date", _DATE),
        ("bool", _BOOL),
        ("timestamp", _TIMESTAMP),
        ("json", _JSON),
        ("decimal", _DECIMAL),
    ):
        if column in names:
            return kind
    return "string"


@dataclass(frozen=True)
class Table:
    """One file's rows: dicts keyed by ``columns`` holding Python values (int, str, date,
    datetime, bool, a dict for ``data``, None)."""

    name: str
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]


QUERIES: dict[str, tuple[type[Report], Callable[[Ledger, str, date, int], Report]]] = {
    "cap_table": (CapTable, lambda led, c, d, p: led.cap_table(c, as_of=d, known_at=p)),
    "grants": (Grants, lambda led, c, d, p: led.grants(c, as_of=d, known_at=p)),
    "roster": (Roster, lambda led, c, d, p: led.roster(c, as_of=d, known_at=p)),
    "board": (Board, lambda led, c, d, p: led.board(c, as_of=d, known_at=p)),
}
"""The tables of a company export, each a query and the report it answers with."""


def company_tables(
    ledger: Ledger, companies: Sequence[str], as_of: date, position: int
) -> list[Table]:
    """Each table of ``QUERIES`` for ``companies`` (in that order) as of ``as_of``, known at
    ``position``: the CLI's CSV rows of each company's answer, one after the other."""
    tables = []
    for name, (report, query) in QUERIES.items():
        rows = [row for c in companies for row in query(ledger, c, as_of, position).csv_rows()]
        tables.append(Table(name, report.csv_columns, rows))
    return tables


EVENT_COLUMNS = tuple(HistoryEvent.model_fields)


def event_table(ledger: Ledger, after: int, company: str | None, until: int) -> Table:
    """The event log after ``after`` up to ``until`` (of ``company``), read as the change
    feed reads it."""
    events = Feed(ledger).events(after, company, until=until)
    return Table("events", EVENT_COLUMNS, [dict(e) for e in events])


def write_export(
    out: Path, fmt: ExportFormat, tables: Iterable[Table], head: dict[str, Any]
) -> dict[str, Any]:
    """Write ``tables`` into directory ``out`` (created, or an existing directory whose
    files of the same names are replaced) in format ``fmt``, and ``manifest.json``: ``head``
    (``known_at``, ``as_of``, …), ``version`` and the files with their rows and SHA-256.
    ``InputError`` if ``out`` cannot be a directory of ours; nothing is left half-written."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file, not a directory")
    parent = out if out.is_dir() else out.parent
    if not parent.is_dir():
        raise InputError(f"--out {out}: directory {parent} does not exist")
    try:
        staging = Path(tempfile.mkdtemp(prefix=".corpledger-export-", dir=parent))
    except OSError as e:
        raise InputError(f"--out {out}: cannot write in {parent}: {e.strerror}") from None
    try:
        files = [_write(staging, table, fmt) for table in tables]
        manifest = {**head, "version": metadata.version("corpledger"), "files": files}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        if out.is_dir():
            for name in [f["path"] for f in files] + [MANIFEST]:
                os.replace(staging / name, out / name)
        else:
            staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _write(directory: Path, table: Table, fmt: ExportFormat) -> dict[str, Any]:
    path = directory / f"{table.name}.{fmt.value}"
    if fmt is ExportFormat.parquet:
        _write_parquet(path, table)
    elif fmt is ExportFormat.csv:
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(table.columns)
            for row in table.rows:
                writer.writerow([csv_cell(_flat(row[c])) for c in table.columns])
    else:
        with path.open("w", encoding="utf-8") as f:
            for row in table.rows:
                line = {c: _json_value(row[c]) for c in table.columns}
                f.write(json.dumps(line, separators=(",", ":")) + "\n")
    return {"path": path.name, "rows": len(table.rows), "sha256": sha256_of(path)}


def _flat(value: Any) -> Any:
    """A value for one cell: ``data`` as JSON text with sorted keys (as ``history`` CSV)."""
    return json.dumps(value, sort_keys=True) if isinstance(value, dict) else value


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return csv_cell(value)
    return value


def _write_parquet(path: Path, table: Table) -> None:
    import pyarrow as pa  # lazily: a second of import for the one command that needs it
    import pyarrow.parquet as pq

    types: dict[str, pa.DataType] = {
        "int64": pa.int64(),
        "date": pa.date32(),
        "bool": pa.bool_(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "json": pa.string(),
        "decimal": pa.string(),
        "string": pa.string(),
    }
    columns = []
    for column in table.columns:
        kind = column_type(column)
        values = [row[column] for row in table.rows]
        if kind == "json":
            values = [_flat(v) for v in values]
        field = pa.field(column, types[kind], metadata={"corpledger_type": kind})
        columns.append((field, pa.array(values, type=field.type)))
    schema = pa.schema([field for field, _ in columns])
    pq.write_table(pa.Table.from_arrays([array for _, array in columns], schema=schema), path)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
