"""Idempotent, atomic, validated ingest of one source file into the warehouse.

Every row read is accounted for: ``read = loaded + updated + duplicates + quarantined``.

- A row whose key already exists with the same content is a duplicate: nothing changes.
- With different content it is an update: the new version replaces the old, which is
  kept in ``<table>_history`` (a paid order that later becomes refunded).
- A bad row goes to ``quarantine`` with its file, row number, column and reason.
- The whole file commits in one transaction, or nothing does (also on ``kill -9``).
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from liucun import config
from liucun.data.adapters import get_adapter
from liucun.data.sources import SourceOptions, column_types, error_reason, ident
from liucun.data.validate import TS_FORMATS, date_order_sql, dmy_formats, validated_select
from liucun.errors import LiucunError, SourceError, StrictRejected
from liucun.schema import ORDER_STATUSES, Table, get_table
from liucun.warehouse import Warehouse, sql_str


@dataclass
class IngestResult:
    """What one ingest did to one canonical table."""

    table: str
    source: str
    read: int = 0
    loaded: int = 0
    updated: int = 0
    duplicates: int = 0
    quarantined: int = 0
    first_problem: str | None = None
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return self.read == self.loaded + self.updated + self.duplicates + self.quarantined


def _crash_point(name: str) -> None:
    """Test hook: die hard at a named point, to prove an ingest is all-or-nothing."""
    if os.environ.get("LIUCUN_TEST_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _key_sql(table: Table, cols: list[str]) -> str:
    """The row key: a natural id, a digest of a natural key's columns, or a digest of the
    key columns + occurrence in the file."""
    if table.id_column:
        return ident(table.id_column)
    parts = ", ".join(f"coalesce(CAST({ident(c)} AS VARCHAR), chr(0))" for c in table.key)
    digest = f"substr(md5(concat_ws(chr(31), {parts})), 1, 20)"
    if table.unique_key:
        return digest
    return (
        f"{digest} || '-' || CAST(row_number() OVER (PARTITION BY {digest} ORDER BY _row) "
        f"AS VARCHAR)"
    )


def _derive_id_sql(table: Table) -> str:
    """An id for rows whose source has none (CDNOW orders): content digest + occurrence."""
    assert table.derived_id
    others = [c for c in table.column_names if c != table.derived_id]
    parts = ", ".join(f"coalesce(CAST({ident(c)} AS VARCHAR), chr(0))" for c in others)
    digest = f"substr(md5(concat_ws(chr(31), {parts})), 1, 20)"
    return (
        f"CASE WHEN {ident(table.derived_id)} IS NULL AND _reason IS NULL THEN "
        f"'d' || {digest} || '-' || CAST(row_number() OVER (PARTITION BY {digest} "
        f"ORDER BY _row) AS VARCHAR) ELSE {ident(table.derived_id)} END"
    )


def _content_hash(table: Table, prefix: str = "") -> str:
    return "hash(" + ", ".join(f"{prefix}{ident(c)}" for c in table.column_names) + ")"


@dataclass(frozen=True)
class ReadRules:
    """How values are read beyond the schema ([ingest] settings and ingest options)."""

    tz: str
    future_hours: float
    max_amount: float
    max_bad_share: float
    date_format: str | None
    status_synonyms: dict[str, str]


_ASK_FORMAT = (
    "pass --date-format FORMAT (strftime style: '%d/%m/%Y %H:%M' is day first, "
    "'%m/%d/%Y %H:%M' month first) or set date_format in liucun.toml's [ingest]"
)


def _date_layouts(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    src_sql: str,
    types: dict[str, str],
    source: str,
) -> dict[str, tuple[str, ...]]:
    """Per text timestamp column, the formats of its ``a/b/yyyy`` dates: day-first if a
    value's first field is over 12, month-first if its second is. One file and column is
    read one way only, so a file that mixes both, or whose dates fit both, is refused."""
    cols = [c.name for c in table.columns if c.kind == "ts" and types.get(c.name) == "VARCHAR"]
    if not cols:
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for name in cols:
        row = con.execute(date_order_sql(ident(name), src_sql)).fetchall()[0]
        day, month, either, day_ex, day_row, month_ex, month_row, either_ex = row
        if day and month:
            raise SourceError(
                f"{source}: column {name} mixes day-first dates (row {day_row}: {day_ex}) "
                f"and month-first ones (row {month_row}: {month_ex}); {_ASK_FORMAT}"
            )
        if day or month:
            out[name] = TS_FORMATS + dmy_formats("day-first" if day else "month-first")
        elif either:
            raise SourceError(
                f"{source}: column {name}: dates such as {either_ex} could be day-first or "
                f"month-first (no day above 12 in the file settles it); {_ASK_FORMAT}"
            )
    return out


def _stage(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    src_sql: str,
    source: str,
    rules: ReadRules,
) -> None:
    types = column_types(con, src_sql)
    missing = [c for c in table.required if c not in types]
    if missing:
        found = ", ".join(c for c in types if not c.startswith("_")) or "none"
        raise SourceError(
            f"{source}: missing required column(s) {', '.join(missing)} for table "
            f"{table.name}; columns found: {found} (map names with --map SRC:DST)"
        )
    layouts = {} if rules.date_format else _date_layouts(con, table, src_sql, types, source)
    synonyms = {"status": rules.status_synonyms} if table.name == "orders" else {}
    sel = validated_select(
        table,
        src_sql,
        types,
        tz=rules.tz,
        future_hours=rules.future_hours,
        date_formats=layouts,
        user_format=rules.date_format,
        synonyms=synonyms,
        max_amount=rules.max_amount,
    )
    cols = ", ".join(ident(c) for c in table.column_names)
    if table.derived_id and table.derived_id not in types:
        cols = ", ".join(
            f"{_derive_id_sql(table)} AS {ident(c)}" if c == table.derived_id else ident(c)
            for c in table.column_names
        )
        sel = f"SELECT _row, {cols}, _reason, _column, _raw FROM ({sel})"
        cols = ", ".join(ident(c) for c in table.column_names)
    # The stage is the biggest thing a load holds in memory, so it stores only what must be
    # computed once (a key numbered by occurrence); a natural key and the content hash are
    # plain expressions over stored columns, left to the ``_stage`` view.
    key = _key_sql(table, list(table.column_names))
    stored_key = "" if table.unique_key else f", {key} AS _key"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _stage_rows AS SELECT _row, {cols}, _reason, _column, "
        f"_raw{stored_key} FROM ({sel})"
    )
    lazy_key = f"{key} AS _key, " if table.unique_key else ""
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW _stage AS SELECT *, {lazy_key}"
        f"{_content_hash(table)} AS _ch FROM _stage_rows"
    )


def _merge(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    source: str,
    ingest_id: int,
    strict: bool,
    max_bad_share: float = 1.0,
) -> IngestResult:
    res = IngestResult(table.name, source)
    name = table.name
    cols = ", ".join(ident(c) for c in table.column_names)
    src = sql_str(source)
    now = "timezone('UTC', now())"
    # A natural key is its id column: not stored twice (``_key`` stays NULL), which saves
    # a fifth of a big load's write. A natural key of several columns is stored digested.
    tkey = ident(table.id_column) if table.id_column else "_key"
    skey = "CAST(NULL AS VARCHAR)" if table.id_column else "_key"
    # in_order: the stage holds its rows in file order (``_row`` steps by one along the
    # stage's own row order), so a plain scan of it yields them in file order too.
    res.read, res.quarantined, in_order = con.execute(
        "SELECT count(*), count(_reason), min(_row - rowid) = max(_row - rowid) FROM _stage_rows"
    ).fetchall()[0]
    if res.quarantined:
        rows = con.execute(
            "SELECT _reason, count(*) FROM _stage WHERE _reason IS NOT NULL GROUP BY 1 "
            "ORDER BY 2 DESC, 1"
        ).fetchall()
        res.reasons = {r: int(n) for r, n in rows}
        row, column, reason = con.execute(
            "SELECT _row, _column, _reason FROM _stage WHERE _reason IS NOT NULL "
            "ORDER BY _row LIMIT 1"
        ).fetchall()[0]
        res.first_problem = f"{source}: row {row}, column {column or '-'}: {reason}"
        if strict:
            raise StrictRejected(
                f"{res.first_problem} ({res.quarantined} bad rows; --strict loaded nothing)"
            )
        if res.quarantined > max_bad_share * res.read:
            top = "; ".join(f"{r} ({n:,})" for r, n in list(res.reasons.items())[:3])
            raise SourceError(
                f"{source}: {res.quarantined:,} of {res.read:,} {name} rows are bad "
                f"({res.quarantined / res.read:.0%}, over --max-bad-share {max_bad_share:g}), "
                f"so nothing was loaded; reasons: {top}; first: row {row}, column "
                f"{column or '-'} (check --map, --date-format and --encoding, or see "
                f"`liucun ingest --help`)"
            )
        # Re-ingesting a file does not repeat its quarantined rows.
        con.execute(
            f"INSERT INTO quarantine SELECT {ingest_id}, {sql_str(name)}, {src}, _row, "
            f"_column, _reason, _raw, {now} FROM _stage s WHERE _reason IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.table_name = {sql_str(name)} "
            f"AND q.source_file = {src} AND q.row_number = s._row AND q.reason = s._reason "
            f"AND q.raw IS NOT DISTINCT FROM s._raw) ORDER BY _row"
        )
    _crash_point("after_quarantine")

    # Rows repeating a natural key within the file: the last one wins.
    repeats = 0
    if table.unique_key:
        repeats = con.execute(
            "SELECT count(*) - count(DISTINCT _key) FROM _stage WHERE _reason IS NULL"
        ).fetchall()[0][0]
    if repeats:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _cand AS SELECT * FROM _stage WHERE _reason IS NULL "
            "QUALIFY row_number() OVER (PARTITION BY _key ORDER BY _row DESC) = 1"
        )
    else:
        con.execute(
            "CREATE OR REPLACE TEMP VIEW _cand AS SELECT * FROM _stage WHERE _reason IS NULL"
        )

    # Against what the warehouse already holds: same content → duplicate, else update.
    has_rows = con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {name} LIMIT 1)").fetchall()[0][0]
    if has_rows:
        # Both sides are narrowed to (key, hash) first: left to the optimizer, the hashes
        # are computed above the join, whose hash table then holds every column of a side.
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _match AS "
            f"WITH c AS MATERIALIZED (SELECT _key, _ch FROM _cand), "
            f"t AS MATERIALIZED (SELECT {tkey} AS _key, {_content_hash(table)} AS _ch "
            f"FROM {name}) "
            f"SELECT c._key, (c._ch = t._ch) AS _same FROM c JOIN t ON c._key = t._key"
        )
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE _match (_key VARCHAR, _same BOOLEAN)")
    same, changed = con.execute(
        "SELECT count(*) FILTER (WHERE _same), count(*) FILTER (WHERE NOT _same) FROM _match"
    ).fetchall()[0]
    res.duplicates += same
    res.updated += changed

    if repeats:
        # An earlier in-file version equal to the winner, or whose winner is already stored
        # unchanged (a re-ingest), changes nothing; any other was superseded: history.
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _older AS SELECT s.*, "
            "(s._ch = c._ch OR coalesce(m._same, false)) AS _same "
            "FROM _stage s JOIN _cand c USING (_key) LEFT JOIN _match m USING (_key) "
            "WHERE s._reason IS NULL AND s._row <> c._row"
        )
        o_same, o_superseded = con.execute(
            "SELECT count(*) FILTER (WHERE _same), count(*) FILTER (WHERE NOT _same) FROM _older"
        ).fetchall()[0]
        res.duplicates += o_same
        res.updated += o_superseded
        con.execute(
            f"INSERT INTO {name}_history SELECT {cols}, {skey}, {src}, _row, {ingest_id}, {now} "
            f"FROM _older WHERE NOT _same ORDER BY _row"
        )
    if changed:
        con.execute(
            f"INSERT INTO {name}_history SELECT *, {now} FROM {name} "
            f"WHERE {tkey} IN (SELECT _key FROM _match WHERE NOT _same)"
        )
        con.execute(f"DELETE FROM {name} WHERE {tkey} IN (SELECT _key FROM _match WHERE NOT _same)")
    # Keys are unique in the file's candidates and in the table: each matched at most once.
    res.loaded = con.execute("SELECT count(*) FROM _cand").fetchall()[0][0] - same - changed
    if has_rows and res.loaded + changed:
        con.execute(
            f"INSERT INTO {name} SELECT {cols}, {skey}, {src}, _row, {ingest_id} FROM _cand c "
            f"ANTI JOIN (SELECT _key FROM _match WHERE _same) m ON c._key = m._key ORDER BY _row"
        )
    elif res.loaded:
        # Into an empty table: no join. Stored in file order; the sort, the costliest step
        # of a big load, is skipped when a scan of the stage already yields that order.
        order = "" if in_order and not repeats else " ORDER BY _row"
        con.execute(
            f"INSERT INTO {name} SELECT {cols}, {skey}, {src}, _row, {ingest_id} FROM _cand{order}"
        )
    _crash_point("after_insert")
    con.execute("DROP TABLE _cand" if repeats else "DROP VIEW _cand")
    con.execute("DROP TABLE IF EXISTS _older")
    con.execute("DROP TABLE _match")
    return res


def _drop_temporaries(con: duckdb.DuckDBPyConnection) -> None:
    """Free what the readers and stages left in memory (a big file's text copy)."""
    rows = con.execute(
        "SELECT table_name, table_type FROM information_schema.tables WHERE table_catalog = 'temp'"
    ).fetchall()
    for name, kind in sorted(rows, key=lambda r: r[1] != "VIEW"):  # views first
        con.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} IF EXISTS temp.{ident(name)}")


