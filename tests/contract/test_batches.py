"""Recording on every backend: a batch is atomic across companies; external_id makes a
repeated event a reported no-op; a dry run checks without storing."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from ledger import InputError, Ledger, RuleViolation
from ledger.app import SkippedEvent
from tests import builders as b

D = date.fromisoformat


def snapshot(ledger: Ledger, *companies: str) -> dict[str, Any]:
    """Everything a reader could see of these companies, as JSON."""
    return {
        "position": ledger.known_position(),
        **{c: ledger.history(c).model_dump(mode="json") for c in companies},
        **{
            f"{c} table": ledger.cap_table(c, as_of=D("2030-01-01")).model_dump(mode="json")
            for c in companies
        },
    }


def test_a_multi_company_batch_whose_last_event_is_invalid_stores_nothing(
    ledger: Ledger,
) -> None:
    ledger.record(b.founded("acme", "2020-01-01", {"ana": 1_000}))
    before = snapshot(ledger, "acme")
    batch = [
        b.transferred("acme", "ana", "ben", "common", 100, "2021-01-01"),
        *b.founded("globex", "2021-01-01", {"carl": 10}),
        b.director_appointed("acme", "ben", "2021-01-01"),
        # ben holds 100 after the first event: 101 is one too many.
        b.transferred("acme", "ben", "dora", "common", 101, "2021-02-01"),
    ]
    with pytest.raises(RuleViolation, match=r"item 6 .*rule 3 .*holding of 100") as refused:
        ledger.record(batch)
    assert refused.value.rule == 3
    assert snapshot(ledger, "acme") == before
    with pytest.raises(InputError, match="unknown company 'globex'"):
        ledger.cap_table("globex")
    assert ledger.holdings("carl").positions == []


def test_a_batch_with_one_malformed_item_stores_nothing_and_names_the_item(
    ledger: Ledger,
) -> None:
    ledger.record(b.founded("acme", "2020-01-01", {"ana": 1_000}))
    before = snapshot(ledger, "acme")
    batch = [
        b.issued("acme", "ben", "common", 5, "2021-01-01"),
        b.issued("acme", "carl", "common", 0, "2021-01-01"),
    ]
    with pytest.raises(InputError, match=r"item 2: field 'shares'"):
        ledger.record(batch)
    assert snapshot(ledger, "acme") == before


def test_an_atomic_batch_is_stored_whole_in_batch_order(ledger: Ledger) -> None:
    result = ledger.record(
        [
            b.registered("acme", "2020-01-01"),
            b.registered("globex", "2020-01-01"),
            b.share_class("acme", "common", "2020-01-01"),
            b.share_class("globex", "common", "2020-01-01"),
        ]
    )
    assert [(r.company, r.type, r.position, r.where) for r in result.recorded] == [
        ("acme", "CompanyRegistered", 1, "item 1"),
        ("globex", "CompanyRegistered", 2, "item 2"),
        ("acme", "ShareClassCreated", 3, "item 3"),
        ("globex", "ShareClassCreated", 4, "item 4"),
    ]
    assert ledger.known_position() == 4


def test_a_dry_run_checks_the_batch_and_stores_nothing(ledger: Ledger) -> None:
    ledger.record(b.founded("acme", "2020-01-01", {"ana": 1_000}))
    before = snapshot(ledger, "acme")
    result = ledger.record(
        [b.transferred("acme", "ana", "ben", "common", 10, "2021-01-01")], dry_run=True
    )
    assert result.dry_run
    assert [(r.type, r.position) for r in result.recorded] == [("SharesTransferred", None)]
    assert snapshot(ledger, "acme") == before
    with pytest.raises(RuleViolation, match="rule 3"):
        ledger.record(
            [b.transferred("acme", "ana", "ben", "common", 1_001, "2021-01-01")], dry_run=True
        )


# --- external_id ---


def test_the_same_external_id_with_the_same_content_is_a_reported_no_op(
    ledger: Ledger,
) -> None:
    ledger.record(b.founded("acme", "2020-01-01", {"ana": 1_000}))
    event = b.transferred("acme", "ana", "ben", "common", 10, "2021-01-01", external_id="tx-1")
    first = ledger.record([event])
    before = snapshot(ledger, "acme")
    again = ledger.record([event])
    assert again.recorded == []
    assert again.skipped == [
        SkippedEvent(
            where="item 1", company="acme", external_id="tx-1", event_id=first.recorded[0].event_id
        )
    ]
    assert snapshot(ledger, "acme") == before


def test_a_repeated_investment_with_derived_shares_is_recognised_as_the_same(
    ledger: Ledger,
) -> None:
    ledger.record(b.founded("acme", "2020-01-01", {"ana": 8_000_000}))
    invest = b.invested(
        "acme", "vc", "common", 2_000_000, "2020-06-01", post_money=10_000_000, external_id="r1"
    )
    first = ledger.record([invest])
    # A batch mixing the repeat with a new event stores only the new one.
    result = ledger.record([invest, b.issued("acme", "ben", "common", 7, "2020-07-01")])
    assert [s.event_id for s in result.skipped] == [first.recorded[0].event_id]
    assert [(r.type, r.where) for r in result.recorded] == [("SharesIssued", "item 2")]
    assert ledger.cap_table("acme", as_of=D("2020-12-31")).total_shares == 10_000_007


def test_the_same_external_id_with_different_content_is_an_input_error(
    ledger: Ledger,
) -> None:
    ledger.record(b.founded("acme", "2020-01-01", {"ana": 1_000}))
    ledger.record(
        [b.transferred("acme", "ana", "ben", "common", 10, "2021-01-01", external_id="tx-1")]
    )
    before = snapshot(ledger, "acme")
    changed = b.transferred("acme", "ana", "ben", "common", 11, "2021-01-01", external_id="tx-1")
    with pytest.raises(InputError, match="external_id 'tx-1' of acme already names"):
        ledger.record([b.issued("acme", "carl", "common", 1, "2021-01-01"), changed])
    assert snapshot(ledger, "acme") == before


def test_the_same_external_id_twice_in_one_batch_is_an_input_error(ledger: Ledger) -> None:
    ledger.record(b.founded("acme", "2020-01-01", {"ana": 1_000}))
    before = snapshot(ledger, "acme")
    event = b.transferred("acme", "ana", "ben", "common", 10, "2021-01-01", external_id="tx-1")
    with pytest.raises(InputError, match="appears twice in this batch"):
        ledger.record([event, event])
    assert snapshot(ledger, "acme") == before


def test_an_external_id_is_unique_per_company_only(ledger: Ledger) -> None:
    result = ledger.record(
        [
            b.registered("acme", "2020-01-01", external_id="reg"),
            b.registered("globex", "2020-01-01", external_id="reg"),
        ]
    )
    assert [(r.company, r.type) for r in result.recorded] == [
        ("acme", "CompanyRegistered"),
        ("globex", "CompanyRegistered"),
    ]
    assert result.skipped == []
