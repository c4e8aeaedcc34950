"""The server's answer cache: a query's body, as bytes, kept for as long as the ledger has not
moved.

An entry is keyed by the query (path, parameters, and today's date, which a query without
``as_of`` answers for) and holds the body, its ETag and the *version* of the ledger it was
computed at (``create_app`` says what that is: the end of the log and the read models'
generation, looked up in one small query per request, so a write by any process, CLI or other
server, is seen at the next request). An entry whose version is not the current one is a miss.
The entries are kept least recently used first and dropped from there once their bodies
pass ``max_bytes``; a body larger than a quarter of that is not kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import NamedTuple

DEFAULT_MB = 128
"""The cache's size when none is given (``corpledger serve --cache-mb``)."""


class Cached(NamedTuple):
    version: Hashable
    body: bytes
    etag: str


class AnswerCache:
    """Bodies by query, least recently used dropped first past ``max_bytes`` (0: nothing is
    kept). Safe to share between threads."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.hits = self.misses = 0
        self._entries: OrderedDict[Hashable, Cached] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, version: Hashable) -> Cached | None:
        """The entry of ``key`` if it was computed at ``version``."""
        with self._lock:
            found = self._entries.get(key)
            if found is None or found.version != version:
                self.misses += 1
                return None
            self.hits += 1
            self._entries.move_to_end(key)
            return found

    def put(self, key: Hashable, entry: Cached) -> None:
        if len(entry.body) > self.max_bytes // 4:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.size -= len(old.body)
            self._entries[key] = entry
            self.size += len(entry.body)
            while self.size > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self.size -= len(dropped.body)

    def __len__(self) -> int:
        return len(self._entries)
