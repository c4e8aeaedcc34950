"""``corpledger import ocf``: an Open Cap Table Format package onto the ledger's events, with
findings (docs/ocf.md).

OCF tracks securities: each issuance creates a ``security_id``; a terminal transaction
(transfer, cancellation, repurchase, retraction, conversion, reissuance, exercise, release)
extinguishes it, and its ``balance_security_id`` and ``resulting_security_ids`` are new
positions, issued by their own issuance objects. The ledger tracks holdings. The importer
replays the securities itself (``Mapper``) and writes, for each transaction, the change of
holdings it makes: a transfer becomes ``SharesTransferred``, a cancellation
``SharesCancelled``, and the issuances of its balance and resulting securities are part of
it, not issuances of their own.

Every object is judged first against its own OCF schema (``schemas.object_errors``), then for
what the ledger needs (ids that resolve, numbers that add up, securities still in force).
What cannot be mapped faithfully is a finding; an object with an ``error`` finding is left
out, and with it what depends on it. The events left go to the ledger as one atomic batch:
recorded at once when there is no error (or ``skip_invalid`` says to store the rest), else
checked only (a dry run). An object whose events break one of the ledger's rules is left
out as well (the refusal stored nothing) and the package mapped and offered again without
it, until the ledger accepts the whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from ..domain.errors import InputError, RuleViolation
from ..files import Item
from .mapping import Mapper
from .objects import Finding, Loaded
from .package import Package

if TYPE_CHECKING:
    from ..app import Ledger

__all__ = ["Finding", "ImportResult", "import_package"]


class ImportResult(BaseModel):
    """What an import did: the company, how many events the package maps to, how many were
    stored and how many the ledger already had (same external_id, same content), and every
    finding. Nothing is stored in a dry run, nor when there is an error finding without
    ``skip_invalid``."""

    company: str
    events: int
    stored: int
    skipped: int
    findings: list[Finding]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]


def import_package(
    ledger: Ledger,
    path: str | Path,
    *,
    company: str | None = None,
    dry_run: bool = False,
    skip_invalid: bool = False,
    actor: str | None = None,
) -> ImportResult:
    """Read the OCF package at ``path`` (a directory or a ``.zip`` with its manifest) into
    ``ledger`` as one atomic batch. Raises ``InputError`` for a package that cannot be read
    at all (nothing stored); anything else it meets is a finding in the result.

    The package is read once into an index (``Loaded``), then read again and replayed
    object by object: the events go to the ledger as they are mapped, which checks and
    writes them in chunks inside the one transaction, so neither the package's objects nor
    its events are ever all held. An error met on the way (without ``skip_invalid``) stops
    the record, which stores nothing, and the package is replayed again as a check only."""
    with Package(Path(path)) as package:  # open while the replay reads it again
        loaded = Loaded.read(package, company)
        left_out: dict[str, Finding] = {}
        errors = any(f.severity == "error" for f in loaded.findings)
        store = not dry_run and (skip_invalid or not errors)
        while True:
            mapper = Mapper(loaded, left_out)
            counted = _Counted(mapper.run())
            # Without skip_invalid, an error found on the way stops the record.
            stop = store and not skip_invalid
            events = _stopping(counted, mapper) if stop else counted
            try:
                recorded = ledger.record(events, actor=actor, dry_run=not store)
                break
            except _ErrorFound:
                store = False  # checked only, from the start
                continue
            except (RuleViolation, InputError) as e:
                refused = _refused(e, mapper.files)
            left_out[refused.object_id or ""] = refused
            store = store and skip_invalid  # the refusal is an error finding
    return ImportResult(
        company=loaded.company,
        events=counted.count,
        stored=len(recorded.recorded) if store else 0,
        skipped=len(recorded.skipped),
        findings=loaded.findings + mapper.findings + list(left_out.values()),
    )


class _ErrorFound(Exception):
    """An error finding, met while recording without ``skip_invalid``: nothing is stored."""


class _Counted(Iterator[Item]):
    def __init__(self, items: Iterator[Item]) -> None:
        self.items, self.count = items, 0

    def __next__(self) -> Item:
        item = next(self.items)
        self.count += 1
        return item


def _stopping(items: Iterator[Item], mapper: Mapper) -> Iterator[Item]:
    """``items`` until the mapper finds an error (then ``_ErrorFound``)."""
    seen = 0
    for item in chain(items, [None]):
        if any(f.severity == "error" for f in mapper.findings[seen:]):
            raise _ErrorFound
        seen = len(mapper.findings)
        if item is None:
            return
        yield item


def _refused(error: RuleViolation | InputError, files: set[str]) -> Finding:
    """The first object of the package whose events the ledger's refusal names (by their
    place, ``ocf:<file>#<object id>``), as an error finding. A refusal naming no object of
    the package is raised."""
    for line in error.lines:
        where = line.split(" (", 1)[0].split(": ", 1)[0]
        for file in files:
            prefix = f"ocf:{file}#"
            if where.startswith(prefix):
                rest = line[len(where) :].lstrip(": ")
                return Finding(
                    code="ledger-rule", severity="error", file=file,
                    object_id=where[len(prefix) :], message=f"the ledger refuses it: {rest}",
                )  # fmt: skip
    raise error
