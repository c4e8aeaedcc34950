"""Equity instruments at the command line: every refusal of rules 7 and 8, and hostile values
in the new fields, each exit 2 with one line on stderr naming the file and item, and the
rule, the date and the numbers (or the field), no traceback, and nothing stored.

The refusals share one ledger holding acme-rockets (ana 8,000,000 and ben 2,000,000 common,
seed-fund 2,500,000 series-seed) and then INSTRUMENTS: a plan of 1,000,000 common; carol's
grant g1 of 480,000 options (four years from 2021-01-01, a one-year cliff, expiring at the end
of 2025-12-31); angel's $500,000 SAFE at a $5,000,000 post-money cap, converted at $1.00 on
2021-09-01; the bank's warrant w1 for 50,000 common, expiring at the end of 2023-12-31; dan's
grant g2 of 400,000 on 2022-06-01, which leaves the plan 120,000 available.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import drop_pg_database, new_pg_database

from .conftest import ACME, ACME_EVENTS, Cli, Run, assert_refused, prepare, refuse_all

R7 = "rule 7 (a plan's available shares are never negative)"
R8 = (
    "rule 8 (instruments: exercises within what is exercisable or outstanding and never after "
    "expiry, cancellations within what is outstanding, ids used once, a convertible settles "
    "once)"
)

INSTRUMENTS = """\
- {type: StockPlanCreated, company: acme-rockets, plan: pool, name: 2021 Stock Plan, share_class: common, reserved: 1000000, effective_date: 2021-01-01}
- {type: OptionGranted, company: acme-rockets, grant: g1, holder: carol, plan: pool, quantity: 480000, exercise_price: "0.10 USD", expiration_date: 2025-12-31, vesting: {start: 2021-01-01, months: 48, cliff_months: 12}, effective_date: 2021-01-01}
- {type: ConvertibleIssued, company: acme-rockets, convertible: safe-1, holder: angel, kind: safe, amount: "500000 USD", valuation_cap: "5000000 USD", effective_date: 2021-02-01}
- {type: WarrantIssued, company: acme-rockets, warrant: w1, holder: bank, share_class: common, quantity: 50000, exercise_price: "1.00 USD", expiration_date: 2023-12-31, effective_date: 2021-03-01}
- {type: ConvertibleConverted, company: acme-rockets, convertible: safe-1, share_class: series-seed, price_per_share: "1.00 USD", effective_date: 2021-09-01}
- {type: OptionGranted, company: acme-rockets, grant: g2, holder: dan, plan: pool, quantity: 400000, exercise_price: "0.10 USD", effective_date: 2022-06-01}
"""  # noqa: E501
EVENTS = ACME_EVENTS + 6

GRANT = "{type: OptionGranted, company: acme-rockets, holder: eve, plan: pool"
GRANT_G3 = f'{GRANT}, grant: g3, exercise_price: "0.10 USD", effective_date: 2022-07-01'
SAFE = (
    "{type: ConvertibleIssued, company: acme-rockets, convertible: safe-2, holder: angel, "
    "amount: '500000 USD', effective_date: 2022-07-01"
)
VESTING_MAPPING = "a vesting schedule is a mapping {start, months, cliff_months?, every_months?}"

RULE_CASES = [
    pytest.param(
        "bad.yaml",
        "- {type: OptionExercised, company: acme-rockets, grant: g1, quantity: 130000, "
        "effective_date: 2022-01-01}\n",
        # 12 whole months of 48 at the cliff: 480,000 · 12 / 48 = 120,000 vested
        f"bad.yaml item 1 (OptionExercised, 2022-01-01): {R8}: exercising 130,000 of grant g1 "
        "exceeds its 120,000 exercisable (120,000 vested, 0 exercised, 480,000 outstanding)",
        id="an exercise beyond what is vested",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: OptionExercised, company: acme-rockets, grant: g1, quantity: 1000, "
        "effective_date: 2026-01-01}\n",
        f"bad.yaml item 1 (OptionExercised, 2026-01-01): {R8}: grant g1 expired at the end of "
        "2025-12-31: nothing is exercised after",
        id="an exercise after expiry",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: WarrantExercised, company: acme-rockets, warrant: w1, quantity: 50000, "
        "effective_date: 2024-01-01}\n",
        f"bad.yaml item 1 (WarrantExercised, 2024-01-01): {R8}: warrant w1 expired at the end "
        "of 2023-12-31: nothing is exercised after",
        id="a warrant exercised after expiry",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: WarrantExercised, company: acme-rockets, warrant: w1, quantity: 50001, "
        "effective_date: 2023-12-31}\n",
        f"bad.yaml item 1 (WarrantExercised, 2023-12-31): {R8}: exercising 50,001 of warrant "
        "w1 exceeds its 50,000 outstanding",
        id="a warrant exercised beyond what is outstanding",
    ),
    pytest.param(
        "bad.yaml",
        f"- {GRANT_G3}, quantity: 200000}}\n",
        f"bad.yaml item 1 (OptionGranted, 2022-07-01): {R7}: a grant of 200,000 from plan pool "
        "exceeds its 120,000 available shares (reserved 1,000,000)",
        id="a grant beyond the pool",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: StockPlanReserveChanged, company: acme-rockets, plan: pool, reserved: 800000, "
        "effective_date: 2022-07-01}\n",
        f"bad.yaml item 1 (StockPlanReserveChanged, 2022-07-01): {R7}: a reserve of 800,000 "
        "for plan pool is below the 880,000 it has allocated (0 exercised, 880,000 "
        "outstanding, 0 retired)",
        id="a reserve cut below what is allocated",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: ConvertibleConverted, company: acme-rockets, convertible: safe-1, "
        "share_class: series-seed, price_per_share: '2.00 USD', effective_date: 2022-01-01}\n",
        f"bad.yaml item 1 (ConvertibleConverted, 2022-01-01): {R8}: convertible safe-1 was "
        "already converted on 2021-09-01",
        id="a second conversion of the same SAFE",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: ConvertibleCancelled, company: acme-rockets, convertible: safe-1, "
        "reason: repaid, effective_date: 2022-01-01}\n",
        f"bad.yaml item 1 (ConvertibleCancelled, 2022-01-01): {R8}: convertible safe-1 was "
        "already converted on 2021-09-01",
        id="a converted SAFE cancelled",
    ),
    pytest.param(
        "bad.yaml",
        f'- {GRANT}, grant: g1, quantity: 100, exercise_price: "0.10 USD", '
        "effective_date: 2022-07-01}\n",
        f"bad.yaml item 1 (OptionGranted, 2022-07-01): {R8}: grant id 'g1' is already used "
        "(granted 2021-01-01)",
        id="a grant id used twice",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: OptionCancelled, company: acme-rockets, grant: g1, quantity: 480001, "
        "reason: forfeited, effective_date: 2022-01-01}\n",
        f"bad.yaml item 1 (OptionCancelled, 2022-01-01): {R8}: cancelling 480,001 of grant g1 "
        "exceeds its 480,000 outstanding",
        id="a cancellation beyond what is outstanding",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: OptionCancelled, company: acme-rockets, grant: g1, reason: expired, "
        "effective_date: 2026-01-01}\n",
        f"bad.yaml item 1 (OptionCancelled, 2026-01-01): {R8}: grant g1 has nothing "
        "outstanding to cancel",
        id="a cancellation of an expired grant",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: OptionExercised, company: acme-rockets, grant: g7, quantity: 1, "
        "effective_date: 2022-01-01}\n",
        f"bad.yaml item 1 (OptionExercised, 2022-01-01): {R8}: grant 'g7' does not exist at "
        "this date",
        id="an exercise of an unknown grant",
    ),
    pytest.param(
        "bad.yaml",
        f'- {GRANT}, grant: g0, quantity: 200000, exercise_price: "0.10 USD", '
        "effective_date: 2021-03-01}\n",
        # On 2021-03-01 the plan has 520,000 available, but then g2's 400,000 on 2022-06-01
        # find only 1,000,000 − 480,000 − 200,000 = 320,000.
        f"bad.yaml item 1 (OptionGranted, 2021-03-01): {R7}: it makes the later OptionGranted "
        "of 2022-06-01 (event {uuid}) impossible: a grant of 400,000 from plan pool exceeds "
        "its 320,000 available shares (reserved 1,000,000)",
        id="a back-dated grant that breaks a later grant",
    ),
]

INPUT_CASES = [
    pytest.param(
        "bad.yaml",
        f"- {GRANT}, grant: g3, quantity: 100, effective_date: 2022-07-01}}\n",
        "bad.yaml item 1: an option needs an exercise_price",
        id="an option without an exercise price",
    ),
    pytest.param(
        "bad.yaml",
        f"- {GRANT_G3}, quantity: 100, kind: rsu}}\n",
        "bad.yaml item 1: an RSU has no exercise_price",
        id="an RSU with an exercise price",
    ),
    pytest.param(
        "bad.yaml",
        f"- {GRANT_G3}, quantity: 100, vesting: {{start: 2022-07-01, months: 12, "
        "cliff_months: 13}}\n",
        "bad.yaml item 1: field 'vesting': cliff_months 13 is more than months 12 (got "
        "{'start': '2022-07-01', 'months': 12, 'cliff_months': 13})",
        id="a cliff longer than the vesting",
    ),
    pytest.param(
        "bad.yaml",
        f"- {GRANT_G3}, quantity: true}}\n",
        "bad.yaml item 1: field 'quantity': Input should be a valid integer (got True)",
        id="a boolean as a quantity",
    ),
    pytest.param(
        "bad.yaml",
        f"- {GRANT_G3}, quantity: '100'}}\n",
        "bad.yaml item 1: field 'quantity': Input should be a valid integer (got '100')",
        id="a string as a quantity",
    ),
    pytest.param(
        "bad.yaml",
        f"- {GRANT_G3}, quantity: 100.0}}\n",
        "bad.yaml item 1: field 'quantity': Input should be a valid integer (got 100.0)",
        id="a float as a quantity",
    ),
    pytest.param(
        "bad.yaml",
        f"- {GRANT_G3}, quantity: 100, vesting: {{start: 2022-07-01, months: '48'}}}}\n",
        "bad.yaml item 1: field 'vesting.months': Input should be a valid integer (got '48')",
        id="a string as a count of months",
    ),
    pytest.param(
        "bad.yaml",
        f"- {GRANT_G3}, quantity: 100, vesting: {{start: 2022-07-01, months: 12, "
        "cliff_months: true}}\n",
        "bad.yaml item 1: field 'vesting.cliff_months': Input should be a valid integer (got True)",
        id="a boolean as a count of months",
    ),
    pytest.param(
        "bad.yaml",
        f"- {GRANT}, grant: g3, quantity: 100, exercise_price: 0.1, effective_date: 2022-07-01}}\n",
        "bad.yaml item 1: field 'exercise_price': 0.1 has no currency: write "
        "'<decimal> <ISO 4217 code>' or {amount, currency} (got 0.1)",
        id="a float as an exercise price",
    ),
    pytest.param(
        "bad.yaml",
        f"- {GRANT}, grant: g3, quantity: 100, exercise_price: {{amount: 0.1, currency: USD}}, "
        "effective_date: 2022-07-01}\n",
        "bad.yaml item 1: field 'exercise_price.amount': amount 0.1 is a float; write it as a "
        'quoted decimal string (e.g. "0.1") so no precision is lost (got 0.1)',
        id="a float as an amount of money",
    ),
    pytest.param(
        "bad.yaml",
        f"- {GRANT}, grant: g3, quantity: 100, exercise_price: '-0.10 USD', "
        "effective_date: 2022-07-01}\n",
        "bad.yaml item 1: field 'exercise_price.amount': amount -0.10 is negative (got '-0.10')",
        id="a negative exercise price",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: StockPlanReserveChanged, company: acme-rockets, plan: pool, reserved: -5, "
        "effective_date: 2022-07-01}\n",
        "bad.yaml item 1: field 'reserved': Input should be greater than or equal to 0 (got -5)",
        id="a negative reserve",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: StockPlanCreated, company: acme-rockets, plan: p2, name: P2, "
        "share_class: common, reserved: 0, effective_date: 2022-07-01}\n",
        "bad.yaml item 1: field 'reserved': Input should be greater than 0 (got 0)",
        id="a plan created with no reserve",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: StockPlanReserveChanged, company: acme-rockets, plan: pool, "
        "reserved: 1000000000000001, effective_date: 2022-07-01}\n",
        "bad.yaml item 1: field 'reserved': Input should be less than or equal to "
        "1,000,000,000,000,000 (10^15) (got 1000000000000001)",
        id="a reserve past 10^15",
    ),
    pytest.param(
        "bad.yaml",
        f"- {GRANT_G3}, quantity: 100000000000000000000}}\n",
        "bad.yaml item 1: field 'quantity': Input should be less than or equal to "
        "1,000,000,000,000,000 (10^15) (got 100000000000000000000)",
        id="a quantity past 10^15",
    ),
    pytest.param(
        "bad.yaml",
        f"- {GRANT_G3}, quantity: 100, vesting: {{start: 2022-07-01, months: 1201}}}}\n",
        "bad.yaml item 1: field 'vesting.months': Input should be less than or equal to 1,200 "
        "(got 1201)",
        id="a vesting longer than 100 years",
    ),
    pytest.param(
        "bad.yaml",
        f"- {GRANT_G3}, quantity: 100, vesting: {{start: 2022-07-01, months: 12, "
        "every_months: 0}}\n",
        "bad.yaml item 1: field 'vesting.every_months': Input should be greater than 0 (got 0)",
        id="vesting every 0 months",
    ),
    pytest.param(
        "bad.yaml",
        f"- {SAFE}, kind: safe, discount_percent: '100'}}\n",
        "bad.yaml item 1: field 'discount_percent': Input should be less than 100 (got '100')",
        id="a discount of 100 percent",
    ),
    pytest.param(
        "bad.yaml",
        f"- {SAFE}, kind: safe, discount_percent: 20.5}}\n",
        "bad.yaml item 1: field 'discount_percent': percentage 20.5 is a float; write it as a "
        'quoted decimal string (e.g. "20.5") so no precision is lost (got 20.5)',
        id="a float as a discount",
    ),
    pytest.param(
        "bad.yaml",
        f"- {SAFE}, kind: note, interest_rate_percent: '100.5'}}\n",
        "bad.yaml item 1: field 'interest_rate_percent': Input should be less than or equal "
        "to 100 (got '100.5')",
        id="an interest rate over 100 percent",
    ),
    pytest.param(
        "bad.yaml",
        f"- {SAFE}, kind: safe, interest_rate_percent: '5'}}\n",
        "bad.yaml item 1: interest_rate_percent is for a note, not a SAFE",
        id="a SAFE bearing interest",
    ),
    pytest.param(
        "bad.yaml",
        f"- {SAFE}, kind: safe, valuation_cap: '5000000 EUR'}}\n",
        "bad.yaml item 1: valuation_cap currency EUR differs from amount currency USD",
        id="a cap in another currency",
    ),
    pytest.param(
        "bad.yaml",
        f"- {SAFE}, kind: safe, cap_basis: fully-diluted}}\n",
        "bad.yaml item 1: field 'cap_basis': Input should be 'post-money' or 'pre-money' "
        "(got 'fully-diluted')",
        id="an unknown cap basis",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: ConvertibleConverted, company: acme-rockets, convertible: safe-1, "
        "share_class: series-seed, shares: 10, derived_shares: 10, effective_date: 2022-01-01}\n",
        "bad.yaml item 1: derived_shares is set by the ledger, not by an event file",
        id="a conversion giving derived_shares",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: ConvertibleConverted, company: acme-rockets, convertible: safe-1, "
        "share_class: series-seed, effective_date: 2022-01-01}\n",
        "bad.yaml item 1: give shares, price_per_share or both",
        id="a conversion with neither shares nor price",
    ),
    pytest.param(
        "bad.yaml",
        f"- {GRANT_G3}, quantity: 100, expiration_date: 2022-02-30}}\n",
        "bad.yaml item 1: field 'expiration_date': '2022-02-30' is not a valid ISO date "
        "(YYYY-MM-DD) (got '2022-02-30')",
        id="an impossible expiration date",
    ),
    pytest.param(
        "bad.yaml",
        f"- {GRANT_G3}, quantity: 100, vesting: {{start: 20220701, months: 12}}}}\n",
        "bad.yaml item 1: field 'vesting.start': 20220701 is not a valid ISO date (YYYY-MM-DD) "
        "(got 20220701)",
        id="a number as a vesting start",
    ),
    pytest.param(
        "bad.yaml",
        f"- {GRANT_G3}, quantity: 100, expiration_date: 3000-01-01}}\n",
        "bad.yaml item 1: field 'expiration_date': 3000-01-01 is outside the dates the ledger "
        "takes (from 1800-01-01 to 2999-12-31) (got '3000-01-01')",
        id="an expiration past the last date",
    ),
    pytest.param(
        "bad.yaml",
        f"- {GRANT_G3}, quantity: 100, expiration_date: 2022-06-30}}\n",
        "bad.yaml item 1: expiration_date 2022-06-30 is before the effective_date 2022-07-01",
        id="a grant expiring before it is granted",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: WarrantIssued, company: acme-rockets, warrant: w2, holder: bank, "
        "share_class: common, quantity: 100, exercise_price: '1 USD', "
        "expiration_date: 2022-06-30, effective_date: 2022-07-01}\n",
        "bad.yaml item 1: expiration_date 2022-06-30 is before the effective_date 2022-07-01",
        id="a warrant expiring before it is issued",
    ),
    pytest.param(
        "bad.yaml",
        f"- {GRANT_G3}, quantity: 100, vesting: {{start: 2022-07-01, months: 12, "
        "clif_months: 3}}\n",
        "bad.yaml item 1: unknown field 'vesting.clif_months'",
        id="an unknown field in vesting",
    ),
    pytest.param(
        "bad.yaml",
        f"- {GRANT_G3}, quantity: 100, vesting: {{months: 12}}}}\n",
        "bad.yaml item 1: missing field 'vesting.start'",
        id="a vesting without its start",
    ),
    pytest.param(
        "bad.yaml",
        f"- {GRANT_G3}, quantity: 100, vesting: 48}}\n",
        f"bad.yaml item 1: field 'vesting': {VESTING_MAPPING} (got 48)",
        id="a number as a vesting schedule",
    ),
    pytest.param(
        "bad.jsonl",
        '{"type": "OptionGranted", "company": "acme-rockets", "grant": "g3", "holder": "eve", '
        '"plan": "pool", "quantity": 100, "exercise_price": "0.10 USD", '
        '"vesting": ["2022-07-01", 12], "effective_date": "2022-07-01"}\n',
        f"bad.jsonl line 1: field 'vesting': {VESTING_MAPPING} (got ['2022-07-01', 12])",
        id="a list as a vesting schedule in JSON Lines",
    ),
    pytest.param(
        "bad.jsonl",
        '{"type": "OptionGranted", "company": "acme-rockets", "grant": "g3", "holder": "eve", '
        '"plan": "pool", "quantity": 100, "exercise_price": "0.10 USD", '
        '"vesting": {"start": "2022-07-01", "months": true}, "effective_date": "2022-07-01"}\n',
        "bad.jsonl line 1: field 'vesting.months': Input should be a valid integer (got True)",
        id="a JSON boolean as a count of months",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: OptionCancelled, company: acme-rockets, grant: g1, reason: quit, "
        "effective_date: 2022-01-01}\n",
        "bad.yaml item 1: field 'reason': Input should be 'forfeited', 'expired', 'cancelled', "
        "'repurchased' or 'other' (got 'quit')",
        id="an unknown reason for a cancellation",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: StakeholderRecorded, company: acme-rockets, party: ana, name: '', "
        "kind: individual, effective_date: 2022-01-01}\n",
        "bad.yaml item 1: field 'name': String should have at least 1 character (got '')",
        id="a stakeholder without a name",
    ),
    pytest.param(
        "bad.yaml",
        "- {type: SharesConverted, company: acme-rockets, holder: ana, from_class: common, "
        "to_class: series-seed, shares: 10, ratio: '0:1', effective_date: 2022-01-01}\n",
        "bad.yaml item 1: field 'ratio': not a split ratio 'N:M' of integers from 1 to "
        "1,000,000, e.g. '2:1' (got '0:1')",
        id="a class conversion at a ratio of 0",
    ),
]


def _with_instruments(cli: Cli) -> Cli:
    prepare(cli, str(ACME), str(cli.cwd / cli.write("instruments.yaml", INSTRUMENTS)))
    assert cli.stored() == EVENTS
    return cli


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """One SQLite ledger for the module's refusals: acme-rockets and INSTRUMENTS."""
    home = tmp_path_factory.mktemp("instruments")
    return _with_instruments(Cli(f"sqlite:///{home}/ledger.db", home))


