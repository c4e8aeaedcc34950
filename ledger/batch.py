"""Checking a batch of events and turning it into the rows the store appends.

Every ``Ledger.record`` call goes through here, one event or a million: items are
validated chunk by chunk (pydantic, the one schema), grouped by company, admitted into each
company's timeline by ``Timeline.admit`` (the one set of rules: in-order events from the end
state, back-dated ones from their date), and encoded by the mapper's ``state_encoder`` into
``(company, version, topic, state)`` rows: exactly what eventsourcing's recorder would store
for the same events (``tests/contract/test_bulk.py``).

The ``Planner`` keeps, per company, the timeline, the last version and the external ids it
knows; between chunks of a long batch it keeps only each timeline's end state and last entry
(``Timeline.tail``), and reads a company's whole stream again, through the open append
transaction (which sees the rows already written), when a later chunk back-dates it.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import repeat
from typing import Any, NamedTuple
from uuid import UUID, SafeUUID

from pydantic import ValidationError

from .domain.entry import Entry, key_of, place
from .domain.errors import InputError
from .domain.events import EVENT_TYPES, FACT_ADAPTER, CompanyRegistered, Correction, Fact
from .domain.timeline import Timeline
from .domain.values import (
    RATIO_PATTERN,
    RATIO_RULE,
    SLUG_PATTERN,
    SLUG_RULE,
    TEXT_PATTERN,
)
from .files import Item
from .persistence.chain import NewRow
from .persistence.mapper import state_encoder

CHUNK = 20_000
"""Events validated, checked and written at a time. A batch of at most this many is checked
whole before the store is touched; a longer one streams through an open append transaction."""

MAX_PROBLEMS = 20
"""Invalid items reported at once (each on its own line), before giving up on the rest."""


class Skipped(NamedTuple):
    """An event whose external_id the company already has, with the same content."""

    where: str
    company: str
    external_id: str
    event_id: UUID


@dataclass(slots=True)
class Company:
    """What the planner knows of one company: its timeline (whole, or its ``tail``), its
    last version (this batch's events included), the external ids it has."""

    timeline: Timeline
    version: int
    known: dict[str, Entry]
    whole: bool = True


StreamLoader = Callable[[list[str]], dict[str, tuple[Timeline, int]]]
"""Reads companies' timelines and versions (fresh, or under the append lock)."""


_VERSION_4 = bytes((b & 0x0F) | 0x40 for b in range(256))
"""Byte 6 of a UUID, its version nibble set to 4 (``bytes.translate``)."""
_VARIANT = bytes((b & 0x3F) | 0x80 for b in range(256))
"""Byte 8 of a UUID, its variant bits set to RFC 4122's."""
_SIXTEEN = re.compile(b".{16}", re.DOTALL)
_SET_INT = UUID.__dict__["int"].__set__  # the slots' own setters
_SET_SAFE = UUID.__dict__["is_safe"].__set__


def event_ids(count: int) -> list[UUID]:
    """``count`` random (version 4) UUIDs, as ``uuid.uuid4`` makes them (122 bits from
    ``os.urandom``), at a sixth of its cost: one system call for all of them, the version
    and variant bits set and the bytes cut into integers in C, and each ``UUID`` built as
    ``UUID.__init__`` builds it, without re-checking its arguments."""
    random = bytearray(os.urandom(16 * count))
    random[6::16] = random[6::16].translate(_VERSION_4)
    random[8::16] = random[8::16].translate(_VARIANT)
    new, unknown = object.__new__, SafeUUID.unknown
    ids: list[UUID] = []
    append = ids.append
    for bits in map(int.from_bytes, _SIXTEEN.findall(random)):
        event_id = new(UUID)
        _SET_INT(event_id, bits)
        _SET_SAFE(event_id, unknown)
        append(event_id)
    return ids


def validate(item: Item | Fact | dict[str, Any], number: int) -> tuple[Fact, str]:
    """One input item as a fact and its place; the error names the item and the field.

    A JSON Lines item is validated straight from its text by pydantic's own JSON parser
    (about twice as fast as decoding it first). JSON numbers with a fraction are exact
    ``Decimal``s in the ledger, which pydantic's parser cannot give: an item it refuses is
    decoded (``Item.value``) and validated again, so it is accepted or refused, with the same
    message, exactly as if it had been decoded first."""
    return validate_all([item], number)[0]


def _validate_decoded(item: Item | Fact | dict[str, Any], number: int) -> tuple[Fact, str]:
    if isinstance(item, Item):
        where, data = item.where, item.value()
    else:
        where, data = f"item {number}", item
    if isinstance(data, Fact):
        return data, where
    try:
        return FACT_ADAPTER.validate_python(data), where
    except ValidationError as e:
        raise InputError(describe_validation_error(where, e)) from None


def validate_all(
    items: Iterable[Item | Fact | dict[str, Any]], first: int
) -> list[tuple[Fact, str]]:
    """``validate`` of each item (numbered from ``first``), calling pydantic-core's validator
    itself: this loop runs once per event of every batch. Raises one ``InputError`` listing
    the first ``MAX_PROBLEMS`` invalid items, one line each."""
    validate_json = FACT_ADAPTER.validator.validate_json
    checked: list[tuple[Fact, str]] = []
    append = checked.append
    problems: list[str] = []
    for number, item in enumerate(items, start=first):
        if type(item) is Item and item.text is not None:
            try:
                append((validate_json(item.text), item.where))
                continue
            except ValidationError:
                pass
        try:
            append(_validate_decoded(item, number))
        except InputError as e:
            if len(problems) == MAX_PROBLEMS:
                problems.append(
                    f"more invalid items follow; only the first {MAX_PROBLEMS} are shown"
                )
                break
            problems.extend(e.lines)
    if problems:
        raise InputError(*problems)
    return checked


def _closest(word: str, names: Iterable[str]) -> list[str]:
    """The names nearest ``word`` (difflib's ratio, at least 0.6): the best, and a second as
    near as it (the catalogue has near names: SharesIssued, SharesConverted)."""
    scored = sorted(
        ((difflib.SequenceMatcher(None, word, name).ratio(), name) for name in names),
        reverse=True,
    )
    best = scored[0][0] if scored else 0.0
    return [name for score, name in scored[:2] if score >= 0.6 and score >= best - 0.1]


def _not_an_event(where: str, given: Any) -> str:
    # A JSON number with a fraction is read as a Decimal: shown as it was written.
    shown = str(given) if isinstance(given, Decimal) else repr(given)
    return f"{where}: expected an event (a mapping of fields), got {shown}"


def describe_validation_error(where: str, error: ValidationError) -> str:
    """The first problem of a pydantic error as one line naming the item and the field."""
    errors = error.errors()
    # A misspelled field shows up as "missing" and "extra" at once: name the misspelling.
    extra = [e for e in errors if e["type"] == "extra_forbidden"]
    first = extra[0] if extra else errors[0]
    # The discriminated union puts the event type in the location (of the event, or of a
    # correction's replacement); drop it.
    loc = [str(p) for p in first["loc"] if p not in EVENT_TYPES]
    kind, msg = first["type"], first["msg"]
    ctx = first.get("ctx", {})
    if kind == "union_tag_invalid":
        tag = ctx.get("tag")
        if tag in EVENT_TYPES:  # a type the place does not take: a replacement's correction
            return (
                f"{where}: {'.'.join(loc) or 'the event'} may not be an {tag} (a correction "
                "replaces an event by an event of the catalogue, never by a correction)"
            )
        close = _closest(str(tag), EVENT_TYPES)
        hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
        return f"{where}: unknown event type {tag!r}{hint}"
    if kind == "union_tag_not_found":
        if not isinstance(first.get("input"), dict) and not loc:
            return _not_an_event(where, first["input"])
        return f"{where}: missing field 'type' (the event type)"
    if kind == "extra_forbidden":
        missing = [str(e["loc"][-1]) for e in errors if e["type"] == "missing"]
        close = difflib.get_close_matches(str(loc[-1]), missing, n=1) if loc else []
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"{where}: unknown field {'.'.join(loc)!r}{hint}"
    if kind == "missing":
        return f"{where}: missing field {'.'.join(loc)!r}"
    if (kind == "model_attributes_type" or kind == "model_type") and not loc:
        return _not_an_event(where, first["input"])
    if loc[-1:] == ["[key]"]:  # a mapping's key: the key itself is the input
        loc, msg = loc[:-2], f"a key: {msg}"
    if kind == "string_pattern_mismatch":
        msg = _PATTERN_RULES.get(str(ctx.get("pattern")), msg)
    elif kind in _LIMITS:
        key, words = _LIMITS[kind]
        msg = f"Input should be {words} {_readable(ctx[key])}"
    msg = msg.removeprefix("Value error, ")
    field_name = ".".join(loc)
    if field_name:
        return f"{where}: field {field_name!r}: {msg} (got {_shown(first['input'])})"
    return f"{where}: {msg}"


_PATTERN_RULES = {
    SLUG_PATTERN: f"not a slug ({SLUG_RULE})",
    RATIO_PATTERN: f"not a split ratio {RATIO_RULE}",
    TEXT_PATTERN: "a control character: only tab and newline may be in text",
}
_LIMITS = {
    "greater_than": ("gt", "greater than"),
    "greater_than_equal": ("ge", "greater than or equal to"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "less than or equal to"),
}
"""pydantic's errors of a numeric bound: the bound's key in the error's context, and words."""


def _readable(limit: Any) -> str:
    """A bound as people read it: 1,000,000,000,000,000 (10^15)."""
    if not isinstance(limit, int | Decimal):
        return str(limit)
    text = f"{limit:,}"
    exponent = len(str(int(limit))) - 1
    if limit >= 1_000_000 and limit == 10**exponent:
        text += f" (10^{exponent})"
    return text


def _shown(value: Any) -> str:
    """The offending input as a message shows it: a decimal as written, a long text cut."""
    shown = str(value) if isinstance(value, Decimal) else repr(value)
    return shown if len(shown) <= 80 else f"{shown[:60]}… ({len(shown):,} characters)"


@dataclass
class Planner:
    """Admits a batch chunk by chunk; see the module's docstring."""

    load: StreamLoader
    companies: dict[str, Company] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    in_batch: dict[tuple[str, str], str] = field(default_factory=dict)
    reload: StreamLoader | None = None
    company_of: Callable[[UUID], str | None] | None = None
    """Finds the company of an event id (a correction's message when its target is not of
    the company)."""

    def admit(self, facts: Sequence[tuple[Fact, str]]) -> list[Entry]:
        """Check the next chunk of the batch; returns its events in the batch's order, as
        they are to be stored (with their stream version and event id)."""
        by_company: dict[str, list[tuple[int, Fact, str]]] = {}
        with_external_ids: set[str] = set()  # companies with an event that names one
        for index, (fact, where) in enumerate(facts):
            by_company.setdefault(fact.company, []).append((index, fact, where))
            if fact.external_id is not None:
                with_external_ids.add(fact.company)
                key = (fact.company, fact.external_id)
                if key in self.in_batch:
                    raise InputError(
                        f"{where}: external_id {fact.external_id!r} of {fact.company} appears "
                        f"twice in this batch (also {self.in_batch[key]})"
                    )
                self.in_batch[key] = where
        self._learn([c for c in by_company if c not in self.companies])
        # Each event at its index in the chunk (skipped ones stay None): the batch's order.
        admitted: list[Entry | None] = [None] * len(facts)
        for company, items in by_company.items():
            state = self.companies[company]
            if state.version == 0 and not any(
                isinstance(f, CompanyRegistered) for _, f, _ in items
            ):
                _, fact, where = items[0]
                raise InputError(
                    f"{where}: unknown company {company!r}: record its CompanyRegistered "
                    "first (in this batch or before)"
                )
            if company in with_external_ids:
                items = [i for i in items if not self._known(state, company, i[1], i[2])]
                if not items:
                    continue
            first = state.version + 1
            # Entry(fact, seq, where, event_id) for each, built in C: a batch builds a million.
            entries: list[Entry] = list(
                map(
                    tuple.__new__,
                    repeat(Entry),
                    zip(
                        [fact for _, fact, _ in items],
                        range(first, first + len(items)),
                        [where for _, _, where in items],
                        event_ids(len(items)),
                        strict=True,
                    ),
                )
            )
            timeline = state.timeline
            if not state.whole and not _in_order(entries, timeline):
                timeline = self._whole(company, state)
            extended, to_store = timeline.admit(entries, self.company_of)
            state.timeline = extended
            state.version += len(entries)
            # to_store is in seq order, the order of ``items``, which is the batch's.
            for (index, _, _), entry in zip(items, to_store, strict=True):
                admitted[index] = entry
        return [a for a in admitted if a is not None]

    def forget_history(self) -> None:
        """Keep only each timeline's tail (between the chunks of a long batch)."""
        for state in self.companies.values():
            if state.whole and len(state.timeline.entries) > 1:
                state.timeline = state.timeline.tail()
                state.whole = False

    def _learn(self, companies: list[str]) -> None:
        if not companies:
            return
        for company, (timeline, version) in self.load(companies).items():
            # The log, not the entries in force: a retracted event keeps its external_id.
            known = {e.fact.external_id: e for e in timeline.log if e.fact.external_id}
            self.companies[company] = Company(timeline, version, known)

    def _whole(self, company: str, state: Company) -> Timeline:
        """The company's whole timeline, read again (this batch's written events included)."""
        assert self.reload is not None, "a timeline's tail is kept only while appending"
        timeline, version = self.reload([company])[company]
        assert version == state.version, (company, version, state.version)
        state.whole = True
        return timeline

    def _known(self, state: Company, company: str, fact: Fact, where: str) -> bool:
        """Whether the event is already recorded (same external_id, same content): then it
        is skipped. The same external_id with different content is an error."""
        if fact.external_id is None:
            return False
        previous = state.known.get(fact.external_id)
        if previous is None:
            return False
        if _same_content(previous.fact, fact):
            assert previous.event_id is not None
            self.skipped.append(Skipped(where, company, fact.external_id, previous.event_id))
            return True
        raise InputError(
            f"{where}: external_id {fact.external_id!r} of {company} already names "
            f"a different event ({place(previous)}, {previous.fact.type} of "
            f"{previous.fact.effective_date})"
        )


def rows_of(admitted: Iterable[Entry], actor: str) -> list[NewRow]:
    """The rows to append, as the mapper stores each event (``FactMapper``)."""
    encode = state_encoder(actor)
    return [
        (fact.company, e.seq, fact.type, encode(e.event_id, fact))  # type: ignore[arg-type]
        for e in admitted
        for fact in (e.fact,)
    ]


def _in_order(entries: list[Entry], timeline: Timeline) -> bool:
    """Whether the entries can be admitted on the timeline's tail: none is back-dated, and
    none acts on an earlier event (a correction's ``target``, docs/events.md), whose entry the
    tail may not hold."""
    return min(map(key_of, entries)) >= timeline.keys[-1] and not any(
        isinstance(e.fact, Correction) for e in entries
    )


def _same_content(stored: Fact, new: Fact) -> bool:
    if isinstance(new, Correction) and isinstance(stored, Correction):
        # Stored, its target is the whole event id; given, it may be named by a prefix of
        # it or by its external_id (which the stored one keeps): compare it as given.
        if isinstance(new.target, str) and not str(stored.target).startswith(new.target):
            return False
        if not isinstance(new.target, UUID):
            stored = stored.model_copy(update={"target": new.target})
    return _as_given(stored) == _as_given(new)


def _as_given(fact: Fact) -> dict[str, Any]:
    """A fact without what the ledger adds at recording: derived shares (in a replacement
    too) and a correction's effective date (its target's)."""
    data = fact.model_dump(exclude={"derived_shares"})
    if isinstance(fact, Correction):
        data.pop("effective_date")
        replacement = data.get("replacement")
        if isinstance(replacement, dict):
            replacement.pop("derived_shares", None)
    return data
