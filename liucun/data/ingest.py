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

from liucun.data.adapters import get_adapter
from liucun.data.sources import SourceOptions, column_types, ident
from liucun.data.validate import validated_select
from liucun.errors import LiucunError, SourceError, StrictRejected
from liucun.schema import Table, get_table
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
    """The row key: a natural id, or a digest of the key columns + occurrence in the file."""
    if table.unique_key:
        return ident(table.key[0])
    parts = ", ".join(f"coalesce(CAST({ident(c)} AS VARCHAR), chr(0))" for c in table.key)
    digest = f"substr(md5(concat_ws(chr(31), {parts})), 1, 20)"
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


def _stage(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    src_sql: str,
    source: str,
    tz: str,
    future_hours: float,
) -> None:
    types = column_types(con, src_sql)
    missing = [c for c in table.required if c not in types]
    if missing:
        found = ", ".join(c for c in types if not c.startswith("_")) or "none"
        raise SourceError(
            f"{source}: missing required column(s) {', '.join(missing)} for table "
            f"{table.name}; columns found: {found} (map names with --map SRC:DST)"
        )
    sel = validated_select(table, src_sql, types, tz=tz, future_hours=future_hours)
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
) -> IngestResult:
    res = IngestResult(table.name, source)
    name = table.name
    cols = ", ".join(ident(c) for c in table.column_names)
    src = sql_str(source)
    now = "timezone('UTC', now())"
    # A natural key is its id column: not stored twice (``_key`` stays NULL), which saves
    # a fifth of a big load's write.
    tkey = ident(table.key[0]) if table.unique_key else "_key"
    skey = "CAST(NULL AS VARCHAR)" if table.unique_key else "_key"
    # in_order: the stage holds its rows in file order (``_row`` steps by one along the
    # stage's own row order), so a plain scan of it yields them in file order too.
    res.read, res.quarantined, in_order = con.execute(
        "SELECT count(*), count(_reason), min(_row - rowid) = max(_row - rowid) FROM _stage_rows"
    ).fetchone()
    if res.quarantined:
        rows = con.execute(
            "SELECT _reason, count(*) FROM _stage WHERE _reason IS NOT NULL GROUP BY 1 "
            "ORDER BY 2 DESC, 1"
        ).fetchall()
        res.reasons = {r: int(n) for r, n in rows}
        row, column, reason = con.execute(
            "SELECT _row, _column, _reason FROM _stage WHERE _reason IS NOT NULL "
            "ORDER BY _row LIMIT 1"
        ).fetchone()
        res.first_problem = f"{source}: row {row}, column {column or '-'}: {reason}"
        if strict:
            raise StrictRejected(
                f"{res.first_problem} ({res.quarantined} bad rows; --strict loaded nothing)"
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
        ).fetchone()[0]
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
    has_rows = con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {name} LIMIT 1)").fetchone()[0]
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
    ).fetchone()
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
        ).fetchone()
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
    res.loaded = con.execute("SELECT count(*) FROM _cand").fetchone()[0] - same - changed
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
) -> list[IngestResult]:
    """Load ``path`` into canonical ``table`` (and any other table its adapter fills).

    Returns one result per canonical table touched; each balances
    ``read = loaded + updated + duplicates + quarantined``.
    """
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
            f"unknown time zone '{tz}' (use an IANA name like Asia/Shanghai)"
        ) from None
    try:
        # Reading only creates temporary objects, so it runs before the transaction (a
        # reader may retry after an error, which would abort a transaction).
        selects = adapter.prepare(con, path, opts)
        with warehouse.transaction():
            ingest_id = con.execute(
                "SELECT coalesce(max(ingest_id), 0) + 1 FROM ingests"
            ).fetchone()[0]
            order = [target.name] + [t for t in selects if t != target.name]
            for tname in order:
                if tname not in selects:
                    continue
                t = get_table(tname)
                source = adapter.source_of(tname, path)
                try:
                    _stage(con, t, selects[tname], source, tz, future_hours)
                except duckdb.Error as e:
                    raise SourceError(
                        f"{source}: cannot load into {tname}: {str(e).strip().splitlines()[0]}"
                    ) from None
                _crash_point("after_stage")
                res = _merge(con, t, source, ingest_id, strict)
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
