"""One line of input can no longer poison a ledger: a share count or a valuation past its
bound is refused at the command line (exit 2, one line naming the item and the field,
nothing stored), and the ledger goes on answering, verifying and recording, on SQLite and
PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import ACME, ACME_EVENTS, Cli, assert_refused

HUGE_ISSUE = """\
- {type: ShareClassCreated, company: acme-rockets, share_class: huge, name: Huge, kind: common, effective_date: 2022-01-01}
- {type: SharesIssued, company: acme-rockets, holder: dan, share_class: huge, shares: 100000000000000000000000000, effective_date: 2022-01-01}
"""  # noqa: E501
HUGE_VALUATION = """\
- {type: ValuationRecorded, company: acme-rockets, valuation: 1e400 USD, basis: '409a', effective_date: 2022-01-01}
"""  # noqa: E501
GOOD = """\
- {type: SharesIssued, company: acme-rockets, holder: dan, share_class: common, shares: 10, effective_date: 2022-01-01}
"""  # noqa: E501


@pytest.fixture
def ledger(durable_url: str, tmp_path: Path) -> Cli:
    cli = Cli(durable_url, tmp_path)
    recorded = cli("record", str(ACME))
    assert recorded.code == 0, recorded.err
    return cli


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            HUGE_ISSUE,
            "bad.yaml item 2: field 'shares': Input should be less than or equal to "
            "1,000,000,000,000,000 (10^15) (got 100000000000000000000000000)",
            id="shares",
        ),
        pytest.param(
            HUGE_VALUATION,
            "bad.yaml item 1: field 'valuation.amount': Input should be less than or equal to "
            "1,000,000,000,000,000 (10^15) (got '1e400')",
            id="valuation",
        ),
    ],
)
def test_a_number_past_its_bound_is_refused_and_the_ledger_goes_on_working(
    ledger: Cli, text: str, expected: str
) -> None:
    before = ledger("cap-table", "acme-rockets", "--format", "json").json()
    assert_refused(ledger("record", ledger.write("bad.yaml", text)), expected)
    assert ledger.stored() == ACME_EVENTS
    assert ledger("cap-table", "acme-rockets", "--format", "json").json() == before
    verified = ledger("verify")
    assert (verified.code, verified.err) == (0, "")
    recorded = ledger("record", ledger.write("good.yaml", GOOD))
    assert (recorded.code, ledger.stored()) == (0, ACME_EVENTS + 1), recorded.err
    holders = ledger("cap-table", "acme-rockets", "--format", "json").json()["holders"]
    assert {h["party"]: h["shares"] for h in holders}["dan"] == 10
