"""Past one process, on PostgreSQL (README "Past one process"): two ``corpledger serve
--no-project`` processes (the writers take turns between them, as a load balancer in front of
one address would), one ``corpledger projections run --follow`` worker, eight writer clients
racing transfers of the same founders' shares, and two feed consumers: one following the
event stream and dropping its connection every few events (it resumes from ``Last-Event-ID``
on the other server), one long-polling a single company's events from each page's ``end``.

The founders of three companies hold ``FOUNDER_SHARES`` each; a batch transfers ``LOT`` of a
founder's shares to its writer, in one company or two at once, on a random date (so some are
back-dated before others), or issues the founder ``LOT`` more. Transfers overdraw the founders
long before the writers are done, so many batches are refused (rule 3), and concurrent batches
conflict (the server retries; a 409 the writer posts again). After each stored batch the
writer reads its holdings from the other server with ``min_position``: its own write is there.

Afterwards: every stored batch's positions are in the log exactly once and nothing else is (no
refused batch left an event), the read models equal the fold at several dates, no holding is
negative, ``corpledger verify`` passes, and each consumer saw every position of its feed once,
in order."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest

from ledger import Ledger
from ledger.cli import run
from ledger.feed import Feed
from ledger.http.tokens import Role, TokenStore
from tests import builders as b
from tests.e2e.conftest import clean_env, fetch_json, free_port, wait_until_up
from tests.http.conftest import bearer

pytestmark = pytest.mark.postgres

COMPANIES = ("north", "south", "east")
FOUNDER = "founder"
FOUNDER_SHARES = 600
LOT = 50
WRITERS = 8
BATCHES = 8
"""Batches each writer stores or has refused."""
CONFLICT_RETRIES = 20
DROP_EVERY = 15
"""Events the stream consumer reads before it drops the connection and resumes."""
SETTLE = 20.0
"""Seconds the worker and the consumers may take to reach the end of the log afterwards."""
FIRST_DAY = date(2021, 1, 1)


@dataclass
class Writes:
    """What the writers were answered."""

    stored: list[list[tuple[str, int]]] = field(default_factory=list)  # (event_id, position)
    refused: list[list[str]] = field(default_factory=list)  # the refused batches' external ids
    conflicts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def started(*commands: list[str]) -> Iterator[list[subprocess.Popen[str]]]:
    """The commands running (``python -m ledger …``), stopped with SIGTERM at the end; none
    may print a traceback."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "ledger", *command],
            env=clean_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    try:
        yield processes
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        errors = [process.communicate(timeout=30)[1] for process in processes]
    for command, err in zip(commands, errors, strict=True):
        assert "Traceback" not in err, (command, err)


def batch(rng: random.Random, writer: int, n: int) -> list[dict[str, Any]]:
    """A writer's ``n``-th batch, each event with an external id of its own."""
    day = FIRST_DAY + timedelta(days=rng.randrange(365))
    party = f"writer-{writer}"
    if rng.random() < 0.15:
        events = [b.issued(rng.choice(COMPANIES), FOUNDER, "common", LOT, day)]
    else:
        companies = rng.sample(COMPANIES, rng.choice((1, 1, 2)))
        events = [b.transferred(c, FOUNDER, party, "common", LOT, day) for c in companies]
    return [{**e, "external_id": f"{party}-{n}-{i}"} for i, e in enumerate(events)]


def write(
    bases: list[str], writer: int, headers: dict[str, str], writes: Writes, errors: list[str]
) -> None:
    """One writer client: ``BATCHES`` batches, each posted to the next server, then its
    holdings read from the other with ``min_position``, as its own writes make them."""
    rng = random.Random(writer)
    party = f"writer-{writer}"
    mine = Counter[str]()
    for n in range(BATCHES):
        events = batch(rng, writer, n)
        server = (writer + n) % len(bases)
        for _ in range(CONFLICT_RETRIES):
            status, answer = fetch_json(f"{bases[server]}/v1/events", headers, events)
            if status != 409:
                break
            with writes.lock:
                writes.conflicts += 1
        if status == 422:
            if not all("rule 3" in line for line in answer["errors"]):
                errors.append(f"{party} batch {n}: {answer}")
            with writes.lock:
                writes.refused.append([e["external_id"] for e in events])
            continue
        if status != 201 or answer["lagging"] is not None:
            errors.append(f"{party} batch {n}: {status} {answer}")
            return
        stored = [(e["event_id"], e["position"]) for e in answer["recorded"]]
        with writes.lock:
            writes.stored.append(stored)
        for e in events:
            if e["type"] == "SharesTransferred":
                mine[e["company"]] += LOT
        position = max(p for _, p in stored)
        other = bases[(server + 1) % len(bases)]
        url = f"{other}/v1/parties/{party}/holdings?min_position={position}"
        status, holdings = fetch_json(url, headers)
        seen = {p["company"]: p["shares"] for p in holdings.get("positions", [])}
        if status != 200 or holdings["known_at"] < position or seen != dict(mine):
            errors.append(f"{party} read at {position}: {status} {holdings}, not {dict(mine)}")


