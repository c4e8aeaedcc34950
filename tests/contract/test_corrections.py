"""Corrections on every backend: the answers for every (as of D, known at T) before and after
retractions and corrections, from the read models and from the fold alike; ``verify`` passes;
a refused correction stores nothing."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest

from ledger import Ledger, RuleViolation
from tests import builders as b

D = date.fromisoformat


def answers(ledger: Ledger, as_of: date, known_at: int, fold: bool) -> Any:
    return [
        ledger.cap_table("acme", as_of, known_at, fold=fold).model_dump(mode="json"),
        ledger.roster("acme", as_of, known_at, fold=fold).model_dump(mode="json"),
        ledger.board("acme", as_of, known_at, fold=fold).model_dump(mode="json"),
    ]


def ids(ledger: Ledger) -> list[UUID]:
    return [UUID(e.event_id) for e in ledger.history("acme").events]


def shares(ledger: Ledger, as_of: str, known_at: int | None = None) -> dict[str, int]:
    table = ledger.cap_table("acme", D(as_of), known_at)
    return {h.party: h.shares for h in table.holders}


def corrected_history(ledger: Ledger) -> int:
    """acme with retractions and corrections of every kind; returns the position before the
    first correction."""
    ledger.record(
        [
            *b.founded("acme", "2020-01-01", {"ana": 1_000, "ben": 500}),
            b.executive_appointed("acme", "ana", "ceo", "2020-01-01"),
            b.director_appointed("acme", "ana", "2020-01-01"),
            b.transferred("acme", "ben", "cy", "common", 200, "2020-06-01"),
            b.director_appointed("acme", "ben", "2020-09-01"),
        ]
    )
    before = ledger.known_position()
    e = ids(ledger)
    # ben's issuance was 600, not 500: back-dated, the change spans from 2020-01-01.
    ledger.record([b.corrected("acme", e[3], b.issued("acme", "ben", "common", 600, "2020-01-01"))])
    # ben's seat came on 2020-03-01 (earlier than recorded) and ana's CEO office is retracted.
    ledger.record(
        [
            b.corrected("acme", e[7], b.director_appointed("acme", "ben", "2020-03-01")),
            b.retracted("acme", e[4]),
        ]
    )
    # The sale to cy moves later; then it is corrected again (a correction of a correction).
    ledger.record(
        [b.corrected("acme", e[6], b.transferred("acme", "ben", "cy", "common", 200, "2020-08-01"))]
    )
    again = ids(ledger)[-1]
    ledger.record(
        [
            b.corrected(
                "acme", again, b.transferred("acme", "ben", "cy", "common", 300, "2020-08-01")
            )
        ]
    )
    # A new fact, retracted in a later batch.
    ledger.record([b.issued("acme", "dee", "common", 5, "2020-02-01")])
    ledger.record([b.retracted("acme", ids(ledger)[-1])])
    return before


def test_corrections_change_the_answers_only_from_the_moment_they_are_known(
    ledger: Ledger,
) -> None:
    before = corrected_history(ledger)
    assert shares(ledger, "2020-12-31", before) == {"ana": 1_000, "ben": 300, "cy": 200}
    assert shares(ledger, "2020-07-01") == {"ana": 1_000, "ben": 600}
    assert shares(ledger, "2020-12-31") == {"ana": 1_000, "ben": 300, "cy": 300}
    assert ledger.roster("acme", D("2020-12-31")).officers == []
    assert [d.person for d in ledger.board("acme", D("2020-04-01")).directors] == ["ana", "ben"]
    assert [d.person for d in ledger.board("acme", D("2020-04-01"), before).directors] == ["ana"]


def test_the_read_models_answer_as_the_fold_at_every_date_and_position_with_corrections(
    ledger: Ledger,
) -> None:
    corrected_history(ledger)
    last = ledger.known_position()
    days = [D("2019-12-31") + timedelta(days=n) for n in range(0, 400, 30)]
    for known_at in range(0, last + 1):
        for as_of in days:
            tables_say = answers(ledger, as_of, known_at, fold=False)
            assert tables_say == answers(ledger, as_of, known_at, fold=True), (as_of, known_at)
    read_models = ledger.read_models
    assert read_models is not None
    assert read_models.verify().startswith("read models match the fold")


def test_a_refused_correction_stores_nothing(ledger: Ledger) -> None:
    corrected_history(ledger)
    last = ledger.known_position()
    with pytest.raises(RuleViolation) as caught:
        ledger.record([b.retracted("acme", ids(ledger)[8])])  # ben's 600: cy's purchase breaks
    assert caught.value.rule == 6
    assert ledger.known_position() == last


def test_a_correction_recorded_again_with_its_external_id_is_a_no_op(ledger: Ledger) -> None:
    ledger.record(b.founded("acme", "2020-01-01", {"ana": 900}))
    ledger.record([b.invested("acme", "fund", "common", 100, "2020-06-01", shares=5)])
    by_stake = b.invested("acme", "fund", "common", 100, "2020-06-01", stake_percent="10")
    fix = b.corrected("acme", ids(ledger)[-1], by_stake, external_id="fix-1")
    first = ledger.record([fix])
    again = ledger.record([fix])  # the stored one carries a date and derived shares; same content
    assert (again.recorded, [s.event_id for s in again.skipped]) == (
        [],
        [first.recorded[0].event_id],
    )
    assert shares(ledger, "2020-12-31") == {"ana": 900, "fund": 100}


def test_a_later_message_names_an_event_this_ledger_stored_by_its_id(ledger: Ledger) -> None:
    ledger.record(b.founded("acme", "2020-01-01", {"ana": 100}))
    sale = ledger.record([b.transferred("acme", "ana", "ben", "common", 60, "2021-01-01")])
    sale_id = sale.recorded[0].event_id
    with pytest.raises(RuleViolation, match=rf"2021-01-01 \(event {sale_id}\) impossible"):
        ledger.record([b.cancelled("acme", "ana", "common", 50, "2020-06-01")])
    undo = ledger.record([b.retracted("acme", sale_id)]).recorded[0].event_id
    with pytest.raises(RuleViolation, match=rf"already retracted by event {undo}$"):
        ledger.record([b.retracted("acme", sale_id)])


def test_a_batch_whose_part_way_state_passes_the_bound_is_refused(ledger: Ledger) -> None:
    """Whole, the batch is valid: its correction takes the founder's 1,000,000 shares away
    before the splits. Known part-way (after the second split, before the correction) the
    founder would hold 10^6 · 10^6 · 10^6 = 10^18 shares, and after a third 10^24: what the
    read models could not hold. The batch is refused, naming that event; recorded with the
    correction first, the same events are accepted."""
    founding = ledger.record(
        [
            b.registered("acme", "2020-01-01"),
            b.share_class("acme", "common", "2020-01-01"),
            b.issued("acme", "founder", "common", 1_000_000, "2020-01-02"),
        ]
    )
    issuance = str(founding.recorded[-1].event_id)
    splits = [b.split("acme", "common", "1000000:1", "2020-01-04") for _ in range(3)]
    correction = b.corrected(
        "acme", issuance, b.split("acme", "common", "1000000:1", "2020-01-04"), "no such issuance"
    )
    before = ledger.known_position()
    with pytest.raises(RuleViolation) as refused:
        ledger.record([*splits, correction])
    assert refused.value.rule == "bounds"
    assert "as known part-way through the batch" in str(refused.value)
    assert ledger.known_position() == before
    ledger.record([correction, *splits])
    assert ledger.cap_table("acme", D("2020-01-05")).holders == []
