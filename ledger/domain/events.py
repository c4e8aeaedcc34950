"""The facts the ledger records: frozen pydantic models, one per event type.

A fact is what a user writes in an event file. The ledger stores it with an envelope
(event_id, recorded_by, and in the store's own columns the position and recorded_at).
The ``type`` names are a storage contract: never rename one without registering the old
name in ``EVENT_TYPES``.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationInfo,
    model_validator,
)
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, SkipJsonSchema
from pydantic_core import core_schema

from .values import (
    DerivedShares,
    ExternalId,
    Identifiers,
    IsoDate,
    Line,
    Money,
    Months,
    Name,
    Note,
    Percent,
    PositiveMoney,
    PositiveShares,
    RatePercent,
    Ratio,
    Reserve,
    Slug,
    Source,
    VotesPerShare,
)

STORED = "stored"
"""Validation context key: set when loading stored facts, which may carry ledger-set fields."""


def _set_by_the_ledger(data: Any, info: ValidationInfo) -> Any:
    """Refuse ``derived_shares`` in an event file: the ledger derives it at recording."""
    stored = bool(info.context and info.context.get(STORED))
    if isinstance(data, dict) and "derived_shares" in data and not stored:
        raise ValueError("derived_shares is set by the ledger, not by an event file")
    return data


def given_or_derived(shares: int | None, derived: int | None) -> int:
    """A count given in the event file, else the one the ledger derived at recording."""
    count = shares if shares is not None else derived
    assert count is not None, "derived_shares is set at recording"
    return count


class Fact(BaseModel):
    """Fields common to every event."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, defer_build=True)

    type: str
    company: Slug
    effective_date: IsoDate
    source: Source | None = None
    note: Note | None = None
    external_id: ExternalId | None = None


# --- Equity ---


class CompanyRegistered(Fact):
    type: Literal["CompanyRegistered"] = "CompanyRegistered"
    name: Name
    jurisdiction: Line | None = None
    identifiers: Identifiers | None = None


class ShareClassCreated(Fact):
    type: Literal["ShareClassCreated"] = "ShareClassCreated"
    share_class: Slug
    name: Name
    kind: Literal["common", "preferred"]
    authorized: PositiveShares | None = None
    votes_per_share: VotesPerShare = 1


class SharesIssued(Fact):
    type: Literal["SharesIssued"] = "SharesIssued"
    holder: Slug
    share_class: Slug
    shares: PositiveShares
    price_per_share: Money | None = None


class InvestmentMade(Fact):
    """A primary issuance of new shares to an investor for an amount of money.

    Exactly one of ``shares``, ``stake_percent``, ``post_money_valuation`` or
    ``pre_money_valuation`` says how many shares; when it is not ``shares`` the ledger
    derives the count at recording and stores it as ``derived_shares``."""

    type: Literal["InvestmentMade"] = "InvestmentMade"
    investor: Slug
    amount: PositiveMoney
    share_class: Slug
    round: Line | None = None
    shares: PositiveShares | None = None
    stake_percent: Percent | None = None
    post_money_valuation: PositiveMoney | None = None
    pre_money_valuation: PositiveMoney | None = None
    derived_shares: SkipJsonSchema[DerivedShares | None] = None  # set by the ledger

    @model_validator(mode="before")
    @classmethod
    def _derived_is_set_by_the_ledger(cls, data: Any, info: ValidationInfo) -> Any:
        return _set_by_the_ledger(data, info)

    @model_validator(mode="after")
    def _one_derivation(self) -> InvestmentMade:
        given = [
            name
            for name in ("shares", "stake_percent", "post_money_valuation", "pre_money_valuation")
            if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of shares, stake_percent, post_money_valuation or "
                f"pre_money_valuation (got {', '.join(given) if given else 'none'})"
            )
        for valuation in (self.post_money_valuation, self.pre_money_valuation):
            if valuation is not None and valuation.currency != self.amount.currency:
                raise ValueError(
                    f"valuation currency {valuation.currency} differs from amount "
                    f"currency {self.amount.currency}"
                )
        if (
            self.post_money_valuation is not None
            and self.post_money_valuation.amount <= self.amount.amount
        ):
            raise ValueError(
                f"post_money_valuation {self.post_money_valuation} must exceed the amount "
                f"{self.amount}"
            )
        return self

    @property
    def new_shares(self) -> int:
        """Shares issued by this investment (given or derived at recording)."""
        return given_or_derived(self.shares, self.derived_shares)


