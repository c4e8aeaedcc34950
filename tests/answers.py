"""Comparing answers with the answers a contract fixes: keys may be added, never renamed or
removed, so an expected answer is held, not equalled."""

from __future__ import annotations

from typing import Any


class AtLeast:
    """An expected JSON answer that the actual one must hold: every key of it, with its value
    (recursively; lists item by item). Contracts only grow: keys may be added, never renamed
    or removed."""

    def __init__(self, expected: Any) -> None:
        self.expected = expected

    def __eq__(self, actual: object) -> bool:
        return holds(actual, self.expected)

    def __repr__(self) -> str:
        return f"AtLeast({self.expected!r})"


def holds(actual: Any, expected: Any) -> bool:
    if isinstance(expected, AtLeast):
        expected = expected.expected
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and holds(actual[key], value) for key, value in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(map(holds, actual, expected))
        )
    return bool(actual == expected)
