"""The hash chain's one function: what it hashes, and that no two rows serialise alike."""

from __future__ import annotations

from hashlib import sha256
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from ledger.persistence.chain import GENESIS, canonical, chain_link, chained


def test_the_genesis_is_32_zero_bytes() -> None:
    assert GENESIS == b"\x00" * 32


def test_a_link_is_the_sha256_of_the_previous_link_and_the_length_prefixed_fields() -> None:
    header = (
        (4).to_bytes(4, "big")  # len("acme")
        + (7).to_bytes(8, "big", signed=True)  # the version
        + (12).to_bytes(4, "big")  # len("SharesIssued")
        + (2).to_bytes(4, "big")  # len(b"{}")
    )
    expected = sha256(GENESIS + header + b"acme" + b"SharesIssued" + b"{}").digest()
    assert chain_link(GENESIS, "acme", 7, "SharesIssued", b"{}") == expected


def test_moving_bytes_between_fields_changes_the_link() -> None:
    links = {
        chain_link(GENESIS, "ab", 1, "c", b"d"),
        chain_link(GENESIS, "a", 1, "bc", b"d"),
        chain_link(GENESIS, "a", 1, "b", b"cd"),
        chain_link(GENESIS, "abc", 1, "", b"d"),
    }
    assert len(links) == 4
    assert canonical("ab", 1, "c", b"d") != canonical("a", 1, "bc", b"d")


def test_each_field_and_the_previous_link_change_the_link() -> None:
    base = chain_link(GENESIS, "acme", 1, "CompanyRegistered", b'{"a":1}')
    variants = [
        chain_link(b"\x01" + GENESIS[1:], "acme", 1, "CompanyRegistered", b'{"a":1}'),
        chain_link(GENESIS, "acmf", 1, "CompanyRegistered", b'{"a":1}'),
        chain_link(GENESIS, "acme", 2, "CompanyRegistered", b'{"a":1}'),
        chain_link(GENESIS, "acme", 1, "CompanyRegisterex", b'{"a":1}'),
        chain_link(GENESIS, "acme", 1, "CompanyRegistered", b'{"a":2}'),
    ]
    assert base not in variants
    assert len(set(variants)) == len(variants)


def test_links_chain_in_order() -> None:
    first = chain_link(GENESIS, "acme", 1, "CompanyRegistered", b"1")
    second = chain_link(first, "globex", 1, "CompanyRegistered", b"2")
    swapped_first = chain_link(GENESIS, "globex", 1, "CompanyRegistered", b"2")
    swapped_second = chain_link(swapped_first, "acme", 1, "CompanyRegistered", b"1")
    assert (len(second), second != swapped_second) == (32, True)


def test_chained_rows_carry_the_links_chain_link_gives_one_by_one() -> None:
    uuid = UUID("12345678-1234-5678-1234-567812345678")
    events = [
        StoredEvent("acme", 1, "CompanyRegistered", b"1"),
        StoredEvent(uuid, 2, "SharesIssued", b"2"),
        StoredEvent("globex", 1, "CompanyRegistered", b""),
    ]
    first = chain_link(GENESIS, "acme", 1, "CompanyRegistered", b"1")
    second = chain_link(first, uuid.hex, 2, "SharesIssued", b"2")
    third = chain_link(second, "globex", 1, "CompanyRegistered", b"")
    assert list(chained(GENESIS, events)) == [
        ("acme", 1, "CompanyRegistered", b"1", first),
        (uuid.hex, 2, "SharesIssued", b"2", second),
        ("globex", 1, "CompanyRegistered", b"", third),
    ]