def follow_stream(
    bases: list[str], headers: dict[str, str], end: list[int]
) -> tuple[list[int], int]:
    """The positions the event stream gave, and the connections it took: it drops the
    connection every ``DROP_EVERY`` events (or after a second of silence) and resumes on the
    next server from the last position seen, until ``end`` holds the end of the log and it
    is reached."""
    seen: list[int] = []
    deadline = time.monotonic() + 60 + SETTLE
    turn = 0
    while not (end and seen and seen[-1] >= end[0]) and time.monotonic() < deadline:
        last = str(seen[-1]) if seen else "0"
        url = f"{bases[turn % len(bases)]}/v1/events/stream"
        turn += 1
        request = urllib.request.Request(url, headers={**headers, "Last-Event-ID": last})
        got = 0
        try:
            with urllib.request.urlopen(request, timeout=1) as stream:
                for raw in stream:
                    line = raw.decode()
                    if line.startswith("data: "):
                        event = json.loads(line.removeprefix("data: "))
                        seen.append(event["position"])
                        got += 1
                        if got == DROP_EVERY or (end and event["position"] >= end[0]):
                            break
        except TimeoutError:
            pass  # a second of silence: look at ``end``, then reconnect
    return seen, turn


def poll_company(base: str, company: str, headers: dict[str, str], end: list[int]) -> list[int]:
    """The positions of ``company``'s events, long-polling page after page from each page's
    ``end``, until ``end`` holds the end of the log and a page reaches it."""
    seen: list[int] = []
    after = 0
    deadline = time.monotonic() + 60 + SETTLE
    while not (end and after >= end[0]) and time.monotonic() < deadline:
        url = f"{base}/v1/events?after={after}&limit=7&company={company}&wait=0.5"
        status, page = fetch_json(url, headers)
        assert status == 200, page
        seen += [e["position"] for e in page["events"]]
        assert page["end"] >= page["last"] >= after
        after = page["end"]
    return seen


def test_two_servers_a_worker_eight_writers_and_feed_consumers(pg_url: str) -> None:
    with Ledger.open(pg_url) as ledger:
        shares = {FOUNDER: FOUNDER_SHARES}
        founders = [e for c in COMPANIES for e in b.founded(c, "2020-01-01", shares)]
        seeded = ledger.record(founders, actor="seed")
        tokens = TokenStore(ledger.engine)
        writer = bearer(tokens.create("writer", Role.writer))
        reader = bearer(tokens.create("reader", Role.reader))
    ports = [free_port(), free_port()]
    while ports[1] == ports[0]:
        ports[1] = free_port()
    db = ["--db", pg_url]
    servers = [[*db, "serve", "--no-project", "--port", str(port)] for port in ports]
    worker = [*db, "projections", "run", "--follow", "--poll", "0.2"]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    writes, errors, end = Writes(), list[str](), list[int]()
    with started(*servers, worker) as processes:
        for base, process in zip(bases, processes, strict=False):
            assert wait_until_up(base, process)[0] == 200
        streamed: list[tuple[list[int], int]] = []
        polled: list[int] = []
        consumers = [
            threading.Thread(target=lambda: streamed.append(follow_stream(bases, reader, end))),
            threading.Thread(
                target=lambda: polled.extend(poll_company(bases[1], "north", reader, end))
            ),
        ]
        writers = [
            threading.Thread(target=write, args=(bases, n, writer, writes, errors))
            for n in range(WRITERS)
        ]
        for thread in [*consumers, *writers]:
            thread.start()
        for thread in writers:
            thread.join()
        with Ledger.open(pg_url) as ledger:
            end.append(ledger.known_position())
            read_models = ledger.read_models
            assert read_models is not None
            deadline = time.monotonic() + SETTLE
            while read_models.tracked() < end[0]:
                assert time.monotonic() < deadline, "the worker did not catch up"
                time.sleep(0.05)
        for thread in consumers:
            thread.join(SETTLE)
    assert errors == []
    assert writes.refused, "no batch was refused: the race did not happen"

    with Ledger.open(pg_url) as ledger:
        log = list(Feed(ledger).events())
        positions = [e.position for e in log]
        # Every stored batch exactly once, and nothing else: no refused batch left an event.
        stored = [(str(e.event_id), e.position) for e in seeded.recorded]
        stored += [event for answer in writes.stored for event in answer]
        assert sorted(stored, key=lambda e: e[1]) == [(e.event_id, e.position) for e in log]
        assert positions[-1] == end[0]
        for company in COMPANIES:
            for day in (date(2020, 1, 1), date(2021, 3, 31), date(2021, 9, 30), date.today()):
                table = ledger.cap_table(company, day)
                assert table == ledger.cap_table(company, day, fold=True)
                assert all(holder.shares >= 0 for holder in table.holders)
    assert run(["--db", pg_url, "verify"]) == 0
    # Each consumer saw every position of its feed once, in order.
    ((seen, connections),) = streamed
    assert seen == positions
    assert connections > 2  # it dropped the connection and resumed, on either server
    assert polled == [e.position for e in log if e.company == "north"]
