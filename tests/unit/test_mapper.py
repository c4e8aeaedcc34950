"""The stored form of events: ``decode_state`` (pydantic's JSON parser, used by every replay and
by the projections) reads back exactly what ``encode_state`` wrote, for every event type, and
exactly what validating the parsed JSON as Python gives; each stored with its schema version,
an older version upcast on read, a newer one refused."""

from __future__ import annotations

import functools
import json
import operator
import pickle
from typing import Any
from uuid import RFC_4122, UUID, SafeUUID, uuid4

import pytest
from pydantic import ValidationError

from ledger.batch import event_ids
from ledger.domain.events import FACT_ADAPTER, SCHEMA_VERSIONS, STORED, Fact
from ledger.persistence.mapper import UPCASTERS, NewerEventError, decode_state, encode_state
from tests import builders as b

C, D = "acme", "2021-03-04"
EVERY_TYPE = [
    b.registered(C, D, identifiers={"cik": "0001"}, jurisdiction="DE", source="charter"),
    b.share_class(C, "pref", D, kind="preferred", authorized=1000, votes_per_share=0),
    b.issued(C, "ana", "common", 10, D, price_per_share=b.usd("0.0001"), note="n"),
    b.invested(C, "fund", "pref", "2500000.50", D, shares=100, round="Seed"),
    b.invested(C, "fund", "pref", 1000, D, stake_percent="12.5"),
    b.invested(C, "fund", "pref", 1000, D, post_money=8000),
    b.invested(C, "fund", "pref", 1000, D, pre_money=7000, external_id="x-1"),
    b.transferred(C, "ana", "ben", "common", 5, D, price_per_share=b.usd(3)),
    b.cancelled(C, "ben", "common", 1, D, reason="repurchase"),
    {"type": "StockSplit", "company": C, "share_class": "common", "ratio": "1:10",
     "effective_date": D},
    {"type": "AuthorizedSharesChanged", "company": C, "share_class": "pref",
     "authorized": 5000, "effective_date": D},
    b.valuation(C, "29000000000", D, basis="409a"),
    b.executive_appointed(C, "ana", "other", D, title="Chief Scientist", interim=True),
    b.interim_ceo(C, "ben", D),
    b.executive_departed(C, "ana", "other", D, destination="meta", title="Chief Scientist"),
    b.director_appointed(C, "ana", D, seat="chair", designated_by="fund"),
    b.director_departed(C, "ana", D, reason="term"),
    b.seat_retained(C, "ana", D),
    b.board_size(C, 5, D),
]  # fmt: skip


def stored_fact(event: dict[str, object]) -> Fact:
    fact = FACT_ADAPTER.validate_python(event)
    if fact.type == "InvestmentMade" and getattr(fact, "shares", None) is None:
        fact = fact.model_copy(update={"derived_shares": 1234})
    return fact


@pytest.mark.parametrize("event", EVERY_TYPE, ids=lambda e: str(e["type"]))
def test_decoding_reads_back_what_was_encoded_as_the_python_validation_does(
    event: dict[str, object],
) -> None:
    fact, event_id = stored_fact(event), uuid4()
    state = encode_state(event_id, 'alice "the" auditor', fact)
    decoded = decode_state(state)
    body = json.loads(state)
    by_python = FACT_ADAPTER.validate_python(body["fact"], context={STORED: True})
    assert decoded == (event_id, 'alice "the" auditor', fact)
    assert type(decoded[2]) is type(fact)
    assert decoded[2] == by_python
    assert decoded[2].model_dump() == fact.model_dump()
    assert UUID(body["event_id"]) == event_id
    assert body["version"] == SCHEMA_VERSIONS[fact.type] == 1
    assert "replacement_version" not in body


def stored_state(fact: dict[str, object], **versions: int) -> bytes:
    """A state as stored before versions were (none), or with ``versions``."""
    body = {"event_id": str(uuid4()), "recorded_by": "v0", **versions, "fact": fact}
    return json.dumps(body).encode()


def test_a_fact_stored_under_looser_bounds_reads_back_as_it_was_stored() -> None:
    # Bounds are rules for input: history an older version accepted is never judged again.
    issued = b.issued(
        C,
        "ana",
        "common",
        10**20,
        "1700-01-01",
        note="n" * 20_000,
        price_per_share={"amount": "0.123456789012345", "currency": "USD"},
    )
    _, actor, fact = decode_state(stored_state(issued))
    assert actor == "v0"
    assert fact.model_dump(mode="json", exclude_none=True) == {
        **issued,
        "price_per_share": {"amount": "0.123456789012345", "currency": "USD"},
    }
    split = {
        "type": "StockSplit",
        "company": C,
        "share_class": "common",
        "ratio": "10000000:3",
        "effective_date": D,
    }
    assert decode_state(stored_state(split))[2] == FACT_ADAPTER.validate_python(
        {**split, "ratio": "1:1"}
    ).model_copy(update={"ratio": "10000000:3"})
    corrected = {
        "type": "EventCorrected",
        "company": C,
        "target": str(uuid4()),
        "reason": "r" * 500,
        "effective_date": D,
        "replacement": b.transferred(C, "ana", "ben", "common", 10**16, D),
    }
    fact = decode_state(stored_state(corrected))[2]
    assert fact.model_dump(mode="json", by_alias=True, exclude_none=True) == corrected  # fmt: skip


