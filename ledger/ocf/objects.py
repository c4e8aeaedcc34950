"""A package as read, object by object: what every transaction may name, an index of the
transactions, and the findings of reading (checksums, schemas, duplicate ids)."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from sys import intern
from typing import Any, Literal

from pydantic import BaseModel

from ..domain.errors import InputError
from ..domain.values import SLUG_PATTERN
from . import schemas
from .package import MANIFEST, Package, PackageFile
from .values import ids_of, slugify

Severity = Literal["error", "warning", "info"]


class Finding(BaseModel):
    """Something the importer could not map faithfully, or an inconsistency it met."""

    code: str
    severity: Severity
    file: str
    object_id: str | None
    message: str


def file_finding(file: str, severity: Severity, code: str, message: str) -> Finding:
    """A finding about a whole file (no object)."""
    return Finding(code=code, severity=severity, file=file, object_id=None, message=message)


BRIEF = (
    "id", "object_type", "security_id", "date", "stakeholder_id", "stock_class_id",
    "stock_plan_id", "quantity",
)  # fmt: skip
"""What the replay reads of an issuance before its turn: who, what and how many the security
it issues holds (a balance or resulting security is checked against its transaction)."""

SHARED = frozenset(BRIEF) - {"id", "security_id", "quantity"}


class Obj:
    """One OCF object and the file it came from; ``seq`` is its place in the package."""

    __slots__ = ("data", "file", "id", "seq", "type")

    def __init__(self, file: str, data: dict[str, Any], seq: int) -> None:
        self.file, self.data, self.seq = file, data, seq
        value, kind = data.get("id"), data.get("object_type")
        self.id = value if isinstance(value, str) else f"#{seq}"
        self.type = kind if isinstance(kind, str) else ""

    @property
    def where(self) -> str:
        return f"ocf:{self.file}#{self.id}"

    def finding(self, severity: Severity, code: str, message: str) -> Finding:
        return Finding(
            code=code, severity=severity, file=self.file, object_id=self.id, message=message
        )

    def brief(self, keys: tuple[str, ...] = BRIEF) -> Obj:
        """The object with only the fields of ``keys``; texts that repeat from object to
        object (types, dates, the ids of parties, classes and plans) shared, not copied."""
        data = self.data
        return Obj(
            self.file,
            {k: intern(v) if k in SHARED and isinstance(v, str) else v
             for k in keys if (v := data.get(k)) is not None},
            self.seq,
        )  # fmt: skip


WITHOUT_COUNTERPART = {"STOCK_LEGEND_TEMPLATE", "DOCUMENT", "FINANCING"}
"""Object types the ledger has nothing for: one info finding per file says they are skipped."""

ISSUANCES = {
    "TX_STOCK_ISSUANCE": "stock",
    "TX_EQUITY_COMPENSATION_ISSUANCE": "award",
    "TX_PLAN_SECURITY_ISSUANCE": "award",
    "TX_WARRANT_ISSUANCE": "warrant",
    "TX_CONVERTIBLE_ISSUANCE": "convertible",
}
"""Issuance object types and the kind of security each issues."""

REFERENCES = {
    "stakeholder_id": "stakeholders",
    "stock_class_id": "classes",
    "stock_plan_id": "plans",
    "vesting_terms_id": "vesting_terms",
}
"""Fields of a transaction that name another object, and the kind they name."""


@dataclass
class Loaded:
    """A package as read once, object by object: the objects every transaction may name
    (issuer, stakeholders, classes, plans, vesting terms) whole; an index of the
    transactions and valuations (each object's date and place, the
    issuances in brief, the balance and resulting securities each transaction names, vesting
    starts, plans' first uses, references to nothing read before them); and the findings of
    reading (checksums, schemas, duplicate ids). ``replay`` reads the files of transactions
    and valuations again, object by object, in the order asked (the package stays open)."""

    company: str
    issuer: Obj
    stakeholders: list[Obj] = field(default_factory=list)
    classes: list[Obj] = field(default_factory=list)
    plans: list[Obj] = field(default_factory=list)
    vesting_terms: dict[str, Obj] = field(default_factory=dict)
    files: list[PackageFile] = field(default_factory=list)  # holding dated objects
    first_seqs: list[int] = field(default_factory=list)  # of each of those files' items
    dated: list[tuple[str, int]] = field(default_factory=list)  # (date, seq), package order
    issuances: list[Obj] = field(default_factory=list)  # in brief, package order
    children: list[tuple[Obj, list[str]]] = field(default_factory=list)
    """Each transaction (in brief; duplicates included) with the balance and resulting
    securities it names."""
    vesting_starts: dict[str, str] = field(default_factory=dict)  # security → first start
    plan_uses: dict[str, date] = field(default_factory=dict)  # plan id → first date naming it
    unresolved: list[tuple[Obj, str, Any]] = field(default_factory=list)
    """(object in brief, field, id) of each reference to no object of the package."""
    findings: list[Finding] = field(default_factory=list)

    @classmethod
    def read(cls, package: Package, company: str | None) -> Loaded:
        manifest = package.manifest
        issuer_data = manifest.get("issuer")
        if not isinstance(issuer_data, dict):
            raise InputError(f"{package.path}: {MANIFEST}: no issuer")
        issuer = Obj(MANIFEST, issuer_data, 0)
        if company is not None and not (re.match(SLUG_PATTERN, company) and len(company) <= 100):
            raise InputError(
                f"--company {company!r}: a slug is lowercase letters, digits and hyphens"
            )
        legal_name = str(issuer_data.get("legal_name") or "company")
        slug = company or slugify(legal_name)
        if company is None and not re.search("[a-z0-9]", legal_name.lower()):
            # Nothing of the name would be left in a slug: the user names the company.
            raise InputError(
                f"{package.path}: the issuer's legal name {legal_name!r} makes no slug: "
                "name the company with --company SLUG"
            )
        loaded = cls(slug, issuer)
        loaded._judge(issuer)
        version = manifest.get("ocf_version")
        for error in schemas.file_errors(manifest):
            loaded.findings.append(
                file_finding(
                    MANIFEST,
                    "warning",
                    "schema",
                    f"{error} (read as far as its meaning is clear; OCF {version})",
                )
            )
        seen: set[str] = {issuer.id}
        known: dict[str, set[str]] = {kind: set() for kind in REFERENCES.values()}
        references: list[tuple[Obj, str, Any]] = []
        seq = 0
        for file in package.files():
            first_seq, dated = seq + 1, len(loaded.dated)
            without: dict[str, int] = {}
            envelope: dict[str, Any] = {}
            for data in file.items(envelope):
                seq += 1
                if not isinstance(data, dict):
                    raise InputError(f"{package.path}: {file.path}: item {seq} is not an object")
                obj = Obj(file.path, data, seq)
                if not loaded._judge(obj):
                    continue
                if obj.id in seen:
                    loaded.findings.append(
                        obj.finding("error", "duplicate-id", "another object has this id")
                    )
                    loaded._names_children(obj)  # left out, and the securities it issues
                    continue
                seen.add(obj.id)
                kind = obj.type
                if kind in WITHOUT_COUNTERPART:
                    without[kind] = without.get(kind, 0) + 1
                elif kind == "STAKEHOLDER":
                    loaded.stakeholders.append(obj)
                    known["stakeholders"].add(obj.id)
                elif kind == "STOCK_CLASS":
                    loaded.classes.append(obj)
                    known["classes"].add(obj.id)
                elif kind == "STOCK_PLAN":
                    loaded.plans.append(obj)
                    known["plans"].add(obj.id)
                elif kind == "VESTING_TERMS":
                    loaded.vesting_terms[obj.id] = obj
                    known["vesting_terms"].add(obj.id)
                elif kind == "ISSUER":
                    loaded.findings.append(
                        obj.finding("warning", "not-held", "a second issuer: only the manifest's")
                    )
                else:
                    loaded._index(obj, known, references)
            if not isinstance(envelope.get("items"), list):
                raise InputError(f"{package.path}: {file.path}: items is not a list")
            if file.recorded_md5 is not None and file.recorded_md5.lower() != file.actual_md5:
                loaded.findings.append(
                    file_finding(
                        file.path,
                        "warning",
                        "checksum-mismatch",
                        f"the manifest records md5 {file.recorded_md5}, the file has "
                        f"{file.actual_md5}; its content is read as it is",
                    )
                )
            for error in schemas.file_errors(envelope):
                loaded.findings.append(file_finding(file.path, "warning", "schema", str(error)))
            for kind, count in sorted(without.items()):
                loaded.findings.append(
                    file_finding(
                        file.path,
                        "info",
                        "not-held",
                        f"{count} {kind} object(s): the ledger has nothing for them",
                    )
                )
            if len(loaded.dated) > dated:  # read again in the replay
                loaded.files.append(file)
                loaded.first_seqs.append(first_seq)
        loaded.unresolved = [
            (obj, key, ref)
            for obj, key, ref in references
            if not (isinstance(ref, str) and ref in known[REFERENCES[key]])
        ]
        return loaded

    def _index(
        self, obj: Obj, known: dict[str, set[str]], references: list[tuple[Obj, str, Any]]
    ) -> None:
        """A transaction or valuation, as the replay needs it before its turn."""
        data = obj.data
        day = data.get("effective_date" if obj.type == "VALUATION" else "date")
        self.dated.append((intern(day) if isinstance(day, str) else "", obj.seq))
        security = data.get("security_id")
        if obj.type in ISSUANCES:
            self.issuances.append(obj.brief())
        elif obj.type == "TX_VESTING_START" and isinstance(security, str):
            self.vesting_starts.setdefault(security, str(day))
        self._names_children(obj)
        plan = data.get("stock_plan_id")
        if isinstance(plan, str) and isinstance(day, str):
            try:
                used = date.fromisoformat(day)
            except ValueError:
                pass  # said when the object is mapped
            else:
                if plan not in self.plan_uses or used < self.plan_uses[plan]:
                    self.plan_uses[plan] = used
        # A reference to no object read so far: unresolved unless defined later.
        for key, kind in REFERENCES.items():
            ref = data.get(key)
            if ref is not None and not (isinstance(ref, str) and ref in known[kind]):
                references.append((obj.brief(), key, ref))

    def _names_children(self, obj: Obj) -> None:
        children = ids_of(obj.data, "resulting_security_ids")
        balance = obj.data.get("balance_security_id")
        if isinstance(balance, str) and balance:
            children.append(balance)
        if children:  # the transaction named in findings only
            self.children.append((obj.brief(("id", "object_type")), children))

    def replay(self, seqs: list[int]) -> Iterator[Obj]:
        """The dated objects of ``seqs``, in that order, each file read and its items
        decoded again one at a time. An object decoded before its turn waits for it (none
        waits when each file is in date order)."""
        wanted = set(seqs)
        streams = [self._objects(i) for i in range(len(self.files))]
        waiting: dict[int, Obj] = {}
        for seq in seqs:
            if seq in waiting:
                yield waiting.pop(seq)
                continue
            for obj in streams[bisect_right(self.first_seqs, seq) - 1]:
                if obj.seq == seq:
                    yield obj
                    break
                if obj.seq in wanted:
                    waiting[obj.seq] = obj

    def _objects(self, index: int) -> Iterator[Obj]:
        file = self.files[index]
        for seq, data in enumerate(file.items(), start=self.first_seqs[index]):
            yield Obj(file.path, data, seq)

    def _judge(self, obj: Obj) -> bool:
        """Schema findings of an object; False when its object_type is unknown (left out)."""
        errors = schemas.object_errors(obj.data)
        if errors and errors[0].path == "/object_type" and "unknown" in errors[0].message:
            self.findings.append(obj.finding("error", "unknown-object-type", errors[0].message))
            return False
        if errors:
            shown = "; ".join(str(e) for e in errors[:3])
            more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
            self.findings.append(
                obj.finding(
                    "warning",
                    "schema",
                    f"not valid against its {obj.type} schema: {shown}{more}; mapped as far "
                    "as its meaning is clear",
                )
            )
        return True
