"""Reading event files: the encodings, line ends and shapes accepted, and every file refused
before it reaches a parser that could be made to run out of memory, time or stack."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from ledger.batch import validate_all
from ledger.domain.errors import InputError
from ledger.files import MAX_DEPTH, MAX_FILE_BYTES, MAX_LINE_CHARS, read_items

EVENT = {
    "type": "SharesIssued",
    "company": "acme",
    "holder": "ana",
    "share_class": "common",
    "shares": 5,
    "effective_date": "2020-01-01",
}
LINE = json.dumps(EVENT)
YAML = (
    "- type: SharesIssued\n  company: acme\n  holder: ana\n  share_class: common\n"
    "  shares: 5\n  effective_date: 2020-01-01\n"
)
BOM = b"\xef\xbb\xbf"


def write(tmp_path: Path, name: str, content: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def read(path: str, input_format: str | None = None) -> list[Any]:
    """What the ledger gets from a file: each item's place and decoded event."""
    return [(item.where, item.data) for item in read_items(path, input_format)]


def refusal(path: str, input_format: str | None = None) -> str:
    with pytest.raises(InputError) as refused:
        validate_all(read_items(path, input_format), 1)
    return str(refused.value)


def on_stdin(monkeypatch: pytest.MonkeyPatch, content: bytes) -> None:
    stdin = io.TextIOWrapper(io.BufferedReader(io.BytesIO(content)), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)


# --- accepted: UTF-8 with or without a byte-order mark, LF or CRLF ---


@pytest.mark.parametrize(
    ("name", "content"),
    [
        pytest.param("a.json", json.dumps([EVENT]).encode(), id="JSON"),
        pytest.param("a.json", BOM + json.dumps([EVENT], indent=1).encode(), id="JSON, BOM"),
        pytest.param(
            "a.json",
            BOM + json.dumps([EVENT], indent=1).replace("\n", "\r\n").encode(),
            id="JSON, BOM, CRLF",
        ),
        pytest.param("a.yaml", YAML.encode(), id="YAML"),
        pytest.param("a.yaml", BOM + YAML.encode(), id="YAML, BOM"),
        pytest.param("a.yaml", YAML.replace("\n", "\r\n").encode(), id="YAML, CRLF"),
        pytest.param("a.yml", BOM + YAML.replace("\n", "\r\n").encode(), id="YAML, BOM, CRLF"),
    ],
)
def test_a_utf8_file_reads_the_same_with_or_without_a_bom_and_with_either_line_end(
    tmp_path: Path, name: str, content: bytes
) -> None:
    path = write(tmp_path, name, content)
    assert read(path) == [(f"{path} item 1", EVENT)]


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(f"{LINE}\n\n{LINE}\n".encode(), id="LF"),
        pytest.param(BOM + f"{LINE}\r\n\r\n{LINE}\r\n".encode(), id="BOM, CRLF"),
        pytest.param(BOM + f"{LINE}\r\n\r\n{LINE}".encode(), id="BOM, CRLF, no last line end"),
    ],
)
def test_a_json_lines_file_validates_the_same_with_or_without_a_bom_and_with_either_line_end(
    tmp_path: Path, content: bytes
) -> None:
    path = write(tmp_path, "a.jsonl", content)
    facts = validate_all(read_items(path), 1)
    assert [(fact.model_dump(exclude_none=True), where) for fact, where in facts] == [
        ({**EVENT, "effective_date": facts[0][0].effective_date}, f"{path} line 1"),
        ({**EVENT, "effective_date": facts[0][0].effective_date}, f"{path} line 3"),
    ]


@pytest.mark.parametrize(
    ("input_format", "content", "where"),
    [
        pytest.param(
            "yaml", BOM + YAML.replace("\n", "\r\n").encode(), "<stdin> item 1", id="YAML"
        ),
        pytest.param("json", BOM + json.dumps([EVENT]).encode(), "<stdin> item 1", id="JSON"),
        pytest.param("jsonl", BOM + f"{LINE}\r\n".encode(), "<stdin> line 1", id="JSON Lines"),
    ],
)
def test_standard_input_with_a_bom_and_crlf_reads_as_a_file_does(
    monkeypatch: pytest.MonkeyPatch, input_format: str, content: bytes, where: str
) -> None:
    on_stdin(monkeypatch, content)
    assert read("-", input_format) == [(where, EVENT)]


def test_an_event_nested_as_deep_as_a_correction_with_money_reads_in_every_format(
    tmp_path: Path,
) -> None:
    correction = {
        "type": "EventCorrected",
        "replacement": {"amount": {"amount": "1.5", "currency": "USD"}, "note": '[{"]}'},
    }
    json_path = write(tmp_path, "a.json", json.dumps([correction]).encode())
    yaml_path = write(tmp_path, "a.yaml", json.dumps([correction]).encode())
    jsonl_path = write(tmp_path, "a.jsonl", json.dumps(correction).encode())
    assert [read(json_path), read(yaml_path), read(jsonl_path)] == [
        [(f"{json_path} item 1", correction)],
        [(f"{yaml_path} item 1", correction)],
        [(f"{jsonl_path} line 1", correction)],
    ]


