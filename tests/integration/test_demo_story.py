"""The Scale AI demo story (ledger/demo/scale-ai.yaml) records into a fresh ledger and tells
the story of June 2025: Meta about 49% economic and 0% voting, Wang leaves as CEO but stays
a director, Droege interim CEO."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

import ledger
from ledger import Ledger
from ledger.files import read_items

DEMO = Path(ledger.__file__).parent / "demo" / "scale-ai.yaml"
BEFORE = date(2025, 6, 11)
AFTER = date(2025, 6, 12)


@pytest.fixture(scope="module")
def story() -> Iterator[Ledger]:
    with Ledger.open("memory://") as opened:
        opened.record(read_items(str(DEMO)), actor="demo-test")
        yield opened


def test_every_event_of_the_demo_file_has_a_source_url() -> None:
    events = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    without = [n for n, event in enumerate(events, start=1) if not event.get("source")]
    not_urls = [
        n for n, event in enumerate(events, start=1) if not event["source"].startswith("https://")
    ]
    assert (len(events) > 0, without, not_urls) == (True, [], [])


def test_the_whole_demo_file_is_recorded_in_file_order(story: Ledger) -> None:
    history = story.history("scale-ai")
    items = list(read_items(str(DEMO)))
    assert [e.type for e in history.events] == [item.data["type"] for item in items]


def test_notional_share_counts_are_said_to_be_notional_in_their_events(story: Ledger) -> None:
    events = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    issued = [e for e in events if e["type"] == "SharesIssued"]
    assert [(e["holder"], e["shares"], "NOTIONAL" in e["note"]) for e in issued] == [
        ("alexandr-wang", 8_500_000, True),
        ("lucy-guo", 1_500_000, True),
    ]


def test_meta_holds_nothing_the_day_before_its_investment(story: Ledger) -> None:
    table = story.cap_table("scale-ai", as_of=BEFORE)
    assert [h.party for h in table.holders if h.party == "meta"] == []
    assert table.valuation is not None
    assert (table.valuation.amount, table.valuation.basis) == ("25000000000", "tender")


def test_meta_owns_about_49_percent_with_no_votes_after_its_investment(story: Ledger) -> None:
    table = story.cap_table("scale-ai", as_of=AFTER)
    meta = next(h for h in table.holders if h.party == "meta")
    assert meta.ownership_percent is not None
    assert Decimal("48.9") <= Decimal(meta.ownership_percent) <= Decimal("49.1")
    assert meta.voting_percent == "0.0000"
    assert meta.classes == {"meta-non-voting": meta.shares}


def test_the_valuation_after_metas_investment_is_the_implied_post_money_of_about_29_18_billion(
    story: Ledger,
) -> None:
    valuation = story.cap_table("scale-ai", as_of=AFTER).valuation
    assert valuation is not None
    assert (valuation.currency, valuation.basis, valuation.effective_date) == (
        "USD",
        "post-money",
        AFTER,
    )
    assert Decimal("29170000000") <= Decimal(valuation.amount) <= Decimal("29190000000")


def test_the_voting_power_after_metas_investment_stays_with_the_other_holders(
    story: Ledger,
) -> None:
    table = story.cap_table("scale-ai", as_of=AFTER)
    votes = sum(Decimal(h.voting_percent or "0") for h in table.holders)
    assert (votes, table.holders[0].party) == (Decimal("100.0000"), "meta")


def test_lucy_guo_keeps_just_under_five_percent_after_metas_investment(story: Ledger) -> None:
    table = story.cap_table("scale-ai", as_of=AFTER)
    guo = next(h for h in table.holders if h.party == "lucy-guo")
    assert guo.ownership_percent is not None
    assert Decimal("4.5") < Decimal(guo.ownership_percent) < Decimal("5")


def test_wang_is_ceo_the_day_before_the_deal(story: Ledger) -> None:
    roster = story.roster("scale-ai", as_of=BEFORE)
    assert [(o.person, o.role, o.interim) for o in roster.officers] == [
        ("alexandr-wang", "ceo", False),
        ("jason-droege", "cso", False),
    ]


def test_droege_is_interim_ceo_and_wang_no_officer_after_the_deal(story: Ledger) -> None:
    roster = story.roster("scale-ai", as_of=AFTER)
    assert [(o.person, o.role, o.title, o.interim, o.since) for o in roster.officers] == [
        ("jason-droege", "ceo", "Interim Chief Executive Officer", True, AFTER),
    ]


def test_wang_is_an_executive_director_before_and_a_non_executive_director_after(
    story: Ledger,
) -> None:
    before = story.board("scale-ai", as_of=BEFORE)
    after = story.board("scale-ai", as_of=AFTER)
    assert [(d.person, d.seat, d.executive) for d in before.directors] == [
        ("alexandr-wang", "director", True)
    ]
    assert [(d.person, d.seat, d.executive) for d in after.directors] == [
        ("alexandr-wang", "director", False)
    ]


def test_nothing_of_scale_ai_is_effective_before_2016(story: Ledger) -> None:
    table = story.cap_table("scale-ai", as_of=date(2015, 12, 31))
    assert (table.total_shares, table.holders, table.valuation) == (0, [], None)
