"""Naming a correction's target as a user can: by the first characters of the event id that
``record`` printed, or by the target's external_id (also of an event earlier in the same
file); ``record`` prints the ids it stored, and all of them with ``--format json``."""

from __future__ import annotations

import re
from typing import Any

from .conftest import ACME, ACME_EVENTS, UUID, Cli, assert_refused

ISSUE = (
    "- {type: SharesIssued, company: acme-rockets, holder: dan, share_class: common, "
    "shares: 1000, effective_date: 2022-01-01, external_id: grant-7}\n"
)


def history(cli: Cli) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = cli("history", "acme-rockets", "-f", "json").json()["events"]
    return events


def test_record_prints_each_event_id_and_a_prefix_of_one_names_a_correction_target(
    engine_cli: Cli,
) -> None:
    recorded = engine_cli("record", str(ACME))
    assert recorded.code == 0, recorded.err
    lines = recorded.out.splitlines()
    assert lines[0] == "recorded 11 events for acme-rockets (positions 1-11)"
    listed = [
        re.fullmatch(rf"  position (\d+): (\w+) acme-rockets (\S+) event ({UUID})", line)
        for line in lines[1:]
    ]
    assert [(m[1], m[2], m[3]) for m in listed if m] == [
        (str(e["position"]), e["type"], e["effective_date"]) for e in history(engine_cli)
    ]
    ben_issued = next(m[4] for m in listed if m and m[1] == "4")
    retraction = engine_cli.write(
        "undo.yaml",
        f"- {{type: EventRetracted, company: acme-rockets, target: '{ben_issued[:8]}', "
        "reason: ben never signed}\n",
    )
    run = engine_cli("record", retraction)
    assert run.code == 0, run.err
    events = history(engine_cli)
    # Stored with the whole event id: replays never resolve it again.
    assert events[-1]["data"]["target"] == ben_issued
    assert events[3]["retracted_by"] == events[-1]["event_id"]
    table = engine_cli("cap-table", "acme-rockets", "--as-of", "2020-01-01", "-f", "json").json()
    assert [h["party"] for h in table["holders"]] == ["ana"]


def test_a_correction_names_its_target_by_external_id_even_earlier_in_the_same_file(
    engine_cli: Cli,
) -> None:
    assert engine_cli("record", str(ACME)).code == 0
    batch = engine_cli.write(
        "grant.yaml",
        ISSUE
        + """\
- type: EventCorrected
  company: acme-rockets
  target_external_id: grant-7
  reason: the grant was of 900 shares
  external_id: grant-7-fix
  replacement: {type: SharesIssued, company: acme-rockets, holder: dan, share_class: common, shares: 900, effective_date: 2022-01-01}
""",  # noqa: E501
    )
    run = engine_cli("record", batch, "--format", "json")
    answer = run.json()
    issue_id = answer["recorded"][0]["event_id"]
    assert answer == {
        "dry_run": False,
        "recorded": [
            {
                "event_id": issue_id,
                "position": ACME_EVENTS + 1,
                "company": "acme-rockets",
                "type": "SharesIssued",
                "effective_date": "2022-01-01",
                "external_id": "grant-7",
            },
            {
                "event_id": answer["recorded"][1]["event_id"],
                "position": ACME_EVENTS + 2,
                "company": "acme-rockets",
                "type": "EventCorrected",
                "effective_date": "2022-01-01",
                "external_id": "grant-7-fix",
            },
        ],
        "skipped": [],
    }
    correction = history(engine_cli)[-1]
    assert (correction["data"]["target"], correction["data"]["target_external_id"]) == (
        issue_id,
        "grant-7",
    )
    table = engine_cli("holdings", "dan", "--as-of", "2022-01-01", "-f", "json").json()
    assert [p["shares"] for p in table["positions"]] == [900]
    # The same file again: both already recorded, nothing new stored.
    again = engine_cli("record", batch, "--format", "json").json()
    assert (again["recorded"], [s["external_id"] for s in again["skipped"]]) == (
        [],
        ["grant-7", "grant-7-fix"],
    )
    assert engine_cli.stored() == ACME_EVENTS + 2


def test_a_target_that_names_no_event_is_refused_naming_the_item_and_field(
    engine_cli: Cli,
) -> None:
    assert engine_cli("record", str(ACME)).code == 0
    any_id = history(engine_cli)[0]["event_id"]
    unknown_prefix = "ffffffff" if not any_id.startswith("ffffffff") else "00000000"
    cases = {
        f"target: '{any_id[:4]}'": "bad.yaml item 1: field 'target': an event id prefix needs "
        f"at least 8 characters (got '{any_id[:4]}')",
        f"target: '{unknown_prefix}'": "bad.yaml item 1: field 'target': no event of "
        f"acme-rockets has an event id starting '{unknown_prefix}'",
        "target_external_id: nope-1": "bad.yaml item 1: field 'target_external_id': no event "
        "of acme-rockets has external_id 'nope-1'",
        f"target: {any_id}, target_external_id: grant-7": "bad.yaml item 1: give one of "
        "target or target_external_id, not both",
        "reason: no target given": "bad.yaml item 1: give the target: target (an event id) "
        "or target_external_id",
        # A prefix of digits only, unquoted, is a number to YAML: say so, not "not a UUID".
        "target: 12345678": "bad.yaml item 1: field 'target': an event id or its prefix is "
        "text: write it in quotes ('12345678'), as YAML reads 12345678 as a number (got 12345678)",
    }
    for naming, expected in cases.items():
        reason = "" if naming.startswith("reason") else ", reason: typo"
        bad = engine_cli.write(
            "bad.yaml", f"- {{type: EventRetracted, company: acme-rockets, {naming}{reason}}}\n"
        )
        assert_refused(engine_cli("record", bad), expected)
    assert engine_cli.stored() == ACME_EVENTS
