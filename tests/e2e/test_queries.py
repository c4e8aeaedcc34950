"""The query commands as a user runs them: the JSON and CSV contracts of docs/contracts.md with
whole values, the tables for people, --as-of and --known-at in every form, and the refusals.

The ledger holds acme-rockets (positions 1-11, one batch) and, recorded in a second batch,
ben's sale of 500,000 common to carol on 2022-01-01 (position 12). Every command of this
module runs once, side by side, in the ``answers`` fixture; the tests read the answers.
"""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from ledger import Ledger
from ledger.persistence.url import store_config

from .conftest import ACME, Cli, Run, assert_refused, at_once, pattern, prepare

SALE = (
    "- {type: SharesTransferred, company: acme-rockets, from: ben, to: carol, "
    "share_class: common, shares: 500000, effective_date: 2022-01-01, source: SPA}\n"
)

CAP_TABLE_2020 = {
    "company": "acme-rockets",
    "as_of": "2020-12-31",
    "known_at": 12,
    "total_shares": 12_500_000,
    "holders": [
        {
            "party": "ana",
            "shares": 8_000_000,
            "ownership_percent": "64.0000",
            "voting_percent": "64.0000",
            "classes": {"common": 8_000_000},
            "ownership_percent_by_class": {"common": "64.0000"},
            "voting_percent_by_class": {"common": "64.0000"},
        },
        {
            "party": "seed-fund",
            "shares": 2_500_000,
            "ownership_percent": "20.0000",
            "voting_percent": "20.0000",
            "classes": {"series-seed": 2_500_000},
            "ownership_percent_by_class": {"series-seed": "20.0000"},
            "voting_percent_by_class": {"series-seed": "20.0000"},
        },
        {
            "party": "ben",
            "shares": 2_000_000,
            "ownership_percent": "16.0000",
            "voting_percent": "16.0000",
            "classes": {"common": 2_000_000},
            "ownership_percent_by_class": {"common": "16.0000"},
            "voting_percent_by_class": {"common": "16.0000"},
        },
    ],
    "valuation": {
        "amount": "10000000",
        "currency": "USD",
        "basis": "post-money",
        "effective_date": "2020-06-01",
    },
}

EVENT_KEYS = {
    "event_id",
    "position",
    "company",
    "type",
    "effective_date",
    "recorded_at",
    "recorded_by",
    "source",
    "retracted_by",
    "corrected_by",
    "data",
}


def batch_time(url: str, position: int) -> datetime:
    with Ledger.open(url) as ledger:
        events = ledger.history("acme-rockets").events
    return next(e.recorded_at for e in events if e.position == position)


def commands(first_batch: datetime) -> dict[str, list[str]]:
    """Every command of this module, by name."""
    zulu = first_batch.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    naive = first_batch.astimezone(UTC).replace(tzinfo=None).isoformat()
    today = datetime.now(UTC).date().isoformat()
    acme = "acme-rockets"
    return {
        "cap-table json": ["cap-table", acme, "--as-of", "2020-12-31", "--format", "json"],
        "known at 11": [
            "cap-table",
            acme,
            "--as-of",
            "2022-06-01",
            "--known-at",
            "11",
            "-f",
            "json",
        ],
        "known at zulu": [
            "cap-table",
            acme,
            "--as-of",
            "2022-06-01",
            "--known-at",
            zulu,
            "-f",
            "json",
        ],
        "known at naive": [
            "cap-table",
            acme,
            "--as-of",
            "2022-06-01",
            "--known-at",
            naive,
            "-f",
            "json",
        ],
        "known at today": [
            "cap-table",
            acme,
            "--as-of",
            "2022-06-01",
            "--known-at",
            today,
            "-f",
            "json",
        ],
        "roster json": ["roster", acme, "--as-of", "2021-05-01", "--format", "json"],
        "board json": ["board", acme, "--as-of", "2021-04-30", "--format", "json"],
        "holdings json": ["holdings", "ben", "--as-of", "2022-06-01", "--format", "json"],
        "history json": ["history", acme, "--format", "json"],
        "party history json": ["history", "--party", "carol", "--format", "json"],
        "history as of": ["history", acme, "--as-of", "2020-01-01", "--format", "json"],
        "cap-table csv": ["cap-table", acme, "--as-of", "2020-12-31", "--format", "csv"],
        "roster csv": ["roster", acme, "--as-of", "2021-05-01", "--format", "csv"],
        "board csv": ["board", acme, "--as-of", "2021-05-01", "--format", "csv"],
        "holdings csv": ["holdings", "ben", "--as-of", "2022-06-01", "--format", "csv"],
        "history csv": ["history", acme, "--format", "csv"],
        "party history csv": ["history", "--party", "carol", "--format", "csv"],
        "empty cap-table csv": ["cap-table", acme, "--as-of", "2019-01-01", "--format", "csv"],
        "empty holdings csv": ["holdings", "nobody", "--format", "csv"],
        "cap-table table": ["cap-table", acme, "--as-of", "2020-12-31"],
        "empty cap-table table": ["cap-table", acme, "--as-of", "2019-01-01"],
        "roster table": ["roster", acme, "--as-of", "2021-05-01"],
        "board table": ["board", acme, "--as-of", "2021-05-01"],
        "holdings table": ["holdings", "ben", "--as-of", "2022-06-01"],
        "history table": ["history", "--party", "carol"],
        "unknown company cap-table": ["cap-table", "nope-inc"],
        "unknown company history": ["history", "nope-inc", "--format", "json"],
        "impossible as-of": ["cap-table", acme, "--as-of", "2024-02-30"],
        "wordy as-of": ["roster", acme, "--as-of", "yesterday"],
        "known at past the end": ["cap-table", acme, "--known-at", "13"],
        "known at in the future": ["roster", acme, "--known-at", "2999-01-01"],
        "known at nonsense": ["holdings", "ben", "--known-at", "soon"],
        "history of both": ["history", acme, "--party", "carol"],
    }


