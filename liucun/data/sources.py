"""Reading source files into the engine, numbered by row, without Python row loops.

Every reader leaves a temporary relation with the file's columns plus ``_row``: the
1-based number of the data row in the file, so a quarantined row can be found again.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gzip
import io
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

import duckdb

from liucun.errors import SourceError
from liucun.warehouse import ident, sql_str

if TYPE_CHECKING:
    import pandas as pd

GENERIC_FORMATS = ("csv", "tsv", "parquet", "jsonl")
# Inside a transaction rowids start at a large offset: number from the table's first row.
_ROW_FROM_ROWID = "rowid - (SELECT min(rowid) FROM {t}) + 1"
# Delimiters told from the header line; a header with none of them is one column.
DELIMITERS = (",", "\t", ";", "|")
# The one-column "delimiter": a control character no text file holds (one that does is
# a ragged row, quarantined).
ONE_COLUMN = chr(1)
# The "delimiter" of a line read whole (see :func:`read_lines`).
LINE_DELIMITER = "\x01\x02\x03\x04"
# Columns read past the header's, to see (and count) a row with too many fields.
EXTRA_FIELDS = 2
_BAD = "\udcff"  # marks undecodable bytes while transcoding
# What every reader adds to the file's columns.
READER_COLUMNS = ("_row", "_read_error")
_OPTION_LINE = re.compile(r"^[a-z_]+ = ")


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
    """Refuse at once what cannot be read as a file (a named pipe would block forever)."""
    if not path.exists():
        raise SourceError(f"{path}: no such file")
    if path.is_dir():
        raise SourceError(f"{path}: is a folder, expected a file")
    if not path.is_file():
        raise SourceError(
            f"{path}: not a regular file (a named pipe, socket or device); save it to a file first"
        )
    try:
        with open(path, "rb") as f:
            f.read(1)
    except OSError as e:
        raise SourceError(f"{path}: cannot read ({e.strerror})") from None


def error_reason(e: BaseException) -> str:
    """The engine's whole reason on one line, without the reader's option dump.

    DuckDB puts the reason over several lines ("CSV Error on Line: 2" / "Invalid unicode
    ... not utf-8 encoded") followed by ``file = ...`` and the options it used.
    """
    lines: list[str] = []
    for raw in str(e).strip().splitlines():
        line = raw.strip()
        if _OPTION_LINE.match(line) or line.startswith("Possible Solution"):
            break
        if line:
            lines.append(line)
    return "; ".join(lines) or type(e).__name__


_first_line = error_reason  # the name older callers use


def _codec(path: Path, encoding: str | None) -> str:
    """The Python codec name of ``--encoding`` (UTF-8 when not given)."""
    try:
        return codecs.lookup(encoding or "utf-8").name
    except LookupError:
        raise SourceError(
            f"{path}: unknown encoding '{encoding}' (use a Python codec name: utf-8, gbk, "
            f"gb18030, utf-16, latin-1...)"
        ) from None


def _open_bytes(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


def _mark(err: UnicodeError) -> tuple[str, int]:
    """Codec error handler: a lone surrogate no decoded text holds marks the bad bytes."""
    assert isinstance(err, UnicodeDecodeError)
    return _BAD, err.end


codecs.register_error("liucun-mark", _mark)


def _transcode(path: Path, codec: str, dest: Path) -> list[tuple[int, int, str]]:
    """Copy ``path`` as UTF-8 to ``dest``; return (line, record, reason) of undecodable lines.

    Bad bytes become U+FFFD so the line still parses; its row is quarantined by the reason.
    ``record`` counts CSV records from 0 (the header): a line inside a quoted field belongs
    to the record it continues, and blank lines outside quotes are no record (the CSV
    reader skips them too).
    """
    bad: list[tuple[int, int, str]] = []
    record, in_quote = -1, False
    reason = f"invalid {codec} byte sequence"
    with (
        _open_bytes(path) as raw,
        io.TextIOWrapper(raw, encoding=codec, errors="liucun-mark", newline="") as text,
        open(dest, "w", encoding="utf-8", newline="") as out,
    ):
        for number, line in enumerate(text, start=1):
            if number == 1 and line.startswith("\ufeff"):
                line = line[1:]
            if not in_quote and line.strip("\r\n"):
                record += 1
            if _BAD in line:
                line = line.replace(_BAD, "\ufffd")
                bad.append((number, max(record, 0), reason))
            if line.count('"') % 2:
                in_quote = not in_quote
            out.write(line)
    return bad


def _text_source(
    path: Path, codec: str, tmp: list[Path], force: bool = False
) -> tuple[Path, list[tuple[int, int, str]]]:
    """A path the engine reads as UTF-8: the file itself, or a transcoded copy."""
    if codec in ("utf-8", "utf-8-sig") and not force:
        return path, []
    folder = Path(tempfile.mkdtemp(prefix="liucun-read-"))
    tmp.append(folder)
    dest = folder / "utf8.txt"
    try:
        return dest, _transcode(path, codec, dest)
    except OSError as e:
        raise SourceError(f"{path}: cannot read ({e.strerror or e})") from None


def _cleanup(tmp: list[Path]) -> None:
    for folder in tmp:
        shutil.rmtree(folder, ignore_errors=True)


def _is_unicode_error(e: BaseException) -> bool:
    text = str(e).lower()
    return "unicode" in text or "utf-8" in text or "utf8" in text


def _header(path: Path, sep: str | None) -> tuple[list[str], str]:
    """The header's fields and the delimiter: ``sep``, or the one of , TAB ; | it holds.

    A header with none of them is one column: every line is then one value, whatever
    punctuation it holds.
    """
    with _open_bytes(path) as raw:
        first = raw.readline().decode("utf-8-sig", errors="replace").rstrip("\r\n")
    delim = sep
    if delim is None:
        outside = re.sub(r'"[^"]*"', "", first)
        counts = {d: outside.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        delim = best if counts[best] else ""
    fields = next(csv.reader([first], delimiter=delim or ONE_COLUMN)) if first else []
    return fields, delim or ONE_COLUMN


def _unique_names(fields: list[str]) -> list[str]:
    """Header names made unique and non-empty (``column3``, ``name_1``) as the engine needs."""
    out: list[str] = []
    seen: set[str] = set()
    for i, f in enumerate(fields, start=1):
        name = f.strip() or f"column{i}"
        base, n = name, 0
        while name.lower() in seen or name.startswith("_liucun"):
            n += 1
            name = f"{base}_{n}"
        seen.add(name.lower())
        out.append(name)
    return out


def _bad_rows_sql(con: duckdb.DuckDBPyConnection, name: str, rows: dict[int, str]) -> str:
    """A temp table of (row, reason) for rows with bad bytes; its name for a LEFT JOIN."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name}__bad (_row BIGINT, _reason VARCHAR)")
    con.executemany(f"INSERT INTO {name}__bad VALUES (?, ?)", list(rows.items()))
    return f"{name}__bad"


