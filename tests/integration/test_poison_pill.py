"""A stored event the projections cannot apply is never a poison pill. Here a stock split
stored past today's rules (as an older version might have stored it) takes a holding of
10^15 shares to 10^20, beyond the BIGINT of the cap-table rows; the fold folds it in Python.
The projections stop just before it, every batch they committed whole; recording goes on and
reports the lag, queries answer from the fold, and status, verify and rebuild name the event."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa

from ledger import Ledger
from ledger.domain.events import SharesIssued, StockSplit
from ledger.ports import ProjectionError, ReadModels, StuckEvent
from tests import builders as b
from tests.contract.test_read_models import rows, tables
from tests.stored import store_unchecked

POISON = StockSplit(
    company="acme", effective_date=date(2021, 1, 1), share_class="common", ratio="100000:1"
)
PLACE = "position 4 (company acme, event {id}, StockSplit of 2021-01-01)"


def models(ledger: Ledger) -> ReadModels:
    found = ledger.read_models
    assert found is not None
    return found


def tracked(ledger: Ledger) -> list[int]:
    return [s.position for s in models(ledger).status()]


def poisoned(url: str, project: bool = True) -> UUID:
    """acme founded with ana's 10^15 shares (positions 1-3), then the split (position 4)."""
    with Ledger.open(url) as ledger:
        ledger.record(b.founded("acme", "2020-01-01", {"ana": 10**15}), project=project)
        position, event_id = store_unchecked(ledger, POISON)
    assert position == 4
    return event_id


def stuck_at_the_split(error: ProjectionError | None, event_id: UUID) -> StuckEvent:
    """``error`` names the split, whatever the driver's words for the overflow; returns it."""
    assert error is not None
    assert error.stuck is not None
    stuck = error.stuck
    assert stuck._replace(reason="") == StuckEvent(
        4, "acme", str(event_id), "StockSplit", date(2021, 1, 1), ""
    )
    assert stuck.reason.startswith("OverflowError: ")
    assert str(error) == (
        "projections cap_table, roster, board cannot apply the event at "
        f"{PLACE.format(id=event_id)}: {stuck.reason}"
    )
    return stuck


def test_record_stores_the_batch_and_reports_the_lag_instead_of_raising(durable_url: str) -> None:
    event_id = poisoned(durable_url)
    with Ledger.open(durable_url) as ledger:
        result = ledger.record(b.founded("beta", "2020-01-01", {"bo": 5}))
        assert [e.position for e in result.recorded] == [5, 6, 7]
        stuck = stuck_at_the_split(result.lagging, event_id)
        later = ledger.record([b.issued("beta", "cy", "common", 1, "2020-02-01")])
        assert [e.position for e in later.recorded] == [8]
        assert later.lagging is not None
        assert later.lagging.stuck == stuck
        assert ledger.known_position() == 8
        assert [(s.position, s.lag, s.stuck) for s in models(ledger).status()] == [
            (3, 5, stuck)
        ] * 3


def test_queries_answer_from_the_fold_and_say_why(durable_url: str) -> None:
    event_id = poisoned(durable_url)
    with Ledger.open(durable_url) as ledger:
        ledger.record(b.founded("beta", "2020-01-01", {"bo": 5}))
        day = date(2022, 1, 1)
        folded: list[Any] = [
            ledger.cap_table("acme", day, fold=True),
            ledger.roster("acme", day, fold=True),
            ledger.board("acme", day, fold=True),
            ledger.holdings("ana", day, fold=True),
        ]
        asked: list[Any] = []
        for query in (ledger.cap_table, ledger.roster, ledger.board):
            asked.append(query("acme", day))
            stuck_at_the_split(ledger.lagging, event_id)
        asked.append(ledger.holdings("ana", day))
        stuck_at_the_split(ledger.lagging, event_id)
        assert asked == folded
        assert folded[0].total_shares == 10**20
        # Known before the split, the tables have the answer.
        assert ledger.cap_table("acme", day, known_at=3) == ledger.cap_table(
            "acme", day, known_at=3, fold=True
        )
        assert ledger.lagging is None


