"""The adapter contract: turn one source file into SELECTs of canonical columns.

An adapter reads its file with :func:`liucun.data.sources.read_file` (or its own SQL) into
temporary relations and returns, per canonical table it fills, a SELECT whose columns are
canonical names plus ``_row`` (the source row number, for quarantine). It may add
``_reject_column``/``_reject_reason`` to mark rows it already knows are bad. Validation,
typing, dedup and merging are the ingest's job, the same for every adapter.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import duckdb

from liucun.data.sources import SourceOptions
from liucun.warehouse import sql_str


class Adapter:
    """Base class: subclasses set ``name``/``tables``/``description`` and ``prepare``."""

    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]
    description: ClassVar[str]

    def prepare(
        self, con: duckdb.DuckDBPyConnection, path: Path, opts: SourceOptions
    ) -> dict[str, str]:
        raise NotImplementedError

    def source_of(self, table: str, path: Path) -> str:
        """The file a table's rows come from, for quarantine (a folder adapter overrides)."""
        return str(path)


def reject_sql(rules: list[tuple[str, str, str]]) -> str:
    """``_reject_column``/``_reject_reason`` from (condition, column, reason SQL); first wins."""
    if not rules:
        return "NULL AS _reject_column, NULL AS _reject_reason"
    col = " ".join(f"WHEN {c} THEN {sql_str(k)}" for c, k, _ in rules)
    why = " ".join(f"WHEN {c} THEN {r}" for c, _, r in rules)
    return f"CASE {col} END AS _reject_column, CASE {why} END AS _reject_reason"