def test_brackets_and_escaped_quotes_inside_strings_do_not_count_as_nesting(
    tmp_path: Path,
) -> None:
    note = '\\"[' * 100 + "{" * 100
    path = write(tmp_path, "a.json", f'[{{"note": "{note}"}}]'.encode())
    jsonl = write(tmp_path, "a.jsonl", f'{{"note": "{note}"}}'.encode())
    expected = {"note": '"[' * 100 + "{" * 100}
    assert (read(path), read(jsonl)) == (
        [(f"{path} item 1", expected)],
        [(f"{jsonl} line 1", expected)],
    )


def test_nesting_up_to_the_limit_reads(tmp_path: Path) -> None:
    deepest: list[Any] = []
    for _ in range(MAX_DEPTH - 2):
        deepest = [deepest]
    text = json.dumps([deepest])
    json_path = write(tmp_path, "a.json", text.encode())
    yaml_path = write(tmp_path, "a.yaml", text.encode())
    jsonl_path = write(tmp_path, "a.jsonl", text.encode())
    assert (read(json_path), read(yaml_path), read(jsonl_path)) == (
        [(f"{json_path} item 1", deepest)],
        [(f"{yaml_path} item 1", deepest)],
        [(f"{jsonl_path} line 1", [deepest])],
    )


# --- refused: other encodings ---


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        pytest.param("a.json", json.dumps([EVENT]).encode("utf-16"), "is UTF-16", id="UTF-16"),
        pytest.param("a.yaml", YAML.encode("utf-16-le"), "is UTF-16", id="UTF-16 without a BOM"),
        pytest.param(
            "a.yaml", YAML.encode("utf-16-be"), "is UTF-16", id="UTF-16 big-endian, no BOM"
        ),
        pytest.param("a.jsonl", f"{LINE}\n".encode("utf-16"), "is UTF-16", id="JSON Lines"),
        pytest.param("a.json", json.dumps([EVENT]).encode("utf-32"), "is UTF-32", id="UTF-32"),
        pytest.param(
            "a.jsonl", f"{LINE}\n".encode("utf-32-le"), "is UTF-32", id="UTF-32 without a BOM"
        ),
    ],
)
def test_a_utf16_or_utf32_file_is_named_as_such(
    tmp_path: Path, name: str, content: bytes, problem: str
) -> None:
    path = write(tmp_path, name, content)
    assert refusal(path) == f"{path}: {problem}; save it as UTF-8"


def test_invalid_utf8_in_a_yaml_file_is_refused_with_its_line_byte_and_offset(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "a.yaml", b"- type: SharesIssued\n  holder: Jos\xe9\n")
    assert refusal(path) == (
        f"{path} line 2: not UTF-8 text (byte 0xe9 at offset 34); save it as UTF-8"
    )


def test_invalid_utf8_in_a_json_file_after_a_bom_counts_the_bom_in_the_offset(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "a.json", BOM + b'["\x80"]')
    assert refusal(path) == (
        f"{path} line 1: not UTF-8 text (byte 0x80 at offset 5); save it as UTF-8"
    )


def test_invalid_utf8_deep_in_a_json_lines_file_is_refused_with_its_line_and_offset(
    tmp_path: Path,
) -> None:
    good = f"{LINE}\n".encode()
    path = write(tmp_path, "a.jsonl", good * 1000 + b'{"holder": "Jos\xe9"}\n' + good)
    assert refusal(path) == (
        f"{path} line 1001: not UTF-8 text (byte 0xe9 at offset {len(good) * 1000 + 15}); "
        "save it as UTF-8"
    )


def test_invalid_utf8_in_json_lines_on_a_pipe_names_the_byte(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Pipe(io.BytesIO):
        def seekable(self) -> bool:
            return False

    stdin = io.TextIOWrapper(io.BufferedReader(Pipe(f"{LINE}\n".encode() + b"\xff\n")))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert refusal("-", "jsonl") == "<stdin>: not UTF-8 text (byte 0xff); save it as UTF-8"


# --- refused: nesting ---


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    ("name", "content", "where"),
    [
        pytest.param("a.json", f"[{DEEP}]", "", id="JSON"),
        pytest.param("a.jsonl", f"{LINE}\n{DEEP}\n", " line 2", id="JSON Lines"),
        pytest.param(
            "a.jsonl", f'{{"note": {DEEP}}}\n', " line 1", id="JSON Lines, inside an event"
        ),
        pytest.param("a.yaml", f"- {LINE}\n- {DEEP}\n", " line 2", id="YAML, flow style"),
        pytest.param("a.yaml", "- " * 100_000 + "x\n", " line 1", id="YAML, block style"),
        pytest.param("a.yaml", "[" * 100_000, " line 1", id="YAML, never closed"),
        pytest.param("a.json", "[" * 100_000, "", id="JSON, never closed"),
    ],
)
def test_nesting_beyond_the_limit_is_refused_before_any_parser_recurses(
    tmp_path: Path, name: str, content: str, where: str
) -> None:
    path = write(tmp_path, name, content.encode())
    assert refusal(path) == f"{path}{where}: nested more than {MAX_DEPTH} levels deep"


