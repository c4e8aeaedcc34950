"""A first contract check on every backend: the public scenario records and answers."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ledger import Ledger
from ledger.files import read_items

ACME = Path(__file__).parent.parent / "data" / "acme-rockets.yaml"


def test_acme_scenario_answers_as_documented(ledger: Ledger) -> None:
    result = ledger.record(read_items(str(ACME)))
    assert [e.position for e in result.recorded] == sorted(e.position for e in result.recorded)
    table = ledger.cap_table("acme-rockets", as_of=date(2020, 12, 31))
    assert table.total_shares == 12_500_000
    assert [(h.party, h.shares, h.ownership_percent) for h in table.holders] == [
        ("ana", 8_000_000, "64.0000"),
        ("seed-fund", 2_500_000, "20.0000"),
        ("ben", 2_000_000, "16.0000"),
    ]
