"""Retractions and corrections from the command line: recorded, shown by ``history`` with
``retracted_by`` / ``corrected_by``, the old view still answered as known before them, the
read models following (``verify``), and every refused case with its one-line message."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import BASE_EVENTS, Cli, assert_refused, record_base

R6 = "rule 6 (a correction targets an event of the company in force and keeps the timeline valid)"
R3 = "rule 3 (no holding is ever negative)"


def event_ids(cli: Cli, company: str = "acme-rockets") -> dict[int, str]:
    """Event id by position."""
    events = cli("history", company, "--format", "json").json()["events"]
    return {e["position"]: e["event_id"] for e in events}


def holders(cli: Cli, *args: str) -> list[tuple[str, int]]:
    table = cli("cap-table", "acme-rockets", "--format", "json", *args).json()
    return [(h["party"], h["shares"]) for h in table["holders"]]


def history_of(cli: Cli, *args: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = cli("history", *args, "--format", "json").json()["events"]
    return events


@pytest.fixture
def base(cli: Cli) -> Cli:
    """acme-rockets (positions 1–11), then ben sells 1,500,000 common to carol in 2022 and the
    board gets one seat (12, 13)."""
    return record_base(cli)


def test_a_correction_changes_the_answers_from_its_date_and_the_old_view_stays_known(
    base: Cli,
) -> None:
    ids = event_ids(base)
    ana_issued = ids[3]  # ana's 8,000,000 common of 2020-01-01
    fix = base.write(
        "fix.yaml",
        f"""\
- type: EventCorrected
  company: acme-rockets
  target: {ana_issued}
  reason: the share register says 7,000,000
  source: share register p. 2
  replacement:
    type: SharesIssued
    company: acme-rockets
    holder: ana
    share_class: common
    shares: 7000000
    effective_date: 2020-01-01
