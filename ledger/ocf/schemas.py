"""The Open Cap Table Format's JSON Schemas, resolved locally: no network, ever.

The schemas ship with corpledger (``ledger/ocf/schema/``, the OCF ``schema/`` folder as
published, each file with its copyright ``$comment``; see its LICENSE.md). Every ``$ref``
names a schema by its ``$id`` URL; a registry built from the folder resolves them all, and
the validators refuse to fetch anything.

Objects are validated against their own object schema, found by ``object_type``: the file
schemas list the item types they allow, and some lists forget valid types (the issuer
authorized-shares adjustment, stakeholder change events), so a file is checked for its
``file_type`` and the shape of its envelope only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs

SCHEMA_DIR = Path(__file__).parent / "schema"


@dataclass(frozen=True)
class SchemaError:
    """One way an object or file fails its schema: where in it, and what."""

    path: str  # a JSON pointer inside the object, "" for the object itself
    message: str

    def __str__(self) -> str:
        return f"{self.path or '/'}: {self.message}"


Schema = dict[str, Any]


@cache
def _schemas() -> tuple[jsonschema_rs.Registry, dict[str, Schema], dict[str, Schema]]:
    """The registry of every schema by $id, object schemas by object_type, file schemas by
    file_type."""
    resources: list[tuple[str, Schema]] = []
    objects: dict[str, Schema] = {}
    files: dict[str, Schema] = {}
    for path in sorted(SCHEMA_DIR.rglob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((schema["$id"], schema))
        properties = schema.get("properties", {})
        object_type = properties.get("object_type", {})
        # An enum keeps an old name beside the new (TX_PLAN_SECURITY_* and
        # TX_EQUITY_COMPENSATION_*): both name the one schema.
        names = object_type.get("enum", [object_type["const"]] if "const" in object_type else [])
        for name in names:
            objects[name] = schema
        if "const" in properties.get("file_type", {}):
            files[properties["file_type"]["const"]] = schema
    return jsonschema_rs.Registry(resources), objects, files


def object_types() -> frozenset[str]:
    """Every object_type the schemas define."""
    return frozenset(_schemas()[1])


def file_types() -> frozenset[str]:
    """Every file_type the schemas define."""
    return frozenset(_schemas()[2])


@cache
def _validator(kind: str, name: str) -> Any:
    registry, objects, files = _schemas()
    schema = objects[name] if kind == "object" else files[name]
    if kind == "file" and "items" in schema["properties"]:
        # The envelope only: items are checked one by one against their own schemas.
        schema = {**schema, "properties": {**schema["properties"], "items": {"type": "array"}}}
    return jsonschema_rs.validator_for(schema, registry=registry, offline=True)


def _errors(validator: Any, instance: Any) -> Iterator[SchemaError]:
    for error in validator.iter_errors(instance):
        pointer = "".join(f"/{part}" for part in error.instance_path)
        yield SchemaError(pointer, error.message)


def object_errors(instance: dict[str, Any]) -> list[SchemaError]:
    """How an OCF object fails the schema of its object_type; [] when it is valid.

    An object_type the schemas do not define is itself the one error."""
    object_type = instance.get("object_type")
    if not isinstance(object_type, str) or object_type not in _schemas()[1]:
        return [SchemaError("/object_type", f"unknown object_type {object_type!r}")]
    validator = _validator("object", object_type)
    if validator.is_valid(instance):  # the fast path: most objects are valid
        return []
    return list(_errors(validator, instance))


def file_errors(document: dict[str, Any]) -> list[SchemaError]:
    """How an OCF file's envelope (file_type and the fields beside its items) fails its
    schema; [] when it is valid. The items are not looked at here."""
    file_type = document.get("file_type")
    if not isinstance(file_type, str) or file_type not in _schemas()[2]:
        return [SchemaError("/file_type", f"unknown file_type {file_type!r}")]
    return list(_errors(_validator("file", file_type), document))
