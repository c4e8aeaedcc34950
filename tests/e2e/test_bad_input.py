"""Every bad-input case of issue 2, as a user meets it at the command line: exit 2, one line
on stderr naming the file, the item and the field (or the rule, the event, the date and the
numbers), no traceback, and nothing stored.

The refusals share one ledger holding acme-rockets (ana 8,000,000 and ben 2,000,000 common,
seed-fund 2,500,000 series-seed, ana a retained director, ben interim CEO since 2021-05-01),
then ben's sale of 1,500,000 common to carol on 2022-01-01 and a board of one seat.
"""

from __future__ import annotations

import pytest

from .conftest import BASE_EVENTS, Cli, Run, assert_refused, refuse_all

R1 = "rule 1 (the company exists from its registration)"
R2 = "rule 2 (shares need their class, within its authorized shares)"
R3 = "rule 3 (no holding is ever negative)"
R4 = (
    "rule 4 (officers: one CEO at a time, no office held twice, no departure from an office "
    "not held)"
)
R5 = "rule 5 (the board: directors within the board size, retained seats need a sitting director)"

ISSUE = "{type: SharesIssued, company: acme-rockets, holder: dan, share_class: common"
INVEST = (
    "{type: InvestmentMade, company: acme-rockets, investor: vc, amount: '1000000 USD', "
    "share_class: common"
)
GOOD = f"- {ISSUE}, shares: 10, effective_date: 2022-01-01}}\n"
GOOD_JSON = (
    '{"type": "SharesIssued", "company": "acme-rockets", "holder": "dan", '
    '"share_class": "common", "shares": 10, "effective_date": "2022-01-01"}'
)

