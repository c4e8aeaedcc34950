"""An OCF package on disk: a directory or a ``.zip`` holding ``Manifest.ocf.json`` and the
files it lists, read one file at a time.

A package is outside input: every way it can be unreadable (no manifest, a name that climbs
out of the package, malformed or non-OCF JSON, a number too long to read) is one
``InputError`` line naming the file; nothing is read past it. Whether the content makes
sense is the importer's business (findings), not this module's.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ..domain.errors import InputError

MANIFEST = "Manifest.ocf.json"

MAX_FILE_BYTES = 512 * 1024 * 1024
"""The largest file read from a package (a zip member is checked before it is inflated)."""

FILE_LISTS = (
    "stakeholders_files",
    "stock_classes_files",
    "stock_plans_files",
    "vesting_terms_files",
    "stock_legend_templates_files",
    "documents_files",
    "financings_files",
    "transactions_files",
    "valuations_files",
)
"""The manifest's lists of files, in the order the importer reads them: who and what exists
before what happens to it, and a valuation after the transactions of its date (it is priced
on the shares outstanding at the end of that day)."""


@dataclass(frozen=True)
class PackageFile:
    """One file the manifest lists: its path as listed, the md5 it records (or None), and the
    md5 of what is there."""

    path: str
    recorded_md5: str | None
    actual_md5: str
    document: dict[str, Any]


class Package:
    """A package's manifest and a reader of the files it lists."""

    def __init__(self, path: Path) -> None:
        if path.name == MANIFEST and path.is_file():
            path = path.parent  # the manifest names its package
        self.path = path
        if path.is_dir():
            self._zip: zipfile.ZipFile | None = None
            if not (path / MANIFEST).is_file():
                raise InputError(f"{path}: no {MANIFEST} in the directory")
        elif path.is_file() and zipfile.is_zipfile(path):
            self._zip = zipfile.ZipFile(path)
        elif path.exists():
            raise InputError(f"{path}: not an OCF package (a directory or a .zip)")
        else:
            raise InputError(f"{path}: no such file or directory")
        try:
            self._root = self._zip_root() if self._zip is not None else ""
            self.manifest = self._document(MANIFEST)
        except InputError:
            self.close()
            raise
        if self.manifest.get("file_type") != "OCF_MANIFEST_FILE":
            self.close()
            raise InputError(f"{path}: {MANIFEST}: file_type is not OCF_MANIFEST_FILE")

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> Package:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _zip_root(self) -> str:
        """The folder of the zip holding the manifest ("" at the top); every member name is
        checked first: none may climb out of the package."""
        assert self._zip is not None
        roots = []
        for name in self._zip.namelist():
            parts = PurePosixPath(name).parts
            if name.startswith(("/", "\\")) or ".." in parts or "\\" in name or ":" in name:
                raise InputError(f"{self.path}: archive member {name!r} points outside the package")
            if parts and parts[-1] == MANIFEST:
                roots.append("/".join(parts[:-1]))
        if not roots:
            raise InputError(f"{self.path}: no {MANIFEST} in the archive")
        return min(roots, key=len)

    def _bytes(self, name: str) -> bytes:
        """The bytes of a file named relative to the manifest's folder."""
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if PurePosixPath(name).is_absolute() or ".." in parts:
            raise InputError(f"{self.path}: {name}: the manifest names a file outside the package")
        relative = "/".join(p for p in parts if p != ".")
        if self._zip is None:
            file = self.path / relative
            if not file.is_file():
                raise InputError(f"{self.path}: {name}: no such file in the package")
            if file.stat().st_size > MAX_FILE_BYTES:
                raise InputError(f"{self.path}: {name}: larger than {MAX_FILE_BYTES} bytes")
            return file.read_bytes()
        member = f"{self._root}/{relative}" if self._root else relative
        try:
            info = self._zip.getinfo(member)
        except KeyError:
            raise InputError(f"{self.path}: {name}: no such file in the package") from None
        if info.file_size > MAX_FILE_BYTES:
            raise InputError(f"{self.path}: {name}: larger than {MAX_FILE_BYTES} bytes")
        try:
            return self._zip.read(member)
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise InputError(f"{self.path}: {name}: unreadable archive member: {e}") from None

    def _document(self, name: str, data: bytes | None = None) -> dict[str, Any]:
        data = self._bytes(name) if data is None else data
        try:
            document = json.loads(data.decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise InputError(f"{self.path}: {name}: not UTF-8 text") from None
        except RecursionError:
            raise InputError(f"{self.path}: {name}: JSON nested too deeply") from None
        except json.JSONDecodeError as e:
            raise InputError(
                f"{self.path}: {name}: malformed JSON at line {e.lineno} column {e.colno}: {e.msg}"
            ) from None
        except ValueError as e:  # an integer of more digits than Python converts
            raise InputError(f"{self.path}: {name}: unreadable JSON: {e}") from None
        if not isinstance(document, dict) or not isinstance(document.get("file_type"), str):
            raise InputError(f"{self.path}: {name}: not an OCF file (no file_type)")
        return document

    def files(self) -> Iterator[PackageFile]:
        """Each file the manifest lists, read when reached, in ``FILE_LISTS`` order."""
        for key in FILE_LISTS:
            listed = self.manifest.get(key) or []
            if not isinstance(listed, list):
                raise InputError(f"{self.path}: {MANIFEST}: {key} is not a list")
            for entry in listed:
                if not isinstance(entry, dict) or not isinstance(entry.get("filepath"), str):
                    raise InputError(f"{self.path}: {MANIFEST}: {key}: an entry without filepath")
                name = entry["filepath"]
                data = self._bytes(name)
                md5 = entry.get("md5")
                yield PackageFile(
                    name.removeprefix("./"),
                    md5 if isinstance(md5, str) else None,
                    hashlib.md5(data, usedforsecurity=False).hexdigest(),
                    self._document(name, data),
                )
