"""The hash chain over the event log: one pure function, used by both recorders, the SQLite
writer process (which loads this file by itself: it must import only the standard library)
and verify.

One chain runs over the whole log in position order (not one per company):
``chain_n = SHA-256(chain_{n-1} ‖ canonical(originator_id, originator_version, topic, state))``,
starting from ``GENESIS``, 32 zero bytes. Why global:

- the log has a single commit order (PostgreSQL's EXCLUSIVE table lock, SQLite's write lock),
  and a global chain follows exactly that order, so it also detects events reordered across
  companies, which per-company chains cannot see;
- a deleted event breaks the link of the event after it wherever it was, so deletions are
  detected anywhere but at the very tail of the log (the head, printed by ``verify``, covers the
  tail when kept somewhere else);
- appending costs one read per batch (the last row's chain, read after the writer holds the
  lock), not one per company touched.

The position is not hashed: PostgreSQL assigns it during the insert, after the chain must be
known. Order is enforced by the chaining itself.

Canonical bytes: a fixed-width header of every field's length (and the version), then the
fields. Fixed widths make the encoding injective: no two different rows serialise alike
(``("ab", "c")`` and ``("a", "bc")`` differ in their header).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from hashlib import sha256
from typing import Protocol
from uuid import UUID

GENESIS = bytes(32)
"""The chain value before the first event."""

CHAIN_BYTES = 32

_HEADER = struct.Struct(">IqII")  # len(originator_id), version, len(topic), len(state)


def canonical(originator_id: str, version: int, topic: str, state: bytes) -> bytes:
    """The bytes of one stored event that its link hashes: a header of lengths, then fields."""
    oid = originator_id.encode()
    top = topic.encode()
    return b"".join((_HEADER.pack(len(oid), version, len(top), len(state)), oid, top, state))


def chain_link(
    previous: bytes, originator_id: str, version: int, topic: str, state: bytes
) -> bytes:
    """The chain value of an event appended after one whose chain value is ``previous``."""
    oid = originator_id.encode()
    top = topic.encode()
    return sha256(
        b"".join((previous, _HEADER.pack(len(oid), version, len(top), len(state)), oid, top, state))
    ).digest()


class Appended(Protocol):
    """An event about to be stored (eventsourcing's ``StoredEvent`` is one)."""

    @property
    def originator_id(self) -> UUID | str: ...

    @property
    def originator_version(self) -> int: ...

    @property
    def topic(self) -> str: ...

    @property
    def state(self) -> bytes: ...


Row = tuple[str, int, str, bytes, bytes]
"""A row to store: originator_id, originator_version, topic, state, chain."""


def chained(previous: bytes, events: Iterable[Appended]) -> Iterator[Row]:
    """The rows of ``events`` appended in order after an event whose chain value is
    ``previous``, each with its chain value. Lazily, so a recorder can hand it straight to
    ``executemany``. Originator ids are text; a UUID is stored, and hashed, as its hex (as
    eventsourcing's SQLite recorder stores it)."""
    link = chain_link
    for e in events:
        oid = e.originator_id
        text = oid if isinstance(oid, str) else oid.hex
        previous = link(previous, text, e.originator_version, e.topic, e.state)
        yield text, e.originator_version, e.topic, e.state, previous


NewRow = tuple[str, int, str, bytes]
"""An event about to be stored, as a plain tuple: originator_id, originator_version, topic,
state (what the bulk path builds, without a ``StoredEvent`` object per event)."""


def chained_rows(previous: bytes, rows: Iterable[NewRow]) -> Iterator[Row]:
    """``chained`` for plain tuples: each row with its chain value appended."""
    # chain_link, inlined: it runs once per event stored.
    pack, join = _HEADER.pack, b"".join
    for oid, version, topic, state in rows:
        o, t = oid.encode(), topic.encode()
        previous = sha256(
            join((previous, pack(len(o), version, len(t), len(state)), o, t, state))
        ).digest()
        yield oid, version, topic, state, previous