CASES = [
    # YAML 1.1 would read these as 15 (octal), 90 (base 60) and 31: counts silently changed.
    pytest.param(
        "octal.yaml",
        f"- {ISSUE}, shares: 0o17, effective_date: 2022-01-01}}\n",
        "octal.yaml item 1: field 'shares': Input should be a valid integer (got '0o17')",
        id="a YAML 1.1 octal count",
    ),
    pytest.param(
        "sexagesimal.yaml",
        f"- {ISSUE}, shares: 1:30, effective_date: 2022-01-01}}\n",
        "sexagesimal.yaml item 1: field 'shares': Input should be a valid integer (got '1:30')",
        id="a YAML 1.1 base-60 count",
    ),
    pytest.param(
        "hex.yaml",
        f"- {ISSUE}, shares: 0x1F, effective_date: 2022-01-01}}\n",
        "hex.yaml item 1: field 'shares': Input should be a valid integer (got '0x1F')",
        id="a YAML 1.1 hexadecimal count",
    ),
    pytest.param(
        "bad.yaml",
        f"- {ISSUE}, shares: 10\n",
        "bad.yaml: malformed YAML at line 2, column 1: expected ',' or '}', but got '<stream end>'",
        id="malformed YAML",
    ),
    pytest.param(
        "bad.json",
        '[{"type": "SharesIssued",}]',
        "bad.json: malformed JSON at line 1, column 26: Expecting property name enclosed in "
        "double quotes",
        id="malformed JSON",
    ),
    pytest.param(
        "bad.json",
        '{"type": "SharesIssued"}',
        "bad.json: expected a list of events, found dict",
        id="a JSON file that is not a list",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: SharesMinted, company: acme-rockets, effective_date: 2022-01-01}\n",
        "bad.yaml item 1: unknown event type 'SharesMinted' (did you mean 'SharesConverted' or "
        "'SharesIssued'?)",
        id="unknown event type",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: Dividend, company: acme-rockets, effective_date: 2022-01-01}\n",
        "bad.yaml item 1: unknown event type 'Dividend'",
        id="an event type like none",
    ),
    pytest.param(
        "bad.yaml",
        GOOD + f"- {ISSUE}, shares: 10, effective_date: 2022-01-01, sorce: memo}}\n",
        "bad.yaml item 2: unknown field 'sorce'",
        id="unknown field",
    ),
    pytest.param(
        "bad.yaml",
        f"- {ISSUE}, sharez: 10, effective_date: 2022-01-01}}\n",
        "bad.yaml item 1: unknown field 'sharez' (did you mean 'shares'?)",
        id="misspelled field",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: SharesIssued, company: acme-rockets, share_class: common, shares: 10, "
        "effective_date: 2022-01-01}\n",
        "bad.yaml item 1: missing field 'holder'",
        id="missing field",
    ),
    pytest.param(
        "bad.yaml",
        f"- {ISSUE}, shares: lots, effective_date: 2022-01-01}}\n",
        "bad.yaml item 1: field 'shares': Input should be a valid integer (got 'lots')",
        id="wrong type",
    ),
    pytest.param(
        "bad.yaml",
        GOOD + "- not an event\n",
        "bad.yaml item 2: expected an event (a mapping of fields), got 'not an event'",
        id="an item that is not an event",
    ),
    pytest.param(
        "bad.yaml",
        f"- {ISSUE}, shares: 10, effective_date: 2024-02-30}}\n",
        "bad.yaml item 1: field 'effective_date': '2024-02-30' is not a valid ISO date "
        "(YYYY-MM-DD) (got '2024-02-30')",
        id="impossible date",
    ),
    pytest.param(
        "bad.yaml",
        f"- {ISSUE}, shares: 0, effective_date: 2022-01-01}}\n",
        "bad.yaml item 1: field 'shares': Input should be greater than 0 (got 0)",
        id="zero shares",
    ),
    pytest.param(
        "bad.yaml",
        f"- {ISSUE}, shares: -5, effective_date: 2022-01-01}}\n",
        "bad.yaml item 1: field 'shares': Input should be greater than 0 (got -5)",
        id="negative shares",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: InvestmentMade, company: acme-rockets, investor: vc, amount: {amount: "
        "'ten million', currency: USD}, share_class: common, shares: 100, "
        "effective_date: 2022-01-01}\n",
        "bad.yaml item 1: field 'amount.amount': amount 'ten million' is not a decimal number "
        "(got 'ten million')",
        id="money that is not a decimal",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: InvestmentMade, company: acme-rockets, investor: vc, amount: 1000000 XYZ, "
        "share_class: common, shares: 100, effective_date: 2022-01-01}\n",
        "bad.yaml item 1: field 'amount': 'XYZ' is not an ISO 4217 currency code "
        "(got '1000000 XYZ')",
        id="unknown currency",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: InvestmentMade, company: acme-rockets, investor: vc, amount: 1000000 usd, "
        "share_class: common, shares: 100, effective_date: 2022-01-01}\n",
        "bad.yaml item 1: field 'amount': 'usd' is not an ISO 4217 currency code: codes are "
        "upper case ('USD') (got '1000000 usd')",
        id="lower-case currency",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: SharesIssued, company: nope-inc, holder: dan, share_class: common, "
        "shares: 10, effective_date: 2022-01-01}\n",
        "bad.yaml item 1: unknown company 'nope-inc': record its CompanyRegistered first "
        "(in this batch or before)",
        id="unknown company",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: SharesIssued, company: acme-rockets, holder: dan, share_class: series-z, "
        "shares: 10, effective_date: 2022-01-01}\n",
        f"bad.yaml item 1 (SharesIssued, 2022-01-01): {R2}: share class 'series-z' does not "
        "exist at this date",
        id="unknown share class",
    ),
    pytest.param(
        "bad.yaml",
        f"- {ISSUE}, shares: 10, effective_date: 2019-06-01}}\n",
        f"bad.yaml item 1 (SharesIssued, 2019-06-01): {R1}: effective before acme-rockets's "
        "registration on 2020-01-01",
        id="an event before the company's registration",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: SharesTransferred, company: acme-rockets, from: ben, to: zed, "
        "share_class: common, shares: 3000000, effective_date: 2022-06-01}\n",
        f"bad.yaml item 1 (SharesTransferred, 2022-06-01): {R3}: transfer of 3,000,000 common "
        "from ben exceeds their holding of 500,000",
        id="a transfer exceeding the holding",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: SharesCancelled, company: acme-rockets, holder: ana, share_class: common, "
        "shares: 9000000, effective_date: 2022-06-01}\n",
        f"bad.yaml item 1 (SharesCancelled, 2022-06-01): {R3}: cancellation of 9,000,000 "
        "common from ana exceeds their holding of 8,000,000",
        id="a cancellation exceeding the holding",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: SharesCancelled, company: acme-rockets, holder: ben, share_class: common, "
        "shares: 1000000, effective_date: 2021-06-01, reason: repurchase}\n",
        f"bad.yaml item 1 (SharesCancelled, 2021-06-01): {R3}: it makes the later "
        "SharesTransferred of 2022-01-01 (event {uuid}) impossible: transfer of 1,500,000 "
        "common from ben exceeds their holding of 1,000,000",
        id="a back-dated cancellation that makes a later transfer impossible",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: ExecutiveAppointed, company: acme-rockets, person: carol, role: ceo, "
        "effective_date: 2022-03-01}\n",
        f"bad.yaml item 1 (ExecutiveAppointed, 2022-03-01): {R4}: carol cannot become CEO: "
        "ben is CEO (since 2021-05-01)",
        id="a second CEO",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: ExecutiveDeparted, company: acme-rockets, person: ana, role: ceo, "
        "effective_date: 2022-03-01}\n",
        f"bad.yaml item 1 (ExecutiveDeparted, 2022-03-01): {R4}: ana cannot depart the "
        "office ceo: they do not hold it",
        id="departing an office not held",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: BoardSeatRetained, company: acme-rockets, person: ben, "
        "effective_date: 2022-03-01}\n",
        f"bad.yaml item 1 (BoardSeatRetained, 2022-03-01): {R5}: ben cannot retain a board "
        "seat: they are not a director",
        id="BoardSeatRetained for a non-director",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: DirectorAppointed, company: acme-rockets, person: ben, seat: director, "
        "effective_date: 2022-03-01}\n",
        f"bad.yaml item 1 (DirectorAppointed, 2022-03-01): {R5}: appointing ben would make 2 "
        "directors on a board of 1 seats",
        id="more directors than board seats",
    ),
    pytest.param(
        "bad.yaml",
        f"- {INVEST}, effective_date: 2022-03-01}}\n",
        "bad.yaml item 1: give exactly one of shares, stake_percent, post_money_valuation or "
        "pre_money_valuation (got none)",
        id="InvestmentMade with no share derivation",
    ),
    pytest.param(
        "bad.yaml",
        f"- {INVEST}, shares: 100, stake_percent: '10', effective_date: 2022-03-01}}\n",
        "bad.yaml item 1: give exactly one of shares, stake_percent, post_money_valuation or "
        "pre_money_valuation (got shares, stake_percent)",
        id="InvestmentMade with two share derivations",
    ),
    pytest.param(
        "bad.yaml",
        f"- {INVEST}, stake_percent: '100', effective_date: 2022-03-01}}\n",
        "bad.yaml item 1: field 'stake_percent': Input should be less than 100 (got '100')",
        id="a stake of 100 percent",
    ),
    pytest.param(
        "bad.yaml",
        f"- {INVEST}, stake_percent: '0', effective_date: 2022-03-01}}\n",
        "bad.yaml item 1: field 'stake_percent': Input should be greater than 0 (got '0')",
        id="a stake of 0 percent",
    ),
    pytest.param(
        "bad.yaml",
        GOOD + "- {type: SharesIssued, company: acme-rockets, holder: eve, share_class: common, "
        "shares: 10, effective_date: 2022-01-01}\n"
        "- {type: SharesTransferred, company: acme-rockets, from: dan, to: eve, "
        "share_class: common, shares: 11, effective_date: 2022-02-01}\n",
        f"bad.yaml item 3 (SharesTransferred, 2022-02-01): {R3}: transfer of 11 common from "
        "dan exceeds their holding of 10",
        id="one bad event among good ones",
    ),
    pytest.param(
        "bad.jsonl",
        '{"type": "SharesIssued", "company": "acme-rockets", "holder": "dan", '
        '"share_class": "common", "shares": 10, "effective_date": "2022-01-01"}\n'
        "\n"
        '{"type": "SharesIssued", "company": "acme-rockets", "holder": "dan", '
        '"share_class": "common", "shares": 0, "effective_date": "2022-01-01"}\n',
        "bad.jsonl line 3: field 'shares': Input should be greater than 0 (got 0)",
        id="a JSON Lines error names the line",
    ),
    pytest.param(
        "bad.jsonl",
        '{"type": "SharesIssued", "company": "acme-rockets", "holder": "dan", '
        '"share_class": "common", "shares": 1, "effective_date": "2022-01-01"}\n'
        '{"type": "SharesIssued", "company": "acme-rockets"\n',
        "bad.jsonl line 2: malformed JSON at column 51: Expecting ',' delimiter",
        id="malformed JSON Lines",
    ),
    pytest.param(
        "bad.yaml",
        GOOD
        + GOOD.replace("}", ", external_id: x1}").replace("10", "11")
        + GOOD.replace("}", ", external_id: x1}"),
        "bad.yaml item 3: external_id 'x1' of acme-rockets appears twice in this batch "
        "(also bad.yaml item 2)",
        id="an external_id twice in one batch",
    ),
]


