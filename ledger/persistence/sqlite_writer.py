"""A process that owns the write transaction of a long SQLite append.

SQLite inserts in the calling thread and the ``sqlite3`` module holds the GIL while it binds
each row, so a thread cannot overlap a batch's inserts with the checking of its next chunk:
a batch of a hundred thousand events spent a third of its time waiting on ``executemany``.
A long batch (``LedgerSQLiteRecorder.append(bulk=True)``) therefore hands its statements to
this process, which runs them on the other core: the ledger keeps every decision (the rows,
the reads under the lock, whether to commit); this process executes them in order on one
connection, inside one transaction, and chains each row onto the one before with the
ledger's own ``chain.chained_rows`` (loaded from its file), off the ledger's core.

``SQLiteWriter`` is the ledger's side: a cursor-like object whose ``append`` returns as soon
as the rows are handed over (its outcome is collected by a later call, so a failed insert is
raised before anything can commit) and whose other calls wait for their answer. The
process side is ``serve``, run as a script with only the standard library (no ``ledger``
import: it starts in about 20 ms).

The ledger may also write the read models in the same transaction (``projections.inline``):
through ``connection()``, a stand-in for a ``sqlite3`` connection whose statements go to
this process in order behind the rows, answered only when the ledger reads a result.

Frames, both ways: a 4-byte big-endian length, then a ``marshal``'d tuple. Requests are
``(op, sql, params)``; each gets one answer, in order: ``("ok", rows)`` or
``(error_class_name, message)``; after an error, every request but ``ROLLBACK`` gets that
error again (SQLite may have rolled the transaction back: nothing more may run outside it).
When its input ends without a ``COMMIT`` (the ledger
rolled back, failed or was killed), the process exits and SQLite discards the
transaction: nothing of the batch is stored.
"""

from __future__ import annotations

import contextlib
import importlib.util
import marshal
import os
import pickle
import queue
import signal
import sqlite3
import struct
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from datetime import date
from typing import IO, Any, NoReturn

_LENGTH = struct.Struct(">I")

CHAIN_MODULE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "chain.py")
"""The file of the ``chained_rows`` the process chains with: ``ledger.persistence.chain``
(``bench.chain`` swaps in one without SHA-256 to measure what the chain costs)."""

READ_MODELS = "read models "
"""The prefix of an error answer to a statement of the read models (``WriterConnection``)."""

IN_FLIGHT = 8
"""Writes of a long batch handed over and not yet done, at most (here: ``append`` calls
sent and not answered; ``recorders.Append.write`` too)."""


def _send(stream: IO[bytes], message: tuple[Any, ...]) -> None:
    data = marshal.dumps(message)
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)
    stream.flush()


def _receive(stream: IO[bytes]) -> tuple[Any, ...] | None:
    header = stream.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        return None
    message = marshal.loads(data)
    assert isinstance(message, tuple)
    return message