@pytest.fixture(scope="module")
def queried(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    home = tmp_path_factory.mktemp("queries")
    cli = prepare(Cli(f"sqlite:///{home}/ledger.db", home), str(ACME))
    time.sleep(0.01)  # the two batches get distinct recorded_at (milliseconds)
    return prepare(cli, str(Path(home) / cli.write("sale.yaml", SALE)))


@pytest.fixture(scope="module")
def answers(queried: Cli) -> dict[str, Run]:
    assert queried.url is not None
    asked = commands(batch_time(queried.url, 11))
    return dict(
        zip(asked, at_once([partial(queried, *args) for args in asked.values()]), strict=True)
    )


def with_instruments(table: dict[str, Any]) -> dict[str, Any]:
    """A cap table of a company without instruments, with the second catalogue's keys: no
    names recorded, nothing but shares, so fully diluted is outstanding."""
    total = table["total_shares"]
    return {
        **table,
        "holders": [
            {**h, "name": None, "options": 0, "warrants": 0,
             "fully_diluted_shares": h["shares"], "fully_diluted_percent": h["ownership_percent"]}
            for h in table["holders"]
        ],
        "fully_diluted_total": total, "pools": [], "warrants": [], "convertibles": [],
    }  # fmt: skip


def test_cap_table_json_is_the_documented_answer_whole(answers: dict[str, Run]) -> None:
    assert answers["cap-table json"].json() == with_instruments(CAP_TABLE_2020)


def test_roster_board_and_holdings_json_are_the_documented_answers_whole(
    answers: dict[str, Run],
) -> None:
    head = {"company": "acme-rockets", "known_at": 12}
    assert answers["roster json"].json() == {
        **head,
        "as_of": "2021-05-01",
        "officers": [
            {
                "person": "ben",
                "role": "ceo",
                "title": "Interim Chief Executive Officer",
                "interim": True,
                "since": "2021-05-01",
                "name": None,
            }
        ],
    }
    assert answers["board json"].json() == {
        **head,
        "as_of": "2021-04-30",
        "directors": [
            {
                "person": "ana",
                "seat": "director",
                "since": "2020-01-01",
                "designated_by": None,
                "executive": True,
                "name": None,
            }
        ],
    }
    assert answers["holdings json"].json() == {
        "party": "ben",
        "as_of": "2022-06-01",
        "known_at": 12,
        "positions": [
            {
                "company": "acme-rockets",
                "shares": 1_500_000,
                "ownership_percent": "12.0000",
                "voting_percent": "12.0000",
                "classes": {"common": 1_500_000},
                "ownership_percent_by_class": {"common": "12.0000"},
                "voting_percent_by_class": {"common": "12.0000"},
                "name": None,
                "options": 0,
                "warrants": 0,
                "fully_diluted_shares": 1_500_000,
                "fully_diluted_percent": "12.0000",
                "grant_ids": [],
                "warrant_ids": [],
                "convertibles": [],
            }
        ],
    }


def test_history_json_lists_every_event_with_its_provenance_by_position(
    answers: dict[str, Run],
) -> None:
    history = answers["history json"].json()
    assert set(history) == {"company", "known_at", "events"}
    assert (history["company"], history["known_at"]) == ("acme-rockets", 12)
    events = history["events"]
    assert [set(e) for e in events] == [EVENT_KEYS] * 12
    assert [e["position"] for e in events] == list(range(1, 13))
    assert {e["recorded_by"] for e in events} == {"e2e-setup"}
    assert events[-1]["data"] == {
        "type": "SharesTransferred",
        "company": "acme-rockets",
        "effective_date": "2022-01-01",
        "source": "SPA",
        "from": "ben",
        "to": "carol",
        "share_class": "common",
        "shares": 500_000,
    }
    assert (events[-1]["source"], events[-1]["retracted_by"], events[-1]["corrected_by"]) == (
        "SPA",
        None,
        None,
    )
    assert events[0]["recorded_at"].endswith("Z")


def test_party_history_names_the_party_instead_of_the_company(answers: dict[str, Run]) -> None:
    history = answers["party history json"].json()
    assert set(history) == {"party", "known_at", "events"}
    assert [(e["position"], e["type"], e["company"]) for e in history["events"]] == [
        (12, "SharesTransferred", "acme-rockets")
    ]


def test_history_as_of_a_date_keeps_the_events_effective_by_then(
    answers: dict[str, Run],
) -> None:
    events = answers["history as of"].json()["events"]
    assert [e["position"] for e in events] == [1, 2, 3, 4, 5, 6]


def test_known_at_a_position_a_timestamp_or_a_date_answers_as_known_then(
    answers: dict[str, Run],
) -> None:
    def holders(name: str) -> tuple[int, list[tuple[str, int]]]:
        table = answers[name].json()
        return table["known_at"], [(h["party"], h["shares"]) for h in table["holders"]]

    before_the_sale = [("ana", 8_000_000), ("seed-fund", 2_500_000), ("ben", 2_000_000)]
    after_the_sale = [("ana", 8_000_000), ("seed-fund", 2_500_000), ("ben", 1_500_000)]
    assert holders("known at 11") == (11, before_the_sale)
    assert holders("known at zulu") == (11, before_the_sale)
    assert holders("known at naive") == (11, before_the_sale)
    assert holders("known at today") == (12, [*after_the_sale, ("carol", 500_000)])


def rows(run: Run) -> list[list[str]]:
    assert (run.code, run.err) == (0, "")
    return list(csv.reader(io.StringIO(run.out)))


CAP_TABLE_HEADER = [
    "company",
    "as_of",
    "known_at",
    "total_shares",
    "party",
    "share_class",
    "shares",
    "party_shares",
    "ownership_percent",
    "voting_percent",
    "holder_total_shares",
    "row_ownership_percent",
    "row_voting_percent",
    "name",
    "options",
    "warrants",
    "fully_diluted_shares",
    "fully_diluted_percent",
    "fully_diluted_total",
]
HISTORY_COLUMNS = [
    "event_id",
    "position",
    "company",
    "type",
    "effective_date",
    "recorded_at",
    "recorded_by",
    "source",
    "retracted_by",
    "corrected_by",
    "data",
]


def test_csv_has_a_header_and_one_row_per_party_and_class_officer_director_or_event(
    answers: dict[str, Run],
) -> None:
    assert rows(answers["cap-table csv"]) == [
        CAP_TABLE_HEADER,
        [
            "acme-rockets",
            "2020-12-31",
            "12",
            "12500000",
            "ana",
            "common",
            "8000000",
            "8000000",
            "64.0000",
            "64.0000",
            "8000000",
            "64.0000",
            "64.0000",
            "",
            "0",
            "0",
            "8000000",
            "64.0000",
            "12500000",
        ],
        [
            "acme-rockets",
            "2020-12-31",
            "12",
            "12500000",
            "seed-fund",
            "series-seed",
            "2500000",
            "2500000",
            "20.0000",
            "20.0000",
            "2500000",
            "20.0000",
            "20.0000",
            "",
            "0",
            "0",
            "2500000",
            "20.0000",
            "12500000",
        ],
        [
            "acme-rockets",
            "2020-12-31",
            "12",
            "12500000",
            "ben",
            "common",
            "2000000",
            "2000000",
            "16.0000",
            "16.0000",
            "2000000",
            "16.0000",
            "16.0000",
            "",
            "0",
            "0",
            "2000000",
            "16.0000",
            "12500000",
        ],
    ]
    assert rows(answers["roster csv"]) == [
        ["company", "as_of", "known_at", "person", "role", "title", "interim", "since", "name"],
        [
            "acme-rockets",
            "2021-05-01",
            "12",
            "ben",
            "ceo",
            "Interim Chief Executive Officer",
            "true",
            "2021-05-01",
            "",
        ],
    ]
    assert rows(answers["board csv"]) == [
        [
            "company",
            "as_of",
            "known_at",
            "person",
            "seat",
            "since",
            "designated_by",
            "executive",
            "name",
        ],
        ["acme-rockets", "2021-05-01", "12", "ana", "director", "2020-01-01", "", "false", ""],
    ]
    assert rows(answers["holdings csv"]) == [
        [
            "party",
            "as_of",
            "known_at",
            "company",
            "share_class",
            "shares",
            "company_shares",
            "ownership_percent",
            "voting_percent",
            "holder_total_shares",
            "row_ownership_percent",
            "row_voting_percent",
            "name",
            "options",
            "warrants",
            "fully_diluted_shares",
            "fully_diluted_percent",
        ],
        [
            "ben",
            "2022-06-01",
            "12",
            "acme-rockets",
            "common",
            "1500000",
            "1500000",
            "12.0000",
            "12.0000",
            "1500000",
            "12.0000",
            "12.0000",
            "",
            "0",
            "0",
            "1500000",
            "12.0000",
        ],
    ]
    history = rows(answers["history csv"])
    assert history[0] == ["known_at", *HISTORY_COLUMNS]
    assert [(row[0], row[2], row[4]) for row in history[1:3]] == [
        ("12", "1", "CompanyRegistered"),
        ("12", "2", "ShareClassCreated"),
    ]
    party = rows(answers["party history csv"])
    assert party[0] == ["party", "known_at", *HISTORY_COLUMNS]
    assert party[1][-1] == (
        '{"company": "acme-rockets", "effective_date": "2022-01-01", "from": "ben", '
        '"share_class": "common", "shares": 500000, "source": "SPA", "to": "carol", '
        '"type": "SharesTransferred"}'
    )


def test_an_empty_answer_in_csv_is_still_its_header(answers: dict[str, Run]) -> None:
    assert rows(answers["empty cap-table csv"]) == [CAP_TABLE_HEADER]
    assert rows(answers["empty holdings csv"])[0][:4] == ["party", "as_of", "known_at", "company"]
    assert len(rows(answers["empty holdings csv"])) == 1


def test_the_cap_table_for_people_shows_holders_percentages_totals_and_valuation(
    answers: dict[str, Run],
) -> None:
    table = answers["cap-table table"].lines
    assert set(table[3]) == {"─"}  # the rule under the column names
    assert table[:3] + table[4:] == [
        "Acme Rockets, Inc. (acme-rockets): cap table",
        "as of 2020-12-31, known at position 12",
        "Holder Class Shares Ownership % Voting %",
        "ana common 8,000,000 64.0000 64.0000",
        "seed-fund series-seed 2,500,000 20.0000 20.0000",
        "ben common 2,000,000 16.0000 16.0000",
        "Total 12,500,000 100.0000",
        "Valuation: 10,000,000 USD (post-money, 2020-06-01)",
    ]


def test_a_date_before_registration_is_an_empty_answer_with_a_note(
    answers: dict[str, Run],
) -> None:
    assert answers["empty cap-table table"].lines == [
        "Acme Rockets, Inc. (acme-rockets): cap table",
        "as of 2019-01-01, known at position 12",
        "acme-rockets was not registered yet on 2019-01-01 (registered 2020-01-01): no shares "
        "outstanding.",
    ]
    assert rows(answers["empty cap-table csv"]) == [CAP_TABLE_HEADER]


def test_roster_board_holdings_and_history_tables_read_as_sentences_of_the_answer(
    answers: dict[str, Run],
) -> None:
    roster, board = answers["roster table"].lines, answers["board table"].lines
    assert roster[:3] + roster[4:] == [
        "Acme Rockets, Inc. (acme-rockets): officers",
        "as of 2021-05-01, known at position 12",
        "Role Person Title Since Interim",
        "CEO ben Interim Chief Executive Officer 2021-05-01 interim",
    ]
    assert board[:3] + board[4:] == [
        "Acme Rockets, Inc. (acme-rockets): board",
        "as of 2021-05-01, known at position 12",
        "Person Seat Since Designated by Executive",
        "ana director 2020-01-01 non-executive",
    ]
    holdings = answers["holdings table"].lines
    assert holdings[:3] + holdings[4:] == [
        "ben: holdings",
        "as of 2022-06-01, known at position 12",
        "Company Class Shares Ownership % Voting %",
        "acme-rockets common 1,500,000 12.0000 12.0000",
        "Acme Rockets, Inc.",
    ]
    history = answers["history table"].lines
    assert history[:3] + history[4:6] == [
        "carol: every event touching them",
        "known at position 12, 1 event",
        "Pos Effective Event",
        "12 2022-01-01 SharesTransferred of acme-rockets",
        "from=ben, to=carol, share_class=common, shares=500,000",
    ]
    assert history[6].startswith("recorded ")
    assert history[6].endswith("Z by e2e-setup; source: SPA")
    assert re.fullmatch(pattern("event {uuid}"), history[7])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("unknown company cap-table", "unknown company 'nope-inc' in {db}"),
        ("unknown company history", "unknown company 'nope-inc' in {db}"),
        (
            "impossible as-of",
            "--as-of '2024-02-30' is not a valid date: day is out of range for month",
        ),
        ("wordy as-of", "--as-of 'yesterday' is not a date: write YYYY-MM-DD, e.g. 2025-06-12"),
        ("known at past the end", "--known-at 13 is past the end of the log (last position 12)"),
        ("known at in the future", "--known-at 2999-01-01 is in the future"),
        (
            "known at nonsense",
            "--known-at 'soon' is not a position (an integer), an ISO 8601 timestamp "
            "(e.g. 2025-06-12T09:30:00Z) or a date (YYYY-MM-DD)",
        ),
        ("history of both", "history needs a COMPANY or --party PARTY (one of them, not both)"),
    ],
)
def test_a_query_that_cannot_be_answered_exits_2_with_one_line(
    answers: dict[str, Run], queried: Cli, name: str, expected: str
) -> None:
    assert_refused(answers[name], expected.replace("{db}", f"sqlite:///{queried.cwd}/ledger.db"))


