"""The benchmark's other sections, each measured by its own module in a process of its own.

``python -m bench`` measures recording, reading back, the read models and the instruments in
its own process; then it runs each section below as ``python -m bench.<module>`` (a fresh
interpreter: no section inherits another's heap, caches or threads) and puts the Markdown it
prints into the results. A section that fails is reported as failed, with the end of what it
wrote to stderr; the others still run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from .measure import log
from .stores import Engine

T = TypeVar("T")


@dataclass(frozen=True)
class Section:
    module: str
    title: str
    engines: bool
    """Whether the module takes ``--engines`` and ``--pg-url``."""
    writes_results: bool = False
    """Whether it writes itself into bench/RESULTS.md unless given ``--output``."""


SECTIONS = (
    Section("startup", "Start-up of a command (issue 15)", engines=False),
    Section("http", "The HTTP API (issue 13)", engines=True),
    Section("feed", "The change feed (issue 13)", engines=True),
    Section("web", "The company page and the report (issue 14)", engines=False),
    Section("ocf", "OCF import (issue 12)", engines=True, writes_results=True),
    Section("onto", "Recording onto companies already recorded", engines=True, writes_results=True),
    Section("late", "A log with late facts", engines=True, writes_results=True),
)
NAMES = tuple(s.module for s in SECTIONS)


@dataclass
class Measured:
    section: Section
    seconds: float
    markdown: list[str]
    failure: str | None = None


class SectionRun:
    """One run of a section measured by its own module on the engines (``python -m
    bench.<module>``): its arguments (``--quick``, ``--engines``, ``--pg-url``, ``--repeat``,
    ``--output``), when it began, and what every such section does with them."""

    def __init__(
        self, module: str, description: str, smaller: str, repeats: str, argv: list[str]
    ) -> None:
        from . import report
        from .__main__ import _default_pg_url

        parser = argparse.ArgumentParser(prog=f"python -m bench.{module}", description=description)
        parser.add_argument("--quick", action="store_true", help=f"{smaller} (a smoke test)")
        parser.add_argument("--engines", default="sqlite,postgres")
        parser.add_argument("--pg-url", default=_default_pg_url())
        parser.add_argument("--repeat", type=int, default=3, help=f"{repeats} (default 3)")
        parser.add_argument("--output", type=Path)
        self.args = parser.parse_args(argv)
        self.names = [e.strip() for e in self.args.engines.split(",") if e.strip()]
        if (
            not self.names
            or any(n not in ("sqlite", "postgres") for n in self.names)
            or self.args.repeat < 1
        ):
            parser.error("--engines takes sqlite and/or postgres; --repeat at least 1")
        self.command = " ".join([f"python -m bench.{module}", *argv])
        self.started, self.load = report.now(), report.load_average()

    @property
    def quick(self) -> bool:
        return bool(self.args.quick)

    @property
    def repeat(self) -> int:
        return int(self.args.repeat)

    def on_engines(self, directory: Path, measure: Callable[[Engine], T]) -> list[T]:
        """``measure`` on each engine named, opened (and closed) for it."""
        from .__main__ import _open_engines

        engines = _open_engines(self.names, directory, self.args.pg_url)
        try:
            return [measure(engine) for engine in engines]
        finally:
            for engine in engines:
                engine.close()

    def publish(
        self,
        section: str,
        quick: str,
        aside: str,
        markdown: Callable[[Callable[..., list[str]], list[str]], list[str]],
    ) -> None:
        """Print the section's Markdown (``markdown(table, heading)``: ``quick`` says what
        --quick changed, ``aside`` follows the command) and write it at the end of
        ``--output`` (default: bench/RESULTS.md, not with ``--quick``) in place of the
        section headed ``section``."""
        from . import instruments, report
        from .__main__ import DEFAULT_OUTPUT

        heading = report.run_heading(
            self.started, self.load, self.command, quick if self.quick else None, aside
        )
        lines = markdown(report.table, heading)
        print("\n".join(lines))
        output: Path | None = self.args.output or (None if self.quick else DEFAULT_OUTPUT)
        if output is not None:
            instruments.write_section(output, lines, section)
            log(f"wrote the section into {output}")


def run(
    names: list[str], *, quick: bool, engines: list[str], pg_url: str, timeout: float = 3600
) -> list[Measured]:
    """Run the sections named (in ``SECTIONS`` order)."""
    measured = []
    for section in SECTIONS:
        if section.module not in names:
            continue
        argv = [sys.executable, "-m", f"bench.{section.module}"]
        if quick:
            argv.append("--quick")
        if section.engines:
            argv += ["--engines", ",".join(engines), "--pg-url", pg_url]
        with tempfile.TemporaryDirectory(prefix="corpledger-bench-section-") as tmp:
            if section.writes_results:
                output = Path(tmp) / "section.md"
                output.write_text("", encoding="utf-8")
                argv += ["--output", str(output)]
            log(f"section {section.module}: {' '.join(argv[1:])}")
            started = time.perf_counter()
            try:
                done = subprocess.run(
                    argv, capture_output=True, text=True, timeout=timeout, check=False
                )
            except subprocess.TimeoutExpired:
                measured.append(
                    Measured(section, timeout, [], f"did not finish in {timeout:.0f} s")
                )
                continue
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            tail = " / ".join(done.stderr.strip().splitlines()[-3:])
            failure = f"exited {done.returncode}: {tail}"
            log(f"section {section.module} FAILED: {failure}")
            measured.append(Measured(section, seconds, [], failure))
        else:
            measured.append(Measured(section, seconds, _demoted(done.stdout)))
    return measured


def _demoted(text: str) -> list[str]:
    """A section's Markdown under the results' own ``##`` heading: its headings one level
    down."""
    return [f"#{line}" if line.startswith("#") else line for line in text.rstrip().splitlines()]


def markdown(measured: list[Measured]) -> list[str]:
    out: list[str] = []
    for m in measured:
        out += ["", f"## {m.section.title}", ""]
        out.append(
            f"`python -m bench.{m.section.module}`, in a process of its own ({m.seconds:.0f} s)."
        )
        out.append("")
        if m.failure is not None:
            out.append(f"**Failed**: {m.failure}")
        else:
            out += m.markdown
    return out
