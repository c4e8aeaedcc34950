"""Maps ``CompanyEvent`` to eventsourcing's ``StoredEvent`` and back.

The stored ``topic`` is the event type's name (``InvestmentMade``), a storage contract
independent of Python module paths. ``state`` is JSON: ``{"event_id", "recorded_by",
"version", "fact"}``, the fact as its pydantic model dumps it and ``version`` the version of
its type's schema (``SCHEMA_VERSIONS``; a correction's replacement's in
``replacement_version``). A state without a version is of version 1: those stored before
versions were. An older version is upcast (``UPCASTERS``) on read, before validation;
stored rows are never rewritten.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import cache
from types import UnionType
from typing import Annotated, Any, Literal, NotRequired, Union, get_args, get_origin
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from ..domain.company import CompanyEvent
from ..domain.events import (
    EVENT_TYPES,
    SCHEMA_VERSIONS,
    STORED,
    AnyFact,
    EventCorrected,
    Fact,
)
from ..domain.values import Money

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
"""Turns a stored fact (its parsed JSON) of one version of its type into the next version's."""

UPCASTERS: dict[tuple[str, int], Upcaster] = {}
"""By (type, version): the upcaster from that version to the next. Every version below the
current one (``SCHEMA_VERSIONS``) has one; on read they run in turn, before validation."""


class NewerEventError(ValueError):
    """A stored event written by a newer corpledger: of a type, or of a version of its type,
    that this one does not know."""


def _version_fields(fact_type: str, replacement_type: str | None = None) -> bytes:
    """What a state holds between ``recorded_by`` and the fact: the version of the fact's
    type (and of its replacement's, for a correction), then the fact's key."""
    fields = b'"version":%d,' % SCHEMA_VERSIONS[fact_type]
    if replacement_type is not None:
        fields += b'"replacement_version":%d,' % SCHEMA_VERSIONS[replacement_type]
    return fields + b'"fact":'


def _correction_fields(fact: Fact) -> bytes:
    assert isinstance(fact, EventCorrected), "every other type's fields are built once"
    return _version_fields(fact.type, fact.replacement.type)


def state_encoder(recorded_by: str) -> Callable[[UUID, Fact], bytes]:
    """``encode_state`` for the events of one actor (a batch's), its constant parts built
    once: it runs for every event recorded."""
    head = b'{"event_id":"'
    middle = ('","recorded_by":' + json.dumps(recorded_by) + ",").encode()
    # By type, but for corrections, whose replacement's version varies.
    versions = {
        kind: _version_fields(name)
        for name, kind in EVENT_TYPES.items()
        if kind is not EventCorrected
    }
    join = b"".join

    def encode(event_id: UUID, fact: Fact) -> bytes:
        # ``model_dump_json(by_alias=True, exclude_none=True)``, without its Python wrapper
        # (a third of its cost).
        fact_json = fact.__pydantic_serializer__.to_json(fact, by_alias=True, exclude_none=True)
        fields = versions.get(type(fact)) or _correction_fields(fact)
        return join((head, str(event_id).encode(), middle, fields, fact_json, b"}"))

    return encode


def encode_state(event_id: UUID, recorded_by: str, fact: Fact) -> bytes:
    """The stored ``state`` of an event."""
    return state_encoder(recorded_by)(event_id, fact)


def upcast(fact: dict[str, Any], version: Any, replacement_version: Any = 1) -> dict[str, Any]:
    """A stored fact (its parsed JSON) of ``version`` of its type, as the version this code
    writes: each upcaster from ``version`` on, in turn; a correction's replacement likewise,
    from ``replacement_version``. ``NewerEventError`` when a newer corpledger stored it."""
    fact = _upcast_one(fact, version)
    if fact["type"] == "EventCorrected" and isinstance(fact.get("replacement"), dict):
        fact = {**fact, "replacement": _upcast_one(fact["replacement"], replacement_version)}
    return fact


def _upcast_one(fact: dict[str, Any], version: Any) -> dict[str, Any]:
    kind = fact["type"]
    if not isinstance(kind, str) or type(version) is not int or version < 1:
        raise TypeError("not a type and a version of one")
    current = SCHEMA_VERSIONS.get(kind)
    if current is None:
        raise NewerEventError(
            f"its type {kind!r} is unknown to this version of corpledger (a newer version "
            "stored it?): upgrade corpledger to read it"
        )
    if version > current:
        raise NewerEventError(
            f"its type {kind!r} is stored at version {version}, newer than this version of "
            f"corpledger reads ({current}): upgrade corpledger to read it"
        )
    for older in range(version, current):
        fact = UPCASTERS[kind, older](fact)
    return fact


_Version = Annotated[int, Field(strict=True, ge=1)]


class _State(TypedDict):
    """The stored ``state`` JSON, read in one pass by pydantic's own JSON parser (about three
    times faster than ``json.loads`` and validating the result; a dict, not a model: a
    tenth faster again, and it runs for every event read back)."""

    event_id: UUID
    recorded_by: str
    version: NotRequired[_Version]
    replacement_version: NotRequired[_Version]
    fact: AnyFact


@cache
def _validate_state() -> Callable[..., _State]:
    """The validator of a stored ``state``, built by the first event read (a query answered
    from the read models reads none, and need not build the models of every event)."""
    return TypeAdapter(_State).validator.validate_json


