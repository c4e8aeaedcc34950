"""How fast ``corpledger`` starts: each command a fresh process, beside the bare interpreter.

- ``bare``: ``python -c "import sqlite3, json"``, the floor every process pays.
- ``--help``, ``--version``, ``cap-table --help``: what a person types first.
- ``cap-table --format json``: a one-shot query on a small SQLite ledger (the acme-rockets
  example), what a script runs once per answer.

Each is run ``--repeat`` times (after one untimed warm-up run) and the median wall time is
reported with its ratio to the bare interpreter's; issue 15 targets at most 8x for ``--help``
and 15x for the query.

``python -m bench.startup [--repeat N]`` prints the table as Markdown; it writes no file.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "acme-rockets.yaml"
COMPANY = "acme-rockets"
TARGETS = {"--help": 8, "cap-table --format json": 15}
"""Issue 15's ceilings, as multiples of the bare interpreter's start."""


def corpledger() -> list[str]:
    """The console script beside this interpreter, else ``python -m ledger``."""
    script = Path(sys.executable).parent / "corpledger"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ledger"]


def timed(argv: list[str], repeat: int) -> float:
    """The median seconds of ``repeat`` runs of ``argv`` (each must exit 0)."""
    subprocess.run(argv, check=True, capture_output=True)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return median(times)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each (default 5)")
    parser.add_argument("--quick", action="store_true", help="three runs of each (a smoke test)")
    args = parser.parse_args()
    if args.quick:
        args.repeat = 3
    cli = corpledger()
    with tempfile.TemporaryDirectory() as tmp:
        db = ["--db", f"sqlite:///{Path(tmp) / 'startup.db'}"]
        subprocess.run([*cli, *db, "record", str(EXAMPLE)], check=True, capture_output=True)
        runs = {
            "bare": [sys.executable, "-c", "import sqlite3, json"],
            "--help": [*cli, "--help"],
            "--version": [*cli, "--version"],
            "cap-table --help": [*cli, "cap-table", "--help"],
            "cap-table --format json": [*cli, *db, "cap-table", COMPANY, "--format", "json"],
        }
        medians = {name: timed(argv, args.repeat) for name, argv in runs.items()}
    bare = medians["bare"]
    print(f"Median of {args.repeat} runs each ({' '.join(cli)}).\n")
    print("| run | median ms | × bare | target |  |")
    print("|---|---:|---:|---:|---|")
    for name, seconds in medians.items():
        ratio = seconds / bare
        target = f"≤ {TARGETS[name]}×" if name in TARGETS else ""
        verdict = ("**met**" if ratio <= TARGETS[name] else "**not met**") if target else ""
        print(f"| {name} | {seconds * 1000:.0f} | {ratio:.1f} | {target} | {verdict} |")


if __name__ == "__main__":
    main()