@pytest.fixture(scope="module")
def refusals(base: Cli, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    return refuse_all(base, CASES, tmp_path_factory.mktemp("refusals"))


@pytest.mark.parametrize(("name", "text", "expected"), CASES)
def test_a_bad_event_file_is_refused_with_one_line_naming_the_place_and_nothing_is_stored(
    base: Cli,
    refusals: dict[str, Run],
    request: pytest.FixtureRequest,
    name: str,
    text: str,
    expected: str,
) -> None:
    assert expected.startswith(name)  # every message names the file first
    assert_refused(refusals[request.node.callspec.id], expected)
    assert base.stored() == BASE_EVENTS


def test_a_bad_event_on_standard_input_is_named_as_stdin_and_nothing_is_stored(
    base: Cli,
) -> None:
    run = base(
        "record",
        "-",
        "--input-format",
        "yaml",
        stdin=f"- {ISSUE}, shares: 0, effective_date: 2022-01-01}}\n",
    )
    assert_refused(run, "<stdin> item 1: field 'shares': Input should be greater than 0 (got 0)")
    assert base.stored() == BASE_EVENTS


def test_a_bad_file_among_good_files_stores_none_of_them(base: Cli) -> None:
    good = base.write("good.yaml", GOOD)
    bad = base.write("bad.yaml", "- {type: SharesIssued, company: acme-rockets}\n")
    assert_refused(base("record", good, bad), "bad.yaml item 1: missing field 'effective_date'")
    assert base.stored() == BASE_EVENTS
    assert base("holdings", "dan", "--format", "json").json()["positions"] == []


def test_a_dry_run_of_a_bad_file_is_refused_like_a_real_one(base: Cli) -> None:
    run = base(
        "record",
        "--dry-run",
        base.write("bad.yaml", f"- {ISSUE}, shares: 0, effective_date: 2022-01-01}}\n"),
    )
    assert_refused(run, "bad.yaml item 1: field 'shares': Input should be greater than 0 (got 0)")


def test_a_count_with_leading_zeros_is_read_in_decimal(acme: Cli) -> None:
    path = acme.write("padded.yaml", f"- {ISSUE}, shares: 017, effective_date: 2022-01-01}}\n")
    assert acme("record", path).code == 0
    issued = acme("history", "acme-rockets", "--format", "json").json()["events"][-1]
    assert issued["data"]["shares"] == 17  # YAML 1.1 would have made it 15


def test_a_zero_written_with_a_huge_exponent_is_stored_as_zero(acme: Cli) -> None:
    path = acme.write(
        "zero.json",
        '[{"type": "SharesIssued", "company": "acme-rockets", "holder": "dan", '
        '"share_class": "common", "shares": 10, "effective_date": "2022-01-01", '
        '"price_per_share": "0E-100000000 USD"}]',
    )
    assert acme("record", path).code == 0
    issued = acme("history", "acme-rockets", "--format", "json").json()["events"][-1]
    assert issued["data"]["price_per_share"] == {"amount": "0", "currency": "USD"}


def test_an_argument_that_is_not_utf8_is_refused_with_one_line(base: Cli) -> None:
    assert_refused(
        base("cap-table", "\udcff\udcfe"),  # the bytes ff fe, as Python keeps them
        "an argument holds bytes that are not UTF-8 text (b'\\xff\\xfe'): write it in UTF-8",
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(
            ["record", "missing.yaml"], "missing.yaml: no such file", id="a file that is not there"
        ),
        pytest.param(
            ["record", "-"],
            "reading standard input needs --input-format yaml|json|jsonl",
            id="standard input without a format",
        ),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_with_one_line(
    base: Cli, args: list[str], expected: str
) -> None:
    assert_refused(base(*args, stdin=""), expected)
    assert base.stored() == BASE_EVENTS


PG_CASES = [
    case
    for case in CASES
    if case.id
    in {
        "malformed YAML",
        "a back-dated cancellation that makes a later transfer impossible",
        "one bad event among good ones",
        "a JSON Lines error names the line",
    }
]


@pytest.fixture(scope="module")
def pg_refusals(pg_base: Cli, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    return refuse_all(pg_base, PG_CASES, tmp_path_factory.mktemp("pg-refusals"))


@pytest.mark.postgres
@pytest.mark.parametrize(("name", "text", "expected"), PG_CASES)
def test_a_bad_event_file_is_refused_the_same_way_on_postgresql(
    pg_base: Cli,
    pg_refusals: dict[str, Run],
    request: pytest.FixtureRequest,
    name: str,
    text: str,
    expected: str,
) -> None:
    assert expected.startswith(name)
    assert_refused(pg_refusals[request.node.callspec.id], expected)
    assert pg_base.stored() == BASE_EVENTS


def test_every_invalid_item_of_a_file_gets_a_line_up_to_twenty_and_nothing_is_stored(
    base: Cli,
) -> None:
    lines = [
        '{"type": "SharesIssued", "company": "acme-rockets", "holder": "dan"}',
        '{"type": "SharesIssued", "company": "acme-rockets"',
        *[GOOD_JSON.replace('"shares": 10', f'"shares": {-n}') for n in range(30)],
    ]
    run = base("record", base.write("bad.jsonl", "\n".join(lines) + "\n"))
    assert (run.code, run.out, run.err.splitlines()) == (
        2,
        "",
        [
            "error: bad.jsonl line 1: missing field 'effective_date'",
            "error: bad.jsonl line 2: malformed JSON at column 51: Expecting ',' delimiter",
            *(
                f"error: bad.jsonl line {n + 3}: field 'shares': Input should be greater than 0 "
                f"(got {-n})"
                for n in range(18)
            ),
            "error: more invalid items follow; only the first 20 are shown",
        ],
    )
    assert base.stored() == BASE_EVENTS
