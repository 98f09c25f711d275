"""MovieLens ratings, movies and users, in the layouts they are shipped in.

Which layout a file has is read from its first line; which table it fills follows from
the layout, and must be the table asked for (a mismatch is one clear error):

- ml-100k raw files, no header. ``u.data`` (and ``u1.base`` … ``ua.test``): user, item,
  rating, unix seconds, tab-separated → events ``rate``. ``u.item``: 24 ``|``-separated
  fields (id, title, release date, video release date, IMDb URL, 19 genre flags in
  ``u.genre`` order) → items; the file is latin-1 (accented titles), not UTF-8.
  ``u.user``: id | age | gender | occupation | zip → users.
- RecBole atomic files (``ml-100k.inter``/``.item``/``.user``): tab-separated with a typed
  header (``user_id:token``); the ``:type`` suffix is dropped and columns are found by
  name. The ``.item`` ``class`` field holds the genres separated by spaces.
- ml-latest ``ratings.csv`` (userId,movieId,rating,timestamp) → events ``rate``, and
  ``movies.csv`` (movieId,title,genres with ``|``, quoted titles) → items.

Mapping choices: a rating is an event ``rate`` with value = the rating. An item's
category is its *first* genre (``u.genre`` order); genres are not a hierarchy, so a path
"Action/Comedy" would wrongly make Comedy a sub-category of Action. All genres are kept,
comma-separated, as the description. The pseudo-genre "unknown" means no genre. Release
dates and IMDb URLs have no canonical column and are not kept. Users: region = zip code,
attributes = {age, gender, occupation} (age a number when it is one).

Delimited files are read line by line and split in SQL, without quote handling (titles
may contain ``"``); a line with the wrong number of fields is quarantined, blank lines
are not rows. Row numbers count data lines (after the header, if any).
"""

from __future__ import annotations

import codecs
import gzip
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from liucun.data.adapters.base import Adapter, reject_sql
from liucun.data.sources import SourceOptions, check_readable, first_line, read_file, read_lines
from liucun.errors import SourceError
from liucun.warehouse import sql_str

# A line the reader could not take as written (bytes that are not UTF-8) is quarantined
# with the reader's reason rather than loaded with U+FFFD in place of its bytes.
READ_RULE = ("_read_error IS NOT NULL", "line", "_read_error")

GENRES = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)
_SNIFF_BYTES = 8 << 20
_TYPED = re.compile(r"[A-Za-z_][\w]*:(token|token_seq|float|float_seq)")


