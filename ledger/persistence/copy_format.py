"""PostgreSQL's binary ``COPY`` format for the stored events' columns, and the copier process.

``copy_binary`` formats rows. Run as a script (``serve``), this file is the copier process of
a long append on PostgreSQL: the server inserts, but chaining each row (``chain``) and
formatting it here take about a sixth of a long batch's time, all of it holding the GIL, so
a thread of the ledger cannot overlap them with the checking of the next chunk. A long
append (``LedgerPostgresRecorder.append(bulk=True)``) hands each piece's rows to this process
instead (``recorders.Copier``), from the thread that sends ``COPY`` to the server, which waits
for the payload without the GIL, then sends it. The ledger keeps the transaction, the lock
and every decision; this process only computes, on the other core, with the ledger's own
functions. Standard library only, like ``sqlite_writer`` and ``chain``, which it loads from
their files (it starts in about 20 ms).

Frames as the SQLite writer's (``sqlite_writer``). Requests: ``("chain", previous)``, the
chain value the next row is chained onto (no answer); ``("copy", rows)``, answered
``("ok", payload)``: the rows chained in order and formatted.
"""

from __future__ import annotations

import os
import signal
import struct
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .chain import Row

_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, no header extension
_TRAILER = b"\xff\xff"
_ROW = struct.Struct(">hi")  # 5 fields; len(originator_id)
_VERSION = struct.Struct(">iqi")  # 8, originator_version (int8); len(topic)
_LENGTH = struct.Struct(">i")
_CHAIN = _LENGTH.pack(32)  # a chain value is a SHA-256 digest (chain.CHAIN_BYTES)


def copy_binary(rows: Iterable[Row]) -> bytes:
    """``rows`` in PostgreSQL's binary ``COPY`` format, for the columns (originator_id text,
    originator_version int8, topic text, state bytea, chain bytea): built in one piece, so
    that sending it needs no GIL (psycopg's ``write_row`` formats each row as it sends)."""
    row, version_topic, length = _ROW.pack, _VERSION.pack, _LENGTH.pack
    parts = [_SIGNATURE]
    extend = parts.extend
    for oid, version, topic, state, chain in rows:
        o, t = oid.encode(), topic.encode()
        extend((row(5, len(o)), o, version_topic(8, version, len(t)), t, length(len(state)), state))
        extend((_CHAIN, chain))
    parts.append(_TRAILER)
    return b"".join(parts)


def serve(chain_module: str) -> None:
    """The copier process: answer requests from stdin until it ends, chaining with the
    ``chained_rows`` of the file ``chain_module`` (``sqlite_writer.CHAIN_MODULE``)."""
    # Ctrl-C in a terminal reaches the whole process group: the ledger decides what to do.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import sqlite_writer  # type: ignore[import-not-found]  # its frames, and its loader

    chained_rows = sqlite_writer._load(chain_module).chained_rows
    receive, send = sqlite_writer.receive_frame, sqlite_writer.send_frame
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    previous = b""
    try:
        while (request := receive(requests)) is not None:
            op, params = request
            if op == "chain":
                previous = params
                continue
            chained = list(chained_rows(previous, params))
            previous = chained[-1][4]
            send(answers, ("ok", copy_binary(chained)))
    except BrokenPipeError:
        pass  # the ledger is gone


if __name__ == "__main__":
    serve(sys.argv[1])