class SharesTransferred(Fact):
    type: Literal["SharesTransferred"] = "SharesTransferred"
    from_: Slug = Field(alias="from")
    to: Slug
    share_class: Slug
    shares: PositiveShares
    price_per_share: Money | None = None

    @model_validator(mode="after")
    def _two_parties(self) -> SharesTransferred:
        if self.from_ == self.to:
            raise ValueError(f"from and to are the same party {self.to!r}")
        return self


class SharesCancelled(Fact):
    type: Literal["SharesCancelled"] = "SharesCancelled"
    holder: Slug
    share_class: Slug
    shares: PositiveShares
    reason: Line | None = None


class StockSplit(Fact):
    type: Literal["StockSplit"] = "StockSplit"
    share_class: Slug
    ratio: Ratio


class AuthorizedSharesChanged(Fact):
    type: Literal["AuthorizedSharesChanged"] = "AuthorizedSharesChanged"
    share_class: Slug
    authorized: PositiveShares


class ValuationRecorded(Fact):
    type: Literal["ValuationRecorded"] = "ValuationRecorded"
    valuation: PositiveMoney
    basis: Literal["post-money", "409a", "tender", "other"]


# --- Governance ---

Role = Literal["ceo", "cfo", "coo", "cto", "cso", "president", "other"]


class ExecutiveAppointed(Fact):
    type: Literal["ExecutiveAppointed"] = "ExecutiveAppointed"
    person: Slug
    role: Role
    title: Line | None = None
    interim: Annotated[bool, Field(strict=True)] = False

    @model_validator(mode="after")
    def _other_needs_title(self) -> ExecutiveAppointed:
        if self.role == "other" and not self.title:
            raise ValueError("role 'other' needs a title")
        return self


class InterimCEOAppointed(Fact):
    """An ``ExecutiveAppointed`` of role ceo, interim."""

    type: Literal["InterimCEOAppointed"] = "InterimCEOAppointed"
    person: Slug
    title: Line = "Interim Chief Executive Officer"
    previous_title: Line | None = None


class ExecutiveDeparted(Fact):
    type: Literal["ExecutiveDeparted"] = "ExecutiveDeparted"
    person: Slug
    role: Role
    title: Line | None = None
    reason: Line | None = None
    destination: Slug | None = None


class DirectorAppointed(Fact):
    type: Literal["DirectorAppointed"] = "DirectorAppointed"
    person: Slug
    seat: Literal["director", "chair", "observer"] = "director"
    designated_by: Slug | None = None


class DirectorDeparted(Fact):
    type: Literal["DirectorDeparted"] = "DirectorDeparted"
    person: Slug
    reason: Line | None = None


class BoardSeatRetained(Fact):
    """The person stays a director although their executive role ends."""

    type: Literal["BoardSeatRetained"] = "BoardSeatRetained"
    person: Slug


class BoardSizeSet(Fact):
    type: Literal["BoardSizeSet"] = "BoardSizeSet"
    seats: PositiveShares


# --- Equity instruments (the second catalogue) ---


class StakeholderRecorded(Fact):
    """The company's record of who a party is; a later one renames."""

    type: Literal["StakeholderRecorded"] = "StakeholderRecorded"
    party: Slug
    name: Name
    kind: Literal["individual", "institution"]


class StockPlanCreated(Fact):
    type: Literal["StockPlanCreated"] = "StockPlanCreated"
    plan: Slug
    name: Name
    share_class: Slug
    reserved: PositiveShares
    on_cancel: Literal["return", "retire"] = "return"


class StockPlanReserveChanged(Fact):
    type: Literal["StockPlanReserveChanged"] = "StockPlanReserveChanged"
    plan: Slug
    reserved: Reserve


