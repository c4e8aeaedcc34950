"""Every figure of the previous results beside this run's, so a change that makes something
slower shows.

Both results are read as Markdown. Each table with a ``measured`` column is a table of
targets; a row is known by its section's heading and its other cells (the target and the
engine), so a figure is matched with the same target on the same engine, whatever section
order either file has. The other tables with an ``engine`` column hold figures: a row is known
by its heading, its table's columns and its cells without a digit (the engine, the file, the
writer), and each cell with a digit is a figure, matched by its column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

Key = tuple[str, tuple[str, ...]]


@dataclass(frozen=True)
class Figure:
    heading: str
    cells: tuple[str, ...]
    """The row's cells other than the figure and its verdict (the target, the engine)."""
    measured: str
    verdict: str


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def figures(markdown: str) -> dict[Key, Figure]:
    """The target rows of ``markdown``, by section heading and cells."""
    found: dict[Key, Figure] = {}
    heading = ""
    header: list[str] | None = None
    for line in markdown.splitlines():
        if line.startswith("#"):
            heading, header = line.lstrip("#").strip(), None
            continue
        if not line.startswith("|"):
            header = None
            continue
        cells = _cells(line)
        if header is None:
            header = [c.lower() for c in cells]
            continue
        if set("".join(cells)) <= set("-: ") or "measured" not in header:
            continue  # the separator row, or not a table of targets
        at = header.index("measured")
        if at >= len(cells):
            continue
        rest = tuple(c for i, c in enumerate(cells) if i != at and i != len(header) - 1)
        verdict = cells[-1] if len(header) - 1 != at else ""
        found[(heading, rest)] = Figure(heading, rest, cells[at], verdict)
    return found


def _tables(markdown: str) -> list[tuple[str, list[str], list[list[str]]]]:
    """Each table of ``markdown``: its section's heading, its header, its rows."""
    tables: list[tuple[str, list[str], list[list[str]]]] = []
    heading, current = "", None
    for line in markdown.splitlines():
        if line.startswith("#"):
            heading, current = line.lstrip("#").strip(), None
        elif not line.startswith("|"):
            current = None
        elif current is None:
            current = (heading, _cells(line), [])
            tables.append(current)
        elif not set(line) <= set("|-: "):
            current[2].append(_cells(line))
    return tables


FIGURE = re.compile(r"[~+\-−]?[\d,.]+ ?(ms|MB|×|x|%|s|ev/s|events/s)?")
"""A cell that is one figure: a number, perhaps signed, perhaps with its unit."""


def other_figures(markdown: str) -> dict[tuple[str, ...], str]:
    """The figures of the tables with an ``engine`` column and no ``measured`` one, by
    (heading, the row's cells without a digit, the figure's column). The seconds of each run
    are left out (their medians are the figures)."""
    found: dict[tuple[str, ...], str] = {}
    for heading, header, rows in _tables(markdown):
        names = [h.lower() for h in header]
        if "engine" not in names or "measured" in names:
            continue
        seen: dict[str, int] = {}
        for row in rows:
            key = " · ".join(c for c in row if not any(ch.isdigit() for ch in c))
            # Rows told apart only by figures (a store of 100,000 events, then 1,000,000) are
            # told apart by their order.
            seen[key] = seen.get(key, 0) + 1
            if seen[key] > 1:
                key += f" (row {seen[key]})"
            for column, cell in zip(header, row, strict=False):
                if FIGURE.fullmatch(cell) and "seconds" not in column.lower():
                    found[(heading, key, column)] = cell
    return found


def compared_figures(previous: str, now: str) -> list[list[str]]:
    """Rows (section, row, column, before, now) of every other figure of ``previous``."""
    after = other_figures(now)
    return [
        [heading, row, column, old, after.get((heading, row, column), "not measured in this run")]
        for (heading, row, column), old in other_figures(previous).items()
    ]


def _plain(verdict: str) -> str:
    return verdict.replace("*", "")


def compared(previous: str, now: str) -> list[list[str]]:
    """Rows (section, target and engine, before, now) of every target of ``previous``."""
    before, after = figures(previous), figures(now)
    rows = []
    for key, old in before.items():
        new = after.get(key)
        rows.append(
            [
                old.heading,
                " · ".join(old.cells),
                f"{old.measured} ({_plain(old.verdict)})" if old.verdict else old.measured,
                "not measured in this run"
                if new is None
                else (f"{new.measured} ({_plain(new.verdict)})" if new.verdict else new.measured),
            ]
        )
    return rows


def read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
