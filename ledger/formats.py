"""The export formats, apart from the exports themselves: the command line's ``--format``
of ``export`` names them, and its help must not load what writing an export needs."""

from __future__ import annotations

from enum import StrEnum


class ExportFormat(StrEnum):
    parquet = "parquet"
    csv = "csv"
    jsonl = "jsonl"


EVENT_FORMATS = (ExportFormat.parquet, ExportFormat.jsonl)
"""The formats of the event log (its ``data`` is nested: JSON text in a CSV cell helps
nobody)."""