class Vesting(BaseModel):
    """A vesting schedule: nothing before ``cliff_months`` whole months from ``start``, then
    every ``every_months`` months, all of it after ``months``."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    start: IsoDate
    months: Annotated[Months, Field(gt=0)]
    cliff_months: Months = 0
    every_months: Annotated[Months, Field(gt=0)] = 1

    @model_validator(mode="before")
    @classmethod
    def _a_mapping(cls, data: Any) -> Any:
        # pydantic's own refusal of a non-mapping reads as if the whole event were not one.
        if not isinstance(data, dict | Vesting):
            raise ValueError(
                "a vesting schedule is a mapping {start, months, cliff_months?, every_months?}"
            )
        return data

    @model_validator(mode="after")
    def _cliff_within(self) -> Vesting:
        if self.cliff_months > self.months:
            raise ValueError(f"cliff_months {self.cliff_months} is more than months {self.months}")
        return self


def _expires_after(fact: Fact, expiration: date | None) -> None:
    if expiration is not None and expiration < fact.effective_date:
        raise ValueError(
            f"expiration_date {expiration} is before the effective_date {fact.effective_date}"
        )


class OptionGranted(Fact):
    """An award from a plan: an option (with an exercise price) or an RSU (without)."""

    type: Literal["OptionGranted"] = "OptionGranted"
    grant: Slug
    holder: Slug
    plan: Slug
    quantity: PositiveShares
    kind: Literal["option", "rsu"] = "option"
    exercise_price: Money | None = None
    expiration_date: IsoDate | None = None
    vesting: Vesting | None = None

    @model_validator(mode="after")
    def _priced_as_its_kind(self) -> OptionGranted:
        if self.kind == "option" and self.exercise_price is None:
            raise ValueError("an option needs an exercise_price")
        if self.kind == "rsu" and self.exercise_price is not None:
            raise ValueError("an RSU has no exercise_price")
        _expires_after(self, self.expiration_date)
        return self


class OptionExercised(Fact):
    """Issues ``quantity`` shares of the plan's class to the award's holder (an RSU: its
    settlement)."""

    type: Literal["OptionExercised"] = "OptionExercised"
    grant: Slug
    quantity: PositiveShares


class OptionCancelled(Fact):
    type: Literal["OptionCancelled"] = "OptionCancelled"
    grant: Slug
    quantity: PositiveShares | None = None
    reason: Literal["forfeited", "expired", "cancelled", "repurchased", "other"]


class WarrantIssued(Fact):
    type: Literal["WarrantIssued"] = "WarrantIssued"
    warrant: Slug
    holder: Slug
    share_class: Slug
    quantity: PositiveShares
    exercise_price: Money
    expiration_date: IsoDate | None = None

    @model_validator(mode="after")
    def _expiry(self) -> WarrantIssued:
        _expires_after(self, self.expiration_date)
        return self


class WarrantExercised(Fact):
    type: Literal["WarrantExercised"] = "WarrantExercised"
    warrant: Slug
    quantity: PositiveShares


class WarrantCancelled(Fact):
    type: Literal["WarrantCancelled"] = "WarrantCancelled"
    warrant: Slug
    quantity: PositiveShares | None = None
    reason: Line


class ConvertibleIssued(Fact):
    """A SAFE or a note: money in now for shares at a later priced round."""

    type: Literal["ConvertibleIssued"] = "ConvertibleIssued"
    convertible: Slug
    holder: Slug
    kind: Literal["safe", "note"]
    amount: PositiveMoney
    valuation_cap: PositiveMoney | None = None
    discount_percent: Percent | None = None
    cap_basis: Literal["post-money", "pre-money"] = None  # type: ignore[assignment]
    interest_rate_percent: RatePercent | None = None
    maturity_date: IsoDate | None = None

    @model_validator(mode="before")
    @classmethod
    def _basis_of_its_kind(cls, data: Any) -> Any:
        # A SAFE's cap is post-money, a note's pre-money, unless it says otherwise; stored
        # as resolved, so the default never changes what a recorded one means.
        if isinstance(data, dict) and data.get("cap_basis") is None:
            basis = "pre-money" if data.get("kind") == "note" else "post-money"
            data = {**data, "cap_basis": basis}
        return data

    @model_validator(mode="after")
    def _terms(self) -> ConvertibleIssued:
        if self.interest_rate_percent is not None and self.kind != "note":
            raise ValueError("interest_rate_percent is for a note, not a SAFE")
        if self.valuation_cap is not None and self.valuation_cap.currency != self.amount.currency:
            raise ValueError(
                f"valuation_cap currency {self.valuation_cap.currency} differs from amount "
                f"currency {self.amount.currency}"
            )
        return self


class ConvertibleConverted(Fact):
    """The convertible becomes shares of ``share_class``: ``shares`` given, or derived at
    recording from the round's ``price_per_share`` and stored as ``derived_shares``."""

    type: Literal["ConvertibleConverted"] = "ConvertibleConverted"
    convertible: Slug
    share_class: Slug
    shares: PositiveShares | None = None
    price_per_share: PositiveMoney | None = None
    derived_shares: SkipJsonSchema[DerivedShares | None] = None  # set by the ledger

    @model_validator(mode="before")
    @classmethod
    def _derived_is_set_by_the_ledger(cls, data: Any, info: ValidationInfo) -> Any:
        return _set_by_the_ledger(data, info)

    @model_validator(mode="after")
    def _count_or_price(self) -> ConvertibleConverted:
        if self.shares is None and self.price_per_share is None:
            raise ValueError("give shares, price_per_share or both")
        return self

    @property
    def new_shares(self) -> int:
        """Shares issued by the conversion (given or derived at recording)."""
        return given_or_derived(self.shares, self.derived_shares)


