"""``corpledger audit``: every change in a period to holdings, officers and the board, with
the events behind it and their provenance; as known now or at an earlier moment; JSON, CSV
and a table."""

from __future__ import annotations

import csv
import io

import pytest

from .conftest import BASE_EVENTS, Cli, assert_refused, record_base


@pytest.fixture
def base(cli: Cli) -> Cli:
    return record_base(cli)


def corrected(cli: Cli) -> str:
    """ana's 8,000,000 common corrected to 7,000,000 by ``auditor``; returns its event id."""
    events = cli("history", "acme-rockets", "--format", "json").json()["events"]
    fix = cli.write(
        "fix.yaml",
        f"""\
- type: EventCorrected
  company: acme-rockets
  target: {events[2]["event_id"]}
  reason: the share register says 7,000,000
  source: share register p. 2
  replacement: {{type: SharesIssued, company: acme-rockets, holder: ana, share_class: common,
                 shares: 7000000, effective_date: 2020-01-01}}
""",
    )
    assert cli("record", fix, "--actor", "auditor").code == 0
    correction: str = cli("history", "acme-rockets", "--format", "json").json()["events"][-1][
        "event_id"
    ]
    return correction


def test_audit_lists_each_change_with_the_event_behind_it_as_known_now_and_before(
    base: Cli,
) -> None:
    correction = corrected(base)
    now = base("audit", "acme-rockets", "--from", "2020-01-01", "--to", "2020-01-01", "-f", "json")
    report = now.json()
    assert {k: report[k] for k in ("company", "from", "to", "known_at")} == {
        "company": "acme-rockets",
        "from": "2020-01-01",
        "to": "2020-01-01",
        "known_at": BASE_EVENTS + 1,
    }
    ana = report["changes"][0]
    assert (ana["table"], ana["key"], ana["before"], ana["after"]) == (
        "cap_table",
        {"party": "ana", "share_class": "common"},
        None,
        {"shares": 7_000_000},
    )
    [behind] = ana["events"]
    assert {k: behind[k] for k in ("event_id", "position", "type", "recorded_by", "source")} == {
        "event_id": correction,
        "position": BASE_EVENTS + 1,
        "type": "SharesIssued",
        "recorded_by": "auditor",
        "source": "share register p. 2",
    }
    assert [(c["table"], list(c["key"].values())) for c in report["changes"]] == [
        ("cap_table", ["ana", "common"]),
        ("cap_table", ["ben", "common"]),
        ("roster", ["ana", "ceo", "Chief Executive Officer"]),
        ("board", ["ana"]),
    ]
    then = base(
        "audit", "acme-rockets", "--from", "2020-01-01", "--to", "2020-01-01",
        "--known-at", str(BASE_EVENTS), "-f", "json",
    ).json()  # fmt: skip
    ana_then = then["changes"][0]
    assert (ana_then["after"], ana_then["events"][0]["position"]) == ({"shares": 8_000_000}, 3)


def test_audit_csv_has_one_row_per_change_and_event_and_the_table_reads_as_sentences(
    base: Cli,
) -> None:
    run = base("audit", "acme-rockets", "--from", "2022-01-01", "--to", "2022-12-31", "-f", "csv")
    assert (run.code, run.err) == (0, "")
    rows = list(csv.DictReader(io.StringIO(run.out)))
    assert [(r["table"], r["party"], r["before"], r["after"], r["type"]) for r in rows] == [
        ("cap_table", "ben", '{"shares": 2000000}', '{"shares": 500000}', "SharesTransferred"),
        ("cap_table", "carol", "", '{"shares": 1500000}', "SharesTransferred"),
    ]
    assert rows[0]["recorded_by"] == "e2e-setup"
    table = base("audit", "acme-rockets", "--from", "2022-01-01", "--to", "2022-12-31").lines
    assert table[:2] == [
        "acme-rockets: changes from 2022-01-01 to 2022-12-31",
        f"known at position {BASE_EVENTS}, 2 changes",
    ]
    assert "cap table ben common SharesTransferred (position 12), recorded" in " ".join(table)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--from", "2022-02-01", "--to", "2022-01-01"], "--from 2022-02-01 is after --to 2022-01-01"),  # noqa: E501
        (["--from", "yesterday"], "--from 'yesterday' is not a date: write YYYY-MM-DD, e.g. 2025-06-12"),  # noqa: E501
    ],
)  # fmt: skip
def test_a_bad_period_is_refused(base: Cli, args: list[str], expected: str) -> None:
    assert_refused(base("audit", "acme-rockets", *args), expected)


def test_a_correction_behind_a_change_is_shown_as_a_correction_with_the_fields_it_changed(
    engine_cli: Cli,
) -> None:
    cli = record_base(engine_cli)
    sale = cli("history", "acme-rockets", "-f", "json").json()["events"][BASE_EVENTS - 2]
    assert sale["type"] == "SharesTransferred"
    fix = cli.write(
        "fix.yaml",
        f"""\
- type: EventCorrected
  company: acme-rockets
  target: '{sale["event_id"][:8]}'
  reason: the SPA says 1,000,000
  replacement: {{type: SharesTransferred, company: acme-rockets, from: ben, to: carol,
                 share_class: common, shares: 1000000, effective_date: 2022-01-01}}
""",
    )
    assert cli("record", fix, "--actor", "auditor").code == 0
    period = ["audit", "acme-rockets", "--from", "2022-01-01", "--to", "2022-01-01"]
    report = cli(*period, "-f", "json").json()
    ben = report["changes"][0]
    correction = ben["events"][0]["event_id"]
    assert {k: ben[k] for k in ("key", "before", "after", "changed")} == {
        "key": {"party": "ben", "share_class": "common"},
        "before": {"shares": 2_000_000},
        "after": {"shares": 1_000_000},
        "changed": ["shares"],
    }
    assert {k: v for k, v in ben["events"][0].items() if k != "recorded_at"} == {
        "event_id": correction,
        "position": BASE_EVENTS + 1,
        "type": "SharesTransferred",
        "recorded_by": "auditor",
        "source": None,
        "correction": {
            "type": "EventCorrected",
            "target": sale["event_id"],
            "target_type": "SharesTransferred",
            "reason": "the SPA says 1,000,000",
        },
    }
    rows = list(csv.DictReader(io.StringIO(cli(*period, "-f", "csv").out)))
    assert [
        (r["party"], r["changed"], r["correction_type"], r["correction_target"]) for r in rows
    ] == [
        ("ben", "shares", "EventCorrected", sale["event_id"]),
        ("carol", "shares", "EventCorrected", sale["event_id"]),
    ]
    table = cli(*period, COLUMNS="300").lines
    assert table[4:] == [
        "2022-01-01 cap table ben common EventCorrected (position 14) of SharesTransferred "
        f"event {sale['event_id']}: replacement SharesTransferred, recorded "
        + table[4].split(", recorded ")[1],
        "shares 2,000,000 → 1,000,000",
        "2022-01-01 cap table carol common EventCorrected (position 14) of SharesTransferred "
        f"event {sale['event_id']}: replacement SharesTransferred, recorded "
        + table[6].split(", recorded ")[1],
        "— → shares=1,000,000",
    ]
    assert table[4].endswith("by auditor; reason: the SPA says 1,000,000")