def _sniff(path: Path) -> tuple[str, str]:
    """The first non-blank line and the encoding: UTF-8 if the head decodes, else latin-1."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            head = f.read(_SNIFF_BYTES)
    except OSError as e:
        raise SourceError(f"{path}: cannot read ({e})") from None
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        encoding = "utf-8"
    except UnicodeDecodeError:
        encoding = "latin-1"
    text = head.decode(encoding, errors="replace")
    first = next((ln.rstrip("\r") for ln in text.split("\n") if ln.strip()), "")
    return first, encoding


@dataclass(frozen=True)
class Layout:
    name: str  # how the user would call the file
    table: str  # the canonical table it fills
    sep: str
    header: tuple[str, ...] | None = None  # column names, when line 1 is a header


def detect_layout(first: str) -> Layout | None:
    """The MovieLens layout of a file, from its first line (None: not one we know)."""
    tabs = first.split("\t")
    if len(tabs) > 1 and all(_TYPED.fullmatch(t.strip()) for t in tabs):
        names = tuple(t.strip().split(":")[0] for t in tabs)
        if "user_id" in names and "item_id" in names:
            return Layout("RecBole .inter", "events", "\t", names)
        if "item_id" in names:
            return Layout("RecBole .item", "items", "\t", names)
        if "user_id" in names:
            return Layout("RecBole .user", "users", "\t", names)
        return None
    low = first.strip().lower()
    if low == "userid,movieid,rating,timestamp":
        return Layout("ratings.csv", "events", ",", ("userId", "movieId", "rating", "timestamp"))
    if low == "movieid,title,genres":
        return Layout("movies.csv", "items", ",", ("movieId", "title", "genres"))
    if len(tabs) == 4:
        return Layout("u.data", "events", "\t")
    pipes = first.split("|")
    if len(pipes) == 5 + len(GENRES):
        return Layout("u.item", "items", "|")
    if len(pipes) == 5:
        return Layout("u.user", "users", "|")
    return None


def _int_or_text(x: str) -> str:
    """JSON of a value: a number when it is all digits, else the text as given."""
    return (
        f"CASE WHEN regexp_full_match(trim({x}), '[0-9]+') THEN to_json(CAST(trim({x}) AS BIGINT)) "
        f"ELSE to_json({x}) END"
    )


def _fields_view(con: duckdb.DuckDBPyConnection, layout: Layout) -> None:
    """``_ml``: one row per non-blank data line, fields ``f`` and their count ``n``."""
    skip = first_line(con)[0] if layout.header else 0  # data rows count from after it
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW _ml AS SELECT _line - {skip} AS _row, "
        f"string_split(line, {sql_str(layout.sep)}) AS f, "
        f"len(string_split(line, {sql_str(layout.sep)})) AS n, _read_error "
        f"FROM _lines WHERE _line > {skip} AND line IS NOT NULL AND trim(line) <> ''"
    )


def _count_rule(expected: int, what: str) -> tuple[str, str, str]:
    return (
        f"n <> {expected}",
        "line",
        f"'expected {expected} {what}, found ' || n",
    )


def _events(layout: Layout, path: Path) -> str:
    if layout.header and layout.name.startswith("RecBole"):
        idx = {c: i + 1 for i, c in enumerate(layout.header)}
        for need in ("user_id", "item_id", "rating", "timestamp"):
            if need not in idx:
                raise SourceError(
                    f"{path}: a RecBole .inter file needs {need}; columns: "
                    f"{', '.join(layout.header)}"
                )
        u, i, r, t = (idx[c] for c in ("user_id", "item_id", "rating", "timestamp"))
        rule = _count_rule(len(layout.header), "tab-separated fields")
    else:  # u.data and ratings.csv: user, item, rating, timestamp
        u, i, r, t = 1, 2, 3, 4
        what = "tab-separated fields" if layout.sep == "\t" else "comma-separated fields"
        rule = _count_rule(4, what)
    return (
        f"SELECT _row, f[{u}] AS user_id, f[{i}] AS item_id, 'rate' AS event_type, "
        f"f[{r}] AS value, f[{t}] AS ts, {reject_sql([READ_RULE, rule])} FROM _ml"
    )


def _genre_list(flags_from: int) -> tuple[str, str]:
    """(first genre, all genres comma-separated) from u.item's 0/1 flags; NULL if none."""
    named = [
        f"CASE WHEN trim(f[{flags_from + k}]) = '1' THEN {sql_str(g)} END"
        for k, g in enumerate(GENRES)
        if g != "unknown"
    ]
    return f"coalesce({', '.join(named)})", f"NULLIF(concat_ws(', ', {', '.join(named)}), '')"


def _genres_from_text(x: str, sep: str, none: tuple[str, ...]) -> tuple[str, str]:
    """(first genre, all genres comma-separated) from a separated list; NULL if none."""
    skip = ", ".join(sql_str(v) for v in ("", *none))
    lst = f"list_filter(string_split(trim({x}), {sql_str(sep)}), lambda g: g NOT IN ({skip}))"
    return f"{lst}[1]", f"NULLIF(array_to_string({lst}, ', '), '')"


