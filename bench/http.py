"""The HTTP API's figures, each beside the in-process call in the same run.

- **GET cap-table**: a company of 1,000 holders (``write_big``: 10,000 events), read models
  caught up; ``corpledger serve`` in a process of its own (``--workers``, default 2) and 8
  client threads, each on a keep-alive connection, asking ``GET
  /v1/companies/big-corp/cap-table?as_of=D`` with a reader token, D from a set of random dates
  over the history (``VIEWS``), beside ``ledger.cap_table`` in this process on the same dates,
  one call at a time (p50). Three passes, p50 and p99 of the request times the clients see:
  **cold**, each date asked for the first time (the server computes every answer); **again**,
  each client asking the whole set once more (each worker keeps a cache of its own, so a
  worker's first sight of a date is still a miss); then **warm**, dates drawn at random from
  the same set, as a dashboard asks the same views again (the server's answer cache serves
  them, checking at each request that the ledger has not moved). The targets are judged on
  the warm pass, the cold one shown beside it: p50 ≤ 10 ms, p99 ≤ 50 ms, p50 ≤ 3× the
  in-process p50. Also one client alone, warm (the API's own cost, without queueing for the
  cores).
- **POST /v1/events**: batches of 1,000 events (a company registered, its class and 998
  issuances) posted one after the other as JSON by a writer, each followed by
  ``Ledger.record`` of the same batch in this process on a database of its own (the sides
  take turns); both bring the read models up to date. Target: the API's events/s ≥ 0.5× the
  in-process call's.

``python -m bench.http [--quick] [--engines sqlite,postgres] [--workers N]`` prints the
section as Markdown; it writes no file. ``run`` returns the figures, ``markdown`` renders
them.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from statistics import median
from typing import Any

from ledger import Ledger
from ledger.http.tokens import Role, TokenStore

from .instruments import _met, _ms
from .measure import log
from .read_models import BIG_COMPANY, p99, record, vacuum, write_big
from .stores import Engine
from .workload import START

CLIENTS = 8
VIEWS = 200
"""The distinct dates asked for (the cold pass asks each once; ``--quick``: a quarter)."""
BATCH = 1_000
P50_TARGET = 0.010
P99_TARGET = 0.050
IN_PROCESS_TIMES = 3.0
POST_RATIO_TARGET = 0.5


@dataclass
class HttpFigures:
    engine: str
    workers: int
    http: list[float] = field(default_factory=list)  # warm
    cold: list[float] = field(default_factory=list)
    repeat: list[float] = field(default_factory=list)
    one_client: list[float] = field(default_factory=list)
    in_process: list[float] = field(default_factory=list)
    post: list[float] = field(default_factory=list)
    record: list[float] = field(default_factory=list)

    @property
    def post_ratio(self) -> float:
        """The API's events/s over the in-process call's (1.0: as fast)."""
        return median(self.record) / median(self.post)


# --- the server ---


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``corpledger serve`` on a free port of this machine, until ``stop``."""

    def __init__(self, url: str, workers: int) -> None:
        self.port = _free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ledger", "--db", url, "serve", "--port", str(self.port),
             "--workers", str(workers)],
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.request("GET", "/healthz", {})[0] == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"bench: corpledger serve did not start: {self.process.stderr}")
            time.sleep(0.1)

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)

    def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None = None
    ) -> tuple[int, bytes]:
        conn = self.connection()
        try:
            return send(conn, method, path, headers, body)
        finally:
            conn.close()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()


def send(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None = None,
) -> tuple[int, bytes]:
    conn.request(method, path, body=body, headers=headers)
    answer = conn.getresponse()
    return answer.status, answer.read()


# --- the workload ---


def _batches(count: int) -> list[list[dict[str, Any]]]:
    """``count`` batches of ``BATCH`` events, each a company of its own."""
    out = []
    for number in range(count):
        company = f"posted-{number:04d}"
        day = START.isoformat()
        events: list[dict[str, Any]] = [
            {"type": "CompanyRegistered", "company": company, "name": company,
             "effective_date": day},
            {"type": "ShareClassCreated", "company": company, "share_class": "common",
             "name": "Common", "kind": "common", "effective_date": day},
        ]  # fmt: skip
        events += [
            {"type": "SharesIssued", "company": company, "holder": f"holder-{n:04d}",
             "share_class": "common", "shares": 1_000 + n,
             "effective_date": (START + timedelta(days=n)).isoformat()}
            for n in range(BATCH - 2)
        ]  # fmt: skip
        out.append(events)
    return out


