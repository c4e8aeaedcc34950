"""An event file's YAML document: PyYAML's safe loader, made stricter for event files
(``ledger.files`` describes the limits). Imported by the first YAML file read: a command that
reads none does not load PyYAML."""

from __future__ import annotations

import re
from typing import Any, cast

import yaml

from .domain.errors import InputError
from .files import MAX_DEPTH, TOO_DEEP, TOO_LONG_NUMBER


class _Loader(yaml.SafeLoader):
    """Safe YAML for event files, reading one named file.

    Without implicit timestamps: dates stay strings, so an impossible date is reported by
    the event's validation with its item and field, not as a YAML crash. Without aliases
    (nine nested aliases make a billion values) and merge keys: an event file has no use for
    them. Duplicate keys and nesting deeper than ``MAX_DEPTH`` (the composer recurses) are
    refused where they are written."""

    def __init__(self, text: str, name: str) -> None:
        super().__init__(text)
        self.source = name
        self.depth = 0

    def refuse(self, mark: Any, problem: str) -> InputError:
        line = f" line {mark.line + 1}" if mark is not None else ""
        return InputError(f"{self.source}{line}: {problem}")

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            raise self.refuse(
                event.start_mark,
                f"YAML alias *{event.anchor} is not accepted in event files: write the value out",
            )
        if not isinstance(event, yaml.CollectionStartEvent):
            return cast(yaml.Node, super().compose_node(parent, index))
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.refuse(event.start_mark, TOO_DEEP)
        try:
            return cast(yaml.Node, super().compose_node(parent, index))
        finally:
            self.depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[Any, int] = {}
        for key_node, _ in node.value:
            mark = key_node.start_mark
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise self.refuse(
                    mark, "YAML merge key << is not accepted in event files: write the fields out"
                )
            key = self.construct_object(key_node, deep=deep)
            try:
                if key in first:
                    raise self.refuse(mark, f"duplicate key {key!r} (first on line {first[key]})")
                first[key] = mark.line + 1
            except TypeError:
                pass  # an unhashable key: refused as malformed YAML by the constructor
        return cast(dict[Any, Any], super().construct_mapping(node, deep=deep))


_INT, _FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, rx)
        for tag, rx in resolvers
        if tag not in ("tag:yaml.org,2002:timestamp", _INT, _FLOAT)
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# Numbers as YAML 1.2 and JSON write them: YAML 1.1 reads 017 as octal 15, 1:30 as 90 (base
# 60), 0x1F and 0b101 as 31 and 5, silently changing a share count copied from a
# spreadsheet. Here 017 is 17; the other forms stay text, which a count or an amount refuses.
_Loader.add_implicit_resolver(_INT, re.compile(r"^[-+]?[0-9][0-9_]*$"), list("-+0123456789"))
_Loader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)


def _decimal_int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    return int(str(loader.construct_scalar(node)).replace("_", ""), 10)  # type: ignore[arg-type]


_Loader.add_constructor(_INT, _decimal_int)


def yaml_document(name: str, text: str) -> Any:
    loader: _Loader | None = None
    try:
        loader = _Loader(text, name)  # which refuses a NUL or other unprintable character
        return loader.get_single_data()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InputError(f"{name}: malformed YAML{where}: {e.problem}") from None
    except yaml.YAMLError as e:
        raise InputError(f"{name}: malformed YAML: {e}") from None
    except ValueError as e:  # a constructor's: an integer too long, or "!!int abc"
        problem = TOO_LONG_NUMBER if "int_max_str_digits" in str(e) else f"malformed YAML: {e}"
        raise InputError(f"{name}: {problem}") from None
    finally:
        if loader is not None:
            loader.dispose()
