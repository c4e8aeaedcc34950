"""The event models as an event file meets them: unknown fields and types, missing and
mistyped fields, the InvestmentMade derivation choice, defaults."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from ledger.domain.events import (
    EVENT_TYPES,
    InterimCEOAppointed,
    InvestmentMade,
    SharesTransferred,
    fact_parties,
)
from ledger.domain.values import Money

from .timelines import fact, invalid, stored_fact

INVESTMENT = {
    "type": "InvestmentMade",
    "investor": "fund",
    "amount": "2000000 USD",
    "share_class": "series-a",
}


def test_an_unknown_field_is_refused_not_dropped() -> None:
    assert invalid(
        {
            "type": "SharesIssued",
            "holder": "ana",
            "share_class": "common",
            "shares": 5,
            "shrae_class": "common",
        }
    ) == (
        ("SharesIssued", "shrae_class"),
        "extra_forbidden",
        "Extra inputs are not permitted",
    )


def test_an_unknown_event_type_is_refused() -> None:
    loc, kind, _ = invalid({"type": "SharesIssue", "holder": "ana"})
    assert (loc, kind) == ((), "union_tag_invalid")


def test_a_missing_field_is_named() -> None:
    assert invalid({"type": "SharesIssued", "holder": "ana", "share_class": "common"}) == (
        ("SharesIssued", "shares"),
        "missing",
        "Field required",
    )


@pytest.mark.parametrize(
    ("shares", "kind"),
    [
        (0, "greater_than"),
        (-5, "greater_than"),
        ("100", "int_type"),
        (1.0, "int_type"),
        (True, "int_type"),
    ],
)
def test_share_counts_are_positive_integers_only(shares: object, kind: str) -> None:
    loc, got, _ = invalid(
        {"type": "SharesIssued", "holder": "ana", "share_class": "common", "shares": shares}
    )
    assert (loc, got) == (("SharesIssued", "shares"), kind)


def test_interim_must_be_a_boolean_not_a_word() -> None:
    loc, kind, _ = invalid(
        {"type": "ExecutiveAppointed", "person": "ana", "role": "ceo", "interim": "yes"}
    )
    assert (loc, kind) == (("ExecutiveAppointed", "interim"), "bool_type")


def test_an_unknown_role_is_refused() -> None:
    loc, kind, _ = invalid({"type": "ExecutiveAppointed", "person": "ana", "role": "boss"})
    assert (loc, kind) == (("ExecutiveAppointed", "role"), "literal_error")


def test_role_other_needs_a_title() -> None:
    assert invalid({"type": "ExecutiveAppointed", "person": "ana", "role": "other"}) == (
        ("ExecutiveAppointed",),
        "value_error",
        "Value error, role 'other' needs a title",
    )


def test_a_transfer_to_the_same_party_is_refused() -> None:
    assert invalid(
        {
            "type": "SharesTransferred",
            "from": "ana",
            "to": "ana",
            "share_class": "common",
            "shares": 5,
        }
    ) == (
        ("SharesTransferred",),
        "value_error",
        "Value error, from and to are the same party 'ana'",
    )


def test_a_transfer_is_written_with_from_and_read_as_from_() -> None:
    transfer = fact(
        "SharesTransferred",
        "2020-01-01",
        to="ben",
        share_class="common",
        shares=5,
        **{"from": "ana"},
    )
    assert isinstance(transfer, SharesTransferred)
    assert (transfer.from_, transfer.model_dump(by_alias=True)["from"]) == ("ana", "ana")


def test_interim_ceo_appointed_has_the_default_title() -> None:
    appointed = fact("InterimCEOAppointed", "2025-06-12", person="jason-droege")
    assert appointed == InterimCEOAppointed(
        company="acme",
        effective_date=date(2025, 6, 12),
        person="jason-droege",
        title="Interim Chief Executive Officer",
        previous_title=None,
    )


def test_events_are_frozen() -> None:
    size = fact("BoardSizeSet", "2020-01-01", seats=3)
    with pytest.raises(ValidationError) as caught:
        size.seats = 4  # type: ignore[misc]
    assert caught.value.errors()[0]["type"] == "frozen_instance"


def test_every_event_type_is_registered_by_its_stored_name() -> None:
    assert sorted(EVENT_TYPES) == sorted(
        [
            "CompanyRegistered",
            "ShareClassCreated",
            "SharesIssued",
            "InvestmentMade",
            "SharesTransferred",
            "SharesCancelled",
            "StockSplit",
            "AuthorizedSharesChanged",
            "ValuationRecorded",
            "ExecutiveAppointed",
            "InterimCEOAppointed",
            "ExecutiveDeparted",
            "DirectorAppointed",
            "DirectorDeparted",
            "BoardSeatRetained",
            "BoardSizeSet",
            "StakeholderRecorded",
            "StockPlanCreated",
            "StockPlanReserveChanged",
            "OptionGranted",
            "OptionExercised",
            "OptionCancelled",
            "WarrantIssued",
            "WarrantExercised",
            "WarrantCancelled",
            "ConvertibleIssued",
            "ConvertibleConverted",
            "ConvertibleCancelled",
            "SharesConverted",
            "EventRetracted",
            "EventCorrected",
        ]
    )


def test_the_parties_of_a_fact_are_its_holders_persons_investors_and_destinations() -> None:
    departed = fact(
        "ExecutiveDeparted", "2025-06-12", person="alexandr-wang", role="ceo", destination="meta"
    )
    transfer = fact(
        "SharesTransferred",
        "2020-01-01",
        to="ben",
        share_class="common",
        shares=5,
        **{"from": "ana"},
    )
    assert (fact_parties(departed), fact_parties(transfer)) == (
        {"alexandr-wang", "meta"},
        {"ana", "ben"},
    )


# --- InvestmentMade: exactly one derivation, a stake within (0, 100) ---


def test_an_investment_without_a_share_derivation_is_refused() -> None:
    assert invalid(INVESTMENT) == (
        ("InvestmentMade",),
        "value_error",
        "Value error, give exactly one of shares, stake_percent, post_money_valuation or "
        "pre_money_valuation (got none)",
    )


def test_an_investment_with_two_share_derivations_is_refused() -> None:
    assert invalid({**INVESTMENT, "shares": 100, "stake_percent": "20"}) == (
        ("InvestmentMade",),
        "value_error",
        "Value error, give exactly one of shares, stake_percent, post_money_valuation or "
        "pre_money_valuation (got shares, stake_percent)",
    )


@pytest.mark.parametrize(
    ("stake", "kind", "msg"),
    [
        ("0", "greater_than", "Input should be greater than 0"),
        ("100", "less_than", "Input should be less than 100"),
        ("120", "less_than", "Input should be less than 100"),
        ("-5", "value_error", "Value error, percentage -5 is negative"),
    ],
)
def test_a_stake_outside_0_to_100_exclusive_is_refused(stake: str, kind: str, msg: str) -> None:
    assert invalid({**INVESTMENT, "stake_percent": stake}) == (
        ("InvestmentMade", "stake_percent"),
        kind,
        msg,
    )


def test_a_float_stake_is_refused() -> None:
    loc, kind, msg = invalid({**INVESTMENT, "stake_percent": 49.5})
    assert (loc, kind, msg) == (
        ("InvestmentMade", "stake_percent"),
        "value_error",
        "Value error, percentage 49.5 is a float; write it as a quoted decimal string "
        '(e.g. "49.5") so no precision is lost',
    )


def test_an_investment_of_nothing_is_refused() -> None:
    assert invalid({**INVESTMENT, "amount": "0 USD", "shares": 5}) == (
        ("InvestmentMade", "amount"),
        "value_error",
        "Value error, 0 USD must be greater than 0",
    )


def test_a_post_money_valuation_must_exceed_the_amount() -> None:
    assert invalid({**INVESTMENT, "post_money_valuation": "2000000 USD"}) == (
        ("InvestmentMade",),
        "value_error",
        "Value error, post_money_valuation 2000000 USD must exceed the amount 2000000 USD",
    )


def test_a_valuation_in_another_currency_than_the_amount_is_refused() -> None:
    assert invalid({**INVESTMENT, "pre_money_valuation": "8000000 EUR"}) == (
        ("InvestmentMade",),
        "value_error",
        "Value error, valuation currency EUR differs from amount currency USD",
    )


def test_derived_shares_cannot_be_written_in_an_event_file() -> None:
    assert invalid({**INVESTMENT, "stake_percent": "20", "derived_shares": 250}) == (
        ("InvestmentMade",),
        "value_error",
        "Value error, derived_shares is set by the ledger, not by an event file",
    )


def test_a_stored_investment_keeps_its_derived_shares() -> None:
    loaded = stored_fact(
        {
            **INVESTMENT,
            "company": "acme",
            "effective_date": "2020-06-01",
            "stake_percent": "20",
            "derived_shares": 250,
        }
    )
    assert isinstance(loaded, InvestmentMade)
    assert (loaded.stake_percent, loaded.derived_shares, loaded.new_shares) == (
        Decimal("20"),
        250,
        250,
    )


def test_an_investment_reads_money_in_both_spellings() -> None:
    investment = fact(
        "InvestmentMade",
        "2020-06-01",
        investor="fund",
        share_class="series-a",
        amount={"amount": "2000000", "currency": "USD"},
        pre_money_valuation="8000000 USD",
    )
    assert isinstance(investment, InvestmentMade)
    assert (investment.amount, investment.pre_money_valuation) == (
        Money(amount=Decimal("2000000"), currency="USD"),
        Money(amount=Decimal("8000000"), currency="USD"),
    )