def _without_bad_quotes(
    con: duckdb.DuckDBPyConnection,
    src: Path,
    opts: list[str],
    delim: str,
    n: int,
    tmp: list[Path],
) -> tuple[Path, list[tuple[int, int, str]]] | None:
    """A copy of ``src`` with the lines the engine rejects for their quoting blanked (a
    record of ``n`` empty fields, so every later row keeps its number), and (line,
    record, reason) for each; None when nothing but quoting can be the trouble."""
    # Every column is read (a count alone would not parse the lines) and thrown away.
    probe = (
        f"CREATE OR REPLACE TEMP TABLE _liucun_probe AS SELECT * FROM read_csv("
        f"{sql_str(str(src))}, {', '.join(opts)}, parallel=false, ignore_errors=true, "
        "store_rejects=true, rejects_table='_liucun_rejects', "
        "rejects_scan='_liucun_rejects_scans')"
    )
    try:
        con.execute(probe)
        found = con.execute(
            "SELECT line, min(error_type::VARCHAR), min(csv_line) FROM _liucun_rejects "
            "GROUP BY line ORDER BY line"
        ).fetchall()
    except duckdb.Error:
        return None
    finally:
        for t in ("_liucun_probe", "_liucun_rejects", "_liucun_rejects_scans"):
            with contextlib.suppress(duckdb.Error):
                con.execute(f"DROP TABLE IF EXISTS {t}")
    lines = {int(line): f"{kind.lower()}" for line, kind, _ in found if line and int(line) > 1}
    texts = {int(line): str(text or "") for line, _, text in found if line}
    if not lines or len(lines) != len(found):
        return None  # nothing rejected, or the header itself: not a row's quoting
    folder = Path(tempfile.mkdtemp(prefix="liucun-read-"))
    tmp.append(folder)
    dest = folder / "quotes.txt"
    bad: list[tuple[int, int, str]] = []
    record, in_quote = -1, False
    with (
        _open_bytes(src) as raw,
        io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="") as text,
        open(dest, "w", encoding="utf-8", newline="") as out,
    ):
        for number, line in enumerate(text, start=1):
            if number == 1 and line.startswith("\ufeff"):
                line = line[1:]
            if number in lines:
                end = line[len(line.rstrip("\r\n")) :] or "\n"
                line = '""' + delim * (n - 1) + end
            if not in_quote and line.strip("\r\n"):
                record += 1
            if number in lines:
                shown = texts[number].rstrip("\r\n")
                shown = shown if len(shown) <= 200 else shown[:200] + "…"
                bad.append((number, max(record, 0), f"unreadable quoting: {shown}"))
            if line.count('"') % 2:
                in_quote = not in_quote
            out.write(line)
    return dest, bad


