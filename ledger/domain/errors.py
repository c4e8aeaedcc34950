"""One error hierarchy, rooted at ``LedgerError``. Each carries a one-line message for people
and the exit code the command line uses."""

from __future__ import annotations

from .values import MAX_TOTAL


class LedgerError(Exception):
    """Anything the ledger refuses or cannot do; ``str()`` is a sentence for a person."""

    exit_code = 1

    @property
    def lines(self) -> list[str]:
        """The message as the lines a person reads: one, but for an ``InputError`` listing
        several problems."""
        return [str(self)]


class InputError(LedgerError):
    """Bad input: a file, item or field that cannot be read or is not valid. Nothing stored.

    It may list several problems (the invalid items of a batch), one line each."""

    exit_code = 2

    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems

    @property
    def lines(self) -> list[str]:
        return list(self.problems)


class UnknownCompany(InputError):
    """A company the ledger does not hold; the message says where the ledger looked (the
    HTTP API answers 404 naming the company alone: its clients need not know the store)."""

    def __init__(self, company: str, where: str) -> None:
        super().__init__(f"unknown company {company!r} in {where}")
        self.company = company


class RuleViolation(LedgerError):
    """An event would break an invariant at some date of the company's timeline. Nothing stored.

    ``rule`` is the invariant's number (``RULES``, docs/rules.md), or ``"bounds"`` (what
    the ledger derives or sums stays within its bounds); the message names the event, the date
    and the numbers."""

    exit_code = 2

    def __init__(self, message: str, *, rule: int | str) -> None:
        super().__init__(message)
        self.rule = rule


class ConflictError(LedgerError):
    """A concurrent writer kept changing the same companies; retries ran out."""


class StoreError(LedgerError):
    """The database could not be reached, read or written."""


RULES: dict[int | str, str] = {
    1: "the company exists from its registration",
    2: "shares need their class, within its authorized shares",
    3: "no holding is ever negative",
    4: "officers: one CEO at a time, no office held twice, no departure from an office not held",
    5: "the board: directors within the board size, retained seats need a sitting director",
    6: "a correction targets an event of the company in force and keeps the timeline valid",
    7: "a plan's available shares are never negative",
    8: (
        "instruments: exercises within what is exercisable or outstanding and never after "
        "expiry, cancellations within what is outstanding, ids used once, a convertible "
        "settles once"
    ),
    "bounds": "what the ledger derives or sums stays within 10^18",
}
"""The rules by number (the invariants of docs/rules.md), and the bounds of derived and summed
numbers (a derived count, a split's result, a class or company total, a derived valuation)."""


def rule_name(rule: int | str) -> str:
    """A rule as messages name it: ``rule 3 (no holding is ever negative)``."""
    return f"rule {rule} ({RULES[rule]})"


class Broken(Exception):
    """A rule does not hold for a fact at its date (internal; becomes a RuleViolation)."""

    def __init__(self, rule: int | str, detail: str) -> None:
        super().__init__(detail)
        self.rule = rule
        self.detail = detail


BOUND = f"{MAX_TOTAL:,} (10^18)"
"""The bound of derived and summed numbers as messages write it."""
