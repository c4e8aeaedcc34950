"""The command line's public contract (docs/contracts.md), checked through the installed
``corpledger`` program on a fresh SQLite file and a fresh, empty PostgreSQL database.

One scenario per backend: ``init``, then ``examples/acme-rockets.yaml`` (positions 1 to 11),
then a correction of ben's issuance (position 12). Answers asked ``--known-at 11`` are those
before the correction, and must stay so; answers known now reflect it. Refusals store nothing,
so every test may run in any order. ``make check-cli`` runs this module alone.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.answers import AtLeast
from tests.conftest import DURABLE_BACKENDS, drop_pg_database, new_pg_database
from tests.e2e.conftest import UUID, Run, assert_refused, clean_env

SCENARIO = Path(__file__).parents[2] / "examples" / "acme-rockets.yaml"
CORPLEDGER = Path(sys.executable).with_name("corpledger")
"""The console script installed beside this interpreter (``make install``)."""

TIMESTAMP = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z"


@dataclass(frozen=True)
class Installed:
    """``corpledger --db URL ARGS…`` as a user runs it, from ``cwd``."""

    url: str
    cwd: Path

    def __call__(self, *args: str, stdin: str | None = None) -> Run:
        done = subprocess.run(
            [str(CORPLEDGER), "--db", self.url, *args],
            cwd=self.cwd,
            input=stdin,
            capture_output=True,
            text=True,
            env=clean_env(),
            timeout=120,
            check=False,
        )
        return Run(done.returncode, done.stdout, done.stderr)

    def json(self, *args: str) -> Any:
        return self(*args, "--format", "json").json()

    def csv(self, *args: str) -> list[list[str]]:
        run = self(*args, "--format", "csv")
        assert run.code == 0, run.err
        return list(csv.reader(io.StringIO(run.out)))


@dataclass(frozen=True)
class Scenario:
    """The ledger after the scenario, and what its three setup commands said."""

    cli: Installed
    init: Run
    record: Run
    correct: Run
    ben_issuance: str
    correction: str


@pytest.fixture(scope="module", params=DURABLE_BACKENDS)
def scenario(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scenario]:
    home = tmp_path_factory.mktemp(f"contract-{request.param}")
    if request.param == "sqlite":
        url, drop = f"sqlite:///{home}/ledger.db", None
    else:
        request.getfixturevalue("pg_server")  # skips, or fails under CI, without a server
        url = drop = new_pg_database("template0")  # empty: init creates the schema
    try:
        yield record_scenario(Installed(url, home))
    finally:
        if drop is not None:
            drop_pg_database(drop)


def record_scenario(cli: Installed) -> Scenario:
    assert CORPLEDGER.exists(), f"{CORPLEDGER} is not installed: run make install"
    init = cli("init")
    record = cli("record", str(SCENARIO), "--actor", "alice")
    issued = [e for e in cli.json("history", "acme-rockets")["events"] if e["position"] == 4]
    ben_issuance = issued[0]["event_id"]
    fix = cli.cwd / "fix.yaml"
    fix.write_text(
        "- type: EventCorrected\n"
        "  company: acme-rockets\n"
        f"  target: {ben_issuance}\n"
        "  reason: the share register says 1,000,000\n"
        "  source: share register, page 2\n"
        "  replacement: {type: SharesIssued, company: acme-rockets, holder: ben,\n"
        "                share_class: common, shares: 1000000, effective_date: 2020-01-01}\n",
        encoding="utf-8",
    )
    correct = cli("record", str(fix), "--actor", "bob")
    last = cli.json("history", "acme-rockets")["events"][-1]
    return Scenario(cli, init, record, correct, ben_issuance, last["event_id"])


# --- recording ---


def test_init_creates_the_schema_of_an_empty_database_and_says_the_log_is_empty(
    scenario: Scenario,
) -> None:
    run = scenario.init
    assert (run.code, run.err) == (0, "")
    assert re.fullmatch(
        r"created the ledger schema \(revision \w+\) at \S+\nthe log is empty\n", run.out
    ), run.out


def test_init_again_is_safe_and_says_the_schema_is_up_to_date(scenario: Scenario) -> None:
    run = scenario.cli("init")
    assert (run.code, run.err) == (0, "")
    assert run.out.endswith("last position in the log: 12\n"), run.out
    assert "is up to date (schema revision" in run.out


def test_record_stores_the_scenario_as_one_batch_and_names_its_positions(
    scenario: Scenario,
) -> None:
    record, correct = scenario.record, scenario.correct
    assert (record.code, record.err, correct.code, correct.err) == (0, "", 0, "")
    assert record.lines[0] == "recorded 11 events for acme-rockets (positions 1-11)"
    assert correct.lines[0] == "recorded 1 event for acme-rockets (position 12)"
    # Then each event's position, type, company, date and id: what a correction names.
    assert [line.split(" event ")[0] for line in correct.lines[1:]] == [
        "position 12: EventCorrected acme-rockets 2020-01-01"
    ]
    assert correct.lines[1].endswith(f" event {scenario.correction}")


# --- the answers, as known before the correction ---

SEED_CAP_TABLE = {
    "company": "acme-rockets",
    "as_of": "2020-12-31",
    "known_at": 11,
    "total_shares": 12500000,
    "holders": [
        {
            "party": "ana",
            "shares": 8000000,
            "ownership_percent": "64.0000",
            "voting_percent": "64.0000",
            "classes": {"common": 8000000},
        },
        {
            "party": "seed-fund",
            "shares": 2500000,
            "ownership_percent": "20.0000",
            "voting_percent": "20.0000",
            "classes": {"series-seed": 2500000},
        },
        {
            "party": "ben",
            "shares": 2000000,
            "ownership_percent": "16.0000",
            "voting_percent": "16.0000",
            "classes": {"common": 2000000},
        },
    ],
    "valuation": {
        "amount": "10000000",
        "currency": "USD",
        "basis": "post-money",
        "effective_date": "2020-06-01",
    },
}


def test_a_post_money_of_ten_million_for_two_buys_a_fifth_of_the_company(
    scenario: Scenario,
) -> None:
    answer = scenario.cli.json(
        "cap-table", "acme-rockets", "--as-of", "2020-12-31", "--known-at", "11"
    )
    assert answer == AtLeast(SEED_CAP_TABLE)


def test_the_cap_table_before_the_seed_round_has_two_holders_and_no_valuation(
    scenario: Scenario,
) -> None:
    answer = scenario.cli.json(
        "cap-table", "acme-rockets", "--as-of", "2020-05-31", "--known-at", "11"
    )
    assert answer == AtLeast(
        {
            "company": "acme-rockets",
            "as_of": "2020-05-31",
            "known_at": 11,
            "total_shares": 10000000,
            "holders": [
                {
                    "party": "ana",
                    "shares": 8000000,
                    "ownership_percent": "80.0000",
                    "voting_percent": "80.0000",
                    "classes": {"common": 8000000},
                },
                {
                    "party": "ben",
                    "shares": 2000000,
                    "ownership_percent": "20.0000",
                    "voting_percent": "20.0000",
                    "classes": {"common": 2000000},
                },
            ],
            "valuation": None,
        }
    )


def test_before_its_registration_a_company_has_an_empty_answer_not_an_error(
    scenario: Scenario,
) -> None:
    answer = scenario.cli.json("cap-table", "acme-rockets", "--as-of", "2019-12-31")
    assert answer == AtLeast(
        {
            "company": "acme-rockets",
            "as_of": "2019-12-31",
            "known_at": 12,
            "total_shares": 0,
            "holders": [],
            "valuation": None,
        }
    )


def test_the_ceo_leaves_on_the_day_the_interim_ceo_arrives(scenario: Scenario) -> None:
    cli = scenario.cli
    before = cli.json("roster", "acme-rockets", "--as-of", "2021-04-30")
    after = cli.json("roster", "acme-rockets", "--as-of", "2021-05-01")
    head = {"company": "acme-rockets", "known_at": 12}
    assert before == AtLeast(
        {
            **head,
            "as_of": "2021-04-30",
            "officers": [
                {
                    "person": "ana",
                    "role": "ceo",
                    "title": "Chief Executive Officer",
                    "interim": False,
                    "since": "2020-01-01",
                }
            ],
        }
    )
    assert after == AtLeast(
        {
            **head,
            "as_of": "2021-05-01",
            "officers": [
                {
                    "person": "ben",
                    "role": "ceo",
                    "title": "Interim Chief Executive Officer",
                    "interim": True,
                    "since": "2021-05-01",
                }
            ],
        }
    )


def test_the_former_ceo_keeps_her_board_seat_as_a_non_executive_director(
    scenario: Scenario,
) -> None:
    cli = scenario.cli

    def ana(executive: bool) -> list[dict[str, Any]]:
        return [
            {
                "person": "ana",
                "seat": "director",
                "since": "2020-01-01",
                "designated_by": None,
                "executive": executive,
            }
        ]

    head = {"company": "acme-rockets", "known_at": 12}
    assert cli.json("board", "acme-rockets", "--as-of", "2021-04-30") == AtLeast(
        {
            **head,
            "as_of": "2021-04-30",
            "directors": ana(executive=True),
        }
    )
    assert cli.json("board", "acme-rockets", "--as-of", "2021-05-01") == AtLeast(
        {
            **head,
            "as_of": "2021-05-01",
            "directors": ana(executive=False),
        }
    )


def test_holdings_list_every_position_of_a_party(scenario: Scenario) -> None:
    answer = scenario.cli.json("holdings", "ben", "--as-of", "2021-05-01", "--known-at", "11")
    assert answer == AtLeast(
        {
            "party": "ben",
            "as_of": "2021-05-01",
            "known_at": 11,
            "positions": [
                {
                    "company": "acme-rockets",
                    "shares": 2000000,
                    "ownership_percent": "16.0000",
                    "voting_percent": "16.0000",
                    "classes": {"common": 2000000},
                }
            ],
        }
    )
    nobody = scenario.cli.json("holdings", "nobody", "--as-of", "2021-05-01")
    assert nobody == AtLeast(
        {"party": "nobody", "as_of": "2021-05-01", "known_at": 12, "positions": []}
    )


def test_history_lists_every_event_by_position_with_its_provenance(scenario: Scenario) -> None:
    answer = scenario.cli.json("history", "acme-rockets", "--known-at", "11")
    assert sorted(answer) == ["company", "events", "known_at"]
    assert (answer["company"], answer["known_at"]) == ("acme-rockets", 11)
    events = answer["events"]
    assert [(e["position"], e["type"], e["effective_date"]) for e in events] == [
        (1, "CompanyRegistered", "2020-01-01"),
        (2, "ShareClassCreated", "2020-01-01"),
        (3, "SharesIssued", "2020-01-01"),
        (4, "SharesIssued", "2020-01-01"),
        (5, "ExecutiveAppointed", "2020-01-01"),
        (6, "DirectorAppointed", "2020-01-01"),
        (7, "ShareClassCreated", "2020-06-01"),
        (8, "InvestmentMade", "2020-06-01"),
        (9, "ExecutiveDeparted", "2021-05-01"),
        (10, "BoardSeatRetained", "2021-05-01"),
        (11, "InterimCEOAppointed", "2021-05-01"),
    ]
    for event in events:
        assert list(event) == [
            "event_id", "position", "company", "type", "effective_date", "recorded_at",
            "recorded_by", "source", "retracted_by", "corrected_by", "data",
        ]  # fmt: skip
        assert re.fullmatch(UUID, event["event_id"])
        assert re.fullmatch(TIMESTAMP, event["recorded_at"])
        assert (event["company"], event["recorded_by"]) == ("acme-rockets", "alice")
        assert (event["retracted_by"], event["corrected_by"]) == (None, None)
        assert event["data"]["type"] == event["type"]
    assert [e["source"] for e in events if e["source"]] == [
        "certificate of incorporation",
        "seed closing memo",
    ]


def test_an_investment_by_valuation_is_stored_with_the_shares_derived_at_recording(
    scenario: Scenario,
) -> None:
    events = scenario.cli.json("history", "acme-rockets")["events"]
    [investment] = [e["data"] for e in events if e["type"] == "InvestmentMade"]
    assert investment == AtLeast(
        {
            "type": "InvestmentMade",
            "company": "acme-rockets",
            "effective_date": "2020-06-01",
            "source": "seed closing memo",
            "investor": "seed-fund",
            "amount": {"amount": "2000000", "currency": "USD"},
            "share_class": "series-seed",
            "round": "Seed",
            "post_money_valuation": {"amount": "10000000", "currency": "USD"},
            "derived_shares": 2500000,
        }
    )


def test_the_party_history_lists_the_events_touching_a_party_across_companies(
    scenario: Scenario,
) -> None:
    answer = scenario.cli.json("history", "--party", "ben", "--known-at", "11")
    assert sorted(answer) == ["events", "known_at", "party"]
    assert [(e["position"], e["company"], e["type"]) for e in answer["events"]] == [
        (4, "acme-rockets", "SharesIssued"),
        (11, "acme-rockets", "InterimCEOAppointed"),
    ]


def test_the_audit_names_each_change_of_a_period_and_the_events_behind_it(
    scenario: Scenario,
) -> None:
    answer = scenario.cli.json(
        "audit", "acme-rockets", "--from", "2021-01-01", "--to", "2021-12-31", "--known-at", "11"
    )
    assert {k: answer[k] for k in ("company", "from", "to", "known_at")} == {
        "company": "acme-rockets",
        "from": "2021-01-01",
        "to": "2021-12-31",
        "known_at": 11,
    }
    changes = [
        (c["effective_date"], c["table"], c["key"], c["before"], c["after"],
         [(e["position"], e["type"], e["recorded_by"]) for e in c["events"]])
        for c in answer["changes"]
    ]  # fmt: skip
    ceo = {"role": "ceo"}
    assert changes == AtLeast([
        ("2021-05-01", "roster", {"person": "ana", **ceo, "title": "Chief Executive Officer"},
         {"interim": False, "since": "2020-01-01"}, None, [(9, "ExecutiveDeparted", "alice")]),
        ("2021-05-01", "roster",
         {"person": "ben", **ceo, "title": "Interim Chief Executive Officer"},
         None, {"interim": True, "since": "2021-05-01"}, [(11, "InterimCEOAppointed", "alice")]),
        ("2021-05-01", "board", {"person": "ana"},
         {"seat": "director", "designated_by": None, "executive": True, "since": "2020-01-01"},
         {"seat": "director", "designated_by": None, "executive": False, "since": "2020-01-01"},
         [(9, "ExecutiveDeparted", "alice"), (10, "BoardSeatRetained", "alice")]),
    ])  # fmt: skip


# --- time: as of a date, as known at a moment ---


def test_known_at_the_first_position_the_company_exists_and_nobody_holds_shares(
    scenario: Scenario,
) -> None:
    answer = scenario.cli.json(
        "cap-table", "acme-rockets", "--as-of", "2020-12-31", "--known-at", "1"
    )
    assert (answer["known_at"], answer["total_shares"], answer["holders"]) == (1, 0, [])


def test_known_at_a_position_before_the_seed_round_was_recorded_shows_no_seed_fund(
    scenario: Scenario,
) -> None:
    answer = scenario.cli.json(
        "cap-table", "acme-rockets", "--as-of", "2020-12-31", "--known-at", "7"
    )
    assert [(h["party"], h["shares"]) for h in answer["holders"]] == [
        ("ana", 8000000),
        ("ben", 2000000),
    ]
    assert (answer["known_at"], answer["valuation"]) == (7, None)


def test_known_at_takes_a_timestamp_or_a_date_as_well_as_a_position(scenario: Scenario) -> None:
    cli = scenario.cli
    args = ("cap-table", "acme-rockets", "--as-of", "2020-12-31", "--known-at")
    before_anything = cli.json(*args, "2000-01-01T00:00:00Z")
    assert (before_anything["known_at"], before_anything["holders"]) == (0, [])
    recorded_at = cli.json("history", "acme-rockets")["events"][-1]["recorded_at"]
    assert cli.json(*args, recorded_at)["known_at"] == 12
    assert cli.json(*args, recorded_at[:10])["known_at"] == 12  # the end of that day


def test_a_correction_changes_the_answer_known_now_and_leaves_the_earlier_one_as_it_was(
    scenario: Scenario,
) -> None:
    cli = scenario.cli
    now = cli.json("cap-table", "acme-rockets", "--as-of", "2020-12-31")
    assert (now["known_at"], now["total_shares"]) == (12, 11500000)
    assert [(h["party"], h["shares"], h["ownership_percent"]) for h in now["holders"]] == [
        ("ana", 8000000, "69.5652"),
        ("seed-fund", 2500000, "21.7391"),
        ("ben", 1000000, "8.6957"),
    ]
    assert cli.json(
        "cap-table", "acme-rockets", "--as-of", "2020-12-31", "--known-at", "11"
    ) == AtLeast(SEED_CAP_TABLE)


def test_history_names_the_correction_that_took_an_event_out_of_force_only_once_known(
    scenario: Scenario,
) -> None:
    cli = scenario.cli

    def issuance(*known_at: str) -> dict[str, Any]:
        events = cli.json("history", "acme-rockets", *known_at)["events"]
        [event] = [e for e in events if e["event_id"] == scenario.ben_issuance]
        return {k: event[k] for k in ("position", "retracted_by", "corrected_by")}

    assert issuance() == AtLeast(
        {"position": 4, "retracted_by": None, "corrected_by": scenario.correction}
    )
    assert issuance("--known-at", "11") == {
        "position": 4,
        "retracted_by": None,
        "corrected_by": None,
    }
    correction = cli.json("history", "acme-rockets")["events"][-1]
    assert (correction["position"], correction["type"], correction["effective_date"]) == (
        12,
        "EventCorrected",
        "2020-01-01",  # the date of its target, set by the ledger
    )
    assert (correction["recorded_by"], correction["source"]) == ("bob", "share register, page 2")
    assert correction["data"]["target"] == scenario.ben_issuance


# --- CSV ---


@pytest.mark.parametrize(
    ("args", "header", "rows"),
    [
        (("cap-table", "acme-rockets", "--as-of", "2020-12-31"),
         "company,as_of,known_at,total_shares,party,share_class,shares,party_shares,"
         "ownership_percent,voting_percent", 3),
        (("roster", "acme-rockets", "--as-of", "2021-05-01"),
         "company,as_of,known_at,person,role,title,interim,since", 1),
        (("board", "acme-rockets", "--as-of", "2021-05-01"),
         "company,as_of,known_at,person,seat,since,designated_by,executive", 1),
        (("holdings", "ben", "--as-of", "2021-05-01"),
         "party,as_of,known_at,company,share_class,shares,company_shares,ownership_percent,"
         "voting_percent", 1),
        (("history", "acme-rockets"),
         "known_at,event_id,position,company,type,effective_date,recorded_at,recorded_by,"
         "source,retracted_by,corrected_by,data", 12),
        (("history", "--party", "ben"),
         "party,known_at,event_id,position,company,type,effective_date,recorded_at,"
         "recorded_by,source,retracted_by,corrected_by,data", 3),
        (("audit", "acme-rockets", "--from", "2021-01-01", "--to", "2021-12-31"),
         "company,from,to,known_at,effective_date,table,party,share_class,person,role,title,"
         "before,after,event_id,position,type,recorded_at,recorded_by,source", 4),
        (("projections", "status"), "name,position,lag", 3),
    ],
    ids=["cap-table", "roster", "board", "holdings", "history", "party-history", "audit",
         "projections-status"],
)  # fmt: skip
def test_csv_has_its_header_row_and_one_row_per_line_of_the_answer(
    scenario: Scenario, args: tuple[str, ...], header: str, rows: int
) -> None:
    table = scenario.cli.csv(*args)
    # Columns may be added at the end, never renamed, removed or moved.
    columns = header.split(",")
    assert (table[0][: len(columns)], len(table) - 1) == (columns, rows)


def test_csv_writes_values_as_the_json_does_booleans_lowercase_and_null_empty(
    scenario: Scenario,
) -> None:
    table = scenario.cli.csv("board", "acme-rockets", "--as-of", "2021-05-01")
    assert ",".join(table[1]) == "acme-rockets,2021-05-01,12,ana,director,2020-01-01,,false,"
    [issuance] = [
        row for row in scenario.cli.csv("history", "--party", "ben") if row[5] == "SharesIssued"
    ]
    assert json.loads(issuance[-1]) == AtLeast(
        {
            "company": "acme-rockets",
            "effective_date": "2020-01-01",
            "holder": "ben",
            "share_class": "common",
            "shares": 2000000,
            "type": "SharesIssued",
        }
    )


# --- the other commands ---


def test_projections_status_gives_each_read_model_its_position_and_lag(scenario: Scenario) -> None:
    answer = scenario.cli.json("projections", "status")
    assert answer == AtLeast(
        [{"name": name, "position": 12, "lag": 0} for name in ("board", "cap_table", "roster")]
    )


def test_verify_finds_the_chain_intact_and_the_read_models_equal_to_the_fold(
    scenario: Scenario,
) -> None:
    run = scenario.cli("verify")
    assert (run.code, run.err) == (0, "")
    assert run.lines[0].startswith("12 events, chain intact, head "), run.out
    assert run.lines[1].startswith("read models match the fold: 1 company"), run.out


def test_schema_prints_the_json_schema_of_an_event_file_with_every_event_type(
    scenario: Scenario,
) -> None:
    schema = scenario.cli("schema").json()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "array"
    variants = [schema["$defs"][ref["$ref"].rpartition("/")[2]] for ref in schema["items"]["oneOf"]]
    assert sorted(v["properties"]["type"]["const"] for v in variants) == sorted(
        [
            "AuthorizedSharesChanged", "BoardSeatRetained", "BoardSizeSet", "CompanyRegistered",
            "DirectorAppointed", "DirectorDeparted", "EventCorrected", "EventRetracted",
            "ExecutiveAppointed", "ExecutiveDeparted", "InterimCEOAppointed", "InvestmentMade",
            "ShareClassCreated", "SharesCancelled", "SharesIssued", "SharesTransferred",
            "StockSplit", "ValuationRecorded",
            # the second catalogue: equity instruments
            "StakeholderRecorded", "StockPlanCreated", "StockPlanReserveChanged",
            "OptionGranted", "OptionExercised", "OptionCancelled", "WarrantIssued",
            "WarrantExercised", "WarrantCancelled", "ConvertibleIssued", "ConvertibleConverted",
            "ConvertibleCancelled", "SharesConverted",
        ]
    )  # fmt: skip


# --- refusals: exit 2, one line on stderr, nothing stored ---


def assert_nothing_stored(cli: Installed) -> None:
    assert cli.json("history", "acme-rockets")["known_at"] == 12


def test_a_bad_field_from_standard_input_is_refused_naming_the_item_and_field(
    scenario: Scenario,
) -> None:
    bad = (
        "- {type: SharesIssued, company: acme-rockets, holder: zed, share_class: common, "
        "shares: 0, effective_date: 2022-01-01}\n"
    )
    run = scenario.cli("record", "-", "--input-format", "yaml", stdin=bad)
    assert_refused(run, "<stdin> item 1: field 'shares': Input should be greater than 0 (got 0)")
    assert_nothing_stored(scenario.cli)


def test_a_broken_rule_is_refused_naming_the_rule_the_event_its_date_and_the_numbers(
    scenario: Scenario,
) -> None:
    path = scenario.cli.cwd / "oversold.yaml"
    path.write_text(
        "- {type: SharesTransferred, company: acme-rockets, from: ben, to: zed, "
        "share_class: common, shares: 3000000, effective_date: 2022-01-01}\n",
        encoding="utf-8",
    )
    run = scenario.cli("record", str(path))
    assert_refused(
        run,
        f"{path} item 1 (SharesTransferred, 2022-01-01): rule 3 (no holding is ever negative): "
        "transfer of 3,000,000 common from ben exceeds their holding of 1,000,000",
    )
    assert_nothing_stored(scenario.cli)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("cap-table", "acme-rockets", "--known-at", "99"),
         "--known-at 99 is past the end of the log (last position 12)"),
        (("cap-table", "acme-rockets", "--known-at", "2999-01-01"),
         "--known-at 2999-01-01 is in the future"),
        (("cap-table", "acme-rockets", "--as-of", "2020-13-01"),
         "--as-of '2020-13-01' is not a valid date: month must be in 1..12"),
        (("roster", "no-such-company"), "unknown company 'no-such-company' in {url}"),
        (("no-such-command",), "No such command 'no-such-command'. (see corpledger --help)"),
    ],
    ids=["known-at-past-the-end", "known-at-in-the-future", "bad-as-of", "unknown-company",
         "unknown-command"],
)  # fmt: skip
def test_a_bad_query_is_refused_with_one_line_and_exit_2(
    scenario: Scenario, args: tuple[str, ...], message: str
) -> None:
    # Messages show a PostgreSQL URL as the ledger reads it (its driver named, no password).
    shown = scenario.cli.url.replace("postgresql://", "postgresql+psycopg://", 1)
    assert_refused(scenario.cli(*args), message.replace("{url}", shown))
