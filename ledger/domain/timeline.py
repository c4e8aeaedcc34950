"""The timeline engine: a company's log, its entries in force, and ``admit``.

``Timeline.admit`` runs the checks over a company's timeline in (effective_date, seq) order
from the earliest date a batch touches, so a back-dated event is checked against every later
event. Which event a broken rule is blamed on is ``attribution``'s business.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from datetime import date
from uuid import UUID

from . import attribution
from .corrections import correct, in_force, target_of, undone_by
from .entry import Entry, key_of, seq_of
from .errors import Broken
from .events import Correction, EventCorrected
from .rules import DERIVED, EVOLVE, check, derive, replay


class Timeline:
    """A company's log (every event it recorded, corrections included, by seq), the entries
    in force in (effective_date, seq) order, and the state after all of them."""

    __slots__ = ("company", "end", "entries", "keys", "log", "undone")

    def __init__(self, company: str, log: Sequence[Entry] = ()) -> None:
        self.company = company
        self.log = sorted(log, key=seq_of)
        self.entries = in_force(self.log)
        self.keys = list(map(key_of, self.entries))
        self.undone = undone_by(self.log)
        self.end = replay(self.entries, company)

    def tail(self) -> Timeline:
        """This timeline keeping only its last entry (and last logged event) in memory, the end
        state whole: enough to ``admit`` entries in order (``key >= keys[-1]``), as a long
        batch being recorded does chunk after chunk. Anything else (a back-dated event, a
        correction) needs the whole timeline, read again."""
        tail = Timeline.__new__(Timeline)
        for name in Timeline.__slots__:
            setattr(tail, name, getattr(self, name))
        tail.log = self.log[-1:]
        tail.entries = self.entries[-1:]
        tail.keys = self.keys[-1:]
        return tail

    @property
    def last_seq(self) -> int:
        return self.log[-1].seq if self.log else 0

    @property
    def registered(self) -> date | None:
        return self.end.registered

    def admit(
        self, new: Sequence[Entry], elsewhere: Callable[[UUID], str | None] | None = None
    ) -> tuple[Timeline, list[Entry]]:
        """Check ``new`` entries (seq after every existing one) against the whole timeline.

        Returns the extended timeline and the new entries as they are to be stored (derived
        shares filled in; a correction with its target's effective date). Raises
        ``RuleViolation`` naming the event that breaks. In-order entries are checked from
        the end state alone; a back-dated one, or a correction, re-checks every later event
        from the earliest date it changes. A correction may target only an event recorded
        before it (stored, or earlier in the batch); ``elsewhere`` names the company of an
        event id that is not this company's (for the error message only)."""
        corrections = [e for e in new if isinstance(e.fact, Correction)]
        if corrections:
            corrections.sort(key=seq_of)
            facts = sorted((e for e in new if not isinstance(e.fact, Correction)), key=key_of)
        else:  # the common case: one pass over the entries, not two
            facts = sorted(new, key=key_of)
        completed: dict[int, Entry] = {}  # corrections by seq, as they are to be stored
        undone = self.undone
        # Every entry of the tail is new (in order, from the end state), or new ones are
        # told apart from stored ones by identity.
        fresh: set[int] | None = None
        if not corrections:
            start = key_of(facts[0])
            if not self.entries or start >= self.keys[-1]:
                state, tail, head = self.end.copy(), facts, self.entries
            else:
                fresh = {id(e) for e in facts}
                cut = bisect.bisect_left(self.keys, start)
                head = self.entries[:cut]
                tail = sorted([*self.entries[cut:], *facts], key=key_of)
                state = replay(head, self.company)
        else:
            fresh = {id(e) for e in facts}
            working = sorted([*self.entries, *facts], key=key_of)
            undone = dict(undone)
            first = key_of(facts[0]) if facts else None
            for correction in corrections:
                target = target_of(
                    self.company, self.log, correction, new, undone, working, elsewhere
                )
                acts = correction.fact
                assert isinstance(acts, Correction)
                # Stored with its target's date and whole event id (a file may name it by
                # a prefix or an external_id): a replay never resolves it again.
                correction = correction._replace(
                    fact=acts.model_copy(
                        update={
                            "effective_date": target.fact.effective_date,
                            "target": target.event_id,
                        }
                    )
                )
                assert isinstance(correction.fact, Correction)
                completed[correction.seq] = correction
                on = correct(working, correction)
                assert on is not None  # _target found it in force
                undone[correction.fact.target_id] = correction
                fresh.update(id(e) for e in working if e.event_id == correction.event_id)
                if first is None or (on, 0) < first:
                    first = (on, 0)
            assert first is not None
            cut = bisect.bisect_left(working, first, key=key_of)
            head, tail = working[:cut], working[cut:]
            state = replay(head, self.company)
        replaced = {e.event_id: e.seq for e in corrections if isinstance(e.fact, EventCorrected)}
        stored: dict[int, Entry] = {}
        checked: list[Entry] = []
        for entry in tail:
            is_new = fresh is None or id(entry) in fresh
            try:
                if is_new and entry.fact.type in DERIVED:
                    fact = derive(state, entry.fact)
                    if fact is not entry.fact:
                        entry = entry._replace(fact=fact)
                        if entry.event_id in replaced:
                            seq = replaced[entry.event_id]
                            done = completed[seq]
                            completed[seq] = done._replace(
                                fact=done.fact.model_copy(update={"replacement": fact})
                            )
                        else:
                            stored[entry.seq] = entry
                check(state, entry.fact)
            except Broken as broken:
                if broken.rule == 1 and entry.fact.type != "CompanyRegistered":
                    broken = attribution.before_registration(entry, broken, [*head, *tail])
                if is_new and entry.event_id in replaced:
                    raise attribution.breaks_rule_6(
                        completed[replaced[entry.event_id]], entry, broken, replacement=True
                    ) from None
                if is_new or not corrections:
                    because = (
                        None
                        if is_new
                        else attribution.culprit(self.company, head, checked, entry, facts)
                    )
                    raise attribution.violation(entry, broken, because=because) from None
                culprit = attribution.blame(self.company, self.entries, new, completed)
                if culprit.seq in completed:
                    raise attribution.breaks_rule_6(completed[culprit.seq], entry, broken) from None
                raise attribution.violation(entry, broken, because=culprit) from None
            EVOLVE[entry.fact.type](state, entry.fact)
            checked.append(entry)
        if completed or stored:
            to_store = [completed.get(e.seq) or stored.get(e.seq, e) for e in new]
        else:
            to_store = list(new)
        if fresh is not None and len(new) > 1:
            attribution.within_bounds_part_way(self.company, self.log, to_store)
        extended = Timeline.__new__(Timeline)
        extended.company = self.company
        extended.log = [*self.log, *sorted(to_store, key=seq_of)]
        extended.entries = [*head, *checked]
        if head is self.entries:
            extended.keys = [*self.keys, *map(key_of, checked)]
        else:
            extended.keys = list(map(key_of, extended.entries))
        extended.undone = undone
        extended.end = state
        return extended, to_store