@pytest.fixture(scope="module")
def history(ledger: Cli) -> str:
    """The ledger's history before any refusal."""
    return ledger("history", "acme-rockets", "--format", "json").out


@pytest.fixture(scope="module")
def refusals(ledger: Cli, history: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    return refuse_all(ledger, RULE_CASES + INPUT_CASES, tmp_path_factory.mktemp("refusals"))


def test_the_conversion_in_the_setup_derived_the_safe_s_shares_from_its_cap(
    ledger: Cli,
) -> None:
    # F just before = 12,500,000 shares + 480,000 options + 520,000 available + 50,000
    # warrant = 13,550,000; a = 500,000 / 5,000,000 = 0.1; the cap's F · a / (1 − a) =
    # 1,505,555.5… beats A / price = 500,000: 1,505,555 rounded down.
    events = ledger("history", "acme-rockets", "--format", "json").json()["events"]
    converted = [e["data"] for e in events if e["type"] == "ConvertibleConverted"]
    assert [c["derived_shares"] for c in converted] == [1_505_555]
    holders = ledger("cap-table", "acme-rockets", "--format", "json").json()["holders"]
    assert {h["party"]: h["shares"] for h in holders}["angel"] == 1_505_555


@pytest.mark.parametrize(("name", "text", "expected"), RULE_CASES + INPUT_CASES)
def test_a_bad_instrument_event_is_refused_with_one_line_and_nothing_is_stored(
    ledger: Cli,
    refusals: dict[str, Run],
    request: pytest.FixtureRequest,
    name: str,
    text: str,
    expected: str,
) -> None:
    assert expected.startswith(name)
    assert_refused(refusals[request.node.callspec.id], expected)
    assert ledger.stored() == EVENTS


def test_after_every_refusal_the_history_is_unchanged(
    ledger: Cli, refusals: dict[str, Run], history: str
) -> None:
    assert len(refusals) == len(RULE_CASES + INPUT_CASES)
    assert ledger("history", "acme-rockets", "--format", "json").out == history


@pytest.fixture(scope="module")
def pg_ledger(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """The same as ``ledger`` on a PostgreSQL database of the module's own."""
    url = new_pg_database(pg_server)
    try:
        yield _with_instruments(Cli(url, tmp_path_factory.mktemp("pg-instruments")))
    finally:
        drop_pg_database(url)


@pytest.fixture(scope="module")
def pg_refusals(pg_ledger: Cli, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    before = pg_ledger("history", "acme-rockets", "--format", "json").out
    runs = refuse_all(pg_ledger, RULE_CASES, tmp_path_factory.mktemp("pg-refusals"))
    assert pg_ledger("history", "acme-rockets", "--format", "json").out == before
    return runs


@pytest.mark.postgres
@pytest.mark.parametrize(("name", "text", "expected"), RULE_CASES)
def test_rules_7_and_8_refuse_the_same_way_on_postgresql(
    pg_ledger: Cli,
    pg_refusals: dict[str, Run],
    request: pytest.FixtureRequest,
    name: str,
    text: str,
    expected: str,
) -> None:
    assert_refused(pg_refusals[request.node.callspec.id], expected)
    assert pg_ledger.stored() == EVENTS