""",
    )
    run = base("record", fix, "--actor", "auditor")
    assert (run.code, run.err) == (0, ""), run.err
    assert holders(base, "--as-of", "2022-06-01")[0] == ("ana", 7_000_000)
    assert holders(base, "--as-of", "2022-06-01", "--known-at", str(BASE_EVENTS))[0] == (
        "ana",
        8_000_000,
    )
    events = history_of(base, "acme-rockets")
    correction = events[-1]
    assert (correction["position"], correction["type"], correction["recorded_by"]) == (
        BASE_EVENTS + 1,
        "EventCorrected",
        "auditor",
    )
    # It acts on its target's date; its source is its own.
    assert (correction["effective_date"], correction["source"]) == (
        "2020-01-01",
        "share register p. 2",
    )
    assert (events[2]["corrected_by"], events[2]["retracted_by"]) == (
        correction["event_id"],
        None,
    )
    # Known before the correction, nothing was corrected yet.
    assert (
        history_of(base, "acme-rockets", "--known-at", str(BASE_EVENTS))[2]["corrected_by"] is None
    )
    # The party's history shows the correction too (it touches ana).
    assert [e["type"] for e in history_of(base, "--party", "ana")][-1] == "EventCorrected"
    verified = base("verify")
    assert verified.code == 0, verified.err
    table = base("history", "acme-rockets").out
    assert f"corrected by {correction['event_id']}" in " ".join(table.split())


def test_a_retraction_takes_the_event_out_and_history_names_the_retraction(base: Cli) -> None:
    ids = event_ids(base)
    sale = ids[12]  # ben's sale to carol
    retraction = base.write(
        "undo.yaml",
        f"- {{type: EventRetracted, company: acme-rockets, target: {sale}, reason: duplicate}}\n",
    )
    run = base("record", retraction)
    assert (run.code, run.err) == (0, ""), run.err
    assert ("carol", 1_500_000) not in holders(base, "--as-of", "2022-06-01")
    assert ("carol", 1_500_000) in holders(
        base, "--as-of", "2022-06-01", "--known-at", str(BASE_EVENTS)
    )
    events = history_of(base, "acme-rockets")
    assert events[11]["retracted_by"] == events[-1]["event_id"]
    assert events[-1]["data"]["target"] == sale
    assert base("verify").code == 0


def test_a_correction_breaking_a_later_event_is_refused_naming_it(base: Cli) -> None:
    ids = event_ids(base)
    bad = base.write(
        "bad.yaml",
        f"- {{type: EventRetracted, company: acme-rockets, target: {ids[4]}, reason: wrong}}\n",
    )
    assert_refused(
        base("record", bad),
        f"bad.yaml item 1 (EventRetracted of event {ids[4]}, 2020-01-01): {R6}: without it, "
        f"the later SharesTransferred of 2022-01-01 (event {ids[12]}) breaks {R3}: transfer "
        "of 1,500,000 common from ben exceeds their holding of 0",
    )
    assert base.stored() == BASE_EVENTS


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("unknown", "bad.yaml item 1 (EventRetracted): {R6}: event {missing} is not an event of "
         "acme-rockets"),
        ("other company", "bad.yaml item 1 (EventRetracted): {R6}: event {other} is not an "
         "event of acme-rockets: it is an event of globex"),
        ("retracted twice", "bad.yaml item 2 (EventRetracted): {R6}: event {first} is already "
         "retracted by bad.yaml item 1"),
        ("retraction retracted", "bad.yaml item 2 (EventRetracted): {R6}: event {undo} is a "
         "retraction: a retraction is not retracted or corrected (record the event again "
         "instead)"),
        ("with a date", "bad.yaml item 1: a correction takes no effective_date: it acts on "
         "the date of its target"),
    ],
)  # fmt: skip
def test_a_bad_correction_is_refused_with_one_line_and_nothing_is_stored(
    base: Cli, case: str, expected: str
) -> None:
    ids = event_ids(base)
    globex = base.write(
        "globex.yaml",
        "- {type: CompanyRegistered, company: globex, name: Globex, effective_date: 2020-01-01}\n",
    )
    assert base("record", globex).code == 0
    other = event_ids(base, "globex")[BASE_EVENTS + 1]
    missing = "00000000-0000-0000-0000-000000000000"
    first = ids[7]  # the seed class
    undo = f"{{type: EventRetracted, company: acme-rockets, target: {first}, reason: x}}"
    text = {
        "unknown": f"- {{type: EventRetracted, company: acme-rockets, target: {missing}, "
        "reason: x}\n",
        "other company": f"- {{type: EventRetracted, company: acme-rockets, target: {other}, "
        "reason: x}\n",
        "retracted twice": f"- {undo}\n- {undo}\n",
        "retraction retracted": "",
        "with a date": f"- {{type: EventRetracted, company: acme-rockets, target: {first}, "
        "reason: x, effective_date: 2020-01-01}\n",
    }[case]
    undo_id = ""
    if case == "retraction retracted":
        first = ids[12]
        assert (
            base("record", base.write("undo.yaml", f"- {undo.replace(ids[7], first)}\n")).code == 0
        )
        undo_id = history_of(base, "acme-rockets")[-1]["event_id"]
        # The first line is fine on its own; the second targets the retraction just stored.
        text = f"- {{type: ValuationRecorded, company: acme-rockets, valuation: 1 USD, basis: other, effective_date: 2023-01-01}}\n- {{type: EventRetracted, company: acme-rockets, target: {undo_id}, reason: x}}\n"  # noqa: E501
    before = base.stored()
    run = base("record", base.write("bad.yaml", text))
    message = expected.format(R6=R6, missing=missing, other=other, first=first, undo=undo_id)
    if case == "with a date":
        assert (run.code, run.out) == (2, "")
        assert message in run.err
    else:
        assert_refused(run, message)
    assert base.stored() == before


def test_a_replacement_that_breaks_a_rule_is_refused_naming_it(base: Cli) -> None:
    ids = event_ids(base)
    bad = base.write(
        "bad.yaml",
        f"""\
- type: EventCorrected
  company: acme-rockets
  target: {ids[12]}
  reason: more shares
  replacement: {{type: SharesTransferred, company: acme-rockets, from: ben, to: carol,
                 share_class: common, shares: 5000000, effective_date: 2022-01-01}}
""",
    )
    assert_refused(
        base("record", bad),
        f"bad.yaml item 1 (EventCorrected of event {ids[12]}, 2022-01-01): {R6}: its "
        f"replacement SharesTransferred of 2022-01-01 breaks {R3}: transfer of 5,000,000 "
        "common from ben exceeds their holding of 2,000,000",
    )
    assert base.stored() == BASE_EVENTS


def test_a_dry_run_of_a_correction_checks_it_and_stores_nothing(base: Cli) -> None:
    ids = event_ids(base)
    undo = base.write(
        "undo.yaml",
        f"- {{type: EventRetracted, company: acme-rockets, target: {ids[13]}, reason: x}}\n",
    )
    run = base("record", undo, "--dry-run")
    assert (run.code, run.err) == (0, ""), run.err
    assert base.stored() == BASE_EVENTS
