"""The CSV of a position, as a spreadsheet sums it: each row's own percentages add up to 100
over the rows, and the holder's total is named alike in the cap table and the holdings."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from functools import partial

from tests.answers import AtLeast

from .conftest import ACME, Cli, at_once, prepare

# ana also holds 1,000,000 non-voting shares: two rows, one holder.
NON_VOTING = """\
- {type: ShareClassCreated, company: acme-rockets, share_class: non-voting, name: Non-voting Common, kind: common, votes_per_share: 0, effective_date: 2020-07-01}
- {type: SharesIssued, company: acme-rockets, holder: ana, share_class: non-voting, shares: 1000000, effective_date: 2020-07-01}
"""  # noqa: E501


def table(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def total(rows: list[dict[str, str]], column: str) -> Decimal:
    return sum((Decimal(row[column]) for row in rows), Decimal(0))


def test_each_csv_row_carries_its_own_percentages_which_add_up_to_100(
    engine_cli: Cli,
) -> None:
    cli = prepare(
        engine_cli, str(ACME), str(engine_cli.cwd / engine_cli.write("nv.yaml", NON_VOTING))
    )
    day = ["--as-of", "2021-01-01", "-f", "csv"]
    cap_table, holdings, verified = at_once(
        [
            partial(cli, "cap-table", "acme-rockets", *day),
            partial(cli, "holdings", "ana", *day),
            partial(cli, "verify", "--company", "acme-rockets"),
        ]
    )
    assert (cap_table.code, cap_table.err) == (0, "")
    rows = table(cap_table.out)
    # 13,500,000 outstanding, 12,500,000 votes (the non-voting class has none).
    # party_shares, the older name of holder_total_shares, stays.
    assert all(r["party_shares"] == r["holder_total_shares"] for r in rows)
    assert [
        [r[column] for column in ("party", "share_class", "shares", "holder_total_shares")]
        + [r[column] for column in ("row_ownership_percent", "row_voting_percent")]
        + [r[column] for column in ("ownership_percent", "voting_percent")]
        for r in rows
    ] == [
        ["ana", "common", "8000000", "9000000", "59.2593", "64.0000", "66.6667", "64.0000"],
        ["ana", "non-voting", "1000000", "9000000", "7.4074", "0.0000", "66.6667", "64.0000"],
        ["seed-fund", "series-seed", "2500000", "2500000", *["18.5185", "20.0000"] * 2],
        ["ben", "common", "2000000", "2000000", "14.8148", "16.0000", "14.8148", "16.0000"],
    ]
    assert (total(rows, "row_ownership_percent"), total(rows, "row_voting_percent")) == (
        Decimal("100.0000"),
        Decimal("100.0000"),
    )
    assert (holdings.code, holdings.err) == (0, "")
    assert [
        (
            r["company"],
            r["share_class"],
            r["shares"],
            r["holder_total_shares"],
            r["company_shares"],
            r["row_ownership_percent"],
            r["row_voting_percent"],
        )
        for r in table(holdings.out)
    ] == [
        ("acme-rockets", "common", "8000000", "9000000", "9000000", "59.2593", "64.0000"),
        ("acme-rockets", "non-voting", "1000000", "9000000", "9000000", "7.4074", "0.0000"),
    ]
    # The read models answered; they give what the fold gives.
    assert verified.code == 0, verified.out + verified.err


def test_the_json_gives_each_position_its_percentages_by_class(engine_cli: Cli) -> None:
    cli = prepare(
        engine_cli, str(ACME), str(engine_cli.cwd / engine_cli.write("nv.yaml", NON_VOTING))
    )
    answer = cli("holdings", "ana", "--as-of", "2021-01-01", "-f", "json").json()
    assert answer["positions"] == AtLeast(
        [
            {
                "company": "acme-rockets",
                "shares": 9_000_000,
                "ownership_percent": "66.6667",
                "voting_percent": "64.0000",
                "classes": {"common": 8_000_000, "non-voting": 1_000_000},
                "ownership_percent_by_class": {"common": "59.2593", "non-voting": "7.4074"},
                "voting_percent_by_class": {"common": "64.0000", "non-voting": "0.0000"},
            }
        ]
    )
