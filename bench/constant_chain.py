"""``chained_rows`` without the chain: each row gets the same 32 bytes where its chain value
goes (the same rows and bytes written; what is left out is the SHA-256 chaining). Standard
library only: the SQLite writer process loads it from this file in place of
``ledger/persistence/chain.py`` (``bench.chain.chain_left_out``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

GENESIS = bytes(32)


def chained_rows(
    previous: bytes, rows: Iterable[tuple[str, int, str, bytes]]
) -> Iterator[tuple[str, int, str, bytes, bytes]]:
    for oid, version, topic, state in rows:
        yield oid, version, topic, state, GENESIS
