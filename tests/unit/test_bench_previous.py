"""The benchmark's before-and-now tables: each figure of the previous results is matched with
the same target, engine and column of this run, whatever order the sections come in."""

from __future__ import annotations

from bench import previous

BEFORE = """# results

## Targets of issue 2

| target | engine | measured |  |
|---|---|---|---|
| rate ≥ 15% of raw | SQLite | 37.9% (63,403 vs 167,162 ev/s) | **met** |
| rate ≥ 15% of raw | PostgreSQL | 12.0% (20,000 vs 166,000 ev/s) | **not met** |

## Latency (ms)

| engine | events stored | p50 | p99 | connection |
|---|---|---|---|---|
| SQLite | 100,000 | 4.90 | 46.1 | synchronous=NORMAL |
| SQLite | 1,000,000 | 5.11 | 150.29 | synchronous=NORMAL |
"""

NOW = """# results

## Latency (ms)

| engine | events stored | p50 | p99 | connection |
|---|---|---|---|---|
| SQLite | 100,000 | 1.80 | 6.2 | synchronous=NORMAL |
| SQLite | 1,000,000 | 1.90 | 7.0 | synchronous=NORMAL |

## Targets of issue 2

| target | engine | measured |  |
|---|---|---|---|
| rate ≥ 15% of raw | SQLite | 40.1% (70,000 vs 174,000 ev/s) | **met** |
"""


def test_each_target_is_matched_by_its_section_target_and_engine() -> None:
    assert previous.compared(BEFORE, NOW) == [
        [
            "Targets of issue 2",
            "rate ≥ 15% of raw · SQLite",
            "37.9% (63,403 vs 167,162 ev/s) (met)",
            "40.1% (70,000 vs 174,000 ev/s) (met)",
        ],
        [
            "Targets of issue 2",
            "rate ≥ 15% of raw · PostgreSQL",
            "12.0% (20,000 vs 166,000 ev/s) (not met)",
            "not measured in this run",
        ],
    ]


def test_other_figures_are_matched_by_row_and_column_and_settings_are_not_figures() -> None:
    rows = previous.compared_figures(BEFORE, NOW)
    row = "SQLite · synchronous=NORMAL"
    assert ["Latency (ms)", row, "p50", "4.90", "1.80"] in rows
    assert ["Latency (ms)", f"{row} (row 2)", "p99", "150.29", "7.0"] in rows
    assert not [r for r in rows if r[2] == "connection"]
    assert len(rows) == 6  # events stored, p50 and p99 of two rows