class ConvertibleCancelled(Fact):
    type: Literal["ConvertibleCancelled"] = "ConvertibleCancelled"
    convertible: Slug
    reason: Literal["repaid", "cancelled", "other"]


class SharesConverted(Fact):
    """A holder's shares of one class become shares of another: floor(shares × N / M)."""

    type: Literal["SharesConverted"] = "SharesConverted"
    holder: Slug
    from_class: Slug
    to_class: Slug
    shares: PositiveShares
    ratio: Ratio = "1:1"

    @model_validator(mode="after")
    def _two_classes(self) -> SharesConverted:
        if self.from_class == self.to_class:
            raise ValueError(f"from_class and to_class are the same class {self.to_class!r}")
        return self


AnyAction = Annotated[
    CompanyRegistered
    | ShareClassCreated
    | SharesIssued
    | InvestmentMade
    | SharesTransferred
    | SharesCancelled
    | StockSplit
    | AuthorizedSharesChanged
    | ValuationRecorded
    | ExecutiveAppointed
    | InterimCEOAppointed
    | ExecutiveDeparted
    | DirectorAppointed
    | DirectorDeparted
    | BoardSeatRetained
    | BoardSizeSet
    | StakeholderRecorded
    | StockPlanCreated
    | StockPlanReserveChanged
    | OptionGranted
    | OptionExercised
    | OptionCancelled
    | WarrantIssued
    | WarrantExercised
    | WarrantCancelled
    | ConvertibleIssued
    | ConvertibleConverted
    | ConvertibleCancelled
    | SharesConverted,
    Field(discriminator="type"),
]
"""Every event that acts on a company (everything but a correction)."""


# --- Corrections ---


MIN_PREFIX = 8
"""The fewest characters of an event id that name it as a correction's ``target``."""


def _event_id_or_prefix(value: Any) -> Any:
    """A whole event id as a UUID; a shorter text as the prefix of one (resolved at
    recording), lowercased."""
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(
            f"an event id or its prefix is text: write it in quotes ('{value}'), as YAML reads "
            f"{value} as a number"
        )
    if not isinstance(value, str):
        return value
    try:
        return UUID(value)
    except ValueError:
        pass
    prefix = value.lower()
    if prefix.strip("0123456789abcdef-") or len(prefix) >= 36:
        raise ValueError(
            "not an event id, nor the first characters of one (an event named by its "
            "external_id goes in target_external_id)"
        )
    if len(prefix) < MIN_PREFIX:
        raise ValueError(f"an event id prefix needs at least {MIN_PREFIX} characters")
    return prefix


class Correction(Fact):
    """A retraction or a correction of an earlier event of the same company.

    An event file names the target by its event id (``target``: the whole id, or its first
    characters, at least ``MIN_PREFIX``) or by its external_id (``target_external_id``);
    the ledger resolves either at recording and stores the whole event id in ``target``
    (replays never resolve again). It takes no ``effective_date`` in an event file: it acts
    on the target's date, which the ledger stores with it (like ``derived_shares``)."""

    effective_date: SkipJsonSchema[IsoDate | None] = None  # type: ignore[assignment]
    target: Annotated[UUID | str | None, BeforeValidator(_event_id_or_prefix)] = None
    target_external_id: ExternalId | None = None
    reason: Name

    @model_validator(mode="before")
    @classmethod
    def _date_is_the_targets(cls, data: Any, info: ValidationInfo) -> Any:
        stored = bool(info.context and info.context.get(STORED))
        if isinstance(data, dict) and "effective_date" in data and not stored:
            raise ValueError(
                "a correction takes no effective_date: it acts on the date of its target"
            )
        return data

    @model_validator(mode="after")
    def _one_target(self, info: ValidationInfo) -> Correction:
        if self.target is None and self.target_external_id is None:
            raise ValueError("give the target: target (an event id) or target_external_id")
        # Stored, it has both: the event id resolved and the external_id it was named by.
        stored = bool(info.context and info.context.get(STORED))
        if not stored and None not in (self.target, self.target_external_id):
            raise ValueError("give one of target or target_external_id, not both")
        return self

    @property
    def target_id(self) -> UUID:
        """The target's whole event id: set at recording, always there once stored."""
        assert isinstance(self.target, UUID), "a correction's target is resolved at recording"
        return self.target


