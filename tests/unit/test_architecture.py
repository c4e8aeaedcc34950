"""The dependency rule, read from the imports: the domain depends on nothing of ours
outside it, and nothing in ledger/ imports projections/."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOMAIN_MAY_IMPORT = {
    "__future__",
    "bisect",
    "calendar",
    "collections",
    "dataclasses",
    "datetime",
    "decimal",
    "enum",
    "fractions",
    "functools",
    "itertools",
    "operator",
    "re",
    "typing",
    "uuid",
    "pydantic",
    "pydantic_core",
    "eventsourcing.domain",
    # ISO 4217 currency data: a data package, no I/O or infrastructure.
    "pycountry",
}


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level >= 2:
            # A relative import that climbs out of its package, named from the top.
            names.add("ledger." + (node.module or ""))
    return names


def test_the_domain_imports_only_the_standard_library_pydantic_and_eventsourcing_domain() -> None:
    offending = {
        f"{path.name}: {name}"
        for path in (ROOT / "ledger" / "domain").glob("*.py")
        for name in imports_of(path)
        if name not in DOMAIN_MAY_IMPORT
        and name.split(".")[0] not in DOMAIN_MAY_IMPORT - {"eventsourcing.domain"}
    }
    assert offending == set()


def test_nothing_in_ledger_imports_projections() -> None:
    offending = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "ledger").rglob("*.py")
        if any(
            name == "projections" or name.startswith("projections.") for name in imports_of(path)
        )
    }
    assert offending == set()


def test_the_sqlite_writer_process_needs_only_the_standard_library() -> None:
    """The writer process runs ``sqlite_writer.py`` and loads ``chain.py`` with ``python -I
    -S``: no site-packages, no ``ledger`` package."""
    persistence = ROOT / "ledger" / "persistence"
    offending = {
        f"{name}: {module}"
        for name in ("sqlite_writer.py", "chain.py")
        for module in imports_of(persistence / name)
        if module.split(".")[0] not in sys.stdlib_module_names | {"__future__"}
    }
    assert offending == set()
