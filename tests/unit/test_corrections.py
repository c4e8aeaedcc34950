"""Invariant 6: retractions and corrections, checked by ``Timeline.admit`` over the timeline
with the correction applied; the entries in force (``in_force``) as known at a position; the
messages users see. No I/O."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import pytest
from pydantic import ValidationError

from ledger.batch import validate
from ledger.domain.corrections import in_force, undone_by
from ledger.domain.entry import Entry
from ledger.domain.errors import InputError, RuleViolation
from ledger.domain.events import (
    FACT_ADAPTER,
    STORED,
    Correction,
    EventCorrected,
    Fact,
    InvestmentMade,
)
from ledger.domain.rules import replay
from ledger.domain.timeline import Timeline

from .timelines import COMPANY, FILE, fact

RULE_3 = "rule 3 (no holding is ever negative)"
RULE_4 = (
    "rule 4 (officers: one CEO at a time, no office held twice, no departure from an office "
    "not held)"
)
RULE_6 = (
    "rule 6 (a correction targets an event of the company in force and keeps the timeline valid)"
)


def uid(seq: int) -> UUID:
    """Event ids that read well in messages: the seq in the last digits."""
    return UUID(int=seq)


def record(timeline: Timeline, *facts: Fact) -> tuple[Timeline, list[Entry]]:
    """Admit ``facts`` as one batch (``acme.yaml item <seq>``, event id ``uid(seq)``)."""
    after = timeline.last_seq
    new = [
        Entry(f, seq, f"{FILE} item {seq}", uid(seq))
        for seq, f in enumerate(facts, start=after + 1)
    ]
    return timeline.admit(new)


def recorded(*facts: Fact) -> Timeline:
    return record(Timeline(COMPANY), *facts)[0]


def refused(timeline: Timeline, *facts: Fact) -> str:
    with pytest.raises(RuleViolation) as caught:
        record(timeline, *facts)
    assert caught.value.rule == 6
    return str(caught.value)


def retract(target: int, **extra: Any) -> Fact:
    data = {"type": "EventRetracted", "company": COMPANY, "target": str(uid(target))}
    return FACT_ADAPTER.validate_python({"reason": "recorded in error", **data, **extra})


def correct(target: int, replacement: Fact, **extra: Any) -> Fact:
    body = replacement.model_dump(mode="json", by_alias=True, exclude_none=True)
    data = {"type": "EventCorrected", "company": COMPANY, "target": str(uid(target))}
    return FACT_ADAPTER.validate_python({"reason": "typo", "replacement": body, **data, **extra})


def issued(holder: str, shares: int, on: str = "2020-01-01") -> Fact:
    return fact("SharesIssued", on, holder=holder, share_class="common", shares=shares)


def transfer(from_: str, to: str, shares: int, on: str) -> Fact:
    return fact(
        "SharesTransferred", on, to=to, share_class="common", shares=shares, **{"from": from_}
    )


def founded(*facts: Fact) -> Timeline:
    """acme registered 2020-01-01 with a common class (items 1, 2), then ``facts`` (item 3…)."""
    return recorded(
        fact("CompanyRegistered", "2020-01-01", name="Acme, Inc."),
        fact("ShareClassCreated", "2020-01-01", share_class="common", name="Common", kind="common"),
        *facts,
    )


# --- the events in force ---


def test_a_retraction_takes_its_target_out_of_the_timeline() -> None:
    timeline = founded(issued("ana", 100), issued("ben", 50, "2020-06-01"))
    extended, _ = record(timeline, retract(4))
    assert extended.end.holdings == {"ana": {"common": 100}}
    assert [e.seq for e in extended.entries] == [1, 2, 3]
    assert extended.undone == {uid(4): extended.log[-1]}


def test_a_correction_puts_its_replacement_in_the_targets_place() -> None:
    timeline = founded(issued("ana", 100), issued("ben", 50, "2020-06-01"))
    extended, _ = record(timeline, correct(4, issued("ben", 40, "2020-03-01")))
    assert extended.end.holdings == {"ana": {"common": 100}, "ben": {"common": 40}}
    replacement = extended.entries[-1]
    assert (replacement.seq, replacement.event_id, replacement.fact.effective_date) == (
        4,
        uid(5),
        date(2020, 3, 1),
    )
    assert replay(extended.entries, COMPANY, as_of=date(2020, 4, 1)).holdings["ben"] == {
        "common": 40
    }


def test_the_stored_correction_carries_its_targets_effective_date() -> None:
    timeline = founded(issued("ana", 100), issued("ben", 50, "2020-06-01"))
    _, stored = record(timeline, retract(4), correct(3, issued("ana", 90, "2020-02-01")))
    assert [e.fact.effective_date for e in stored] == [date(2020, 6, 1), date(2020, 1, 1)]


def test_a_replacement_keeps_its_targets_place_among_events_of_the_same_day() -> None:
    # ana departs as CEO and ben is appointed the same day: correcting the departure's note
    # must not move it after ben's appointment (which would make two CEOs at once).
    timeline = founded(
        fact("ExecutiveAppointed", "2020-01-01", person="ana", role="ceo"),
        fact("ExecutiveDeparted", "2021-01-01", person="ana", role="ceo"),
        fact("ExecutiveAppointed", "2021-01-01", person="ben", role="ceo"),
    )
    fixed = fact("ExecutiveDeparted", "2021-01-01", person="ana", role="ceo", note="resigned")
    extended, _ = record(timeline, correct(4, fixed))
    assert [o.person for o in extended.end.officers] == ["ben"]


def test_the_log_filtered_by_position_gives_the_old_view_and_the_whole_log_the_new() -> None:
    timeline = founded(issued("ana", 100), issued("ben", 50, "2020-06-01"))
    extended, _ = record(timeline, correct(4, issued("ben", 40)))
    before = in_force(e for e in extended.log if e.seq <= 4)
    assert replay(before, COMPANY).holdings["ben"] == {"common": 50}
    assert replay(in_force(extended.log), COMPANY).holdings["ben"] == {"common": 40}
    assert Timeline(COMPANY, extended.log).end == extended.end
    assert undone_by(extended.log) == {uid(4): extended.log[-1]}


def test_a_correction_of_a_correction_acts_on_its_replacement() -> None:
    timeline = founded(issued("ana", 100))
    once, _ = record(timeline, correct(3, issued("ana", 90)))
    twice, _ = record(once, correct(4, issued("ana", 80)))
    assert twice.end.holdings == {"ana": {"common": 80}}
    thrice, _ = record(twice, retract(5))
    assert thrice.end.holdings == {}


def test_a_correction_may_target_an_event_earlier_in_its_own_batch() -> None:
    timeline = founded()
    extended, _ = record(timeline, issued("ana", 100), retract(3))
    assert extended.end.holdings == {}


def test_a_target_named_by_its_external_id_is_stored_as_its_whole_event_id() -> None:
    grant = issued("ben", 50).model_copy(update={"external_id": "b-1"})
    by_external_id = {"type": "EventRetracted", "company": COMPANY, "target_external_id": "b-1"}
    timeline = founded(issued("ana", 100))
    extended, stored = record(
        timeline, grant, FACT_ADAPTER.validate_python({"reason": "typo", **by_external_id})
    )
    retraction = stored[-1].fact
    assert isinstance(retraction, Correction)
    assert (retraction.target, retraction.target_external_id) == (uid(4), "b-1")
    assert extended.end.holdings == {"ana": {"common": 100}}


def test_a_prefix_that_starts_several_event_ids_is_refused_naming_the_item_and_field() -> None:
    timeline = founded(issued("ana", 100))
    by_prefix = {"type": "EventRetracted", "company": COMPANY, "reason": "typo"}
    with pytest.raises(InputError) as caught:
        record(timeline, FACT_ADAPTER.validate_python({**by_prefix, "target": "00000000-0000"}))
    assert str(caught.value) == (
        f"{FILE} item 4: field 'target': '00000000-0000' starts the event ids of 3 events of "
        f"{COMPANY} ({uid(1)}, {uid(2)}, {uid(3)}): give more of its characters"
    )


def test_a_replacement_investment_gets_its_shares_derived_and_stored() -> None:
    timeline = founded(issued("ana", 900))
    money = {"amount": "100", "currency": "USD"}
    invest = fact(
        "InvestmentMade", "2021-01-01", investor="vc", amount=money, share_class="common", shares=5
    )
    timeline, _ = record(timeline, invest)
    by_stake = fact(
        "InvestmentMade",
        "2021-01-01",
        investor="vc",
        amount=money,
        share_class="common",
        stake_percent="10",
    )
    extended, [stored] = record(timeline, correct(4, by_stake))
    assert isinstance(stored.fact, EventCorrected)
    assert isinstance(stored.fact.replacement, InvestmentMade)
    assert stored.fact.replacement.derived_shares == 100
    assert extended.end.holdings["vc"] == {"common": 100}


# --- refused: rule 6 ---


def test_a_retraction_that_breaks_a_later_event_is_refused_naming_it() -> None:
    timeline = founded(issued("ana", 100), transfer("ana", "ben", 60, "2021-01-01"))
    assert refused(timeline, retract(3)) == (
        f"acme.yaml item 5 (EventRetracted of event {uid(3)}, 2020-01-01): {RULE_6}: without "
        "it, the later SharesTransferred of 2021-01-01 (acme.yaml item 4) breaks "
        f"{RULE_3}: transfer of 60 common from ana exceeds their holding of 0"
    )


def test_a_correction_whose_replacement_breaks_a_later_event_is_refused_naming_it() -> None:
    timeline = founded(issued("ana", 100), transfer("ana", "ben", 60, "2021-01-01"))
    assert refused(timeline, correct(3, issued("ana", 50))) == (
        f"acme.yaml item 5 (EventCorrected of event {uid(3)}, 2020-01-01): {RULE_6}: with its "
        "replacement, the later SharesTransferred of 2021-01-01 (acme.yaml item 4) breaks "
        f"{RULE_3}: transfer of 60 common from ana exceeds their holding of 50"
    )


def test_a_replacement_that_breaks_a_rule_itself_is_refused() -> None:
    timeline = founded(issued("ana", 100), transfer("ana", "ben", 60, "2021-01-01"))
    assert refused(timeline, correct(4, transfer("ana", "ben", 160, "2021-01-01"))) == (
        f"acme.yaml item 5 (EventCorrected of event {uid(4)}, 2021-01-01): {RULE_6}: its "
        f"replacement SharesTransferred of 2021-01-01 breaks {RULE_3}: transfer of 160 common "
        "from ana exceeds their holding of 100"
    )


def test_a_correction_moving_an_appointment_earlier_is_checked_from_the_new_date() -> None:
    timeline = founded(
        fact("ExecutiveAppointed", "2020-01-01", person="ana", role="ceo"),
        fact("ExecutiveDeparted", "2021-01-01", person="ana", role="ceo"),
        fact("ExecutiveAppointed", "2021-06-01", person="ben", role="ceo"),
    )
    early = fact("ExecutiveAppointed", "2020-06-01", person="ben", role="ceo")
    assert refused(timeline, correct(5, early)) == (
        f"acme.yaml item 6 (EventCorrected of event {uid(5)}, 2021-06-01): {RULE_6}: its "
        f"replacement ExecutiveAppointed of 2020-06-01 breaks {RULE_4}: ben cannot become "
        "CEO: ana is CEO (since 2020-01-01)"
    )


def test_an_unknown_target_is_refused() -> None:
    assert refused(founded(), retract(9)) == (
        f"acme.yaml item 3 (EventRetracted): {RULE_6}: event {uid(9)} is not an event of acme"
    )


def test_a_target_of_another_company_is_refused_naming_that_company() -> None:
    new = [Entry(retract(9), 3, f"{FILE} item 3", uid(3))]
    with pytest.raises(RuleViolation) as caught:
        founded().admit(new, lambda event_id: "globex" if event_id == uid(9) else None)
    assert str(caught.value) == (
        f"acme.yaml item 3 (EventRetracted): {RULE_6}: event {uid(9)} is not an event of acme: "
        "it is an event of globex"
    )


def test_an_already_retracted_target_is_refused() -> None:
    timeline, _ = record(founded(issued("ana", 100)), retract(3))
    assert refused(timeline, correct(3, issued("ana", 90))) == (
        f"acme.yaml item 5 (EventCorrected): {RULE_6}: event {uid(3)} is already retracted by "
        "acme.yaml item 4"
    )


def test_an_already_corrected_target_is_refused() -> None:
    timeline, _ = record(founded(issued("ana", 100)), correct(3, issued("ana", 90)))
    assert refused(timeline, retract(3)) == (
        f"acme.yaml item 5 (EventRetracted): {RULE_6}: event {uid(3)} is already corrected by "
        "acme.yaml item 4"
    )


def test_a_retraction_cannot_be_retracted_or_corrected() -> None:
    timeline, _ = record(founded(issued("ana", 100)), retract(3))
    assert refused(timeline, retract(4)) == (
        f"acme.yaml item 5 (EventRetracted): {RULE_6}: event {uid(4)} is a retraction: a "
        "retraction is not retracted or corrected (record the event again instead)"
    )


def test_a_correction_cannot_target_a_later_event_of_its_batch() -> None:
    assert refused(founded(), retract(4), issued("ana", 100)) == (
        f"acme.yaml item 3 (EventRetracted): {RULE_6}: event {uid(4)} (acme.yaml item 4) is "
        "recorded after the correction: a correction targets only an event recorded before "
        "it (stored, or earlier in the batch)"
    )


def test_a_refused_correction_leaves_the_timeline_as_it_was() -> None:
    timeline = founded(issued("ana", 100), transfer("ana", "ben", 60, "2021-01-01"))
    before = (list(timeline.log), list(timeline.entries), timeline.end.copy(), timeline.undone)
    refused(timeline, retract(3))
    assert (list(timeline.log), list(timeline.entries), timeline.end, timeline.undone) == before


# --- the event shapes ---


def test_a_correction_in_an_event_file_takes_no_effective_date() -> None:
    with pytest.raises(ValidationError) as caught:
        retract(3, effective_date="2020-01-01")
    assert "a correction takes no effective_date" in str(caught.value)


def test_a_stored_correction_loads_with_its_effective_date() -> None:
    data = {
        "type": "EventRetracted",
        "company": COMPANY,
        "target": str(uid(3)),
        "reason": "duplicate",
        "effective_date": "2020-01-01",
    }
    loaded = FACT_ADAPTER.validate_python(data, context={STORED: True})
    assert loaded.effective_date == date(2020, 1, 1)


def test_a_replacement_stays_in_its_company_and_takes_no_external_id() -> None:
    other = fact("SharesIssued", "2020-01-01", holder="ana", share_class="common", shares=1)
    elsewhere = other.model_copy(update={"company": "globex"})
    with pytest.raises(ValidationError) as caught:
        correct(3, elsewhere)
    assert "a correction stays within its company" in str(caught.value)
    with pytest.raises(ValidationError) as caught:
        correct(3, other.model_copy(update={"external_id": "x-1"}))
    assert "the replacement takes no external_id" in str(caught.value)


def test_an_external_id_given_as_the_target_is_refused_pointing_to_target_external_id() -> None:
    retraction = {"type": "EventRetracted", "company": COMPANY, "reason": "dup", "target": "x7"}
    with pytest.raises(InputError) as caught:
        validate(retraction, 3)
    assert str(caught.value) == (
        "item 3: field 'target': not an event id, nor the first characters of one (an event "
        "named by its external_id goes in target_external_id) (got 'x7')"
    )
