"""The change feed (``ledger.feed``) on each durable engine: pages that concatenate to the
whole log, a consumer resuming from its last position while writers race (rolled-back
writes included) sees every event once, and waits that wake on a commit of another ledger
instance and end when cancelled."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import Ledger
from ledger.domain.errors import InputError
from ledger.feed import MAX_PAGE, Feed
from ledger.persistence.postgres import COPY_THRESHOLD
from tests import builders as b
from tests.conftest import drop_pg_database, new_pg_database

COMPANIES = ("alpha", "beta")


def story() -> list[dict[str, object]]:
    """Two companies, interleaved, and a retraction (so ``history`` and the feed differ in
    ``retracted_by``)."""
    events: list[dict[str, object]] = []
    for company in COMPANIES:
        events += b.founded(company, "2020-01-01", {"founder": 1_000_000})
    for day in range(1, 10):
        for company in COMPANIES:
            events.append(
                b.issued(company, f"investor-{day}", "common", 100 * day, f"2021-01-{day:02d}")
            )
    return events


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def stocked(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Ledger]:
    """A ledger of each engine holding ``story`` and a retraction, for reading only."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('feed')}/ledger.db"
        cleanup = None
    else:
        url = new_pg_database(request.getfixturevalue("pg_server"))
        cleanup = url
    with Ledger.open(url) as ledger:
        result = ledger.record(story(), actor="feed-test")
        ledger.record([b.retracted("alpha", result.recorded[-2].event_id)], actor="feed-test")
        yield ledger
    if cleanup is not None:
        drop_pg_database(cleanup)


def test_the_feed_is_the_history_of_every_company_as_recorded_in_position_order(
    stocked: Ledger,
) -> None:
    feed = Feed(stocked)
    events = list(feed.events())
    assert [e.position for e in events] == list(range(1, len(story()) + 2))
    history = sorted(
        (e for c in COMPANIES for e in stocked.history(c).events), key=lambda e: e.position
    )
    # The same events; the feed shows each as known when recorded: not yet retracted.
    assert [e.model_copy(update={"retracted_by": None}) for e in history] == events
    assert [e.retracted_by is not None for e in history].count(True) == 1
    assert events[-1].type == "EventRetracted"
    assert events[-1].data["target"] == next(e for e in history if e.retracted_by).event_id
    only_beta = list(feed.events(company="beta", page=4))
    assert only_beta == [e for e in events if e.company == "beta"]


@given(after=st.integers(0, 30), limits=st.lists(st.integers(1, 7), min_size=1, max_size=5))
def test_pages_after_any_position_concatenate_to_the_rest_of_the_log(
    stocked: Ledger, after: int, limits: list[int]
) -> None:
    feed = Feed(stocked)
    whole = [e.position for e in feed.page(0, MAX_PAGE).events]
    if after > stocked.known_position():  # a cursor past the end would skip what fills it
        with pytest.raises(InputError, match=f"after {after} is past the end of the log"):
            feed.page(after, limits[0])
        return
    seen: list[int] = []
    position = after
    for turn in range(len(whole) + 1):
        page = feed.page(position, limits[turn % len(limits)])
        if not page.events:
            break
        seen += [e.position for e in page.events]
        assert page.end == page.last  # a full page, or the last one: the end of the log
        position = page.end
    assert seen == [p for p in whole if p > after]
    assert feed.page(position).events == []


def test_a_page_says_the_end_it_read_up_to_so_a_company_consumer_moves_past_the_others(
    stocked: Ledger,
) -> None:
    feed = Feed(stocked)
    end = stocked.known_position()
    assert [e.company for e in feed.events(after=end - 1)] == ["alpha"]  # the retraction
    beta = list(feed.events(company="beta"))
    caught_up = feed.page(beta[-1].position, 10, "beta")
    # No beta event is left, and none can come up to the end of the log: resume from there.
    assert (caught_up.events, caught_up.last, caught_up.end) == ([], beta[-1].position, end)
    full = feed.page(0, 3, "beta")
    assert full.end == full.last == full.events[-1].position  # a full page: no further
    assert feed.page(0, 10, "beta", until=5).end == 5
    # A cursor past the end is refused: resuming from it would skip what comes to fill it.
    with pytest.raises(InputError, match=rf"after {end + 7} is past the end .*position {end}\)"):
        feed.page(end + 7)


