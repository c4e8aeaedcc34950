"""Events stored past today's checks, as an older version of corpledger might have stored them:
appended through the store's own path (``batch.rows_of``, the recorder's ``append``), with
neither validation nor the rules in the way."""

from __future__ import annotations

from uuid import UUID, uuid4

from ledger import Ledger
from ledger.batch import rows_of
from ledger.domain.entry import Entry
from ledger.domain.events import Fact


def store_unchecked(
    ledger: Ledger, fact: Fact, recorded_by: str = "an-older-version"
) -> tuple[int, UUID]:
    """Append ``fact`` as the next event of its company; returns its position and event id."""
    version = len(ledger.history(fact.company).events) + 1
    event_id = uuid4()
    with ledger.store.append() as append:
        append.write(rows_of([Entry(fact, version, "", event_id)], recorded_by))
        [position] = append.positions()
    return position, event_id
