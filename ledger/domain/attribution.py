"""Error attribution: which event a broken rule is blamed on, and the one-line message.

A rule breaks at some event of the timeline; the message names the event of the input that
makes it break (a back-dated one names the later event it makes impossible; a correction that
leaves the timeline invalid is rule 6). These run on the error path only.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from .corrections import correct, in_force
from .entry import Entry, key_of, place
from .errors import BOUND, Broken, RuleViolation, rule_name
from .events import CompanyRegistered, Correction, EventCorrected
from .rules import EVOLVE, check, derive, replay, replay_known
from .state import CompanyState
from .values import MAX_TOTAL


def violation(entry: Entry, broken: Broken, *, because: Entry | None = None) -> RuleViolation:
    """Turn a broken rule into the one-line error users see."""
    fact = entry.fact
    rule = rule_name(broken.rule)
    if because is None:
        return RuleViolation(
            f"{place(entry)} ({fact.type}, {fact.effective_date}): {rule}: {broken.detail}",
            rule=broken.rule,
        )
    return RuleViolation(
        f"{place(because)} ({because.fact.type}, {because.fact.effective_date}): {rule}: "
        f"it makes the later {fact.type} of {fact.effective_date} ({place(entry)}) impossible: "
        f"{broken.detail}",
        rule=broken.rule,
    )


def blame(
    company: str, entries: Sequence[Entry], new: Sequence[Entry], completed: dict[int, Entry]
) -> Entry:
    """The change of a batch with corrections that first makes a stored event break:
    apply the batch's entries one by one in recording order (a fact goes into the
    timeline, a correction acts) and replay the whole timeline after each. Error path
    only: one replay per entry of the batch."""
    ids = {e.event_id for e in new if e.event_id is not None}
    seqs = {e.seq for e in new}
    working = list(entries)
    changes = sorted(new, key=lambda e: e.seq)
    for change in changes:
        change = completed.get(change.seq, change)
        if isinstance(change.fact, Correction):
            correct(working, change)
        else:
            bisect.insort(working, change, key=key_of)
        state = CompanyState(company)
        try:
            for entry in working:
                is_new = entry.seq in seqs or entry.event_id in ids
                fact = derive(state, entry.fact) if is_new else entry.fact
                try:
                    check(state, fact)
                except Broken:
                    if is_new:
                        break  # it needs a later entry of the batch: not this change
                    raise
                EVOLVE[fact.type](state, fact)
        except Broken:
            return change
    return completed.get(changes[-1].seq, changes[-1])


def breaks_rule_6(
    correction: Entry, failing: Entry, broken: Broken, *, replacement: bool = False
) -> RuleViolation:
    """A correction that would leave the timeline invalid: rule 6, naming the correction,
    its target, and the event that would break with its own rule and numbers."""
    fact = correction.fact
    assert isinstance(fact, Correction)
    if replacement:
        what = f"its replacement {failing.fact.type} of {failing.fact.effective_date}"
    else:
        change = "with its replacement" if isinstance(fact, EventCorrected) else "without it"
        what = (
            f"{change}, the later {failing.fact.type} of {failing.fact.effective_date} "
            f"({place(failing)})"
        )
    return RuleViolation(
        f"{place(correction)} ({fact.type} of event {fact.target_id}, "
        f"{fact.effective_date}): "
        f"{rule_name(6)}: {what} breaks {rule_name(broken.rule)}: "
        f"{broken.detail}",
        rule=6,
    )


def culprit(
    company: str, head: Sequence[Entry], before: list[Entry], failing: Entry, new: list[Entry]
) -> Entry:
    """The new entry that makes the earlier-recorded ``failing`` entry break: the first
    (in timeline order) that, with the new entries before it, breaks the timeline up to
    ``failing``. ``before`` is what was admitted ahead of ``failing``, derived counts
    filled in. Runs on the error path only (one replay per new entry before it)."""
    new_seqs = {e.seq for e in new}
    candidates = [e for e in before if e.seq in new_seqs]
    for i, candidate in enumerate(candidates[:-1]):
        allowed = {e.seq for e in candidates[: i + 1]}
        state = replay(head, company)
        try:
            for e in [*before, failing]:
                if e.seq in new_seqs and e.seq not in allowed:
                    continue
                check(state, e.fact)
                EVOLVE[e.fact.type](state, e.fact)
        except Broken:
            return candidate
    return candidates[-1] if candidates else new[0]


def before_registration(entry: Entry, broken: Broken, timeline: list[Entry]) -> Broken:
    for other in timeline:
        if isinstance(other.fact, CompanyRegistered):
            return Broken(
                1,
                f"effective before {entry.fact.company}'s registration on "
                f"{other.fact.effective_date}",
            )
    return broken


PART_WAY_LIMIT = 200
"""The largest out-of-order batch whose part-way states are checked (one fold per event)."""


def within_bounds_part_way(company: str, log: Sequence[Entry], new: Sequence[Entry]) -> None:
    """A batch with back-dated events or corrections is checked whole, yet the log as known
    part-way through it (what "known at" a position inside it answers, and what the read
    models hold) misses the events recorded after: a correction that removes an issuance, a
    back-dated reverse split. Such a part-way state must stay within the bounds too, or the
    read models could not hold it: refuse the batch, naming the event where it would not.
    One fold per event of the batch: only for batches of up to ``PART_WAY_LIMIT`` events."""
    if len(new) > PART_WAY_LIMIT:
        return
    known = list(log)
    ordered = sorted(new, key=lambda e: e.seq)
    for entry in ordered[:-1]:  # the whole batch is checked already
        known.append(entry)
        state = replay_known(in_force(known), company)
        total = state.diluted_ceiling()
        authorized = max((c.authorized or 0 for c in state.classes.values()), default=0)
        if max(total, authorized) > MAX_TOTAL:
            what = (
                f"{total:,} shares outstanding or reserved"
                if total > MAX_TOTAL
                else f"{authorized:,} shares of a class authorized"
            )
            fact = entry.fact
            raise RuleViolation(
                f"{place(entry)} ({fact.type}, {fact.effective_date}): {rule_name('bounds')}: "
                f"as known part-way through the batch, at this event, {company} would have "
                f"{what}, over the bound of {BOUND}; record the events that make room for it "
                "in an earlier batch",
                rule="bounds",
            )
