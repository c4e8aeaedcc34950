"""Reading event files: YAML, JSON (a list of events) or JSON Lines, or standard input.

Each item comes out with the place it came from (``acme.yaml item 3``, ``feed.jsonl line
12``) so every later error can name it. Nothing is validated here beyond the file's syntax.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml

from .domain.errors import InputError

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
        if self.text is None:
            return self._data
        try:
            return _JSON.decode(self.text)
        except json.JSONDecodeError as e:
            raise InputError(f"{self.where}: malformed JSON at column {e.colno}: {e.msg}") from None

    @property
    def data(self) -> Any:
        return self.value()

    def __repr__(self) -> str:
        return f"Item({self.where!r}, {self._data if self.text is None else self.text!r})"


_JSON = json.JSONDecoder(parse_float=Decimal)
"""Numbers with a fraction become exact Decimals; one decoder for every line."""


class _Loader(yaml.SafeLoader):
    """YAML without implicit timestamps: dates stay strings, so an impossible date is
    reported by the event's validation with its item and field, not as a YAML crash."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


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


def _text(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not an event file") from None
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None


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
    text = _text(path)
    if fmt == "yaml":
        try:
            document = yaml.load(text, Loader=_Loader)
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise InputError(f"{name}: malformed YAML{where}: {e.problem}") from None
        except yaml.YAMLError as e:
            raise InputError(f"{name}: malformed YAML: {e}") from None
    else:
        try:
            document = _JSON.decode(text)
        except json.JSONDecodeError as e:
            raise InputError(
                f"{name}: malformed JSON at line {e.lineno}, column {e.colno}: {e.msg}"
            ) from None
    for number, data in enumerate(_as_list(name, document), start=1):
        yield Item(f"{name} item {number}", data)


def _read_jsonl(path: str, name: str) -> Iterator[Item]:
    if path == "-":
        lines = sys.stdin
    else:
        try:
            lines = open(path, encoding="utf-8")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            raise InputError(f"{path}: no such file") from None
        except OSError as e:
            raise InputError(f"{path}: cannot read: {e.strerror}") from None
    try:
        for number, line in enumerate(lines, start=1):
            if line.isspace():
                continue
            # Decoded (and validated) later, in one pass: ``Item.value``.
            yield Item(f"{name} line {number}", None, line.rstrip("\r\n"))
    except UnicodeDecodeError as e:
        raise InputError(f"{name}: not UTF-8 text ({e.reason})") from None
    finally:
        if lines is not sys.stdin:
            lines.close()
