"""The change feed's figures, each beside the in-process reader and the raw driver in the
same run.

- **Reading the log through the feed**: a store of 100,000 events (1,000 companies of 100),
  read whole through ``Feed.events`` in pages of 1,000 and of 100 (each page one query,
  every event decoded and built as the ``history`` event the feed hands out), beside the same
  events read in-process through ``EventLog``: ``whole_log`` (one query, what ``replay``
  reads) and ``events_after`` pages of 1,000, each state decoded; and the raw driver
  selecting every state and json-decoding it. Also ``corpledger events`` printing the whole
  log to ``/dev/null`` (a process, its start included).
- **A consumer over HTTP**: ``corpledger serve`` in a process of its own, and a client with a
  reader token reading the whole log through ``GET /v1/events?after=N&limit=L`` on one
  keep-alive connection (L = 1,000 and ``MAX_PAGE``), each page parsed (``json.loads``) and
  the next asked after its ``end``; and through ``GET /v1/events/stream`` (Server-Sent Events),
  each event's ``data`` parsed, until the last position. Target: ≥ 0.5× the rate of
  ``Feed.events`` in pages of 1,000 in this process (the in-process Python API), read in the
  same run, the readers taking turns.
- **Waking a follower**: a waiter (``Feed.wait_for``) on one ledger while another ledger
  records one event; the time from the start of the writer's ``record`` call to the waiter's
  return, beside the ``record`` call itself (PostgreSQL: NOTIFY at the commit; SQLite: a
  poll every 50 ms).

``python -m bench.feed [--quick] [--engines sqlite,postgres] [--repeat N]`` prints the section
as Markdown; it writes no file. ``run`` returns the figures, ``markdown`` renders them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

from ledger import Ledger
from ledger.feed import MAX_PAGE, Feed
from ledger.http.tokens import Role, TokenStore
from ledger.persistence.log import decode

from .http import Server, send
from .instruments import _met
from .measure import log
from .read_models import record
from .stores import Engine
from .workload import write_multi

WAKES = 20
"""Wake-ups measured per engine."""

IN_PROCESS = "feed, pages of 1,000"
"""The in-process reader the HTTP consumer is held to."""
HTTP_PAGES = "GET /v1/events, pages of 1,000"
HTTP_WAYS = (HTTP_PAGES, f"GET /v1/events, pages of {MAX_PAGE:,}", "GET /v1/events/stream (SSE)")
RATIO_TARGET = 0.5


@dataclass
class FeedFigures:
    engine: str
    events: int
    seconds: dict[str, list[float]] = field(default_factory=dict)
    wake: list[float] = field(default_factory=list)
    record: list[float] = field(default_factory=list)

    def rate(self, way: str) -> float:
        return self.events / median(self.seconds[way])

    def ratio(self, way: str) -> float:
        """``way``'s rate over the in-process feed's (1.0: as fast)."""
        return self.rate(way) / self.rate(IN_PROCESS)


def _timed(read: Callable[[], int], expected: int) -> float:
    started = time.perf_counter()
    found = read()
    seconds = time.perf_counter() - started
    assert found == expected, (found, expected)
    return seconds


def _feed(ledger: Ledger, page: int) -> Callable[[], int]:
    return lambda: sum(1 for _ in Feed(ledger).events(page=page))


def _whole_log(ledger: Ledger) -> int:
    return sum(
        1 for rows in ledger.store.log.whole_log(1_000) for p, c, _, s in rows if decode(p, c, s)
    )


def _log_pages(ledger: Ledger) -> int:
    after, found = 0, 0
    while rows := ledger.store.log.events_after(after, 1_000):
        found += sum(1 for p, c, _, s in rows if decode(p, c, s))
        after = rows[-1][0]
    return found


def _http_pages(server: Server, headers: dict[str, str], page: int) -> Callable[[], int]:
    def read() -> int:
        conn, after, found = server.connection(), 0, 0
        try:
            while True:
                path = f"/v1/events?after={after}&limit={page}"
                status, body = send(conn, "GET", path, headers)
                assert status == 200, (status, body[:200])
                answer = json.loads(body)
                if not answer["events"]:
                    return found
                found += len(answer["events"])
                after = answer["end"]
        finally:
            conn.close()

    return read


def _http_stream(server: Server, headers: dict[str, str], last: int) -> Callable[[], int]:
    """Read the stream up to position ``last`` (it never ends by itself)."""

    def read() -> int:
        conn, found = server.connection(), 0
        try:
            conn.request("GET", "/v1/events/stream", headers=headers)
            answer = conn.getresponse()
            assert answer.status == 200, answer.status
            for line in answer:
                if line.startswith(b"data: "):
                    found += 1
                    if json.loads(line[6:])["position"] >= last:
                        return found
            return found
        finally:
            conn.close()

    return read


def _cli(url: str) -> Callable[[], int]:
    def run() -> int:
        with open("/dev/null", "w") as devnull:
            subprocess.run(
                [sys.executable, "-m", "ledger", "--db", url, "events"], stdout=devnull, check=True
            )
        with Ledger.open(url) as ledger:
            return ledger.known_position()

    return run


def _wakes(url: str, times: int) -> tuple[list[float], list[float]]:
    """Seconds from the start of another ledger's ``record`` to the waiter's return, and of
    the ``record`` calls, ``times`` times."""
    wakes, records = [], []
    with Ledger.open(url) as ledger, Feed(ledger) as feed, Ledger.open(url) as writer:
        for n in range(times):
            last = ledger.known_position()
            started: list[float] = []

            def write(n: int = n, started: list[float] = started) -> None:
                time.sleep(0.02)
                started.append(time.perf_counter())
                event = {"type": "BoardSizeSet", "company": "c0001", "seats": n + 1}
                writer.record([{**event, "effective_date": "2030-01-01"}], project=False)
                records.append(time.perf_counter() - started[0])

            thread = threading.Thread(target=write)
            thread.start()
            assert feed.wait_for(last, 30)
            woke = time.perf_counter()
            thread.join()
            wakes.append(woke - started[0])
    return wakes, records


def measure(engine: Engine, directory: Path, *, quick: bool, repeat: int) -> FeedFigures:
    companies = 100 if quick else 1_000
    file = write_multi(directory / f"feed-{engine.key}.jsonl", companies, 100)
    url = engine.fresh()
    try:
        log(f"{engine.name}: recording {file.events:,} events")
        record(url, file.path)
        figures = FeedFigures(engine.name, file.events)
        with Ledger.open(url) as ledger:
            ways: dict[str, Callable[[], int]] = {  # IN_PROCESS: below, in turns with HTTP
                "feed, pages of 100": _feed(ledger, 100),
                "EventLog.whole_log + decode": lambda: _whole_log(ledger),
                "EventLog.events_after pages of 1,000 + decode": lambda: _log_pages(ledger),
            }
            for way, read in ways.items():
                log(f"{engine.name}: {way}")
                figures.seconds[way] = [_timed(read, file.events) for _ in range(repeat)]
            tokens = TokenStore(ledger.engine)
            reader = {"Authorization": f"Bearer {tokens.create('bench-feed', Role.reader)}"}
            last = ledger.known_position()
        figures.seconds["raw driver: select + json.loads"] = [
            engine.raw_read_log(url) for _ in range(repeat)
        ]
        server = Server(url, 1)
        try:
            with Ledger.open(url) as ledger:
                http: dict[str, Callable[[], int]] = {
                    IN_PROCESS: _feed(ledger, 1_000),
                    HTTP_WAYS[0]: _http_pages(server, reader, 1_000),
                    HTTP_WAYS[1]: _http_pages(server, reader, MAX_PAGE),
                    HTTP_WAYS[2]: _http_stream(server, reader, last),
                }
                log(f"{engine.name}: over HTTP, taking turns with the in-process feed")
                for _ in range(repeat):
                    for way, read in http.items():
                        figures.seconds.setdefault(way, []).append(_timed(read, file.events))
        finally:
            server.stop()
        log(f"{engine.name}: corpledger events > /dev/null")
        figures.seconds["`corpledger events` > /dev/null"] = [_timed(_cli(url), file.events)]
        log(f"{engine.name}: {WAKES} wake-ups")
        figures.wake, figures.record = _wakes(url, WAKES)
        return figures
    finally:
        engine.drop(url)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def markdown(results: list[FeedFigures], table: Callable[..., list[str]]) -> list[str]:
    out = ["## The change feed", ""]
    if not results:
        return out
    ways = list(results[0].seconds)
    header = ["reading the whole log", *(f"{r.engine} (events/s)" for r in results)]
    rows = [[way, *(f"{r.rate(way):,.0f}" for r in results)] for way in ways]
    out += [f"{results[0].events:,} events; median of the runs.", "", *table(header, rows), ""]
    header = ["target", "engine", "measured", ""]
    rows = [
        [f"{way} ≥ {RATIO_TARGET}× {IN_PROCESS} in-process", r.engine,
         f"{r.ratio(way):.2f}× ({r.rate(way):,.0f} vs {r.rate(IN_PROCESS):,.0f} events/s)",
         _met(r.ratio(way) >= RATIO_TARGET) if way == HTTP_PAGES else "(no target)"]
        for r in results
        for way in HTTP_WAYS
    ]  # fmt: skip
    out += [*table(header, rows), ""]
    out += [
        "HTTP: `corpledger serve` (one worker) in a process of its own, one client on a "
        "keep-alive connection with a reader token, each page parsed with `json.loads` before "
        "the next is asked for (after its `end`); the stream read until the last position, each "
        "event's `data` parsed. The in-process feed was read in turns with them, in the same "
        "run.",
        "",
    ]
    header = ["waking a follower (ms)", *(r.engine for r in results)]
    rows = [
        ["record call start → wait_for returns, p50", *(_ms(median(r.wake)) for r in results)],
        ["the same, max", *(_ms(max(r.wake)) for r in results)],
        ["record call alone, p50", *(_ms(median(r.record)) for r in results)],
    ]
    out += [*table(header, rows), ""]
    return out


def run(
    names: list[str], pg_url: str, directory: Path, *, quick: bool, repeat: int = 3
) -> tuple[list[FeedFigures], dict[str, str]]:
    """The figures of each engine named, and the engines' versions."""
    from .__main__ import _open_engines

    engines = _open_engines(names, directory, pg_url)
    try:
        results = [measure(engine, directory, quick=quick, repeat=repeat) for engine in engines]
        return results, {engine.name: engine.version() for engine in engines}
    finally:
        for engine in engines:
            engine.close()