def _get_concurrently(
    server: Server,
    headers: dict[str, str],
    dates: list[date],
    clients: int = CLIENTS,
    *,
    spread: bool = True,
) -> tuple[list[float], list[str]]:
    """Each of ``clients`` threads asks for its share of the dates (every ``clients``-th;
    without ``spread``, the ``clients``-th part, in order) on a connection of its own."""
    share = len(dates) // clients
    seconds: list[float] = []
    problems: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def client(number: int) -> None:
        conn = server.connection()
        mine = []
        try:
            start.wait()
            mine_to_ask = (
                dates[number::clients] if spread else dates[number * share : (number + 1) * share]
            )
            for day in mine_to_ask:
                path = f"/v1/companies/{BIG_COMPANY}/cap-table?as_of={day.isoformat()}"
                started = time.perf_counter()
                status, body = send(conn, "GET", path, headers)
                mine.append(time.perf_counter() - started)
                if status != 200:
                    with lock:
                        problems.append(f"{status} {body[:200]!r}")
        finally:
            conn.close()
        with lock:
            seconds.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return seconds, problems


def _post_in_turns(
    server: Server,
    writer: dict[str, str],
    engine: Engine,
    batches: list[list[dict[str, Any]]],
    figures: HttpFigures,
) -> None:
    """Each batch posted, then recorded by ``Ledger.record`` in this process on a database of
    its own: the two sides take turns, so a busy moment of the machine weighs on both."""
    other = engine.fresh()
    conn = server.connection()
    try:
        with Ledger.open(other) as ledger:
            for batch in batches:
                body = json.dumps(batch).encode()
                started = time.perf_counter()
                status, answer = send(conn, "POST", "/v1/events", writer, body)
                figures.post.append(time.perf_counter() - started)
                if status != 201:
                    raise SystemExit(f"bench: POST failed: {status} {answer[:300]!r}")
                started = time.perf_counter()
                ledger.record(batch, actor="bench")
                figures.record.append(time.perf_counter() - started)
    finally:
        conn.close()
        engine.drop(other)