class SQLiteWriter:
    """The ledger's side of a writer process: ``execute`` / ``fetchone`` / ``fetchall``,
    ``chain_from`` and ``append`` (sent, not awaited), ``commit``, ``rollback``, ``close``.
    Errors come back as the ``sqlite3`` exceptions they were."""

    def __init__(self, database: str, timeout: float, *, for_events: bool = True) -> None:
        """``for_events``: the transaction is a batch of events, whose read models' errors
        fail it (``faults.read_models_write_failed``); else they are raised as they were."""
        self._for_events = for_events
        self._process = subprocess.Popen(
            [sys.executable, "-I", "-S", __file__, database, str(timeout), CHAIN_MODULE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._requests: IO[bytes] = self._process.stdin
        self._answers: IO[bytes] = self._process.stdout
        # Per request sent and not answered yet, in order: where its answer goes (None: only
        # its error matters).
        self._unanswered: deque[list[Any] | None] = deque()
        self._rows: list[Any] = []
        # Requests are written by a thread of their own: writing a chunk's rows blocks until
        # the process has read them, and the caller has the next chunk to check meanwhile.
        self._outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._sender = threading.Thread(target=self._send_all, name="corpledger-sqlite-writer")
        self._sender.start()

    def _send_all(self) -> None:
        while (frame := self._outbox.get()) is not None:
            try:
                self._requests.write(frame)
                self._requests.flush()
            except OSError:
                return  # the process is gone: reading its answer says so
        with contextlib.suppress(OSError):
            self._requests.close()

    def _request(self, op: str, sql: str, params: Any) -> None:
        data = marshal.dumps((op, sql, params))
        self._outbox.put(_LENGTH.pack(len(data)) + data)

    def _answer(self) -> list[Any]:
        answer = _receive(self._answers)
        if answer is None:
            self._gone()
        kind, value = answer
        if kind != "ok":
            error = getattr(sqlite3, kind.removeprefix(READ_MODELS), sqlite3.Error)(value)
            if kind.startswith(READ_MODELS) and self._for_events:
                # Not the events': told apart from their conflicts.
                from .faults import read_models_write_failed  # the ledger's side only

                raise read_models_write_failed(error)
            raise error
        return value  # type: ignore[no-any-return]

    def _settle(self, keep: int = 0) -> None:
        """Read the answers of the requests in flight, all but ``keep``."""
        while len(self._unanswered) > keep:
            holder = self._unanswered.popleft()
            answer = self._answer()
            if holder is not None:
                holder.append(answer)

    def _sent(self, op: str, sql: str, params: Any) -> list[Any]:
        """Send a request without waiting; its answer lands in the list returned (once the
        answers before it are read: ``_until``)."""
        holder: list[Any] = []
        self._request(op, sql, params)
        self._unanswered.append(holder)
        return holder

    def _until(self, holder: list[Any]) -> Any:
        """The answer of a request ``_sent``, reading the answers before it."""
        while not holder:
            self._settle(keep=len(self._unanswered) - 1)
        return holder[0]

    def _gone(self) -> NoReturn:
        try:
            code = self._process.wait(timeout=10)  # its output ended: it is ending, or ended
        except subprocess.TimeoutExpired:
            code = None
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        raise sqlite3.OperationalError(f"the SQLite writer process ended unexpectedly ({how})")

    def wait(self) -> None:
        """Wait until every request sent is done; raise the first error among them."""
        self._settle()

    def execute(self, sql: str, params: Any = ()) -> None:
        self._settle()
        self._request("execute", sql, list(params))
        self._rows = self._answer()

    def chain_from(self, previous: bytes) -> None:
        """The chain value ``append`` chains the first row it inserts onto."""
        self._request("chain", "", previous)
        self._unanswered.append(None)

    def append(self, sql: str, rows: list[Any]) -> None:
        """``executemany`` of ``rows`` (without their chain values), each chained onto the
        one before by the process (``chain.chained_rows``), the first onto ``chain_from``'s.
        Not awaited: a few in flight keep the process busy; the bound keeps the rows waiting
        to be written (and the memory they hold) to a few pieces' worth."""
        self._settle(keep=IN_FLIGHT - 1)
        self._request("append", sql, rows)
        self._unanswered.append(None)

    def connection(self) -> WriterConnection:
        """A stand-in for a ``sqlite3`` connection in this transaction (``WriterConnection``)."""
        return WriterConnection(self)

    def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    def begin(self) -> None:
        self.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        # Every answer in flight read, errors or not (after an error, each request but the
        # ROLLBACK gets it again); the process may be gone already: then the transaction is.
        while self._unanswered:
            with contextlib.suppress(sqlite3.Error):
                self._settle()
        if self._process.poll() is None:
            with contextlib.suppress(sqlite3.Error):
                self.execute("ROLLBACK")

    def close(self) -> None:
        """End the process (after ``commit`` or ``rollback``); kill it if it lingers."""
        self._outbox.put(None)  # its input ends once the requests before are written
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._sender.join()
        with contextlib.suppress(OSError):  # unsent data of a process gone: nobody to read it
            self._requests.close()
        self._answers.close()


class WriterConnection:
    """What ``projections`` uses of a ``sqlite3`` connection, run by the writer process in
    its transaction: ``execute``, ``executemany`` and ``cursor``. A statement is sent at
    once, behind every row and statement before it, and waited for only when its result is
    read (``fetchone``, ``fetchall``, ``rowcount``); an error of one not read is raised by
    the next that is, or by the commit. Dates are stored as ISO text, as the ledger's
    ``sqlite3`` adapter stores them."""

    def __init__(self, writer: SQLiteWriter) -> None:
        self.writer = writer

    def cursor(self) -> WriterCursor:
        return WriterCursor(self.writer)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> WriterCursor:
        return self.cursor().execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> WriterCursor:
        return self.cursor().executemany(sql, rows)


class WriterCursor:
    def __init__(self, writer: SQLiteWriter) -> None:
        self.writer = writer
        self._holder: list[Any] = [[]]

    def execute(self, sql: str, params: Sequence[Any] = ()) -> WriterCursor:
        self._holder = self.writer._sent("execute", sql, [_sendable(v) for v in params])
        return self

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> WriterCursor:
        # Pickled: marshal has no dates, and pickle sends them as fast as the rest.
        self._holder = self.writer._sent("many", sql, pickle.dumps(list(rows), protocol=5))
        return self

    def _result(self) -> Any:
        return self.writer._until(self._holder)

    def fetchall(self) -> list[Any]:
        rows, self._holder = self._result(), [[]]
        return rows  # type: ignore[no-any-return]

    def fetchone(self) -> Any:
        rows = self._result()
        return rows.pop(0) if rows else None

    @property
    def rowcount(self) -> int:
        return int(self._result()[0])


def _sendable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def serve(database: str, timeout: float, chain_module: str) -> None:
    """The process side: run requests from stdin on one connection until stdin ends."""
    # Ctrl-C in a terminal reaches the whole process group: the ledger decides what to do.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    # As eventsourcing connects: autocommit (transactions are explicit), the lock timeout.
    connection = sqlite3.connect(database, uri=True, isolation_level=None, timeout=timeout)
    sqlite3.register_adapter(date, date.isoformat)  # as the ledger stores dates: ISO text
    cursor = connection.cursor()
    chained_rows = _load(chain_module).chained_rows
    previous = b""
    failed: tuple[Any, ...] | None = None
    try:
        while (request := _receive(requests)) is not None:
            op, sql, params = request
            rows: list[Any] = []
            if failed is not None and sql != "ROLLBACK":
                # SQLite may roll the whole transaction back on an error (a full disk does):
                # the pieces sent after it would each run, and commit, on their own. Every
                # request until the ledger's ROLLBACK gets the first error instead.
                _send(answers, failed)
                continue
            failed = None
            try:
                if op == "chain":
                    previous = params
                elif op == "append":
                    chained = list(chained_rows(previous, params))
                    cursor.executemany(sql, chained)
                    previous = chained[-1][4]
                elif op == "many":  # from the ledger's process only: its own pickle
                    rows = [cursor.executemany(sql, pickle.loads(params)).rowcount]
                else:
                    rows = [tuple(row) for row in cursor.execute(sql, params).fetchall()]
                answer: tuple[Any, ...] = ("ok", rows)
            except (sqlite3.Error, OverflowError) as e:  # a value past 64 bits: OverflowError
                kind = type(e).__name__
                answer = failed = (READ_MODELS + kind if op == "many" else kind, str(e))
            _send(answers, answer)
    except BrokenPipeError:
        pass  # the ledger is gone
    finally:
        connection.close()  # without COMMIT: SQLite rolls the transaction back


def _load(path: str) -> Any:
    """A module of the standard library only, from its file (``chain.py``: importing the
    ``ledger`` package would take longer than a chunk's insert)."""
    spec = importlib.util.spec_from_file_location("corpledger_chain", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    serve(sys.argv[1], float(sys.argv[2]), sys.argv[3])
