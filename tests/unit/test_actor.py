"""Who records: what stands in the audit trail's ``recorded_by``."""

from __future__ import annotations

import pytest

from ledger import Ledger
from ledger.app import MAX_ACTOR, checked_actor
from ledger.domain.errors import InputError
from tests import builders as b


@pytest.mark.parametrize("actor", ["", "   ", "x\x01y", "ana\nbob", "a" * (MAX_ACTOR + 1)])
def test_an_actor_that_cannot_stand_in_the_audit_trail_is_refused(actor: str) -> None:
    with pytest.raises(InputError, match=rf"who records is 1 to {MAX_ACTOR} printable"):
        checked_actor(actor)


@pytest.mark.parametrize("actor", ["ana", "Ana Álvarez (legal)", "a" * MAX_ACTOR])
def test_a_printable_actor_is_taken_as_it_is(actor: str) -> None:
    assert checked_actor(actor) == actor


def test_a_batch_recorded_by_no_one_stores_nothing() -> None:
    with Ledger.open("memory://") as ledger:
        with pytest.raises(InputError, match="who records"):
            ledger.record([b.registered("acme", "2020-01-01")], actor="")
        assert ledger.known_position() == 0
