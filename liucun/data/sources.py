"""Reading source files into the engine, numbered by row, without Python row loops.

Every reader leaves a temporary relation with the file's columns plus ``_row``: the
1-based number of the data row in the file, so a quarantined row can be found again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from liucun.errors import SourceError
from liucun.warehouse import ident, sql_str

if TYPE_CHECKING:
    import pandas as pd

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
            try:
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE {name}__raw AS "
                    f"SELECT * FROM read_csv({p}, {', '.join(opts)})"
                )
            except duckdb.Error as e:
                # The parallel reader refuses newlines inside quoted fields; read serially.
                if "quoted new lines" not in str(e):
                    raise
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE {name}__raw AS "
                    f"SELECT * FROM read_csv({p}, {', '.join(opts)}, parallel=false)"
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


def read_lines(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    name: str = "_lines",
    encoding: str | None = None,
) -> None:
    """Temp view ``name`` (``_line``, ``line``): every line as text, numbered from 1.

    Unlike :func:`read_file` nothing is unquoted, so a stray ``"`` in a title cannot break
    the read, and a ragged line is a row to quarantine rather than a failed file. Blank
    lines come back as NULL ``line``.
    """
    check_readable(path)
    opts = [
        "columns={'line': 'VARCHAR'}",
        "header=false",
        f"delim={sql_str(chr(1))}",
        "quote=''",
        "escape=''",
        "auto_detect=false",
        "strict_mode=false",
    ]
    if encoding:
        opts.append(f"encoding={sql_str(encoding)}")
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {name}__raw AS "
            f"SELECT line FROM read_csv({sql_str(str(path))}, {', '.join(opts)})"
        )
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT "
            f"rowid - (SELECT min(rowid) FROM {name}__raw) + 1 AS _line, "
            f"rtrim(line, chr(13)) AS line FROM {name}__raw"
        )
    except duckdb.Error as e:
        first = str(e).strip().splitlines()[0]
        hint = "" if encoding else " (pass --encoding latin-1 if it is not UTF-8)"
        raise SourceError(f"{path}: cannot read as text: {first}{hint}") from None


def first_line(con: duckdb.DuckDBPyConnection, name: str = "_lines") -> tuple[int, str]:
    """(number, text) of the first non-blank line of a :func:`read_lines` view; (0, "") if none."""
    row = con.execute(
        f"SELECT _line, line FROM {name} WHERE line IS NOT NULL AND trim(line) <> '' "
        f"ORDER BY _line LIMIT 1"
    ).fetchone()
    return (int(row[0]), str(row[1])) if row else (0, "")


def column_types(con: duckdb.DuckDBPyConnection, select_sql: str) -> dict[str, str]:
    """Column name → DuckDB type of a SELECT, found by binding it (reads no rows)."""
    rows = con.execute(f"DESCRIBE {select_sql}").fetchall()
    return {r[0]: r[1] for r in rows}


def read_frame(path: Path) -> pd.DataFrame:
    """A whole small input file (CSV/TSV/Parquet/JSON lines) as pandas, text as text.

    For side inputs that are not warehouse tables (labelled texts, FAQ files).
    """
    path = Path(path)
    con = duckdb.connect()
    try:
        cols = read_file(con, path, detect_format(path))
        return con.execute(
            f"SELECT {', '.join(ident(c) for c in cols)} FROM _src ORDER BY _row"
        ).df()
    finally:
        con.close()
