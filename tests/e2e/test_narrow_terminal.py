"""Tables in an 80-column terminal: identifiers fold over lines instead of being cut short
(they can be copied whole), and a party that is a company of the ledger shows its name."""

from __future__ import annotations

from functools import partial

from .conftest import ACME, Cli, Run, at_once, prepare

FUND = "andreessen-horowitz-growth-opportunities-fund"
SERIES = "series-a-participating-convertible-preferred"
ROUND = f"""\
- {{type: CompanyRegistered, company: {FUND}, name: Andreessen Horowitz Growth Fund LP, effective_date: 2019-01-01}}
- {{type: ShareClassCreated, company: acme-rockets, share_class: {SERIES}, name: Series A, kind: preferred, effective_date: 2021-01-01}}
- {{type: SharesIssued, company: acme-rockets, holder: {FUND}, share_class: {SERIES}, shares: 3000000, effective_date: 2021-01-01}}
"""  # noqa: E501


def column(run: Run, header: str, *, upto: str, number_width: int = 0) -> str:
    """A column of a table (from its header to the next column's, or to where a
    right-aligned number of ``number_width`` characters may start), its lines joined without
    spaces: a folded identifier reads whole again."""
    assert (run.code, run.err) == (0, ""), run.err
    lines = run.out.splitlines()
    at = next(i for i, line in enumerate(lines) if header in line and upto in line)
    start = lines[at].index(header)
    end = lines[at].index(upto) + (len(upto) - number_width if number_width else 0)
    return "".join(line[start:end].replace(" ", "") for line in lines[at + 2 :])


def test_identifiers_fold_instead_of_being_cut_and_a_companys_name_is_shown(
    engine_cli: Cli,
) -> None:
    cli = prepare(engine_cli, str(ACME), str(engine_cli.cwd / engine_cli.write("a.yaml", ROUND)))
    narrow = {"COLUMNS": "80"}
    cap_table, holdings, history = at_once(
        [
            partial(cli, "cap-table", "acme-rockets", "--as-of", "2021-06-01", **narrow),
            partial(cli, "holdings", FUND, "--as-of", "2021-06-01", **narrow),
            partial(cli, "history", "--party", FUND, **narrow),
        ]
    )
    for run in (cap_table, holdings, history):
        assert "…" not in run.out, run.out
        assert max(len(line) for line in run.out.splitlines()) <= 80, run.out
    assert f"ana{FUND}AndreessenHorowitzGrowthFundLPseed-fund" in column(
        cap_table, "Holder", upto="Class"
    ), cap_table.out
    assert f"common{SERIES}series-seed" in column(
        cap_table, "Class", upto="Shares", number_width=len("15,500,000")
    ), cap_table.out
    assert column(holdings, "Company", upto="Class").startswith("acme-rocketsAcmeRockets,Inc."), (
        holdings.out
    )
    event_id = cli("history", "acme-rockets", "-f", "json").json()["events"][-1]["event_id"]
    assert event_id in history.out.replace(" ", "").replace("\n", ""), history.out
