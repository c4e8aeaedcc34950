"""Corrections: from a company's log to the entries in force.

``EventRetracted`` and ``EventCorrected`` never enter the fold themselves: the log of a
company (every event, in recording order) becomes the entries *in force* (the target leaves,
a replacement takes the target's place in recording order on its own effective date), and
the fold runs over those. Rule 6 is checked by ``Timeline.admit`` like every other rule, over
the timeline with the correction applied; ``target_of`` resolves what a correction names.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from uuid import UUID

from .entry import Entry, key_of, place
from .errors import InputError, RuleViolation, rule_name
from .events import Correction, EventCorrected, EventRetracted


def replacement_entry(correction: Entry, slot: int) -> Entry | None:
    """The entry an ``EventCorrected`` puts in force: its replacement, in the target's place
    in recording order (``slot``, the target's seq: a same-day order of events stays as it
    was) and named by the correction's event id (so a later correction can target it)."""
    fact = correction.fact
    if not isinstance(fact, EventCorrected):
        return None
    return Entry(fact.replacement, slot, correction.where, correction.event_id)


def correct(entries: list[Entry], correction: Entry) -> date | None:
    """Apply ``correction`` to ``entries`` (in force, timeline order) in place: its target
    leaves, its replacement (if any) comes in. Returns the earliest effective date whose
    state changes, or None when the target is not in force (nothing changes)."""
    fact = correction.fact
    assert isinstance(fact, Correction)
    # Corrections are rare: a scan beats keeping an index of every entry.
    target_id = fact.target_id
    at = next((i for i, e in enumerate(entries) if e.event_id == target_id), None)
    if at is None:
        return None
    target = entries.pop(at)
    on = target.fact.effective_date
    replacement = replacement_entry(correction, target.seq)
    if replacement is not None:
        bisect.insort(entries, replacement, key=key_of)
        on = min(on, replacement.fact.effective_date)
    return on


def in_force(log: Iterable[Entry]) -> list[Entry]:
    """The entries in force, in timeline order, from a company's log (any order): every
    fact, minus those retracted or corrected, plus replacements. Filter the log by position
    first to get the entries in force as known at that position."""
    facts: list[Entry] = []
    corrections: list[Entry] = []
    for entry in log:
        (corrections if isinstance(entry.fact, Correction) else facts).append(entry)
    facts.sort(key=key_of)
    # A correction only targets an earlier event, so applying them in recording order after
    # every fact is the same as walking the log in order.
    for entry in sorted(corrections, key=lambda e: e.seq):
        correct(facts, entry)
    return facts


def undone_by(log: Iterable[Entry]) -> dict[UUID, Entry]:
    """Each event taken out of force (retracted or corrected) → the correction that did."""
    return {entry.fact.target_id: entry for entry in log if isinstance(entry.fact, Correction)}


def target_of(
    company: str,
    log: Sequence[Entry],
    correction: Entry,
    new: Sequence[Entry],
    undone: dict[UUID, Entry],
    working: list[Entry],
    elsewhere: Callable[[UUID], str | None] | None,
) -> Entry:
    """The entry in force (in ``working``) that ``correction`` acts on, or a rule 6 violation
    saying why there is none. ``log`` is the company's stored log, ``new`` the batch."""
    fact = correction.fact
    assert isinstance(fact, Correction)

    def refused(detail: str) -> RuleViolation:
        return RuleViolation(f"{place(correction)} ({fact.type}): {rule_name(6)}: {detail}", rule=6)

    logged = _named(company, log, correction, new)
    if logged is None:
        assert isinstance(fact.target, UUID)  # a prefix or an external_id names one
        other = elsewhere(fact.target) if elsewhere is not None else None
        there = f": it is an event of {other}" if other else ""
        raise refused(f"event {fact.target} is not an event of {company}{there}")
    target = logged.event_id
    assert target is not None
    if target in undone:
        by = undone[target]
        how = "retracted" if isinstance(by.fact, EventRetracted) else "corrected"
        raise refused(f"event {target} is already {how} by {place(by)}")
    if logged.seq > correction.seq:
        raise refused(
            f"event {target} ({place(logged)}) is recorded after the correction: a "
            "correction targets only an event recorded before it (stored, or earlier in "
            "the batch)"
        )
    if isinstance(logged.fact, EventRetracted):
        raise refused(
            f"event {target} is a retraction: a retraction is not retracted or corrected "
            "(record the event again instead)"
        )
    for entry in working:
        if entry.event_id == target:
            return entry
    raise refused(f"event {target} is not in force")  # pragma: no cover (undone above)


def _named(
    company: str, log: Sequence[Entry], correction: Entry, new: Sequence[Entry]
) -> Entry | None:
    """The event of the log (stored, or earlier in the batch) that ``correction`` names:
    by its whole event id (None if the company has none such: rule 6 says so), by the
    first characters of it, or by its external_id. A prefix or an external_id that
    names no event, or a prefix that names several, is an input error."""
    fact = correction.fact
    assert isinstance(fact, Correction)
    logged = (e for e in [*log, *new] if e is not correction)
    if isinstance(fact.target, UUID):
        return next((e for e in logged if e.event_id == fact.target), None)
    where = correction.where
    if fact.target is None:
        external_id = fact.target_external_id
        named = next((e for e in logged if e.fact.external_id == external_id), None)
        if named is None:
            raise InputError(
                f"{where}: field 'target_external_id': no event of {company} has "
                f"external_id {external_id!r}"
            )
        return named
    prefix = fact.target
    found = [e for e in logged if str(e.event_id).startswith(prefix)]
    if not found:
        raise InputError(
            f"{where}: field 'target': no event of {company} has an event id starting {prefix!r}"
        )
    if len(found) > 1:
        ids = ", ".join(str(e.event_id) for e in found[:3])
        raise InputError(
            f"{where}: field 'target': {prefix!r} starts the event ids of {len(found)} "
            f"events of {company} ({ids}{', …' if len(found) > 3 else ''}): give more "
            "of its characters"
        )
    return found[0]