def test_a_catch_up_commits_the_events_before_the_one_it_cannot_apply(durable_url: str) -> None:
    event_id = poisoned(durable_url, project=False)
    with Ledger.open(durable_url) as ledger:
        ledger.record(b.founded("beta", "2020-01-01", {"bo": 5}), project=False)
        assert tracked(ledger) == [0, 0, 0]
        for _ in range(2):  # it stops again at the same event: no skip, no loop
            with pytest.raises(ProjectionError) as stopped:
                models(ledger).catch_up()
            stuck_at_the_split(stopped.value, event_id)
            assert tracked(ledger) == [3, 3, 3]
        assert rows(ledger, "cap_table_history") == [
            ("acme", "ana", "common", 10**15, 1, "2020-01-01", None, 3, None)
        ]


def test_rebuild_and_verify_name_the_event_and_leave_the_tables_whole(durable_url: str) -> None:
    event_id = poisoned(durable_url)
    with Ledger.open(durable_url) as ledger:
        ledger.record(b.founded("beta", "2020-01-01", {"bo": 5}))
        before = tables(ledger)
        with pytest.raises(ProjectionError) as stopped:
            models(ledger).rebuild()
        stuck_at_the_split(stopped.value, event_id)
        assert tables(ledger) == before
        assert tracked(ledger) == [3, 3, 3]
        with pytest.raises(ProjectionError) as behind:
            models(ledger).verify()
        assert str(behind.value) == (
            "read models are behind the fold: they match it (2 companies, 1 rows) up to "
            f"position 3, but {stopped.value} (see corpledger projections status)"
        )
        assert behind.value.exit_code == 1


def test_a_company_rebuild_that_meets_the_event_leaves_its_rows_as_they_were(
    durable_url: str,
) -> None:
    event_id = poisoned(durable_url)
    with Ledger.open(durable_url) as ledger:
        with ledger.engine.begin() as conn:  # positions past the split, as if it were projected
            conn.execute(sa.text("UPDATE projection_tracking SET position = 4"))
        before = tables(ledger)
        with pytest.raises(ProjectionError) as stopped:
            models(ledger).rebuild("acme")
        stuck_at_the_split(stopped.value, event_id)
        assert tables(ledger) == before
        assert tracked(ledger) == [4, 4, 4]


def test_a_catch_up_folding_ahead_stops_at_the_event_too(durable_url: str) -> None:
    """A worker far behind folds ahead of its writes; the write that fails is another
    thread's (on SQLite, in a writer process). It still ends just before the event, naming
    it."""
    event_id = poisoned(durable_url, project=False)
    with Ledger.open(durable_url) as ledger:
        # (acme is past the bound after the split: the later events are another company's.)
        ledger.record(b.founded("beta", "2020-01-01", {"bo": 5}), project=False)
        for n in range(9):
            ledger.record([b.issued("beta", f"p{n}", "common", 1, "2022-01-01")], project=False)
        read_models = models(ledger)
        read_models.batch = 1  # type: ignore[attr-defined]  # ahead from 4 batches behind
        with pytest.raises(ProjectionError) as stopped:
            read_models.catch_up()
        stuck_at_the_split(stopped.value, event_id)
        assert tracked(ledger) == [3, 3, 3]


def test_an_event_stored_past_todays_bounds_is_read_as_stored(durable_url: str) -> None:
    # Bounds are rules for input: an issuance of 10^20 shares with a 20,000-character note,
    # as an older version might have stored it, still reads back and folds; the read models
    # lag at it (BIGINT), and queries answer from the fold.
    big = SharesIssued.model_construct(
        company="acme", effective_date=date(2021, 1, 1), holder="bo", share_class="common",
        shares=10**20, note="n" * 20_000,
    )  # fmt: skip
    with Ledger.open(durable_url) as ledger:
        ledger.record(b.founded("acme", "2020-01-01", {"ana": 10**15}))
        store_unchecked(ledger, big)
    with Ledger.open(durable_url) as ledger:
        [*_, last] = ledger.history("acme").events
        assert (last.type, last.data["shares"], len(last.data["note"])) == (
            "SharesIssued", 10**20, 20_000
        )  # fmt: skip
        table = ledger.cap_table("acme", date(2022, 1, 1))
        assert ledger.lagging is not None
        assert [(h.party, h.shares) for h in table.holders] == [("bo", 10**20), ("ana", 10**15)]