class EventRetracted(Correction):
    """The target event is withdrawn: the timeline goes on without it."""

    type: Literal["EventRetracted"] = "EventRetracted"


class EventCorrected(Correction):
    """The target event is replaced by ``replacement`` (a whole event body of the same
    company, with its own effective_date): retraction and replacement in one event."""

    type: Literal["EventCorrected"] = "EventCorrected"
    replacement: AnyAction

    @model_validator(mode="after")
    def _replacement_of_the_company(self) -> EventCorrected:
        if self.replacement.company != self.company:
            raise ValueError(
                f"the replacement is of company {self.replacement.company!r}, the correction "
                f"of {self.company!r}: a correction stays within its company"
            )
        if self.replacement.external_id is not None:
            raise ValueError("the replacement takes no external_id: give the correction its own")
        return self


AnyFact = Annotated[
    AnyAction | EventRetracted | EventCorrected,
    Field(discriminator="type"),
]
"""Every event an event file may hold and the store holds."""


# Built on first use, as the models are: a query that reads no event never builds them.
FACT_ADAPTER: TypeAdapter[AnyFact] = TypeAdapter(AnyFact, config=ConfigDict(defer_build=True))
EVENT_FILE_ADAPTER: TypeAdapter[list[AnyFact]] = TypeAdapter(
    list[AnyFact], config=ConfigDict(defer_build=True)
)


class _PlainJsonSchema(GenerateJsonSchema):
    """JSON Schema 2020-12 without pydantic's OpenAPI ``discriminator`` keyword (``const``
    on each event's ``type`` already tells the events apart)."""

    def tagged_union_schema(self, schema: core_schema.TaggedUnionSchema) -> JsonSchemaValue:
        generated = super().tagged_union_schema(schema)
        generated.pop("discriminator", None)
        return generated


def event_file_json_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of an event file, bounds included."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "corpledger event file",
        "description": (
            "A list of corporate-action events; YAML, JSON or JSON Lines (one event a line)."
        ),
        **EVENT_FILE_ADAPTER.json_schema(schema_generator=_PlainJsonSchema),
    }


EVENT_TYPES: dict[str, type[Fact]] = {
    cls.model_fields["type"].default: cls
    for cls in (
        CompanyRegistered,
        ShareClassCreated,
        SharesIssued,
        InvestmentMade,
        SharesTransferred,
        SharesCancelled,
        StockSplit,
        AuthorizedSharesChanged,
        ValuationRecorded,
        ExecutiveAppointed,
        InterimCEOAppointed,
        ExecutiveDeparted,
        DirectorAppointed,
        DirectorDeparted,
        BoardSeatRetained,
        BoardSizeSet,
        StakeholderRecorded,
        StockPlanCreated,
        StockPlanReserveChanged,
        OptionGranted,
        OptionExercised,
        OptionCancelled,
        WarrantIssued,
        WarrantExercised,
        WarrantCancelled,
        ConvertibleIssued,
        ConvertibleConverted,
        ConvertibleCancelled,
        SharesConverted,
        EventRetracted,
        EventCorrected,
    )
}
"""Every event type by its stored name."""

SCHEMA_VERSIONS: dict[str, int] = dict.fromkeys(EVENT_TYPES, 1)
"""The version of each type's schema this code writes, stored with every event; a new type
starts at 1. A change to a type's fields or to what they mean raises its version here
(``| {"X": 2}``), with an upcaster from the version before (``persistence.mapper.UPCASTERS``)."""


PARTY_FIELDS = (
    "holder", "investor", "from_", "to", "person", "designated_by", "destination", "party",
)  # fmt: skip


@cache
def _party_fields(kind: type[Fact]) -> tuple[str, ...]:
    return tuple(name for name in PARTY_FIELDS if name in kind.model_fields)


def fact_parties(fact: Fact) -> set[str]:
    """The parties (holders, investors, persons, designators, destinations) a fact touches."""
    # Only the fields the type has: a missing attribute costs pydantic a slow lookup, and
    # the projections ask this of every event.
    return {
        value for name in _party_fields(type(fact)) if isinstance(value := getattr(fact, name), str)
    }