def _read_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    name: str,
    sep: str | None,
    encoding: str | None,
    header: bool,
    columns: dict[str, str] | None,
    tmp: list[Path],
) -> None:
    """CSV as written: RFC 4180 quotes, no comments, no sniffing; ragged rows kept and named."""
    codec = _codec(path, encoding)
    src, bad = _text_source(path, codec, tmp)
    repaired = False
    for attempt in range(3):
        fields, delim = _header(src, sep)
        names = _unique_names(list(columns) if columns else fields)
        if not names:
            raise SourceError(f"{path}: empty file, expected a header line")
        extra = [f"_liucun_x{i}" for i in range(EXTRA_FIELDS)]
        cols = ", ".join(f"{sql_str(c)}: 'VARCHAR'" for c in names + extra)
        opts = [
            f"columns={{{cols}}}",
            f"header={str(header and not columns).lower()}",
            "auto_detect=false",
            f"delim={sql_str(delim)}",
            "quote='\"'",
            "escape='\"'",
            "comment=''",
            "strict_mode=false",
            "null_padding=true",
            "nullstr=chr(0)",
        ]
        sql = (
            f"CREATE OR REPLACE TEMP TABLE {name}__raw AS SELECT * FROM "
            f"read_csv({sql_str(str(src))}, {', '.join(opts)}"
        )
        try:
            try:
                con.execute(sql + ")")
            except duckdb.Error as e:
                # The parallel reader refuses newlines inside quoted fields; read serially.
                if "quoted new lines" not in str(e) and "parallel" not in str(e):
                    raise
                con.execute(sql + ", parallel=false)")
            break
        except duckdb.Error as e:
            if attempt == 0 and src == path and _is_unicode_error(e):
                # Invalid UTF-8 somewhere: transcode, marking the lines that do not decode.
                src, bad = _text_source(path, codec, tmp, force=True)
                continue
            # Quotes the engine cannot parse (a value like `"a"b`): those lines are
            # blanked and quarantined with their text, the rest is read as written.
            fixed = (
                None if repaired else _without_bad_quotes(con, src, opts, delim, len(names), tmp)
            )
            if fixed is None:
                raise
            src, more = fixed
            bad = sorted(bad + more)
            repaired = True
    first = 1 if header and not columns else 0
    rows = {rec + 1 - first: why for _, rec, why in bad if rec + 1 - first >= 1}
    n = len(names)
    found = " + ".join(f"CAST({ident(c)} IS NOT NULL AS INTEGER)" for c in names[1:] + extra) or "0"
    ragged = (
        f"CASE WHEN {ident(names[-1])} IS NULL OR {ident(extra[0])} IS NOT NULL THEN "
        f"'expected {n} fields, found ' || CASE WHEN {ident(extra[-1])} IS NOT NULL THEN "
        f"'more than {n + EXTRA_FIELDS - 1}' ELSE CAST(1 + {found} AS VARCHAR) END END"
    )
    values = ", ".join(f"NULLIF({ident(c)}, '') AS {ident(c)}" for c in names)
    numbered = f"SELECT *, {_ROW_FROM_ROWID.format(t=name + '__raw')} AS _row FROM {name}__raw"
    if rows:
        badt = _bad_rows_sql(con, name, rows)
        error = f"coalesce(b._reason, {ragged})"
        source = f"({numbered}) r LEFT JOIN {badt} b USING (_row)"
    else:
        error, source = ragged, f"({numbered}) r"
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {values}, _row, {error} AS _read_error "
        f"FROM {source}"
    )