def test_one_level_beyond_the_limit_is_refused(tmp_path: Path) -> None:
    text = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    json_path = write(tmp_path, "a.json", text.encode())
    yaml_path = write(tmp_path, "a.yaml", text.encode())
    assert (refusal(json_path), refusal(yaml_path)) == (
        f"{json_path}: nested more than {MAX_DEPTH} levels deep",
        f"{yaml_path} line 1: nested more than {MAX_DEPTH} levels deep",
    )


# --- refused: sizes ---


def test_a_json_lines_line_longer_than_the_limit_is_refused(tmp_path: Path) -> None:
    long_note = "x" * MAX_LINE_CHARS
    path = write(tmp_path, "a.jsonl", f'{LINE}\n{{"note": "{long_note}"}}\n'.encode())
    assert refusal(path) == f"{path} line 2: longer than {MAX_LINE_CHARS:,} characters"


@pytest.mark.parametrize("name", ["a.json", "a.yaml"])
def test_a_yaml_or_json_file_larger_than_the_limit_is_refused_unread(
    tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    with path.open("wb") as sparse:
        sparse.truncate(MAX_FILE_BYTES + 1)
    assert refusal(str(path)) == (
        f"{path}: larger than 64 MiB, the most a YAML or JSON file is read whole; split it, "
        "or write it as JSON Lines"
    )


# --- refused: duplicate keys ---


def test_a_yaml_duplicate_key_is_refused_naming_the_key_and_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "a.yaml", (YAML + "  shares: 50\n").encode())
    assert refusal(path) == f"{path} line 7: duplicate key 'shares' (first on line 5)"


def test_a_yaml_duplicate_key_inside_a_nested_mapping_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "a.yaml", b"- {amount: {amount: '1', currency: USD, amount: '2'}}\n")
    assert refusal(path) == f"{path} line 1: duplicate key 'amount' (first on line 1)"


def test_a_json_duplicate_key_is_refused_naming_the_item_and_the_key(tmp_path: Path) -> None:
    repeated = LINE.replace('"shares": 5', '"shares": 5, "shares": 50')
    nested = '{"amount": {"currency": "USD", "currency": "EUR"}}'
    first = write(tmp_path, "a.json", f"[{LINE}, {repeated}, {nested}]".encode())
    second = write(tmp_path, "b.json", f"[{LINE}, {nested}]".encode())
    assert (refusal(first), refusal(second)) == (
        f"{first} item 2: duplicate key 'shares'",
        f"{second} item 2: duplicate key 'currency'",
    )


def test_a_json_lines_duplicate_key_is_not_checked_and_the_last_value_counts(
    tmp_path: Path,
) -> None:
    repeated = LINE.replace('"shares": 5', '"shares": 5, "shares": 50')
    path = write(tmp_path, "a.jsonl", repeated.encode())
    [(fact, _)] = validate_all(read_items(path), 1)
    assert fact.model_dump()["shares"] == 50


# --- refused: YAML aliases and merge keys ---


def test_a_yaml_alias_bomb_is_refused_at_its_first_alias(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [
        f"{b}: &{b} [{','.join(['*' + a] * 9)}]"
        for a, b in zip("abcdefgh", "bcdefghi", strict=True)
    ]
    path = write(tmp_path, "a.yaml", "\n".join(lines).encode())
    assert refusal(path) == (
        f"{path} line 2: YAML alias *a is not accepted in event files: write the value out"
    )


def test_a_yaml_merge_key_is_refused_even_without_an_alias(tmp_path: Path) -> None:
    path = write(tmp_path, "a.yaml", b"- type: SharesIssued\n  <<: {shares: 5}\n")
    assert refusal(path) == (
        f"{path} line 2: YAML merge key << is not accepted in event files: write the fields out"
    )


TOO_LONG = "a number of more than 4300 digits"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("a.json", f'[{{"shares": 1{"0" * 5000}}}]', f": {TOO_LONG}"),
        ("a.jsonl", f'{{"shares": 1{"0" * 5000}}}\n', f" line 1: {TOO_LONG}"),
        ("a.yaml", f"- {{shares: 1{'0' * 5000}}}\n", f": {TOO_LONG}"),
        ("a.yaml", "- !!int abc\n", ": malformed YAML: invalid literal for int() with base 10: "
         "'abc'"),
        ("a.yaml", "- {type: \x00}\n", ": malformed YAML: unacceptable character #x0000: special "
         'characters are not allowed in "<unicode string>", position 9'),
    ],
    ids=["json", "json lines", "yaml", "yaml tag", "yaml NUL"],
)  # fmt: skip
def test_a_value_python_cannot_read_is_refused_as_bad_input(
    tmp_path: Path, name: str, content: str, expected: str
) -> None:
    path = write(tmp_path, name, content.encode())
    assert " ".join(refusal(path).split()) == f"{path}{expected}"  # as one line, as printed
