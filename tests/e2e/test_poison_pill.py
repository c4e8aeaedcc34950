"""A stored event the projections cannot apply, from the command line on both engines: a
stock split stored past today's rules (as an older version might have stored it) takes a
holding to 10^20 shares, beyond the BIGINT of the cap-table rows. ``record`` stores and says
so (exit 3, never a retry that stores twice), queries answer from the fold with a warning,
``projections status`` and ``verify`` name the event, ``projections rebuild`` stops cleanly."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from ledger import Ledger
from ledger.domain.events import StockSplit
from tests import builders as b
from tests.contract.test_read_models import tables
from tests.stored import store_unchecked

from .conftest import Cli, Run

EVENT = "position 4 (company acme, event {id}, StockSplit of 2021-01-01)"
BETA = """\
- {type: CompanyRegistered, company: beta, name: Beta, effective_date: 2020-01-01}
- {type: ShareClassCreated, company: beta, share_class: common, name: Common, kind: common, effective_date: 2020-01-01}
- {type: SharesIssued, company: beta, holder: bo, share_class: common, shares: 5, effective_date: 2020-01-01}
"""  # noqa: E501
LATER = """\
- {type: SharesIssued, company: beta, holder: cy, share_class: common, shares: 1, effective_date: 2020-02-01}
"""  # noqa: E501


@pytest.fixture
def poisoned(durable_url: str, tmp_path: Path) -> tuple[Cli, str]:
    """acme founded with ana's 10^15 shares (positions 1-3), then the split (position 4);
    returns the command line and the stuck event as the messages name it (its reason aside)."""
    with Ledger.open(durable_url) as ledger:
        ledger.record(b.founded("acme", "2020-01-01", {"ana": 10**15}))
        position, event_id = store_unchecked(
            ledger,
            StockSplit(
                company="acme",
                effective_date=date(2021, 1, 1),
                share_class="common",
                ratio="100000:1",
            ),
        )
    assert position == 4
    return Cli(durable_url, tmp_path), str(event_id)


def cannot_apply(event_id: str) -> str:
    """The projections' message, up to the driver's words for the overflow."""
    return (
        "projections cap_table, roster, board cannot apply the event at "
        f"{EVENT.format(id=event_id)}: OverflowError: "
    )


def lines(run: Run) -> list[str]:
    assert "Traceback" not in run.err
    return run.err.splitlines()


def reason_of(run: Run) -> str:
    found = re.search(r"OverflowError: [^;\n]*?(?=(;| \(see |\n|$))", run.err)
    assert found is not None, run.err
    return found.group(0)


def test_record_stores_says_the_read_models_lag_and_exits_3(poisoned: tuple[Cli, str]) -> None:
    cli, event_id = poisoned
    recorded = cli("record", cli.write("beta.yaml", BETA))
    assert recorded.code == 3
    assert recorded.lines[0] == "recorded 3 events for beta (positions 5-7)"
    assert [line.split(" event ")[0] for line in recorded.lines[1:]] == [
        "position 5: CompanyRegistered beta 2020-01-01",
        "position 6: ShareClassCreated beta 2020-01-01",
        "position 7: SharesIssued beta 2020-01-01",
    ]
    reason = reason_of(recorded)
    assert lines(recorded) == [
        "warning: the events above ARE stored: do not record them again",
        f"warning: the read models lag behind the log: {cannot_apply(event_id)}"
        + reason.removeprefix("OverflowError: "),
        "warning: queries answer from the events until the read models catch up "
        "(see corpledger projections status)",
    ]
    assert cli.stored() == 7
    later = cli("record", cli.write("later.yaml", LATER))
    assert (later.code, later.lines[0]) == (3, "recorded 1 event for beta (position 8)")
    assert lines(later)[0] == "warning: the event above IS stored: do not record it again"
    assert cli.stored() == 8
    unprojected = cli("record", cli.write("more.yaml", LATER.replace("cy", "dee")), "--no-project")
    assert (unprojected.code, unprojected.err) == (0, "")


def test_queries_answer_from_the_fold_with_one_warning_and_exit_0(
    poisoned: tuple[Cli, str],
) -> None:
    cli, event_id = poisoned
    asked = cli("cap-table", "acme", "--as-of", "2022-01-01", "--format", "json")
    assert asked.code == 0, asked.err
    assert lines(asked) == [
        f"warning: {cannot_apply(event_id)}{reason_of(asked).removeprefix('OverflowError: ')}; "
        "answered from the events instead (see corpledger projections status)"
    ]
    assert json.loads(asked.out)["total_shares"] == 10**20
    assert json.loads(asked.out)["known_at"] == 4
    for query in (("roster", "acme"), ("board", "acme"), ("holdings", "ana")):
        answered = cli(*query, "--format", "json")
        assert answered.code == 0, answered.err
        assert len(lines(answered)) == 1
        assert lines(answered)[0].startswith(f"warning: {cannot_apply(event_id)}")
    before = cli("cap-table", "acme", "--known-at", "3", "--format", "json")
    assert (before.code, before.err) == (0, "")  # known before the split: from the tables
    assert json.loads(before.out)["total_shares"] == 10**15


def test_status_and_verify_name_the_event(poisoned: tuple[Cli, str]) -> None:
    cli, event_id = poisoned
    status = cli("projections", "status", "--format", "json")
    reason = status.json()[0]["stuck"]["reason"]
    assert reason.startswith("OverflowError: ")
    stuck = {
        "position": 4,
        "company": "acme",
        "event_id": event_id,
        "type": "StockSplit",
        "effective_date": "2021-01-01",
        "reason": reason,
    }
    assert status.json() == [
        {"name": name, "position": 3, "lag": 1, "stuck": stuck}
        for name in ("board", "cap_table", "roster")
    ]
    table = cli("projections", "status")
    assert table.lines[-1] == (
        f"Stuck: the projections cannot apply the event at {EVENT.format(id=event_id)}: {reason}"
    )
    csv = cli("projections", "status", "--format", "csv")
    assert csv.out.splitlines()[:2] == [
        "name,position,lag,stuck_position,stuck_company,stuck_event_id,stuck_type,"
        "stuck_effective_date,stuck_reason",
        f"board,3,1,4,acme,{event_id},StockSplit,2021-01-01,{reason}",
    ]
    verified = cli("verify")
    assert verified.code == 1
    assert verified.out.startswith("4 events, chain intact, head ")
    assert lines(verified) == [
        "error: read models are behind the fold: they match it (1 company, 1 rows) up to "
        f"position 3, but {cannot_apply(event_id)}{reason.removeprefix('OverflowError: ')} "
        "(see corpledger projections status)"
    ]


def test_rebuild_stops_at_the_event_with_the_tables_whole(poisoned: tuple[Cli, str]) -> None:
    cli, event_id = poisoned
    assert cli.url is not None
    with Ledger.open(cli.url) as ledger:
        before = tables(ledger)
    rebuilt = cli("projections", "rebuild")
    assert (rebuilt.code, rebuilt.out) == (1, "")
    reason = reason_of(rebuilt).removeprefix("OverflowError: ")
    assert lines(rebuilt) == [
        f"error: the rebuild stopped at position 4: {cannot_apply(event_id)}{reason}; the read "
        "models stand rebuilt, whole, up to the event before it; queries answer from the "
        "events meanwhile (see corpledger projections status)"
    ]
    with Ledger.open(cli.url) as ledger:
        assert tables(ledger) == before
    assert cli("projections", "status", "--format", "json").json()[0]["position"] == 3
    company = cli("projections", "rebuild", "--company", "acme")
    assert (company.code, company.out) == (0, "rebuilt acme's rows up to position 3\n")