def _parquet_columns(con: duckdb.DuckDBPyConnection, p: str) -> str:
    """The file's columns as a SELECT list (each followed by ", "), floating ones taken
    past their statistics.

    Parquet min/max statistics leave NaN out, and the engine folds checks such as
    ``isnan(x)`` to false when the statistics say every value is finite, so a NaN amount
    would load. ``[x][1]`` is the same value without statistics, for a few ms per million
    rows.
    """
    rows = con.execute(f"DESCRIBE SELECT * FROM read_parquet({p}, file_row_number=true)")
    out = []
    for col, ty, *_ in rows.fetchall():
        if col == "file_row_number":
            continue
        c = ident(col)
        out.append(f"[{c}][1] AS {c}, " if str(ty).upper() in ("FLOAT", "DOUBLE") else f"{c}, ")
    return "".join(out)


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
    """Create temp relation ``name``: the file's columns, ``_row`` and ``_read_error``.

    CSV and JSON lines are read as the text they hold (ids and text exactly as written,
    bad values reach validation as given) and materialised so that ``rowid`` keeps file
    order; Parquet keeps its types and is numbered by ``file_row_number``. A row the
    reader could not take as written (a ragged CSV row, bytes that do not decode, a line
    that is not JSON) stays a row, with its reason in ``_read_error`` (NULL for good rows)
    for the adapter to pass on as ``_reject_reason``. Returns the file's columns.
    """
    check_readable(path)
    p = sql_str(str(path))
    tmp: list[Path] = []
    try:
        if fmt in ("csv", "tsv"):
            sep = sep or ("\t" if fmt == "tsv" else None)
            _read_csv(con, path, name, sep, encoding, header, columns, tmp)
        elif fmt == "parquet":
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {_parquet_columns(con, p)}"
                f"file_row_number + 1 AS _row, CAST(NULL AS VARCHAR) AS _read_error "
                f"FROM read_parquet({p}, file_row_number=true)"
            )
        elif fmt == "jsonl":
            _read_jsonl(con, path, name, encoding)
        else:
            raise SourceError(f"{path}: unknown format '{fmt}'")
        cols = [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()]
    except duckdb.Error as e:
        raise SourceError(f"{path}: cannot read as {fmt}: {error_reason(e)}") from None
    finally:
        _cleanup(tmp)
    return [c for c in cols if c not in READER_COLUMNS]


def read_lines(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    name: str = "_lines",
    encoding: str | None = None,
) -> None:
    """Temp view ``name`` (``_line``, ``line``, ``_read_error``): every line as text.

    Unlike :func:`read_file` nothing is unquoted, so a stray ``"`` in a title cannot break
    the read, and a ragged line is a row to quarantine rather than a failed file. Blank
    lines come back as NULL ``line``. A line whose bytes do not decode keeps its place with
    U+FFFD for the bad bytes and a ``_read_error`` that says so (NULL on good lines).
    """
    check_readable(path)
    codec = _codec(path, encoding)
    tmp: list[Path] = []
    try:
        src, bad = _text_source(path, codec, tmp)
        for attempt in range(2):
            opts = [
                "columns={'line': 'VARCHAR'}",
                "header=false",
                # The whole line is the value. The engine cuts a line at its delimiter and
                # drops the rest, so it is four control characters no text holds (a single
                # U+0001 cut such lines; an empty delimiter is NUL, which cut at NUL).
                f"delim={sql_str(LINE_DELIMITER)}",
                "quote=''",
                "escape=''",
                "comment=''",
                "auto_detect=false",
                "strict_mode=false",
            ]
            try:
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE {name}__raw AS "
                    f"SELECT line FROM read_csv({sql_str(str(src))}, {', '.join(opts)})"
                )
                break
            except duckdb.Error as e:
                if attempt or src != path or not _is_unicode_error(e):
                    raise
                src, bad = _text_source(path, codec, tmp, force=True)
        numbered = (
            f"SELECT rowid - (SELECT min(rowid) FROM {name}__raw) + 1 AS _row, "
            f"rtrim(line, chr(13)) AS line FROM {name}__raw"
        )
        if bad:
            badt = _bad_rows_sql(con, name, {line: why for line, _, why in bad})
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT _row AS _line, line, "
                f"b._reason AS _read_error FROM ({numbered}) r LEFT JOIN {badt} b USING (_row)"
            )
        else:
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT _row AS _line, line, "
                f"CAST(NULL AS VARCHAR) AS _read_error FROM ({numbered})"
            )
    except duckdb.Error as e:
        raise SourceError(f"{path}: cannot read as text: {error_reason(e)}") from None
    finally:
        _cleanup(tmp)