def main(argv: list[str] | None = None) -> int:
    from . import report
    from .__main__ import _default_pg_url

    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="python -m bench.feed",
        description="The change feed's figures beside EventLog and the raw drivers (printed).",
    )
    parser.add_argument("--quick", action="store_true", help="10,000 events (a smoke test)")
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--pg-url", default=_default_pg_url())
    parser.add_argument("--repeat", type=int, default=3, help="runs per reader (default 3)")
    args = parser.parse_args(argv)
    names = [e.strip() for e in args.engines.split(",") if e.strip()]
    if not names or any(n not in ("sqlite", "postgres") for n in names) or args.repeat < 1:
        parser.error("--engines takes sqlite and/or postgres; --repeat at least 1")
    started, machine = report.now(), report.machine()
    with tempfile.TemporaryDirectory(prefix="corpledger-bench-") as tmp:
        results, versions = run(names, args.pg_url, Path(tmp), quick=args.quick, repeat=args.repeat)
    finished = report.now()
    lines = markdown(results, report.table)
    lines += [
        f"Run {started:%Y-%m-%d %H:%M} UTC ({(finished - started).seconds} s) with "
        f"`{' '.join(['python -m bench.feed', *argv])}`; corpledger {report.code_revision()}; "
        f"{', '.join(f'{k} {v}' for k, v in versions.items())}; "
        f"{', '.join(f'{k}: {v}' for k, v in machine.items())}, "
        f"at end: {report.load_average()}.",
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
