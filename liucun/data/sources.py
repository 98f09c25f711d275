"""Reading source files into the engine, numbered by row, without Python row loops.

Every reader leaves a temporary relation with the file's columns plus ``_row``: the
1-based number of the data row in the file, so a quarantined row can be found again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from liucun.errors import SourceError

GENERIC_FORMATS = ("csv", "tsv", "parquet", "jsonl")
# Inside a transaction rowids start at a large offset: number from the table's first row.
_ROW_FROM_ROWID = "rowid - (SELECT min(rowid) FROM {t}) + 1"


@dataclass
class SourceOptions:
    """How to read one file: the target table, column map, time zone and CSV details."""

    table: str
    mapping: dict[str, str] = field(default_factory=dict)
    tz: str = "UTC"
    sep: str | None = None
    encoding: str | None = None


def sql_str(s: str) -> str:
    """A SQL string literal."""
    return "'" + str(s).replace("'", "''") + "'"


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def detect_format(path: Path) -> str:
    """The generic format from the file name (``.gz`` is looked through)."""
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    suffix = Path(name).suffix
    formats = {
        ".csv": "csv",
        ".txt": "csv",
        ".tsv": "tsv",
        ".tab": "tsv",
        ".parquet": "parquet",
        ".pq": "parquet",
        ".jsonl": "jsonl",
        ".ndjson": "jsonl",
        ".json": "jsonl",
    }
    if suffix not in formats:
        raise SourceError(
            f"{path}: cannot tell the format from the name; pass --format "
            f"({', '.join(GENERIC_FORMATS)} or an adapter)"
        )
    return formats[suffix]


def check_readable(path: Path) -> None:
    if not path.exists():
        raise SourceError(f"{path}: no such file")
    if path.is_dir():
        raise SourceError(f"{path}: is a folder, expected a file")
    try:
        with open(path, "rb") as f:
            f.read(1)
    except OSError as e:
        raise SourceError(f"{path}: cannot read ({e.strerror})") from None


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def read_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    fmt: str,
    name: str = "_src",
    sep: str | None = None,
    encoding: str | None = None,
    header: bool = True,
    columns: dict[str, str] | None = None,
) -> list[str]:
    """Create temp relation ``name`` = the file's columns + ``_row``; return the columns.

    CSV and JSON lines are read as text (ids stay text, bad values reach validation as
    given) and materialised so that ``rowid`` keeps file order; Parquet keeps its types
    and is numbered by ``file_row_number``.
    """
    check_readable(path)
    p = sql_str(str(path))
    try:
        if fmt in ("csv", "tsv"):
            opts = ["all_varchar=true", "null_padding=true", f"header={str(header).lower()}"]
            if fmt == "tsv":
                sep = sep or "\t"
            if sep:
                opts.append(f"delim={sql_str(sep)}")
            if encoding:
                opts.append(f"encoding={sql_str(encoding)}")
            if columns:
                cols = ", ".join(f"{sql_str(k)}: {sql_str(v)}" for k, v in columns.items())
                opts.append(f"columns={{{cols}}}")
                opts.append("auto_detect=false")
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {name}__raw AS "
                f"SELECT * FROM read_csv({p}, {', '.join(opts)})"
            )
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {name} AS "
                f"SELECT *, {_ROW_FROM_ROWID.format(t=name + '__raw')} AS _row FROM {name}__raw"
            )
        elif fmt == "parquet":
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * EXCLUDE (file_row_number), "
                f"file_row_number + 1 AS _row FROM read_parquet({p}, file_row_number=true)"
            )
        elif fmt == "jsonl":
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {name}__raw AS SELECT * FROM "
                f"read_json({p}, format='newline_delimited', sample_size=-1, "
                f"union_by_name=true)"
            )
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {name} AS "
                f"SELECT *, {_ROW_FROM_ROWID.format(t=name + '__raw')} AS _row FROM {name}__raw"
            )
        else:
            raise SourceError(f"{path}: unknown format '{fmt}'")
        cols = [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()]
    except duckdb.Error as e:
        raise SourceError(f"{path}: cannot read as {fmt}: {_first_line(e)}") from None
    return [c for c in cols if c != "_row"]


def column_types(con: duckdb.DuckDBPyConnection, select_sql: str) -> dict[str, str]:
    """Column name → DuckDB type of a SELECT, found by binding it (reads no rows)."""
    rows = con.execute(f"DESCRIBE {select_sql}").fetchall()
    return {r[0]: r[1] for r in rows}