def _items(con: duckdb.DuckDBPyConnection, layout: Layout, path: Path, encoding: str) -> str:
    if layout.name == "movies.csv":
        read_file(con, path, "csv", encoding=encoding)
        first, allg = _genres_from_text("genres", "|", ("(no genres listed)",))
        return (
            f"SELECT _row, movieId AS item_id, title, {first} AS category, "
            f"{allg} AS description, NULL AS _reject_column, _read_error AS _reject_reason "
            "FROM _src"
        )
    if layout.header:  # RecBole .item
        idx = {c: i + 1 for i, c in enumerate(layout.header)}
        title = f"f[{idx['movie_title']}]" if "movie_title" in idx else "NULL"
        if "class" in idx:
            first, allg = _genres_from_text(f"f[{idx['class']}]", " ", ("unknown",))
        else:
            first, allg = "NULL", "NULL"
        rule = _count_rule(len(layout.header), "tab-separated fields")
        return (
            f"SELECT _row, f[{idx['item_id']}] AS item_id, {title} AS title, "
            f"{first} AS category, {allg} AS description, {reject_sql([READ_RULE, rule])} FROM _ml"
        )
    # u.item: the 19 genre flags are fields 6..24.
    first, allg = _genre_list(6)
    rules = [
        _count_rule(5 + len(GENRES), "|-separated fields"),
        (
            f"NOT regexp_full_match(array_to_string(f[6:{5 + len(GENRES)}], ''), "
            f"'[01]{{{len(GENRES)}}}')",
            "genres",
            "'genre flags must be 0 or 1'",
        ),
    ]
    return (
        f"SELECT _row, f[1] AS item_id, f[2] AS title, {first} AS category, "
        f"{allg} AS description, {reject_sql([READ_RULE, *rules])} FROM _ml"
    )


def _users(layout: Layout) -> str:
    if layout.header:  # RecBole .user: columns by name, all but id and zip are attributes
        idx = {c: i + 1 for i, c in enumerate(layout.header)}
        rule = _count_rule(len(layout.header), "tab-separated fields")
    else:  # u.user
        idx = {"user_id": 1, "age": 2, "gender": 3, "occupation": 4, "zip_code": 5}
        rule = _count_rule(5, "|-separated fields")
    region = f"f[{idx['zip_code']}]" if "zip_code" in idx else "NULL"
    attrs = [
        f"{sql_str(c)}, " + (_int_or_text(f"f[{i}]") if c == "age" else f"f[{i}]")
        for c, i in idx.items()
        if c not in ("user_id", "zip_code")
    ]
    attributes = f"json_object({', '.join(attrs)})" if attrs else "NULL"
    return (
        f"SELECT _row, f[{idx['user_id']}] AS user_id, {region} AS region, "
        f"{attributes} AS attributes, {reject_sql([READ_RULE, rule])} FROM _ml"
    )


class MovielensAdapter(Adapter):
    name = "movielens"
    tables = ("events", "items", "users")
    description = (
        "MovieLens: u.data/u.item/u.user, RecBole .inter/.item/.user, ml-latest "
        "ratings.csv/movies.csv"
    )

    def prepare(
        self, con: duckdb.DuckDBPyConnection, path: Path, opts: SourceOptions
    ) -> dict[str, str]:
        check_readable(path)
        first, sniffed = _sniff(path)
        layout = detect_layout(first)
        if layout is None:
            raise SourceError(
                f"{path}: not a MovieLens layout this adapter knows (u.data, u.item, u.user, "
                f"RecBole .inter/.item/.user, ratings.csv, movies.csv); first line: "
                f"{first[:80]!r}"
            )
        if layout.table != opts.table:
            raise SourceError(
                f"{path}: a MovieLens {layout.name} file fills {layout.table}, not "
                f"{opts.table}: ingest it as {layout.table}"
            )
        encoding = opts.encoding or sniffed
        if layout.name != "movies.csv":
            read_lines(con, path, encoding=encoding)
            _fields_view(con, layout)
        if layout.table == "events":
            return {"events": _events(layout, path)}
        if layout.table == "items":
            return {"items": _items(con, layout, path, encoding)}
        return {"users": _users(layout)}
