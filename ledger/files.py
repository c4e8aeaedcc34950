"""Reading event files: YAML, JSON (a list of events) or JSON Lines, or standard input.

Each item comes out with the place it came from (``acme.yaml item 3``, ``feed.jsonl line
12``) so every later error can name it. Nothing is validated here beyond the file's syntax,
and what keeps a hostile or mistaken file from exhausting memory, time or the stack: UTF-8
only (with or without a byte-order mark), the size limits below, nesting at most
``MAX_DEPTH`` deep, no duplicate keys (YAML and JSON), no YAML aliases.
"""

from __future__ import annotations

import codecs
import io
import json
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from functools import partial
from itertools import accumulate
from pathlib import Path
from typing import Any, Literal, cast

from .domain.errors import InputError

MAX_FILE_BYTES = 64 * 1024 * 1024
"""A YAML or JSON file is read whole: at most 64 MiB (some 200,000 events). Longer feeds
are JSON Lines, which is read a line at a time."""
MAX_LINE_CHARS = 1024 * 1024
"""A JSON Lines line, its line end included: an event is at most a few kilobytes."""
MAX_DEPTH = 64
"""Lists and mappings open at once, the file's own list included: an event is three deep at
most (a correction's replacement holds money objects). Python's JSON and YAML parsers recurse
once a level, so nesting is counted before they see it."""

InputFormat = Literal["yaml", "json", "jsonl"]
FORMATS: dict[str, InputFormat] = {
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


class Item:
    """One event as written, and where it was written: its ``data`` as decoded, or (JSON
    Lines) its ``text``, which the ledger validates in one pass and decodes only if that
    fails (``data`` decodes it on demand)."""

    __slots__ = ("_data", "text", "where")

    def __init__(self, where: str, data: Any = None, text: str | None = None) -> None:
        self.where = where
        self._data = data
        self.text = text

    def value(self) -> Any:
        """The decoded event; malformed JSON is an ``InputError`` naming the line."""
        text = self.text
        if text is None:
            return self._data
        # Fewer brackets than MAX_DEPTH cannot nest deeper: the count spares most lines a scan.
        if text.count("[") + text.count("{") > MAX_DEPTH and _depth(text.encode()) > MAX_DEPTH:
            raise InputError(f"{self.where}: {TOO_DEEP}")
        try:
            return _JSON.decode(text)
        except json.JSONDecodeError as e:
            raise InputError(f"{self.where}: malformed JSON at column {e.colno}: {e.msg}") from None
        except ValueError:
            raise InputError(f"{self.where}: {TOO_LONG_NUMBER}") from None

    @property
    def data(self) -> Any:
        return self.value()

    def __repr__(self) -> str:
        return f"Item({self.where!r}, {self._data if self.text is None else self.text!r})"


_JSON = json.JSONDecoder(parse_float=Decimal)
"""Numbers with a fraction become exact Decimals; one decoder for every line."""

TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep"
TOO_LONG_NUMBER = f"a number of more than {sys.get_int_max_str_digits()} digits"
"""Python refuses to read a longer integer (a ValueError, the only one decoding raises)."""

_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_NOT_STRUCTURE = bytes(set(range(256)) - set(b'"[]{}'))
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1


def _depth(text: bytes) -> int:
    """How deeply JSON text nests: the most brackets open at once outside strings, counted
    in a few passes in C (a tenth of the time decoding takes), without parsing it. Escapes
    go first (an escaped quote ends no string), then all but quotes and brackets; removing
    two adjacent quotes leaves every bracket inside or outside a string as it was, and the
    few strings left (those holding brackets) go by splitting at the quotes."""
    if b"\\" in text:
        text = _ESCAPE.sub(b"", text)
    structure = text.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in structure:
        structure = b"".join(structure.split(b'"')[::2])
    return max(accumulate(map(_STEP.__getitem__, structure)), default=0)


def _json_document(name: str, text: str) -> Any:
    """A .json file decoded, refused if it nests too deeply or repeats a key in an object."""
    if _depth(text.encode()) > MAX_DEPTH:
        raise InputError(f"{name}: {TOO_DEEP}")
    repeated: list[tuple[dict[str, Any], str]] = []

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) < len(pairs):
            keys = [key for key, _ in pairs]
            repeated.append((obj, next(k for n, k in enumerate(keys) if k in keys[:n])))
        return obj

    try:
        document = json.JSONDecoder(parse_float=Decimal, object_pairs_hook=unique).decode(text)
    except json.JSONDecodeError as e:
        raise InputError(
            f"{name}: malformed JSON at line {e.lineno}, column {e.colno}: {e.msg}"
        ) from None
    except ValueError:
        raise InputError(f"{name}: {TOO_LONG_NUMBER}") from None
    if repeated:
        obj, key = repeated[0]
        items = document if isinstance(document, list) else []
        number = next((n for n, item in enumerate(items, 1) if _holds(item, obj)), None)
        where = name if number is None else f"{name} item {number}"
        raise InputError(f"{where}: duplicate key {key!r}")
    return document


