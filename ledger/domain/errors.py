"""One error hierarchy, rooted at ``LedgerError``. Each carries a one-line message for people
and the exit code the command line uses."""

from __future__ import annotations


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


class RuleViolation(LedgerError):
    """An event would break an invariant at some date of the company's timeline. Nothing stored.

    ``rule`` is the invariant's number (``fold.RULES``, docs/rules.md), or ``"bounds"`` (what
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
