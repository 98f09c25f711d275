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


class Adapter:
    """Base class: subclasses set ``name``/``tables``/``description`` and ``prepare``."""

    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]
    description: ClassVar[str]

    def prepare(
        self, con: duckdb.DuckDBPyConnection, path: Path, opts: SourceOptions
    ) -> dict[str, str]:
        raise NotImplementedError
