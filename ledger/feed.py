"""The change feed: the ledger's events after a position, in position order, a page at a time
(``Feed.page``), and a wait for the next ones (``Feed.wait_for``, or a ``Waiter`` that another
thread can cancel). ``corpledger events`` prints it as JSON Lines; the HTTP API serves it.

Each event has the ``history`` shape (``HistoryEvent``, company included) as it was known
when it was recorded: ``retracted_by`` and ``corrected_by`` are null, since a retraction or
correction is always recorded later, and arrives in the feed as its own event (its ``data``
names the target). So a page read again reads the same, whenever it is read.

**Nothing missed, nothing twice.** A consumer that resumes after the last position it saw
gets every later event exactly once. That needs positions to become visible in order: a
reader must never see a position while a smaller one is still to commit. Both engines give
that by serialising the writers (``ledger.persistence.recorders``): on PostgreSQL every
append takes the events table's EXCLUSIVE lock before it takes positions from the sequence
and holds it until its commit has made them visible; on SQLite one writer holds the write
lock and takes the positions after the last. So the positions in flight are always above
every visible one, and a gap below the last visible position (PostgreSQL: a rolled-back
write's) is never filled later. ``tests/integration/test_feed.py`` races writers, rolled-back
writes included, against a reader resuming page after page.

**Waiting.** On PostgreSQL a thread LISTENs on the channel every append NOTIFYs on, inside the
recording transaction (the bulk ``COPY`` path too), so a waiter wakes at the commit; on
SQLite the thread polls the end of the log every ``POLL`` seconds. Either way a waiter looks
at the log again at least every ``RECHECK`` seconds, in case a wake-up was lost. A waiter
waits in its thread (``Waiter.wait_for``), or in an asyncio loop (``await Waiter.wait``):
the watching thread wakes it through the loop (``loop.call_soon_threadsafe``), so a server's
long-polls and streams hold no thread while they wait, only while they look at the log.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass

import psycopg
from psycopg import sql

from .app import Ledger, history_event
from .domain.errors import InputError
from .persistence.log import decode
from .persistence.postgres import LedgerPostgresRecorder
from .reports import HistoryEvent

PAGE = 1_000
"""Events per page when none is asked for."""

MAX_PAGE = 10_000
"""The largest page one read returns."""

POLL = 0.05
"""Seconds between looks at the end of the log on SQLite."""

RECHECK = 1.0
"""The longest a waiter goes without looking at the log itself."""

LISTEN_TURN = 0.25
"""The longest the PostgreSQL listener waits for a notification before it looks whether the
feed was closed."""

READY = 5.0
"""The longest a first wait waits for the watching thread to start watching."""


@dataclass(frozen=True)
class FeedPage:
    """Up to ``limit`` events after ``after``, read up to position ``end``: every event up to
    ``end`` (of the company asked for) is in this page or an earlier one, so a consumer may
    resume after ``end`` (or after ``last``, the last event's position, or ``after`` when there
    is none). ``end`` is ``last`` for a full page, else the end of the log (or ``until``) as
    the read found it: a consumer of one company moves past the others' events with it."""

    after: int
    events: list[HistoryEvent]
    end: int

    @property
    def last(self) -> int:
        return self.events[-1].position if self.events else self.after