def check_date_format(fmt: str) -> None:
    """Refuse a ``--date-format`` strptime cannot use, before any row is read."""
    if "%" not in fmt:
        raise LiucunError(
            f"date format {fmt!r} (--date-format or [ingest] date_format): not a strftime "
            f"format (for example '%d/%m/%Y %H:%M')"
        )
    try:
        duckdb.sql(f"SELECT try_strptime('', {sql_str(fmt)})").fetchall()
    except duckdb.Error as e:
        reason = str(e).strip().splitlines()[0].removeprefix("Invalid Input Error: ")
        raise LiucunError(
            f"date format {fmt!r} (--date-format or [ingest] date_format): {reason}"
        ) from None


def check_synonyms(synonyms: dict[str, object], where: str) -> dict[str, str]:
    """Status synonyms as given → lower-cased source value → canonical status."""
    out: dict[str, str] = {}
    for k, v in synonyms.items():
        if not isinstance(v, str) or v.strip().lower() not in ORDER_STATUSES:
            raise LiucunError(
                f"{where}: [ingest.status_synonyms] {k} = {v!r}: expected one of "
                f"{', '.join(ORDER_STATUSES)}"
            )
        out[str(k).strip().lower()] = v.strip().lower()
    return out


def ingest(
    warehouse: Warehouse,
    table: str,
    path: str | Path,
    fmt: str | None = None,
    mapping: dict[str, str] | None = None,
    tz: str = "UTC",
    strict: bool = False,
    future_hours: float = 24,
    sep: str | None = None,
    encoding: str | None = None,
    *,
    date_format: str | None = None,
    max_bad_share: float | None = None,
    max_amount: float | None = None,
    status_synonyms: dict[str, str] | None = None,
) -> list[IngestResult]:
    """Load ``path`` into canonical ``table`` (and any other table its adapter fills).

    Returns one result per canonical table touched; each balances
    ``read = loaded + updated + duplicates + quarantined``. A table whose share of bad
    rows is over ``max_bad_share`` is refused with nothing loaded; ``date_format`` reads
    every text timestamp with that strptime layout. Settings left as None come from
    ``liucun.toml``'s documented ``[ingest]`` defaults.
    """
    cfg = config.section("ingest")
    if date_format:
        check_date_format(date_format)
    share = float(cfg["max_bad_share"] if max_bad_share is None else max_bad_share)
    if not 0 <= share <= 1:
        raise LiucunError(
            f"max bad share {share:g} (--max-bad-share or [ingest] max_bad_share): expected "
            f"a share from 0 to 1"
        )
    rules = ReadRules(
        tz=tz,
        future_hours=future_hours,
        max_amount=float(cfg["max_amount"] if max_amount is None else max_amount),
        max_bad_share=share,
        date_format=date_format or None,
        status_synonyms=check_synonyms(
            cfg["status_synonyms"] if status_synonyms is None else status_synonyms,
            "status synonyms",
        ),
    )
    target = get_table(table)
    path = Path(path)
    adapter = get_adapter(fmt, path)
    if target.name not in adapter.tables:
        raise LiucunError(
            f"format '{adapter.name}' fills {', '.join(adapter.tables)}, not {target.name}"
        )
    opts = SourceOptions(
        table=target.name, mapping=mapping or {}, tz=tz, sep=sep, encoding=encoding
    )
    con = warehouse.con
    results: list[IngestResult] = []
    try:
        con.execute(f"SET TimeZone={sql_str(tz)}")
    except duckdb.Error:
        raise LiucunError(
            f"unknown time zone '{tz}' (--tz or [ingest] timezone in liucun.toml; use an "
            f"IANA name like Asia/Shanghai)"
        ) from None
    try:
        # Reading only creates temporary objects, so it runs before the transaction (a
        # reader may retry after an error, which would abort a transaction).
        selects = adapter.prepare(con, path, opts)
        with warehouse.transaction():
            ingest_id = con.execute(
                "SELECT coalesce(max(ingest_id), 0) + 1 FROM ingests"
            ).fetchall()[0][0]
            order = [target.name] + [t for t in selects if t != target.name]
            for tname in order:
                if tname not in selects:
                    continue
                t = get_table(tname)
                source = adapter.source_of(tname, path)
                try:
                    _stage(con, t, selects[tname], source, rules)
                except duckdb.Error as e:
                    raise SourceError(
                        f"{source}: cannot load into {tname}: {error_reason(e)}"
                    ) from None
                _crash_point("after_stage")
                res = _merge(con, t, source, ingest_id, strict, rules.max_bad_share)
                assert res.balanced, res
                con.execute(
                    "INSERT INTO ingests VALUES (?, ?, ?, ?, timezone('UTC', now()), "
                    "?, ?, ?, ?, ?)",
                    [
                        ingest_id,
                        tname,
                        source,
                        adapter.name,
                        res.read,
                        res.loaded,
                        res.updated,
                        res.duplicates,
                        res.quarantined,
                    ],
                )
                results.append(res)
            con.execute("DROP VIEW IF EXISTS _stage")
            con.execute("DROP TABLE IF EXISTS _stage_rows")
            _crash_point("before_commit")
    finally:
        con.execute("SET TimeZone='UTC'")
        _drop_temporaries(con)
    return results
