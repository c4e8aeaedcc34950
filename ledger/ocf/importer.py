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

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from ..domain.errors import InputError, RuleViolation
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
    at all (nothing stored); anything else it meets is a finding in the result."""
    path = Path(path)
    loaded: Loaded | None = _read(path, company)
    left_out: dict[str, Finding] = {}
    while True:
        if loaded is None:  # let go while the ledger recorded, which refused an object
            loaded = _read(path, company)
        mapper = Mapper(loaded, left_out)
        events = mapper.run()
        slug = loaded.company
        findings = loaded.findings + mapper.findings + list(left_out.values())
        has_errors = any(f.severity == "error" for f in findings)
        store = bool(events) and not dry_run and (skip_invalid or not has_errors)
        places = {where: (obj.file, obj.id) for where, obj in mapper.places.items()}
        del mapper
        if store:
            loaded = None  # the package's objects are not held while the ledger records
        try:
            # Recorded at once when it is to be stored: the record is atomic, a refusal
            # stores nothing, and the ledger checks the batch once instead of twice.
            recorded = ledger.record(events, actor=actor, dry_run=not store)
            break
        except (RuleViolation, InputError) as e:
            refused = _refused(e, places)
        left_out[refused.object_id or ""] = refused
    return ImportResult(
        company=slug,
        events=len(events),
        stored=len(recorded.recorded) if store else 0,
        skipped=len(recorded.skipped),
        findings=findings,
    )


def _read(path: Path, company: str | None) -> Loaded:
    with Package(path) as package:
        return Loaded.read(package, company)


def _refused(error: RuleViolation | InputError, places: dict[str, tuple[str, str]]) -> Finding:
    """The first object of the package (its file and id by the place of its events) whose
    events the ledger's refusal names, as an error finding. A refusal naming no object of
    the package is raised."""
    for line in error.lines:
        where = line.split(" (", 1)[0].split(": ", 1)[0]
        if where in places:
            file, object_id = places[where]
            rest = line[len(where) :].lstrip(": ")
            message = f"the ledger refuses it: {rest}"
            return Finding(
                code="ledger-rule", severity="error", file=file, object_id=object_id,
                message=message,
            )  # fmt: skip
    raise error