@pytest.mark.parametrize(
    ("after", "limit", "company", "message"),
    [
        (-1, 10, None, "after -1 is not a position (positions are >= 0)"),
        (0, 0, None, f"limit 0 is not between 1 and {MAX_PAGE}"),
        (0, MAX_PAGE + 1, None, f"limit {MAX_PAGE + 1} is not between 1 and {MAX_PAGE}"),
        (0, 10, "nobody", "unknown company 'nobody' in "),
    ],
)
def test_a_page_out_of_bounds_or_of_an_unknown_company_is_refused(
    stocked: Ledger, after: int, limit: int, company: str | None, message: str
) -> None:
    with pytest.raises(InputError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        Feed(stocked).page(after, limit, company)


def write_then_roll_back(url: str, times: int) -> None:
    """Appends that take positions (PostgreSQL: from the sequence, leaving a gap), hold the
    lock a moment and roll back."""

    def roll_back(ledger: Ledger, n: int) -> None:
        with ledger.store.append() as append:
            append.write([(f"rolled-back-{n}", 1, "never.Stored", b"{}")])
            time.sleep(0.005)
            raise RuntimeError("roll back")

    with Ledger.open(url) as ledger:
        for n in range(times):
            with pytest.raises(RuntimeError):
                roll_back(ledger, n)


def record_a_lot(url: str, company: str, batches: int) -> int:
    rng = random.Random(company)
    recorded = 0
    with Ledger.open(url) as ledger:
        for n in range(batches):
            events = [
                b.issued(company, f"p{n}-{k}", "common", 10, "2021-01-01")
                for k in range(rng.randint(1, 3))
            ]
            recorded += len(ledger.record(events, actor="writer", project=False).recorded)
    return recorded


def test_a_consumer_resuming_from_its_last_position_sees_every_event_once_while_writers_race(
    durable_url: str,
) -> None:
    with Ledger.open(durable_url) as ledger:
        for company in COMPANIES:
            ledger.record(b.founded(company, "2020-01-01", {"founder": 1}), project=False)
        done = threading.Event()
        seen: list[int] = []

        def consume() -> None:
            # A new Feed per read, as a client reconnecting would, after the last it saw.
            rng = random.Random(7)
            last = 0
            while True:
                finished = done.is_set()  # read before the page: the last pass sees all
                page = Feed(ledger).page(last, rng.randint(1, 4))
                seen.extend(e.position for e in page.events)
                last = page.last
                if finished and not page.events:
                    return

        consumer = threading.Thread(target=consume)
        consumer.start()
        writers = [
            threading.Thread(target=record_a_lot, args=(durable_url, company, 12))
            for company in COMPANIES
        ]
        writers.append(threading.Thread(target=write_then_roll_back, args=(durable_url, 8)))
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        done.set()
        consumer.join(timeout=60)
        whole = [e.position for e in Feed(ledger).events()]
    assert seen == whole
    assert seen == sorted(set(seen))
    if durable_url.startswith("postgresql"):  # the rolled-back writes left gaps
        assert whole != list(range(1, len(whole) + 1))


@pytest.fixture
def watched(durable_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Feed, int]]:
    """The feed of a ledger holding company alpha, and the end of its log. Its waits never
    look at the log on their own: only the watching thread wakes them."""
    monkeypatch.setattr("ledger.feed.RECHECK", 60.0)
    with Ledger.open(durable_url) as ledger, Feed(ledger) as feed:
        ledger.record(b.founded("alpha", "2020-01-01", {"founder": 1}), project=False)
        yield feed, ledger.known_position()


def test_a_wait_wakes_on_a_commit_of_another_ledger_and_ends_when_cancelled(
    durable_url: str, watched: tuple[Feed, int]
) -> None:
    feed, last = watched
    assert feed.wait_for(last - 1, 0)  # already there: no wait
    started = time.monotonic()
    assert not feed.wait_for(last, 0.2)  # nothing comes
    assert 0.2 <= time.monotonic() - started < 1.5

    # One event, then a batch of COPY_THRESHOLD (PostgreSQL: written by COPY).
    for count in (1, COPY_THRESHOLD):
        recorded: list[float] = []

        def record_elsewhere(count: int = count, recorded: list[float] = recorded) -> None:
            time.sleep(0.2)
            with Ledger.open(durable_url) as other:
                events = [b.issued("alpha", "ann", "common", 5, "2021-01-01")] * count
                other.record(events, project=False)
                recorded.append(time.monotonic())

        writer = threading.Thread(target=record_elsewhere)
        writer.start()
        assert feed.wait_for(last, 30, company="alpha")
        woke = time.monotonic()
        writer.join()
        assert woke - recorded[0] < 2, woke - recorded[0]
        page = feed.page(last, MAX_PAGE)
        assert [e.data["holder"] for e in page.events] == ["ann"] * count
        last = page.last

    waiter = feed.waiter()
    threading.Timer(0.1, waiter.cancel).start()
    started = time.monotonic()
    assert not waiter.wait_for(last, 30)
    assert time.monotonic() - started < 2
    assert not waiter.wait_for(0, 30)  # cancelled for good
    feed.close()
    assert not feed.wait_for(0, 30)  # closed


T = TypeVar("T")


def in_a_loop_of_its_own(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` in a thread of its own: this thread may already run a loop (the
    browser tests' playwright keeps one running in the worker's main thread)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_asyncio_waits_hold_no_thread_wake_on_a_commit_and_end_when_cancelled(
    durable_url: str, watched: tuple[Feed, int]
) -> None:
    feed, last = watched

    def record_elsewhere() -> None:
        time.sleep(0.3)
        with Ledger.open(durable_url) as other:
            other.record([b.issued("alpha", "ann", "common", 5, "2021-01-01")], project=False)

    async def many_waits() -> tuple[list[bool], int, float]:
        assert not await feed.waiter().wait(last, 0.1)  # nothing comes; the watch starts
        writer.start()  # only now: on a loaded machine the watch can take longer to start
        threads = threading.active_count()
        waits = [asyncio.create_task(feed.waiter().wait(last, 30, "alpha")) for _ in range(50)]
        await asyncio.sleep(0.1)
        waiting = threading.active_count() - threads  # at most the executor's lookers
        started = time.monotonic()
        woke = await asyncio.gather(*waits)
        return woke, waiting, time.monotonic() - started

    writer = threading.Thread(target=record_elsewhere)
    woke, waiting, took = in_a_loop_of_its_own(many_waits())
    writer.join()
    assert woke == [True] * 50
    assert waiting < 50  # a thread a wait would be 50 (and the executor queues past 32)
    assert took < 2

    async def cancelled() -> tuple[bool, float]:
        waiter = feed.waiter()
        threading.Timer(0.1, waiter.cancel).start()
        started = time.monotonic()
        return await waiter.wait(last + 1, 30), time.monotonic() - started

    ended, took = in_a_loop_of_its_own(cancelled())
    assert ended is False
    assert took < 2