def measure(
    engine: Engine, directory: Path, *, quick: bool, workers: int, queries: int
) -> HttpFigures:
    figures = HttpFigures(engine.name, workers)
    big = write_big(directory / "http-big.jsonl")
    rng = random.Random(23)
    span = (big.last_date - big.first_date).days
    days = rng.sample(range(span + 1), (VIEWS // 4 if quick else VIEWS) + CLIENTS * 2)
    dates = [big.first_date + timedelta(days=n) for n in days]
    # Warming the server asks for dates outside the measured set, so nothing it keeps
    # answers a measured request.
    warming, views = dates[: CLIENTS * 2], dates[CLIENTS * 2 :]
    url = engine.fresh()
    try:
        log(f"  {engine.name}: recording {big.events:,} events of {BIG_COMPANY}")
        record(url, big.path)
        with Ledger.open(url) as ledger:
            assert ledger.read_models is not None
            ledger.read_models.catch_up()
            vacuum(url)
            tokens = TokenStore(ledger.engine)
            reader = {"Authorization": f"Bearer {tokens.create('bench-reader', Role.reader)}"}
            writer = {
                "Authorization": f"Bearer {tokens.create('bench-writer', Role.writer)}",
                "Content-Type": "application/json",
            }
            for day in warming:  # warm, as the server will be
                ledger.cap_table(BIG_COMPANY, as_of=day)
            for day in views:
                started = time.perf_counter()
                ledger.cap_table(BIG_COMPANY, as_of=day)
                figures.in_process.append(time.perf_counter() - started)
        server = Server(url, workers)
        try:
            problems = _get_concurrently(server, reader, warming)[1]
            figures.cold, found = _get_concurrently(server, reader, views)
            figures.repeat, again = _get_concurrently(server, reader, views * CLIENTS, spread=False)
            warm = [rng.choice(views) for _ in range(queries)]
            figures.http, more = _get_concurrently(server, reader, warm)
            one, alone = _get_concurrently(server, reader, warm[: len(warm) // 4], 1)
            figures.one_client, problems = one, problems + found + again + more + alone
            if problems:
                raise SystemExit(f"bench: GET cap-table failed: {problems[0]}")
            log(
                f"  {engine.name}: GET cap-table ({CLIENTS} clients) warm p50 "
                f"{median(figures.http) * 1000:.2f} ms, p99 {p99(figures.http) * 1000:.2f} ms; "
                f"cold p50 {median(figures.cold) * 1000:.2f} ms, p99 "
                f"{p99(figures.cold) * 1000:.2f} ms; again p50 {median(figures.repeat) * 1000:.2f}"
                f" ms, p99 {p99(figures.repeat) * 1000:.2f} ms; one client warm p50 "
                f"{median(figures.one_client) * 1000:.2f} ms; in-process p50 "
                f"{median(figures.in_process) * 1000:.2f} ms"
            )
            _post_in_turns(server, writer, engine, _batches(5 if quick else 10), figures)
        finally:
            server.stop()
        log(
            f"  {engine.name}: POST {BATCH:,} events p50 {median(figures.post) * 1000:.0f} ms; "
            f"Ledger.record p50 {median(figures.record) * 1000:.0f} ms "
            f"({figures.post_ratio:.2f}×)"
        )
        return figures
    finally:
        engine.drop(url)


# --- the report ---


def markdown(results: list[HttpFigures], table: Any) -> list[str]:
    out = ["## The HTTP API", ""]
    rows = []
    for r in results:
        p50, inside, cold = median(r.http), median(r.in_process), median(r.cold)
        rows += [
            [f"GET cap-table p50 ≤ {_ms(P50_TARGET)} ms", r.engine,
             f"{_ms(p50)} (cold {_ms(cold)})", _met(p50 <= P50_TARGET)],
            [f"GET cap-table p99 ≤ {_ms(P99_TARGET)} ms", r.engine,
             f"{_ms(p99(r.http))} (cold {_ms(p99(r.cold))})", _met(p99(r.http) <= P99_TARGET)],
            [f"GET cap-table p50 ≤ {IN_PROCESS_TIMES:g}× in-process", r.engine,
             f"{p50 / inside:.2f}× ({_ms(p50)} vs {_ms(inside)} ms; cold {cold / inside:.2f}×)",
             _met(p50 <= IN_PROCESS_TIMES * inside)],
            ["GET cap-table p50 / p99, each client asking the set again (no target)", r.engine,
             f"{_ms(median(r.repeat))} / {_ms(p99(r.repeat))}", ""],
            ["GET cap-table p50, one client, warm, beside in-process (no target)", r.engine,
             f"{median(r.one_client) / inside:.2f}× ({_ms(median(r.one_client))} vs "
             f"{_ms(inside)} ms)", ""],
            [f"POST of {BATCH:,}-event batches ≥ {POST_RATIO_TARGET}× Ledger.record", r.engine,
             f"{r.post_ratio:.2f}× ({BATCH / median(r.post):,.0f} vs "
             f"{BATCH / median(r.record):,.0f} events/s)",
             _met(r.post_ratio >= POST_RATIO_TARGET)],
        ]  # fmt: skip
    out += table(["target", "engine", "measured (ms): warm (cold)", ""], rows)
    first = results[0] if results else None
    out += [
        "",
        f"GET: `corpledger serve --workers {first.workers if first else 1}`, "
        f"{CLIENTS} client threads on keep-alive connections, a reader token, a company of "
        "1,000 holders (10,000 events; read models caught up), a set of "
        f"{len(first.cold) if first else 0} random dates over its history. Cold: each date "
        "asked for once, for the first time (every answer computed). Again: each client asks "
        "the whole set once more (each worker has a cache of its own: its first sight of a "
        "date is a miss). Warm, on which the targets are judged: "
        f"{len(first.http) if first else 0} requests for dates drawn from the same set, as a "
        "dashboard asks the same views again (the answer cache serves them, each request "
        "checking that the ledger has not moved). Request times as the clients see them. One "
        "client: a quarter as many warm requests alone (the API's own cost, without queueing "
        "for the cores). In-process: "
        "`ledger.cap_table` on the same dates, one at a time. POST: batches of "
        f"{BATCH:,} events (a new company each), one after the other, as JSON, each followed "
        "by `Ledger.record` of the same batch in this process on a database of its own; read "
        "models brought up to date in both.",
        "",
    ]
    return out


def run(
    names: list[str], pg_url: str, directory: Path, *, quick: bool, workers: int = 2
) -> tuple[list[HttpFigures], dict[str, str]]:
    """The figures of each engine named, and the engines' versions."""
    from .__main__ import _open_engines

    engines = _open_engines(names, directory, pg_url)
    try:
        results = [
            measure(
                engine, directory, quick=quick, workers=workers, queries=400 if quick else 2_000
            )
            for engine in engines
        ]
        return results, {engine.name: engine.version() for engine in engines}
    finally:
        for engine in engines:
            engine.close()


def main(argv: list[str] | None = None) -> int:
    from . import report
    from .__main__ import _default_pg_url

    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="python -m bench.http",
        description="The HTTP API's figures beside the in-process calls (printed).",
    )
    parser.add_argument("--quick", action="store_true", help="fewer requests (a smoke test)")
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--pg-url", default=_default_pg_url())
    parser.add_argument("--workers", type=int, default=2, help="server processes (default 2)")
    args = parser.parse_args(argv)
    names = [e.strip() for e in args.engines.split(",") if e.strip()]
    if not names or any(n not in ("sqlite", "postgres") for n in names) or args.workers < 1:
        parser.error("--engines takes sqlite and/or postgres; --workers at least 1")
    started, machine = report.now(), report.machine()
    with tempfile.TemporaryDirectory(prefix="corpledger-bench-") as tmp:
        results, versions = run(
            names, args.pg_url, Path(tmp), quick=args.quick, workers=args.workers
        )
    finished = report.now()
    lines = markdown(results, report.table)
    lines += [
        f"Run {started:%Y-%m-%d %H:%M} UTC ({(finished - started).seconds} s) with "
        f"`{' '.join(['python -m bench.http', *argv])}`; corpledger {report.code_revision()}; "
        f"{', '.join(f'{k} {v}' for k, v in versions.items())}; "
        f"{', '.join(f'{k}: {v}' for k, v in machine.items())}, "
        f"at end: {report.load_average()}.",
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