class Feed:
    """The change feed of one ledger. Its methods may be called from any thread: one feed
    serves every reader and waiter of a process (its first wait starts the one thread that
    watches the log; on PostgreSQL that thread holds a connection). ``close`` (or leaving
    the ``with`` block) stops the thread and cancels every wait."""

    def __init__(self, ledger: Ledger, *, poll: float = POLL) -> None:
        self.ledger = ledger
        self.poll = poll
        self._changed = threading.Condition()
        self._generation = 0  # bumped whenever the log may have grown
        self._closed = False
        self._watching: threading.Thread | None = None
        self._ready = threading.Event()
        self._wakers: set[Callable[[], None]] = set()  # the asyncio waits': each wakes one

    # --- reading ---

    def page(
        self,
        after: int = 0,
        limit: int = PAGE,
        company: str | None = None,
        *,
        until: int | None = None,
    ) -> FeedPage:
        """The events after position ``after`` (of ``company`` only, if given; up to position
        ``until``, if given), at most ``limit`` of them, in position order. ``InputError`` for
        a negative position or one past the end of the log, a limit outside 1..``MAX_PAGE`` or
        a company the ledger does not hold."""
        if after < 0:
            raise InputError(f"after {after} is not a position (positions are >= 0)")
        if not 1 <= limit <= MAX_PAGE:
            raise InputError(f"limit {limit} is not between 1 and {MAX_PAGE}")
        log = self.ledger.store.log
        # The end first: every position up to it is visible by now, or a gap never filled
        # (see the module's docstring), so the page holds every event up to it.
        end = log.last_position()
        if after > end and until is None:
            # A cursor from another ledger, or made up: resuming from it would skip the
            # events that come to fill the positions up to it.
            raise InputError(f"after {after} is past the end of the log (last position {end})")
        if until is not None:
            end = min(end, until)
        rows = log.timed_events_after(after, limit, until=end, company=company)
        if not rows and company is not None and not log.has_company(company):
            raise self.ledger.unknown_company(company)
        events = []
        for position, owner, _, state, recorded_at in rows:
            event_id, actor, fact = decode(position, owner, state)
            events.append(history_event(owner, position, event_id, fact, recorded_at, actor))
        full = len(events) == limit
        return FeedPage(after, events, events[-1].position if full else max(after, end))

    def events(
        self,
        after: int = 0,
        company: str | None = None,
        *,
        until: int | None = None,
        page: int = PAGE,
    ) -> Iterator[HistoryEvent]:
        """Every event after ``after`` (of ``company``), page after page, up to ``until``, or
        else the end of the log as it is when the last page is read."""
        while found := self.page(after, page, company, until=until).events:
            yield from found
            after = found[-1].position

    # --- waiting ---

    def waiter(self) -> Waiter:
        """A wait of its own, that another thread can cancel (a client that went away)."""
        return Waiter(self)

    def wait_for(self, after: int, timeout: float, company: str | None = None) -> bool:
        """Whether an event after ``after`` (of ``company``) is there, waiting up to
        ``timeout`` seconds for one to be recorded; False as well once the feed is closed."""
        return self.waiter().wait_for(after, timeout, company)

    def close(self) -> None:
        """Cancel every wait and stop the watching thread."""
        with self._changed:
            self._closed = True
            self._wake_all()
        if self._watching is not None:
            self._watching.join()

    def __enter__(self) -> Feed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _has_after(self, after: int, company: str | None) -> bool:
        log = self.ledger.store.log
        if company is None:
            return log.last_position() > after
        return bool(log.events_after(after, 1, company=company))

    def _watch(self) -> None:
        """Start the watching thread once; return when it is watching, so that anything
        committed from now on wakes the waiters."""
        with self._changed:
            if self._watching is None:
                store = self.ledger.store
                watch = self._listen if isinstance(store, LedgerPostgresRecorder) else self._poll
                self._watching = threading.Thread(
                    target=watch, name="corpledger-feed-watch", daemon=True
                )
                self._watching.start()
        self._ready.wait(READY)

    def _bump(self) -> None:
        with self._changed:
            self._generation += 1
            self._wake_all()

    def _wake_all(self) -> None:
        """Wake every wait, in threads and in asyncio loops (called holding ``_changed``)."""
        self._changed.notify_all()
        for wake in self._wakers:
            wake()

    def _poll(self) -> None:
        log = self.ledger.store.log
        last = log.last_position()
        self._ready.set()
        while not self._closed:
            time.sleep(self.poll)
            now = log.last_position()
            if now != last:
                last = now
                self._bump()

    def _listen(self) -> None:
        url = self.ledger.engine.url
        params = url.translate_connect_args(username="user", database="dbname")
        store = self.ledger.store
        assert isinstance(store, LedgerPostgresRecorder)
        try:
            with psycopg.connect(**params, autocommit=True) as listener:
                listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(store.channel_name)))
                self._ready.set()
                while not self._closed:
                    for _ in listener.notifies(timeout=LISTEN_TURN, stop_after=1):
                        self._bump()
        except psycopg.Error:
            # The waiters still look at the log every RECHECK seconds.
            self._ready.set()


class Waiter:
    """One wait for new events (``wait_for``), which ``cancel`` ends from any thread (and a
    signal handler): the wait returns False, and so does every later one."""

    def __init__(self, feed: Feed) -> None:
        self.feed = feed
        self.cancelled = False
        self._wake: Callable[[], None] | None = None  # while an asyncio wait is under way

    def wait_for(self, after: int, timeout: float, company: str | None = None) -> bool:
        """Whether an event after ``after`` (of ``company``) is there, waiting up to
        ``timeout`` seconds for one; False when cancelled or the feed closed."""
        feed = self.feed
        deadline = time.monotonic() + timeout
        feed._watch()
        while True:
            with feed._changed:
                if self.cancelled or feed._closed:
                    return False
                seen = feed._generation
            if feed._has_after(after, company):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with feed._changed:
                if feed._generation == seen and not (self.cancelled or feed._closed):
                    feed._changed.wait(min(remaining, RECHECK))

    async def wait(self, after: int, timeout: float, company: str | None = None) -> bool:
        """``wait_for`` in an asyncio loop: the same answer, holding a thread only to look at
        the log (the watching thread wakes the loop at a commit)."""
        feed = self.feed
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        changed = asyncio.Event()

        def wake() -> None:
            with suppress(RuntimeError):  # the loop is closed: no one waits any more
                loop.call_soon_threadsafe(changed.set)

        if not feed._ready.is_set():
            await asyncio.to_thread(feed._watch)  # the first wait starts the watching thread
        with feed._changed:
            feed._wakers.add(wake)
            self._wake = wake
        try:
            while True:
                changed.clear()  # before looking: a commit from now on sets it again
                if self.cancelled or feed._closed:
                    return False
                if await asyncio.to_thread(feed._has_after, after, company):
                    return True
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return False
                with suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), min(remaining, RECHECK))
        finally:
            with feed._changed:
                feed._wakers.discard(wake)
                self._wake = None

    def cancel(self) -> None:
        feed = self.feed
        with feed._changed:
            self.cancelled = True
            feed._changed.notify_all()
            if self._wake is not None:
                self._wake()
