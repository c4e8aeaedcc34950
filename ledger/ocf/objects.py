"""A package's objects as read: each with its file and place, by kind, and the findings of
reading them (checksums, schemas, duplicate ids)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from ..domain.errors import InputError
from ..domain.values import SLUG_PATTERN
from . import schemas
from .package import MANIFEST, Package
from .values import slugify

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


@dataclass(frozen=True)
class Obj:
    """One OCF object and the file it came from; ``seq`` is its place in the package."""

    file: str
    data: dict[str, Any]
    seq: int

    @property
    def id(self) -> str:
        value = self.data.get("id")
        return value if isinstance(value, str) else f"#{self.seq}"

    @property
    def type(self) -> str:
        value = self.data.get("object_type")
        return value if isinstance(value, str) else ""

    @property
    def where(self) -> str:
        return f"ocf:{self.file}#{self.id}"

    def finding(self, severity: Severity, code: str, message: str) -> Finding:
        return Finding(
            code=code, severity=severity, file=self.file, object_id=self.id, message=message
        )


WITHOUT_COUNTERPART = {"STOCK_LEGEND_TEMPLATE", "DOCUMENT", "FINANCING"}
"""Object types the ledger has nothing for: one info finding per file says they are skipped."""


@dataclass
class Loaded:
    """Every object of a package, by kind, with the findings of reading it (checksums,
    schemas, duplicate ids). Transactions keep their package order."""

    company: str
    issuer: Obj
    stakeholders: list[Obj] = field(default_factory=list)
    classes: list[Obj] = field(default_factory=list)
    plans: list[Obj] = field(default_factory=list)
    vesting_terms: dict[str, Obj] = field(default_factory=dict)
    dated: list[Obj] = field(default_factory=list)  # transactions and valuations
    duplicates: list[Obj] = field(default_factory=list)  # left out; their securities too
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
        slug = company or slugify(str(issuer_data.get("legal_name") or "company"))
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
        seq = 0
        for file in package.files():
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
            for error in schemas.file_errors({**file.document, "items": []}):
                loaded.findings.append(file_finding(file.path, "warning", "schema", str(error)))
            items = file.document.get("items")
            if not isinstance(items, list):
                raise InputError(f"{package.path}: {file.path}: items is not a list")
            without: dict[str, int] = {}
            for data in items:
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
                    loaded.duplicates.append(obj)
                    continue
                seen.add(obj.id)
                kind = obj.type
                if kind in WITHOUT_COUNTERPART:
                    without[kind] = without.get(kind, 0) + 1
                elif kind == "STAKEHOLDER":
                    loaded.stakeholders.append(obj)
                elif kind == "STOCK_CLASS":
                    loaded.classes.append(obj)
                elif kind == "STOCK_PLAN":
                    loaded.plans.append(obj)
                elif kind == "VESTING_TERMS":
                    loaded.vesting_terms[obj.id] = obj
                elif kind == "ISSUER":
                    loaded.findings.append(
                        obj.finding("warning", "not-held", "a second issuer: only the manifest's")
                    )
                else:
                    loaded.dated.append(obj)
            for kind, count in sorted(without.items()):
                loaded.findings.append(
                    file_finding(
                        file.path,
                        "info",
                        "not-held",
                        f"{count} {kind} object(s): the ledger has nothing for them",
                    )
                )
        return loaded

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
