"""The read models of a long batch written in the batch's own transaction (``projections.inline``),
on SQLite (through the writer process) and PostgreSQL (through the append's connection).
Chunks and pieces are made tiny so that every batch crosses many, with back-dated events
among them (the fold then reads the tables inside the transaction). What the transaction
writes is what a rebuild writes, row for row; the read models are current at the commit,
before any catch-up; where they stood behind the log, or the fold fails on an event, the
catch-up after the commit does the rest; a database error there fails the whole batch."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest

from ledger import Ledger, StoreError
from ledger.domain.entry import Entry
from ledger.ports import ProjectionError, ReadModels
from projections.database import database_for
from projections.history import CAP_TABLE, Row
from projections.inline import InTransaction
from projections.service import ReadModelService
from projections.writer import Buffer, Check, Writer, check
from tests import builders as b
from tests.contract.test_bulk import random_batch
from tests.contract.test_read_models import tables


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 7 events (a batch of 8 or more streams), written 3 at a time."""
    monkeypatch.setattr("ledger.app.CHUNK", 7)
    monkeypatch.setattr("ledger.app.WRITE_PIECE", 3)


@pytest.fixture
def found_at_catch_up(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """(tracked position, end of the log) as each catch-up after a record found them."""
    found: list[tuple[int, int]] = []
    catch_up = ReadModelService.catch_up

    def spying(self: ReadModelService, *args: Any, **kwargs: Any) -> int:
        found.append((self.tracked(), self.ledger.known_position()))
        return catch_up(self, *args, **kwargs)

    monkeypatch.setattr(ReadModelService, "catch_up", spying)
    return found


def models(ledger: Ledger) -> ReadModels:
    found = ledger.read_models
    assert found is not None
    return found


def rebuilt(ledger: Ledger) -> dict[str, list[tuple[Any, ...]]]:
    models(ledger).rebuild()
    return tables(ledger)


@pytest.mark.parametrize("before", [0, 1], ids=["new ledger", "after a batch"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_read_models_commit_with_the_batch_and_equal_a_rebuild(
    durable_url: str, found_at_catch_up: list[tuple[int, int]], before: int, seed: int
) -> None:
    with Ledger.open(durable_url) as ledger:
        if before:
            ledger.record(b.founded("older", "2001-01-01", {"ana": 10}))
        found_at_catch_up.clear()
        result = ledger.record(random_batch(seed))
        assert result.lagging is None
        last = ledger.known_position()
        assert [e.position for e in result.recorded][-1] == last
        assert found_at_catch_up == [(last, last)]  # current before any catch-up
        written = tables(ledger)
        assert written == rebuilt(ledger)
        assert "read models match the fold" in models(ledger).verify()


def more_of(seed: int) -> list[dict[str, Any]]:
    """A second batch for ``random_batch(seed)``'s companies: random_batch(seed + 100)'s
    events without the founding, moved to those companies, half of them after everything
    they had (each company's first event of a batch may then come in order, or not)."""
    other = random_batch(seed + 100)
    moved = []
    for n, event in enumerate(other[12:]):  # after the four companies' founding events
        event = {k: v for k, v in event.items() if k != "external_id"}
        event["company"] = event["company"].replace(f"co-{seed + 100}-", f"co-{seed}-")
        if n % 2:
            later = date.fromisoformat(event["effective_date"]) + timedelta(days=5_000)
            event["effective_date"] = later.isoformat()
        moved.append(event)
    return moved


@pytest.mark.parametrize("books", [None, 2], ids=["books kept", "two books"])
@pytest.mark.parametrize("start", ["known", "log", "catch-up"])
@pytest.mark.parametrize("seed", [1, 2])
def test_a_batch_onto_companies_recorded_before_equals_a_rebuild(
    durable_url: str,
    found_at_catch_up: list[tuple[int, int]],
    monkeypatch: pytest.MonkeyPatch,
    start: str,
    seed: int,
    books: int | None,
) -> None:
    """A second long batch onto the companies of the first. The fold starts each company
    from its events as the ledger read them to check the batch ("known"), or reads them
    from the log, many companies a statement ("log": the ledger's cache holding something
    else; "catch-up": recorded without projecting, then caught up); it reads the rows of a
    company not met yet in the batch on a connection of its own. The rows equal a
    rebuild's. Pieces as long as chunks, and two companies a statement: the companies a
    piece meets cross a statement's boundary. With two books, the fold forgets companies
    it wrote rows of in the batch and meets them again: those rows are read in the batch's
    transaction."""
    if books is not None:
        monkeypatch.setattr("projections.writer.MAX_BOOKS", books)
    monkeypatch.setattr("ledger.app.WRITE_PIECE", 7)
    monkeypatch.setattr("ledger.persistence.log.STREAMS_AT_ONCE", 2)
    monkeypatch.setattr("projections.database.BELIEVED_AT_ONCE", 2)
    with Ledger.open(durable_url) as ledger:
        ledger.record(random_batch(seed))
        ledger.record(more_of(seed)[:30])
        if start == "log":
            monkeypatch.setattr(Ledger, "_known_before", lambda *_: None)
        found_at_catch_up.clear()
        result = ledger.record(more_of(seed)[30:], project=start != "catch-up")
        last = ledger.known_position()
        if start == "catch-up":
            assert models(ledger).tracked() < last
            assert models(ledger).catch_up() == last
        else:
            assert result.lagging is None
            assert found_at_catch_up == [(last, last)]  # current before any catch-up
        assert tables(ledger) == rebuilt(ledger)
        assert "read models match the fold" in models(ledger).verify()


def test_a_batch_whose_fold_gets_no_connection_of_its_own_reads_in_its_transaction(
    durable_url: str, found_at_catch_up: list[tuple[int, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows of companies met first in a batch are read on a connection of the ledger's;
    when none can be had (a server at its connection limit, say), the batch's own
    transaction reads them, and the rows equal a rebuild's."""
    monkeypatch.setattr("ledger.app.WRITE_PIECE", 7)
    refused: list[int] = []

    @contextmanager
    def no_connection() -> Iterator[Any]:
        refused.append(1)
        raise StoreError("too many clients already")
        yield

    init = InTransaction.__init__

    def without(self: InTransaction, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self.writer.outside = no_connection

    with Ledger.open(durable_url) as ledger:
        ledger.record(random_batch(1))
        monkeypatch.setattr(InTransaction, "__init__", without)
        found_at_catch_up.clear()
        result = ledger.record(more_of(1))
        last = ledger.known_position()
        assert result.lagging is None
        assert found_at_catch_up == [(last, last)]  # written in the transaction
        assert refused, "the fold asked for a connection of its own"
        assert tables(ledger) == rebuilt(ledger)


def test_read_models_behind_the_log_catch_up_after_the_commit(
    durable_url: str, found_at_catch_up: list[tuple[int, int]]
) -> None:
    with Ledger.open(durable_url) as ledger:
        ledger.record(b.founded("older", "2001-01-01", {"ana": 10}), project=False)
        ledger.record(random_batch(4))
        last = ledger.known_position()
        assert found_at_catch_up == [(0, last)]  # nothing written in the transaction
        assert models(ledger).tracked() == last
        assert tables(ledger) == rebuilt(ledger)


def test_an_event_the_fold_cannot_apply_stops_it_and_the_batch_is_stored(
    durable_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The projections' fold refusing the event at position 17 (as for an event stored past
    today's rules): its piece is undone, the events all commit, the read models stand before
    that piece, and the catch-up after the commit names the event."""
    step = Writer.step

    def refusing(self: Writer, raw: Any, position: int, company: str, entry: Entry) -> None:
        if position == 17:
            raise ValueError("refused")
        step(self, raw, position, company, entry)

    with Ledger.open(durable_url) as ledger:
        monkeypatch.setattr(Writer, "step", refusing)
        result = ledger.record(random_batch(5))
        assert ledger.known_position() == len(random_batch(5))
        assert result.lagging is not None
        assert result.lagging.stuck is not None
        assert result.lagging.stuck.position == 17
        assert models(ledger).tracked() == 16  # the catch-up committed up to the event
        monkeypatch.setattr(Writer, "step", step)
        assert models(ledger).catch_up() == ledger.known_position()
        assert tables(ledger) == rebuilt(ledger)


REFUSE = {
    "sqlite": [
        "CREATE TRIGGER refuse BEFORE INSERT ON cap_table_history WHEN NEW.party = 'h7' "
        "BEGIN SELECT RAISE(ABORT, 'no room for h7'); END"
    ],
    "postgres": [
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.party = 'h7' THEN RAISE EXCEPTION 'no room for h7'; END IF; RETURN NEW; END $$",
        "CREATE TRIGGER refuse BEFORE INSERT ON cap_table_history FOR EACH ROW "
        "EXECUTE FUNCTION refuse()",
    ],
}


def run_sql(ledger: Ledger, statements: list[str]) -> None:
    with ledger.engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)


def test_a_database_error_writing_the_read_models_fails_the_batch(durable_url: str) -> None:
    """The table refuses a row of the batch's read models (a trigger here, a full disk in
    life): the batch fails, and nothing of it is stored."""
    with Ledger.open(durable_url) as ledger:
        ledger.record(b.founded("older", "2001-01-01", {"ana": 10}))
        run_sql(ledger, REFUSE[ledger.config.kind])
        before, rows = ledger.known_position(), tables(ledger)
        with pytest.raises(StoreError, match="no room for h7"):
            ledger.record(random_batch(6))
        assert ledger.known_position() == before
        assert tables(ledger) == rows
        assert models(ledger).tracked() == before


def test_a_short_batch_is_projected_after_its_commit(
    durable_url: str, found_at_catch_up: list[tuple[int, int]]
) -> None:
    """A batch of one chunk is written in this process: its read models catch up after."""
    with Ledger.open(durable_url) as ledger:
        ledger.record(b.founded("acme", "2001-01-01", {"ana": 10}))
        assert found_at_catch_up == [(0, 3)]


KEEP = {
    "sqlite": [
        "CREATE TRIGGER keep BEFORE UPDATE ON cap_table_history WHEN OLD.party = 'ana' "
        "BEGIN SELECT RAISE(IGNORE); END"
    ],
    "postgres": [
        "CREATE FUNCTION keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF OLD.party = 'ana' THEN RETURN NULL; END IF; RETURN NEW; END $$",
        "CREATE TRIGGER keep BEFORE UPDATE ON cap_table_history FOR EACH ROW "
        "EXECUTE FUNCTION keep()",
    ],
}


def test_a_close_the_table_does_not_take_fails_the_batch(durable_url: str) -> None:
    """The table keeps a believed row the fold closes (a trigger skipping the update here,
    a hand edit in life): the batch fails, and nothing of it is stored. (The rows the fold
    then opens meet the kept one first: the believed rows are unique.)"""
    with Ledger.open(durable_url) as ledger:
        ledger.record(b.founded("older", "2001-01-01", {"ana": 10}))
        run_sql(ledger, KEEP[ledger.config.kind])
        before, rows = ledger.known_position(), tables(ledger)
        batch = [b.issued("older", "ana", "common", 5, f"2001-02-{d:02d}") for d in range(1, 13)]
        with pytest.raises(StoreError, match="cannot write the read models"):
            ledger.record(batch)
        assert ledger.known_position() == before
        assert tables(ledger) == rows
        assert models(ledger).tracked() == before


def test_closes_sent_are_checked_when_asked(durable_url: str) -> None:
    """A close naming no believed row: sent with ``checks``, it is not checked then, but
    when the caller checks (before its commit), in the projection's words."""
    with Ledger.open(durable_url) as ledger:
        ledger.record(b.founded("older", "2001-01-01", {"ana": 10}))
        db = database_for(ledger.config.kind)
        with db.transaction(ledger.engine) as raw:
            buffer = Buffer()
            row = Row(("ana", "common"), (10, 1), date(2001, 1, 1), None)
            buffer.close(CAP_TABLE, "nobody", row, 99)
            checks: list[Check] = []
            Writer(db).write(raw, buffer, checks)
            with pytest.raises(ProjectionError, match="changed behind the projection's back"):
                check(checks)
