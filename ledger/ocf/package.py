"""An OCF package on disk: a directory or a ``.zip`` holding ``Manifest.ocf.json`` and the
files it lists, read one file at a time, each file's items decoded one at a time as it is
read.

A package is outside input: every way it can be unreadable (no manifest, a name that climbs
out of the package, malformed or non-OCF JSON, a number too long to read) is one
``InputError`` line naming the file; nothing is read past it. Whether the content makes
sense is the importer's business (findings), not this module's.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from json.scanner import make_scanner
from pathlib import Path, PurePosixPath
from typing import IO, Any, cast

from ..domain.errors import InputError
from ..files import TOO_LONG_NUMBER

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


_SCAN: Callable[[str, int], tuple[Any, int]] = make_scanner(cast(Any, json.JSONDecoder()))
"""Decodes the one JSON value starting at an index: ``(value, end)``."""
_SPACE = re.compile(r"[ \t\n\r]*")


def _skip(text: str, at: int) -> int:
    """Past the JSON white space at ``at``."""
    space = _SPACE.match(text, at)
    return space.end() if space else at


CHUNK_BYTES = 1 << 20
"""How much of a file is read at a time."""


class _Text:
    """A file's text, read a chunk at a time: ``text[at:]`` is what is read and not yet
    consumed; ``line`` and ``column`` place the start of ``text`` in the file (for error
    messages)."""

    def __init__(self, raw: IO[bytes], digest: Any) -> None:
        self.raw, self.digest = raw, digest
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.text, self.at, self.ended = "", 0, False
        self.line, self.column = 1, 1

    def more(self) -> bool:
        """Read the next chunk (after dropping what is consumed); False at the end."""
        if self.ended:
            return False
        data = self.raw.read(CHUNK_BYTES)
        self.digest.update(data)
        self.ended = not data
        dropped, rest = self.text[: self.at], self.text[self.at :]
        newlines = dropped.count("\n")
        self.line += newlines
        self.column = len(dropped) - dropped.rfind("\n") if newlines else self.column + len(dropped)
        self.text, self.at = rest + self.decoder.decode(data, final=self.ended), 0
        return True

    def char(self) -> str:
        """The next character that is not white space ("" at the end), not consumed."""
        while True:
            self.at = _skip(self.text, self.at)
            if self.at < len(self.text) or not self.more():
                return self.text[self.at : self.at + 1]

    def expect(self, chars: str, what: str) -> str:
        char = self.char()
        if not char or char not in chars:
            raise self.error(f"Expecting {what}")
        self.at += 1
        return char

    def value(self) -> Any:
        """The JSON value starting here, consumed. A value is taken only with a character
        after it (or at the end of the file): a number cut by a chunk would read short."""
        self.char()
        while True:
            try:
                value, end = _SCAN(self.text, self.at)
                if end < len(self.text) or self.ended:
                    self.at = end
                    return value
            except StopIteration as e:
                if self.ended:
                    raise self.error("Expecting value", e.value) from None
            except json.JSONDecodeError as e:
                if self.ended:
                    raise self.error(e.msg, e.pos) from None
            self.more()

    def values(self) -> Iterator[Any]:
        """The values of the JSON array whose ``[`` is just consumed, one at a time. The
        common case (a value and its delimiter within the chunk) is read here; the rest
        through ``value`` and ``expect``, which read on."""
        space, scan = _SPACE.match, _SCAN
        if self.char() == "]":
            self.at += 1
            return
        while True:
            text = self.text
            start = space(text, self.at).end()  # type: ignore[union-attr]
            try:
                value, end = scan(text, start)
                after = space(text, end).end()  # type: ignore[union-attr]
                delimiter = text[after] if after < len(text) else ""
            except (StopIteration, json.JSONDecodeError):
                delimiter = ""
            if delimiter in (",", "]"):
                self.at = after + 1
            else:
                value = self.value()
                delimiter = self.expect(",]", "',' delimiter")
            yield value
            if delimiter == "]":
                return

    def error(self, message: str, at: int | None = None) -> json.JSONDecodeError:
        """A decoding error at ``at`` (default: here), placed in the whole file."""
        error = json.JSONDecodeError(message, self.text, self.at if at is None else at)
        if error.lineno == 1:
            error.colno += self.column - 1
        error.lineno += self.line - 1
        return error


@dataclass
class PackageFile:
    """One file the manifest lists: its path as listed, the md5 it records (or None), and the
    md5 of what is there once its items are read. Its items are decoded one at a time as the
    file is read (``items``): neither its text nor its objects are ever held whole."""

    package: Path
    path: str
    recorded_md5: str | None
    open: Callable[[], IO[bytes]]
    actual_md5: str | None = None

    def items(self, envelope: dict[str, Any] | None = None) -> Iterator[Any]:
        """Each item of the file's ``items`` array, decoded when reached. The file's other
        members go into ``envelope`` as they are passed (``items`` itself as ``[]``), so it
        is whole once the items are. Raises ``InputError`` for text that is not an OCF file."""
        envelope = {} if envelope is None else envelope
        digest = hashlib.md5(usedforsecurity=False)
        not_ocf = InputError(f"{self.package}: {self.path}: not an OCF file (no file_type)")
        try:
            with self.open() as raw:
                text = _Text(raw, digest)
                if text.char() != "{":
                    text.value()  # malformed JSON says so; anything else is not an OCF file
                    raise not_ocf
                text.at += 1
                while text.char() != "}":
                    if text.char() != '"':
                        raise text.error("Expecting property name enclosed in double quotes")
                    key = text.value()
                    text.expect(":", "':' delimiter")
                    if key == "items" and text.char() == "[":
                        text.at += 1
                        yield from text.values()
                        envelope[key] = []
                    else:
                        envelope[key] = text.value()
                    if text.char() == ",":
                        text.at += 1
                    elif text.char() != "}":
                        raise text.error("Expecting ',' delimiter")
                text.at += 1
                if text.char():
                    raise text.error("Extra data")
        except UnicodeDecodeError:
            raise InputError(f"{self.package}: {self.path}: not UTF-8 text") from None
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as e:
            # NotImplementedError: a compression method zipfile does not read.
            raise InputError(f"{self.package}: {self.path}: unreadable: {e}") from None
        except (json.JSONDecodeError, RecursionError, ValueError) as e:
            raise _unreadable(self.package, self.path, e) from None
        self.actual_md5 = digest.hexdigest()
        if not isinstance(envelope.get("file_type"), str):
            raise not_ocf


def _unreadable(package: Path, name: str, error: Exception) -> InputError:
    if isinstance(error, RecursionError):
        return InputError(f"{package}: {name}: JSON nested too deeply")
    if isinstance(error, json.JSONDecodeError):
        return InputError(
            f"{package}: {name}: malformed JSON at line {error.lineno} column {error.colno}: "
            f"{error.msg}"
        )
    if "int_max_str_digits" in str(error):  # an integer of more digits than Python converts
        return InputError(f"{package}: {name}: {TOO_LONG_NUMBER}")
    return InputError(f"{package}: {name}: unreadable JSON: {error}")


def _text(package: Path, name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{package}: {name}: not UTF-8 text") from None


def _decode(package: Path, name: str, text: str) -> dict[str, Any]:
    """A whole OCF file (the manifest) decoded at once."""
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, RecursionError, ValueError) as e:
        raise _unreadable(package, name, e) from None
    if not isinstance(document, dict) or not isinstance(document.get("file_type"), str):
        raise InputError(f"{package}: {name}: not an OCF file (no file_type)")
    return document


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
            self.manifest = _decode(path, MANIFEST, _text(path, MANIFEST, self._bytes(MANIFEST)))
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

    def _opener(self, name: str) -> Callable[[], IO[bytes]]:
        """What opens a file named relative to the manifest's folder (checked first)."""
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if PurePosixPath(name).is_absolute() or ".." in parts:
            raise InputError(f"{self.path}: {name}: the manifest names a file outside the package")
        relative = "/".join(p for p in parts if p != ".")
        if self._zip is None:
            file = self.path / relative
            if not file.is_file():
                raise InputError(f"{self.path}: {name}: no such file in the package")
            if not file.resolve().is_relative_to(self.path.resolve()):
                # A symbolic link out of the package is outside it, as a ".." is.
                raise InputError(f"{self.path}: {name}: a link to a file outside the package")
            if file.stat().st_size > MAX_FILE_BYTES:
                raise InputError(f"{self.path}: {name}: larger than {MAX_FILE_BYTES} bytes")
            return lambda: file.open("rb")
        archive = self._zip
        member = f"{self._root}/{relative}" if self._root else relative
        try:
            info = archive.getinfo(member)
        except KeyError:
            raise InputError(f"{self.path}: {name}: no such file in the package") from None
        if info.file_size > MAX_FILE_BYTES:
            raise InputError(f"{self.path}: {name}: larger than {MAX_FILE_BYTES} bytes")
        if info.flag_bits & 0x1:
            raise InputError(f"{self.path}: {name}: encrypted in the archive")
        return lambda: archive.open(info)

    def _bytes(self, name: str) -> bytes:
        try:
            with self._opener(name)() as file:
                return file.read()
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as e:
            raise InputError(f"{self.path}: {name}: unreadable: {e}") from None

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
                md5 = entry.get("md5")
                yield PackageFile(
                    self.path,
                    name.removeprefix("./"),
                    md5 if isinstance(md5, str) else None,
                    self._opener(name),
                )
