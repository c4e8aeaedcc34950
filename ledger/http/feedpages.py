"""The change feed's pages as the HTTP API sends them (``GET /v1/events``), read ahead.

A consumer going through the log asks for the page after the one it has, once it has read
it; a full page never changes (``ledger.feed``), so the server reads the next page while the
consumer reads this one, and the two work at once.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from typing import NamedTuple

from pydantic import BaseModel
from pydantic_core import PydanticSerializationError

from ..feed import Feed
from ..reports import HistoryEvent

AHEAD = 4
"""Pages read ahead at most (the consumers' next ones; the oldest are forgotten first)."""


class FeedAnswer(BaseModel):
    """A page of the change feed: the events after ``after``, ``last`` the last one's position
    (``after`` when there is none), read up to ``end``; resume after ``end`` (``Feed.page``)."""

    after: int
    last: int
    end: int
    events: list[HistoryEvent]


class PageBody(NamedTuple):
    events: int
    end: int
    full: bool
    body: bytes


def json_bytes(model: BaseModel) -> bytes:
    """``model`` as compact JSON, written by pydantic's serializer (the standard library's
    for the rare text it cannot write: a lone surrogate)."""
    try:
        return model.model_dump_json().encode()
    except PydanticSerializationError:
        return json.dumps(model.model_dump(mode="json"), separators=(",", ":")).encode()


class FeedPages:
    """The pages of ``feed``, each read once ahead of the consumer that will ask for it."""

    def __init__(self, feed: Feed) -> None:
        self.feed = feed
        self._ahead: OrderedDict[tuple[int, int, str | None], Future[PageBody]] = OrderedDict()
        self._lock = threading.Lock()
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="corpledger-feed-ahead")

    def page(self, after: int, limit: int, company: str | None) -> PageBody:
        """The page after ``after`` (``Feed.page``) and its body; reads the next one ahead
        when it is full."""
        with self._lock:
            ahead = self._ahead.pop((after, limit, company), None)
        found = None
        if ahead is not None:
            try:
                found = ahead.result()
            except Exception:  # read again: the failure says so, if it lasts
                found = None
        if found is None or not found.full:  # a page not full then may have grown since
            found = self.read(after, limit, company)
        if found.full:
            with self._lock:
                key = (found.end, limit, company)
                if key not in self._ahead:
                    self._ahead[key] = self._reader.submit(self.read, *key)
                    while len(self._ahead) > AHEAD:
                        self._ahead.popitem(last=False)
        return found

    def read(
        self, after: int, limit: int, company: str | None, start: int | None = None
    ) -> PageBody:
        """The page after ``start`` (default ``after``), as the answer to ``after`` (a read
        after a wait starts where the empty page asked for ended)."""
        found = self.feed.page(after if start is None else start, limit, company)
        answer = FeedAnswer(after=after, last=found.last, end=found.end, events=found.events)
        count = len(found.events)
        return PageBody(count, found.end, count == limit, json_bytes(answer) + b"\n")

    def close(self) -> None:
        self._reader.shutdown(wait=True, cancel_futures=True)