@pytest.mark.postgres
def test_postgresql_records_and_answers_like_sqlite(pg_cli: Cli) -> None:
    recorded = pg_cli("record", str(ACME))
    assert (recorded.code, recorded.lines[0], len(recorded.lines)) == (
        0,
        "recorded 11 events for acme-rockets (positions 1-11)",
        1 + 11,  # and each event's id
    )
    pg_cli.write("sale.yaml", SALE)
    dry = pg_cli("record", "--dry-run", "sale.yaml")
    assert (dry.code, dry.out) == (0, "dry run: 1 event valid, nothing stored\n")
    real = pg_cli("record", "sale.yaml")
    assert (real.code, real.lines[0]) == (0, "recorded 1 event for acme-rockets (position 12)")
    answers = at_once(
        [
            partial(pg_cli, "cap-table", "acme-rockets", "--as-of", "2020-12-31", "-f", "json"),
            partial(pg_cli, "cap-table", "acme-rockets", "--as-of", "2020-12-31", "-f", "csv"),
            partial(pg_cli, "history", "acme-rockets", "--known-at", "11", "-f", "json"),
            partial(pg_cli, "roster", "nope-inc"),
        ]
    )
    assert answers[0].json() == with_instruments(CAP_TABLE_2020)
    assert rows(answers[1])[0] == CAP_TABLE_HEADER
    assert len(rows(answers[1])) == 4
    history = answers[2].json()
    assert (history["known_at"], len(history["events"])) == (11, 11)
    assert {e["recorded_by"] for e in history["events"]} == {"e2e-tester"}
    assert_refused(answers[3], f"unknown company 'nope-inc' in {store_config(pg_cli.url).display}")