def _read_jsonl(
    con: duckdb.DuckDBPyConnection, path: Path, name: str, encoding: str | None
) -> None:
    """JSON lines with every value as the text the line holds, numbered by line.

    Strings come unquoted, numbers, booleans, objects and arrays as their JSON text (ids
    above 2^53 stay exact; a column mixing strings and numbers keeps each as written). A
    line that is not a JSON object keeps its number and gets a ``_read_error``.
    """
    lines = f"{name}__lines"
    read_lines(con, path, name=lines, encoding=encoding)
    ok = "(CASE WHEN json_valid(line) THEN json_type(line) END) = 'OBJECT'"
    key_lists = con.execute(
        f"SELECT json_keys(line) AS ks, min(_line) FROM {lines} "
        f"WHERE line IS NOT NULL AND {ok} GROUP BY ks ORDER BY 2"
    ).fetchall()
    keys: list[str] = []
    for ks, _ in key_lists:
        keys += [k for k in ks if k not in keys]
    paths = "[" + ", ".join(sql_str('$."' + k.replace('"', '\\"') + '"') for k in keys) + "]"
    error = (
        f"coalesce(_read_error, CASE WHEN NOT json_valid(line) THEN 'not valid JSON' "
        f"WHEN NOT {ok} THEN 'not a JSON object' END)"
    )
    extracted = f"CASE WHEN {ok} THEN json_extract(line, {paths}) END" if keys else "NULL"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name}__raw AS SELECT _line AS _row, "
        f"{extracted} AS _v, {error} AS _read_error FROM {lines} "
        f"WHERE line IS NOT NULL AND trim(line) <> '' ORDER BY _line"
    )
    values = [
        f"CASE json_type(_v[{i}]) WHEN 'VARCHAR' THEN json_extract_string(_v[{i}], '$') "
        f"WHEN 'NULL' THEN NULL ELSE CAST(_v[{i}] AS VARCHAR) END AS {ident(k)}"
        for i, k in enumerate(keys, start=1)
    ]
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT "
        f"{''.join(v + ', ' for v in values)}_row, _read_error FROM {name}__raw"
    )


def first_line(con: duckdb.DuckDBPyConnection, name: str = "_lines") -> tuple[int, str]:
    """(number, text) of the first non-blank line of a :func:`read_lines` view; (0, "") if none."""
    row = con.execute(
        f"SELECT _line, line FROM {name} WHERE line IS NOT NULL AND trim(line) <> '' "
        f"ORDER BY _line LIMIT 1"
    ).fetchall()  # the whole result: DuckDB 2 refuses the next query on an open one
    return (int(row[0][0]), str(row[0][1])) if row else (0, "")


def column_types(con: duckdb.DuckDBPyConnection, select_sql: str) -> dict[str, str]:
    """Column name → DuckDB type of a SELECT, found by binding it (reads no rows)."""
    rows = con.execute(f"DESCRIBE {select_sql}").fetchall()
    return {r[0]: r[1] for r in rows}


def read_frame(
    path: Path, encoding: str | None = None, text_column: str | None = None
) -> pd.DataFrame:
    """A whole small input file (CSV/TSV/Parquet/JSON lines) as pandas, text as text.

    For side inputs that are not warehouse tables (labelled texts, FAQ files). Rows the
    reader could not take as written are left out and listed, as "row N: reason", in
    ``df.attrs["read_errors"]`` for the caller to report.

    With ``text_column``, a ``.txt`` file whose first line does not name that column is
    plain text, as people keep reviews: every line holding more than white space is one
    value of ``text_column`` exactly as written (no quotes, no delimiters), and row N is
    line N. A ``.txt`` file whose header names the column is read as CSV like any other.
    """
    path = Path(path)
    fmt = detect_format(path)
    con = duckdb.connect()
    try:
        plain = False
        if text_column and path.name.lower().removesuffix(".gz").endswith(".txt"):
            read_lines(con, path, encoding=encoding)
            first = first_line(con)[1].lstrip("\ufeff")
            named = {f.strip() for d in DELIMITERS for f in next(csv.reader([first], delimiter=d))}
            plain = text_column not in named
        if plain:
            blank = r"[\s\p{Z}]*"  # white space of any script: U+3000 lines are no text
            df = con.execute(
                f"SELECT line AS {ident(str(text_column))} FROM _lines WHERE _read_error IS NULL "
                f"AND NOT regexp_full_match(line, {sql_str(blank)}) ORDER BY _line"
            ).df()
            bad_sql = "SELECT _line, _read_error FROM _lines WHERE _read_error IS NOT NULL"
        else:
            cols = read_file(con, path, fmt, encoding=encoding)
            sel = ", ".join(ident(c) for c in cols)
            df = con.execute(f"SELECT {sel} FROM _src WHERE _read_error IS NULL ORDER BY _row").df()
            bad_sql = "SELECT _row, _read_error FROM _src WHERE _read_error IS NOT NULL"
        bad = con.execute(bad_sql + " ORDER BY 1").fetchall()
        df.attrs["read_errors"] = [f"row {r}: {why}" for r, why in bad]
        return df
    finally:
        con.close()