@pytest.mark.parametrize(
    "change",
    [{"shares": "10"}, {"shares": True}, {"effective_date": "2021-02-30"}, {"holder": 7},
     {"price_per_share": {"amount": "1", "currency": "USD", "x": 1}}, {"extra": 1}],
    ids=["string-count", "boolean-count", "impossible-date", "number-slug", "money-extra",
         "unknown-field"],
)  # fmt: skip
def test_a_stored_fact_of_the_wrong_types_is_still_refused(change: dict[str, object]) -> None:
    fact = {**b.issued(C, "ana", "common", 10**20, D), **change}
    with pytest.raises(ValidationError):
        decode_state(stored_state(fact))


# --- versions ---

SIZE = b.board_size(C, 5, D)
CORRECTED = {"type": "EventCorrected", "company": C, "target": str(uuid4()), "reason": "r",
             "effective_date": D, "replacement": SIZE}  # fmt: skip


def test_a_correction_is_stored_with_its_replacements_version_too() -> None:
    fact = FACT_ADAPTER.validate_python(CORRECTED, context={STORED: True})
    body = json.loads(encode_state(uuid4(), "ana", fact))
    assert (body["version"], body["replacement_version"]) == (1, 1)
    assert decode_state(json.dumps(body).encode())[2] == fact


@pytest.fixture
def board_size_v2(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fake version 2 of BoardSizeSet: today's model, whose ``seats`` was ``size`` in
    version 1, with its upcaster registered."""

    def seats_was_size(fact: dict[str, Any]) -> dict[str, Any]:
        return {**{k: v for k, v in fact.items() if k != "size"}, "seats": fact["size"]}

    monkeypatch.setitem(SCHEMA_VERSIONS, "BoardSizeSet", 2)
    monkeypatch.setitem(UPCASTERS, ("BoardSizeSet", 1), seats_was_size)


@pytest.mark.usefixtures("board_size_v2")
def test_an_older_version_is_read_as_the_current_model_through_its_upcaster() -> None:
    v1 = {**{k: v for k, v in SIZE.items() if k != "seats"}, "size": 5}
    current = FACT_ADAPTER.validate_python(SIZE)
    assert decode_state(stored_state(v1, version=1))[2] == current
    # Stored before versions were: version 1.
    assert decode_state(stored_state(v1))[2] == current
    assert decode_state(stored_state(SIZE, version=2))[2] == current
    # A correction's replacement is upcast by its own version.
    corrected = FACT_ADAPTER.validate_python(CORRECTED, context={STORED: True})
    old_correction = {**CORRECTED, "replacement": v1}
    assert decode_state(stored_state(old_correction))[2] == corrected
    assert decode_state(stored_state(old_correction, version=1, replacement_version=1))[2] == (
        corrected
    )
    assert decode_state(stored_state(CORRECTED, replacement_version=2))[2] == corrected
    # And what this code writes now is version 2.
    assert json.loads(encode_state(uuid4(), "ana", current))["version"] == 2
    with pytest.raises(ValidationError):  # a version 1 read as version 2: no upcast, refused
        decode_state(stored_state(v1, version=2))


@pytest.mark.parametrize(
    ("state", "why"),
    [
        (stored_state(SIZE, version=2),
         "its type 'BoardSizeSet' is stored at version 2, newer than this version of "
         "corpledger reads (1): upgrade corpledger to read it"),
        (stored_state(CORRECTED, version=1, replacement_version=3),
         "its type 'BoardSizeSet' is stored at version 3, newer than this version of "
         "corpledger reads (1): upgrade corpledger to read it"),
        (stored_state({**SIZE, "type": "SharesVested"}),
         "its type 'SharesVested' is unknown to this version of corpledger (a newer version "
         "stored it?): upgrade corpledger to read it"),
    ],
    ids=["newer-version", "newer-replacement-version", "unknown-type"],
)  # fmt: skip
def test_an_event_a_newer_corpledger_stored_is_refused_saying_so(state: bytes, why: str) -> None:
    with pytest.raises(NewerEventError) as refused:
        decode_state(state)
    assert str(refused.value) == why


@pytest.mark.parametrize("version", [0, -1, "1", 1.0, True, None])
def test_a_version_that_is_not_a_version_is_refused(version: object) -> None:
    with pytest.raises(ValidationError):
        decode_state(stored_state(SIZE, version=version))  # type: ignore[arg-type]


def test_every_version_before_the_current_one_has_an_upcaster() -> None:
    missing = [
        (kind, version)
        for kind, current in SCHEMA_VERSIONS.items()
        for version in range(1, current)
        if (kind, version) not in UPCASTERS
    ]
    assert missing == []
    assert set(UPCASTERS) <= {(k, v) for k, c in SCHEMA_VERSIONS.items() for v in range(1, c)}


def test_event_ids_are_distinct_version_4_uuids_as_uuid4_makes_them() -> None:
    ids = event_ids(2_000)
    assert len(set(ids)) == len(ids)
    for event_id in ids:
        assert event_id.version == 4
        assert event_id.variant == RFC_4122
        assert event_id.is_safe is SafeUUID.unknown
        assert UUID(str(event_id)) == event_id
        assert pickle.loads(pickle.dumps(event_id)) == event_id
    # 122 random bits: every bit outside the version and variant takes both values.
    free = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
    assert functools.reduce(operator.or_, (i.int for i in ids)) & free == free
    assert functools.reduce(operator.and_, (i.int for i in ids)) & free == 0