def _holds(value: Any, target: object) -> bool:
    """Whether ``target`` is ``value`` or inside it (depth already bounded)."""
    if value is target:
        return True
    if isinstance(value, dict):
        return any(_holds(v, target) for v in value.values())
    if isinstance(value, list):
        return any(_holds(v, target) for v in value)
    return False


def format_of(path: str, given: str | None) -> InputFormat:
    if given is not None:
        if given not in ("yaml", "json", "jsonl"):
            raise InputError(f"unknown input format {given!r}: use yaml, json or jsonl")
        return given  # type: ignore[return-value]
    if path == "-":
        raise InputError("reading standard input needs --input-format yaml|json|jsonl")
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise InputError(
            f"{path}: cannot tell the format from the extension; use .yaml, .yml, .json or "
            ".jsonl, or --input-format"
        )
    return fmt


@contextmanager
def _opened(path: str, name: str) -> Iterator[io.BufferedReader]:
    """The file's bytes (standard input's, left open), errors reading it as InputErrors."""
    try:
        if path == "-":
            yield cast(io.BufferedReader, sys.stdin.buffer)
            return
        with open(path, "rb") as binary:
            yield binary
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a directory, not an event file") from None
    except OSError as e:
        raise InputError(f"{name}: cannot read: {e.strerror}") from None


def _refuse_other_encodings(name: str, head: bytes) -> None:
    """Refuse UTF-16 or UTF-32, told by a byte-order mark or by the zero bytes they put in
    the first characters (an event file starts with ASCII, never with a zero byte)."""
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        encoding = "UTF-32"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "UTF-16"
    elif 0 in head[:4]:
        encoding = "UTF-32" if head[:4].count(0) == 3 else "UTF-16"
    else:
        return
    raise InputError(f"{name}: is {encoding}; save it as UTF-8")


def _not_utf8(name: str, lines: Iterable[bytes], first: int = 1, offset: int = 0) -> str:
    """The message for the first byte that is not UTF-8 among ``lines`` (the file's, from
    line ``first`` at byte ``offset``): its line, value and offset in the file."""
    for number, line in enumerate(lines, start=first):
        try:
            codecs.utf_8_decode(line, "strict", False)  # a line read in part may end mid-character
        except UnicodeDecodeError as e:
            return (
                f"{name} line {number}: not UTF-8 text (byte 0x{line[e.start]:02x} at offset "
                f"{offset + e.start}); save it as UTF-8"
            )
        offset += len(line)
    return f"{name}: not UTF-8 text; save it as UTF-8"


def _whole_text(path: str, name: str) -> str:
    """A YAML or JSON file's text, read whole within ``MAX_FILE_BYTES``."""
    with _opened(path, name) as binary:
        raw = binary.read(MAX_FILE_BYTES + 1)
    return _text_of(name, raw)


