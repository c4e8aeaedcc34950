"""``python -m bench [--quick] [--engines sqlite,postgres] [--pg-url URL] [--output PATH]
[--sections startup,http,feed,web,ocf,onto,late] [--compare-with CHECKOUT]``.

Generates the event files into a temp directory, measures each engine (fresh databases,
created and dropped here), then runs the other sections (``bench/sections.py``: start-up,
HTTP API, change feed, web page, OCF import), each in a process of its own, prints the
results as Markdown with every target of the previous results beside this run's figure
(``bench/previous.py``), and writes them to ``bench/RESULTS.md`` (or ``--output``).
With ``--quick`` the workload is ten times smaller and nothing is written unless
``--output`` is given, so a smoke run never replaces the recorded results. Exit code 0
whether or not the targets are met (the table says which),
2 for a usage error or an unreachable PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import psycopg

from . import (
    before_after,
    bulk,
    chain,
    instruments,
    issue15,
    measure,
    previous,
    read_models,
    report,
    sections,
)
from .measure import log
from .stores import Engine, PostgresEngine, SQLiteEngine
from .workload import SINGLE_COMPANY, Workload, write_multi, write_single

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "RESULTS.md"
ENGINES = ("sqlite", "postgres")


def _default_pg_url() -> str:
    return os.environ.get("CORPLEDGER_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="corpledger's benchmark: the API beside the raw drivers, same run.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a ten times smaller workload (a smoke test)"
    )
    parser.add_argument(
        "--engines",
        default=",".join(ENGINES),
        help="comma-separated: sqlite, postgres (default: both)",
    )
    parser.add_argument(
        "--pg-url",
        default=_default_pg_url(),
        help="the PostgreSQL server; fresh databases are created and dropped on it "
        "(default: $CORPLEDGER_TEST_PG_URL or postgresql://postgres@127.0.0.1:5432/postgres)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help=f"where to write the results (default: {DEFAULT_OUTPUT.name} beside this "
        "module; with --quick, nowhere unless given)",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per throughput figure (median; default 3)"
    )
    parser.add_argument(
        "--run-timeout",
        type=float,
        default=60.0,
        help="seconds after which an API run is aborted and reported as failed (default 60)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=10_000,
        help="events per record() call when a file's one-batch API run failed (default 10000)",
    )
    parser.add_argument(
        "--large-store",
        type=int,
        default=None,
        help="events in the large store of the read models' latency and memory figures "
        "(default 1,000,000; 100,000 with --quick)",
    )
    parser.add_argument(
        "--large-record",
        type=int,
        default=None,
        help="events in the file of the large `corpledger record` run (default 1,000,000; "
        "100,000 with --quick)",
    )
    parser.add_argument(
        "--no-profile",
        action="store_true",
        help="skip the cProfile run of the SQLite API (on by default when SQLite is measured)",
    )
    parser.add_argument(
        "--compare-with",
        type=Path,
        help="a checkout of the code before issue 11 with its .venv installed (make install): "
        "recording and rebuilding by both, alternating (bench/before_after.py)",
    )
    parser.add_argument(
        "--sections",
        default=",".join(sections.NAMES),
        help="comma-separated sections run after the main one, each in a process of its own: "
        f"{', '.join(sections.NAMES)}, or none (default: all)",
    )
    args = parser.parse_args(argv)
    args.sections = [s.strip() for s in args.sections.split(",") if s.strip() not in ("", "none")]
    if unknown_sections := [s for s in args.sections if s not in sections.NAMES]:
        parser.error(
            f"--sections takes {', '.join(sections.NAMES)} or none, not {unknown_sections}"
        )
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = [e for e in engines if e not in ENGINES]
    if unknown or not engines:
        parser.error(f"--engines takes sqlite and/or postgres, not {args.engines!r}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.run_timeout <= 0 or args.batch_size < 1:
        parser.error("--run-timeout and --batch-size must be positive")
    if args.compare_with is not None and (problem := before_after.usable(args.compare_with)):
        parser.error(problem)
    args.engines = engines
    return args


def _open_engines(names: list[str], directory: Path, pg_url: str) -> list[Engine]:
    engines: list[Engine] = []
    for name in names:
        if name == "sqlite":
            engines.append(SQLiteEngine(directory))
        else:
            try:
                engines.append(PostgresEngine(pg_url))
            except psycopg.OperationalError as e:
                for engine in engines:
                    engine.close()
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise SystemExit(
                    f"bench: cannot reach PostgreSQL at {pg_url}: {first} "
                    "(start it, pass --pg-url, or use --engines sqlite)"
                ) from None
    return engines


def run(args: argparse.Namespace, argv: list[str]) -> report.Results:
    workload = Workload.quick(args.repeat) if args.quick else Workload(repeat=args.repeat)
    with tempfile.TemporaryDirectory(prefix="corpledger-bench-") as tmp:
        directory = Path(tmp)
        engines = _open_engines(args.engines, directory, args.pg_url)
        try:
            results = report.Results(
                command=report.command_line(argv),
                quick=args.quick,
                started=report.now(),
                versions=report.versions({e.name: e.version() for e in engines}),
                machine=report.machine(),
                workload={},
            )
            log("generating the event files")
            multi = write_multi(
                directory / "multi.jsonl", workload.companies, workload.events_per_company
            )
            single = write_single(directory / "single.jsonl", workload.single_events)
            results.workload = {
                "multi-company file": (
                    f"{multi.events:,} events, {multi.companies:,} companies × "
                    f"{workload.events_per_company} (a CompanyRegistered, a ShareClassCreated, "
                    f"{workload.events_per_company - 2} SharesIssued to up to 4 holders), one "
                    f"company after another, dates increasing; "
                    f"{multi.path.stat().st_size / 1e6:.1f} MB of JSON Lines"
                ),
                "single-company file": (
                    f"{single.events:,} events of `{SINGLE_COMPANY}` in date order "
                    f"({single.first_date} to {single.last_date}): registration, class, "
                    "SharesIssued and about 25% valid SharesTransferred among 40 holders; "
                    f"{single.path.stat().st_size / 1e6:.1f} MB"
                ),
                "runs": (
                    f"{workload.repeat} per figure, API and raw alternating, a fresh database "
                    "each (SQLite: a new file in a temp directory on the local disk; "
                    "PostgreSQL: a new database on the server, dropped afterwards)"
                ),
                "cap-table queries": (
                    f"{workload.queries} random as-of dates between "
                    f"{single.first_date} and {single.last_date}"
                ),
            }
            large_events = args.large_record or (100_000 if args.quick else bulk.LARGE_EVENTS)
            log(f"generating the large file ({large_events:,} events)")
            large_file = bulk.write_large(directory, large_events)
            results.workload["large file"] = (
                f"{large_file.events:,} events, {large_file.companies:,} companies × 100, as the "
                f"multi-company file; {large_file.path.stat().st_size / 1e6:.0f} MB"
            )
            for engine in engines:
                log(f"{engine.name}: {multi.events:,} events, {multi.companies:,} companies")
                results.multi[engine.name], multi_url = measure.throughput(
                    engine,
                    multi,
                    "multi-company",
                    workload.repeat,
                    keep_last=True,
                    timeout=args.run_timeout,
                    batch_size=args.batch_size,
                )
                assert multi_url is not None
                log(f"{engine.name}: `corpledger record`, read models current on return")
                results.issue15.projected[engine.name] = issue15.projected_record(
                    engine,
                    multi,
                    workload.repeat,
                    timeout=args.run_timeout * 4,
                    batch_size=args.batch_size,
                )
                log(f"{engine.name}: the hash chain's cost")
                results.chain[engine.name] = chain.measure(
                    engine, multi, workload.repeat, args.run_timeout
                )
                try:
                    bulk.measure(
                        engine,
                        multi_url,
                        multi.events,
                        large_file,
                        workload.repeat,
                        workload.queries,
                        results.bulk,
                    )
                finally:
                    engine.drop(multi_url)
                log(f"{engine.name}: {single.events:,} events, one company")
                results.single[engine.name], kept = measure.throughput(
                    engine,
                    single,
                    "single company",
                    workload.repeat,
                    keep_last=True,
                    timeout=args.run_timeout,
                    batch_size=args.batch_size,
                )
                assert kept is not None
                try:
                    log(f"{engine.name}: cap-table latency, {workload.queries} queries")
                    results.latency[engine.name] = measure.cap_table_latency(
                        engine, kept, single, SINGLE_COMPANY, workload.queries
                    )
                finally:
                    engine.drop(kept)
            small = 20_000 if args.quick else 100_000
            large = args.large_store or (100_000 if args.quick else 1_000_000)
            results.workload["read models"] = (
                f"rebuild of the multi-company file; `{read_models.BIG_COMPANY}` "
                f"({read_models.BIG_EVENTS:,} events, {read_models.BIG_HOLDERS:,} holders) with "
                f"filler companies of 100 events making up {small:,}, then {large:,} events; "
                f"{workload.queries} cap-table queries at random dates per store size"
            )
            for engine in engines:
                log(f"{engine.name}: read models, rebuild of {multi.events:,} events")
                results.read_models.rebuild[engine.name] = read_models.rebuild_throughput(
                    engine, multi, workload.repeat
                )
                log(f"{engine.name}: read models, a {read_models.BIG_HOLDERS:,}-holder company")
                latencies, memory = read_models.big_company(
                    engine, directory, small, large, workload.queries
                )
                results.read_models.latency[engine.name] = latencies
                results.read_models.memory[engine.name] = memory
            results.instruments = instruments.measure(
                engines,
                directory,
                quick=args.quick,
                repeat=workload.repeat,
                queries=workload.queries,
                compare_with=args.compare_with,
                pg_url=args.pg_url,
            )
            sqlite = next((e for e in engines if e.key == "sqlite"), None)
            if sqlite is not None and not args.no_profile:
                log("SQLite: cProfile of one API run of the multi-company file")
                results.profile = measure.profile_api(sqlite, multi)
            results.finished = report.now()
            results.machine["load average at end"] = report.load_average()
            return results
        finally:
            for engine in engines:
                engine.close()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    results = run(args, argv)
    measured = sections.run(
        args.sections, quick=args.quick, engines=args.engines, pg_url=args.pg_url
    )
    text = report.markdown(results) + "\n".join(sections.markdown(measured)) + "\n"
    output: Path | None = args.output or (None if args.quick else DEFAULT_OUTPUT)
    before = None if args.quick or output is None else previous.read(output)
    if before is not None:
        text += "\n".join(
            [
                "",
                "## Every target of the previous results, before and now",
                "",
                f"Each target row of the {output.name} this run replaces, beside the same "
                "target's figure in this run.",
                "",
                *report.table(
                    ["section", "target · engine", "before", "now"],
                    previous.compared(before, text),
                ),
                "",
                "And every other figure of it (a row named by its cells without a figure):",
                "",
                *report.table(
                    ["section", "row", "column", "before", "now"],
                    previous.compared_figures(before, text),
                ),
                "",
            ]
        )
    print(text)
    if output is None:
        log("--quick: results not written (pass --output PATH to write them)")
    else:
        output.write_text(text, encoding="utf-8")
        log(f"wrote {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