_STORED_CONTEXT = {STORED: True}


def decode_state(state: bytes) -> tuple[UUID, str, Fact]:
    """The event id, the actor and the fact of a stored ``state``, of any version: the fact
    as the current model. ``NewerEventError`` for one a newer corpledger stored; another
    ``ValueError`` (a ``ValidationError``) for one corpledger did not write."""
    try:
        body = _validate_state()(state, context=_STORED_CONTEXT)
    except ValidationError as invalid:
        return _decode_parsed(state, invalid)
    fact = body["fact"]
    # The common case, every version current, costs this check and no more: about 60 ns of
    # the 2 µs a decoding takes (``type(...) is``: ``isinstance`` of a model costs 100 more).
    if body.get("version", 1) != SCHEMA_VERSIONS[fact.type] or (
        type(fact) is EventCorrected
        and body.get("replacement_version", 1) != SCHEMA_VERSIONS[fact.replacement.type]
    ):
        return _decode_parsed(state, None)
    return body["event_id"], body["recorded_by"], fact


def _decode_parsed(state: bytes, invalid: ValidationError | None) -> tuple[UUID, str, Fact]:
    """``decode_state`` of a state of an older version or outside today's bounds (``invalid``
    says why it is not valid as it is stored, when it is not): upcast, then validated."""
    try:
        body = json.loads(state)
        body["fact"] = upcast(
            body["fact"], body.get("version", 1), body.get("replacement_version", 1)
        )
    except NewerEventError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError):
        if invalid is None:
            raise
        raise invalid from None
    try:
        valid = _validate_state()(json.dumps(body), context=_STORED_CONTEXT)
    except ValidationError:
        # Input bounds tighten over versions; a fact stored under looser ones is history and
        # is read as stored, never judged again (a bound is a rule for input, not for reads).
        try:
            return _as_stored(body)
        except (ValueError, TypeError, KeyError, AttributeError):
            pass
        raise
    return valid["event_id"], valid["recorded_by"], valid["fact"]


def _as_stored(body: dict[str, Any]) -> tuple[UUID, str, Fact]:
    """``decode_state`` of a state whose fact lies outside today's bounds: each value is
    checked for its type (a count is an int, a date an ISO date...) but not for its size."""
    recorded_by = body["recorded_by"]
    if not isinstance(recorded_by, str):
        raise TypeError("recorded_by is not text")
    fact = _unbounded(body["fact"])
    if not isinstance(fact, Fact):
        raise TypeError("not a fact")
    return UUID(body["event_id"]), recorded_by, fact


def _unbounded(data: Any) -> BaseModel:
    kind: type[BaseModel] = Money
    if isinstance(data, dict) and "type" in data:
        kind = EVENT_TYPES[data["type"]]
    if not isinstance(data, dict):
        raise TypeError("not an object")
    values = {}
    for name, field in kind.model_fields.items():
        key = field.alias or name
        if key in data:
            values[name] = _typed(field.annotation, data[key])
        elif field.is_required() and name != "effective_date":
            raise KeyError(key)
    if set(data) - {field.alias or name for name, field in kind.model_fields.items()}:
        raise KeyError("an unknown field")
    return kind.model_construct(**values)


def _typed(annotation: Any, raw: Any) -> Any:
    """``raw`` as a value of ``annotation`` (or one of its union's members), type-checked."""
    if raw is None:
        return None
    outer = get_origin(annotation)
    if outer is Annotated:
        return _typed(get_args(annotation)[0], raw)
    for kind in get_args(annotation) if outer in (Union, UnionType) else (annotation,):
        if kind is type(None):
            continue
        origin = get_origin(kind)
        if origin is Literal:
            if raw in get_args(kind):
                return raw
        elif kind is bool:
            if isinstance(raw, bool):
                return raw
        elif kind is int:
            if isinstance(raw, int) and not isinstance(raw, bool):
                return raw
        elif kind is str:
            if isinstance(raw, str):
                return raw
        elif kind is date:
            if isinstance(raw, str):
                return date.fromisoformat(raw)
        elif kind is Decimal:
            if isinstance(raw, str | int) and not isinstance(raw, bool):
                return Decimal(raw)
        elif kind is UUID:
            if isinstance(raw, str):
                return UUID(raw)
        elif origin is dict:
            if isinstance(raw, dict) and all(isinstance(v, str) for v in raw.values()):
                return dict(raw)
        elif isinstance(kind, type) and issubclass(kind, BaseModel):
            if isinstance(raw, dict) and (kind is Money or raw.get("type") in EVENT_TYPES):
                return _unbounded(raw)
        elif origin in (Annotated, Union, UnionType):
            return _typed(kind, raw)
    raise TypeError(f"{raw!r} is not a {annotation}")


class FactMapper(Mapper[str]):
    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        event: CompanyEvent = domain_event
        return StoredEvent(
            originator_id=event.originator_id,
            originator_version=event.originator_version,
            topic=event.fact.type,
            state=encode_state(event.event_id, event.recorded_by, event.fact),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> CompanyEvent:
        event_id, recorded_by, fact = decode_state(stored_event.state)
        return CompanyEvent(
            originator_id=str(stored_event.originator_id),
            originator_version=stored_event.originator_version,
            event_id=event_id,
            recorded_by=recorded_by,
            fact=fact,
        )