def _text_of(name: str, raw: bytes) -> str:
    """A whole document's bytes as text: within ``MAX_FILE_BYTES``, UTF-8, no BOM."""
    if len(raw) > MAX_FILE_BYTES:
        raise InputError(
            f"{name}: larger than {MAX_FILE_BYTES >> 20} MiB, the most a YAML or JSON file is "
            "read whole; split it, or write it as JSON Lines"
        )
    _refuse_other_encodings(name, raw[:4])
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise InputError(_not_utf8(name, raw.splitlines(keepends=True))) from None


def _as_list(name: str, document: Any) -> list[Any]:
    if document is None:
        return []
    if not isinstance(document, list):
        raise InputError(f"{name}: expected a list of events, found {type(document).__name__}")
    return document


def read_items(path: str, input_format: str | None = None) -> Iterator[Item]:
    """The events of one file (``-`` for standard input), each with its place."""
    fmt = format_of(path, input_format)
    name = "<stdin>" if path == "-" else path
    if fmt == "jsonl":
        yield from _read_jsonl(path, name)
        return
    text = _whole_text(path, name)
    if fmt == "yaml":
        from .yaml_file import yaml_document  # PyYAML, loaded by the first YAML file read

        document = yaml_document(name, text)
    else:
        document = _json_document(name, text)
    for number, data in enumerate(_as_list(name, document), start=1):
        yield Item(f"{name} item {number}", data)


def read_document(name: str, raw: bytes, input_format: Literal["json", "jsonl"]) -> list[Item]:
    """The events of a JSON or JSON Lines document held in memory (an HTTP request's body),
    read by the same rules as a file of that format; ``name`` stands for the file's name in
    messages. A JSON Lines line is decoded here too, so every syntax error is found before
    any event is checked."""
    if input_format == "jsonl":
        lines = _jsonl_items(io.BufferedReader(io.BytesIO(raw)), name)
        return [Item(item.where, item.value()) for item in lines]
    document = _json_document(name, _text_of(name, raw))
    return [Item(f"{name} item {n}", data) for n, data in enumerate(_as_list(name, document), 1)]


def _read_jsonl(path: str, name: str) -> Iterator[Item]:
    with _opened(path, name) as binary:
        yield from _jsonl_items(binary, name)


def _jsonl_items(binary: io.BufferedReader, name: str) -> Iterator[Item]:
    """The lines of a JSON Lines document, each an undecoded ``Item``."""
    _refuse_other_encodings(name, binary.peek(4)[:4])
    # Universal newlines: a CRLF line reads as an LF one. The byte-order mark goes.
    lines = io.TextIOWrapper(binary, encoding="utf-8-sig")
    number = 0
    try:
        for number, line in enumerate(
            iter(partial(lines.readline, MAX_LINE_CHARS + 1), ""), start=1
        ):
            if len(line) > MAX_LINE_CHARS:
                raise InputError(f"{name} line {number}: longer than {MAX_LINE_CHARS:,} characters")
            if line.isspace():
                continue
            # Decoded (and validated) later, in one pass: ``Item.value``.
            yield Item(f"{name} line {number}", None, line.rstrip("\r\n"))
    except UnicodeDecodeError as e:
        raise InputError(_not_utf8_after(name, binary, number, e)) from None
    finally:
        lines.detach()  # the bytes stay open for their owner (standard input's too)


def _not_utf8_after(
    name: str, binary: io.BufferedReader, good: int, error: UnicodeDecodeError
) -> str:
    """The message for a JSON Lines file whose lines after ``good`` are not all UTF-8: read
    again from the start when it can be (a file, not a pipe), to name the line and offset
    (the text is decoded a chunk ahead of the lines read)."""
    if not binary.seekable():
        byte = error.object[error.start]
        return f"{name}: not UTF-8 text (byte 0x{byte:02x}); save it as UTF-8"
    binary.seek(0)
    offset = sum(len(binary.readline()) for _ in range(good))
    # The bad byte is within a line's first MAX_LINE_CHARS characters (a decoded chunk ahead).
    rest = iter(partial(binary.readline, 4 * MAX_LINE_CHARS + 8192), b"")
    return _not_utf8(name, rest, good + 1, offset)
