"""Maps ``CompanyEvent`` to eventsourcing's ``StoredEvent`` and back.

The stored ``topic`` is the event type's name (``InvestmentMade``), a storage contract
independent of Python module paths. ``state`` is JSON: ``{"event_id", "recorded_by",
"fact"}``, the fact as its pydantic model dumps it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent
from pydantic import BaseModel, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from ..domain.company import CompanyEvent
from ..domain.events import EVENT_TYPES, STORED, AnyFact, Fact
from ..domain.values import Money


def state_encoder(recorded_by: str) -> Callable[[UUID, Fact], bytes]:
    """``encode_state`` for the events of one actor (a batch's), its constant parts built
    once: it runs for every event recorded."""
    head = b'{"event_id":"'
    middle = ('","recorded_by":' + json.dumps(recorded_by) + ',"fact":').encode()
    join = b"".join

    def encode(event_id: UUID, fact: Fact) -> bytes:
        # ``model_dump_json(by_alias=True, exclude_none=True)``, without its Python wrapper
        # (a third of its cost).
        fact_json = fact.__pydantic_serializer__.to_json(fact, by_alias=True, exclude_none=True)
        return join((head, str(event_id).encode(), middle, fact_json, b"}"))

    return encode


def encode_state(event_id: UUID, recorded_by: str, fact: Fact) -> bytes:
    """The stored ``state`` of an event."""
    return state_encoder(recorded_by)(event_id, fact)


class _State(TypedDict):
    """The stored ``state`` JSON, read in one pass by pydantic's own JSON parser (about three
    times faster than ``json.loads`` and validating the result; a dict, not a model: a
    tenth faster again, and it runs for every event read back)."""

    event_id: UUID
    recorded_by: str
    fact: AnyFact


_VALIDATE_STATE = TypeAdapter(_State).validator.validate_json
_STORED_CONTEXT = {STORED: True}


def decode_state(state: bytes) -> tuple[UUID, str, Fact]:
    try:
        body = _VALIDATE_STATE(state, context=_STORED_CONTEXT)
    except ValidationError:
        # Input bounds tighten over versions; a fact stored under looser ones is history and
        # is read as stored, never judged again (a bound is a rule for input, not for reads).
        try:
            return _as_stored(json.loads(state))
        except (ValueError, TypeError, KeyError, AttributeError):
            pass
        raise
    return body["event_id"], body["recorded_by"], body["fact"]


def unknown_type(state: bytes) -> str | None:
    """The type of a stored fact this version does not know (a newer one stored it), if so."""
    try:
        kind = json.loads(state)["fact"]["type"]
    except (ValueError, TypeError, KeyError):
        return None
    return kind if isinstance(kind, str) and kind not in EVENT_TYPES else None


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
