"""The engine boundary: the warehouse hands out table expressions.

DuckDB (one file in the workspace) is the embedded default. Stages above this line work
with Ibis table expressions, so the same feature code can run on any Ibis backend (Spark
when one machine is not enough). SQL strings live here and in :mod:`liucun.engines`: the
few feature queries that need DuckDB itself (JSON attributes, read-only opening) are
named methods of :class:`Warehouse`.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from liucun import config, migrations
from liucun.errors import LiucunError
from liucun.schema import META_COLUMNS, TABLES, TEXT_SCORES

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd

QUARANTINE_DDL = """
CREATE TABLE IF NOT EXISTS quarantine (
    ingest_id BIGINT,
    table_name VARCHAR,
    source_file VARCHAR,
    row_number BIGINT,
    column_name VARCHAR,
    reason VARCHAR,
    raw VARCHAR,
    quarantined_at TIMESTAMP
)"""

INGESTS_DDL = """
CREATE TABLE IF NOT EXISTS ingests (
    ingest_id BIGINT,
    table_name VARCHAR,
    source_file VARCHAR,
    format VARCHAR,
    started_at TIMESTAMP,
    read BIGINT,
    loaded BIGINT,
    updated BIGINT,
    duplicates BIGINT,
    quarantined BIGINT
)"""


class WarehouseBusy(LiucunError):
    """Another process holds the warehouse's write lock for longer than
    ``[warehouse] lock_timeout_s``: worth retrying later. The message names no path or
    process, so the API can pass it on as "busy, retry"."""


# How often a writer waiting for the lock tries again.
LOCK_POLL_S = 0.1


def _lock_conflict(e: duckdb.Error) -> bool:
    """Whether DuckDB refused the file because another process holds its write lock."""
    text = str(e)
    return "Could not set lock" in text or "Conflicting lock" in text


def _say(message: str) -> None:
    """Say on stderr (stdout may be a command's output) that a writer waits."""
    print(message, file=sys.stderr, flush=True)


def one_row(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()
) -> tuple[Any, ...]:
    """The row of a query that returns one (an aggregate), reading the whole result.

    Use it instead of ``fetchone()``: that leaves the result open, and DuckDB 2 then
    refuses the next relation or Ibis query on the connection (``ResourceInUseException``).
    """
    cur = con.execute(sql, list(params)) if params else con.execute(sql)
    return cur.fetchall()[0]


def sql_str(s: str) -> str:
    """A SQL string literal."""
    return "'" + str(s).replace("'", "''") + "'"


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def _cut(as_of: dt.date) -> str:
    """``TIMESTAMP '<as_of> 00:00:00'``: 00:00 UTC of the ``as_of`` day as a SQL literal."""
    return "TIMESTAMP " + sql_str(dt.datetime.combine(as_of, dt.time()).isoformat(sep=" "))


def _shared_sql(cols: set[str], attributes: Sequence[str], cut: str) -> str:
    """(user_id, shared_accounts, shared_signup_days) over the attributes present."""
    parts = []
    for a in attributes:
        if a in cols:
            value = f"CAST({ident(a)} AS VARCHAR)"
        elif "attributes" in cols:
            value = f"json_extract_string(attributes, {sql_str('$.' + a)})"
        else:
            continue
        parts.append(
            f"SELECT user_id, {sql_str(a)} AS attr, {value} AS value, signup_ts FROM users "
            f"WHERE (signup_ts IS NULL OR signup_ts < {cut})"
            + (" AND try(json_valid(attributes))" if a not in cols else "")
        )
    if not parts:
        return (
            "SELECT NULL::VARCHAR AS user_id, 0 AS shared_accounts, "
            "NULL::DOUBLE AS shared_signup_days WHERE false"
        )
    return f"""
        WITH v AS ({" UNION ALL ".join(parts)}),
        v2 AS (SELECT * FROM v WHERE value IS NOT NULL AND value <> ''),
        g AS (SELECT attr, value, count(DISTINCT user_id) AS n,
                     date_diff('second', min(signup_ts), max(signup_ts)) / 86400.0 AS span
              FROM v2 GROUP BY attr, value)
        SELECT v2.user_id, max(g.n) - 1 AS shared_accounts,
               min(g.span) FILTER (WHERE g.n > 1) AS shared_signup_days
        FROM v2 JOIN g USING (attr, value) GROUP BY v2.user_id"""


RISK_SQL = """
        WITH o AS (
            SELECT order_id, user_id, ts, coalesce(amount, 0)::DOUBLE AS amount,
                   coalesce(discount, 0)::DOUBLE AS discount, status,
                   (coupon_code IS NOT NULL OR coalesce(discount, 0) > 0) AS coupon
            FROM orders WHERE ts < {cut}),
        o24 AS (
            SELECT user_id, count(*) OVER (PARTITION BY user_id ORDER BY ts
                   RANGE BETWEEN INTERVAL 1 DAY PRECEDING AND CURRENT ROW) AS n24
            FROM o),
        firsts AS (
            SELECT user_id, arg_min(discount / nullif(amount + discount, 0), (ts, order_id))
                   AS first_discount_share, min(ts) AS first_ts
            FROM o GROUP BY user_id),
        per AS (
            SELECT user_id, count(*) AS orders, count(*) FILTER (WHERE coupon) AS coupon_orders,
                   sum(discount) AS discounts, sum(amount) FILTER (WHERE status = 'paid') AS paid,
                   count(*) FILTER (WHERE status = 'refunded') AS refunded,
                   count(*) FILTER (WHERE status = 'refunded' AND coupon) AS coupon_refunded,
                   count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
                   max(amount) AS amount_max, median(amount) AS amount_median
            FROM o GROUP BY user_id),
        shop AS (SELECT quantile_cont(amount, 0.99) AS p99 FROM o),
        burst AS (SELECT user_id, max(n24) AS max_orders_24h FROM o24 GROUP BY user_id),
        shared AS ({shared}),
        ids AS (
            SELECT user_id FROM per
            UNION SELECT user_id FROM users WHERE signup_ts IS NULL OR signup_ts < {cut})
        SELECT ids.user_id,
               coalesce(per.orders, 0) AS orders,
               coalesce(per.coupon_orders, 0) AS coupon_orders,
               per.coupon_orders / nullif(per.orders, 0) AS coupon_share,
               per.discounts / nullif(coalesce(per.paid, 0) + per.discounts, 0) AS discount_share,
               coalesce(per.refunded, 0) AS refunded,
               per.refunded / nullif(per.orders, 0) AS refund_share,
               coalesce(per.coupon_refunded, 0) AS coupon_refunded,
               coalesce(per.cancelled, 0) AS cancelled,
               per.cancelled / nullif(per.orders, 0) AS cancel_share,
               coalesce(burst.max_orders_24h, 0) AS max_orders_24h,
               firsts.first_discount_share,
               date_diff('second', firsts.first_ts, {cut}) / 86400.0 AS days_since_first_order,
               date_diff('second', u.signup_ts, firsts.first_ts) / 3600.0
                   AS first_order_hours_after_signup,
               per.amount_max / nullif(per.amount_median, 0) AS amount_max_ratio,
               per.amount_max / nullif(shop.p99, 0) AS amount_max_shop_ratio,
               coalesce(shared.shared_accounts, 0) AS shared_accounts,
               shared.shared_signup_days
        FROM ids LEFT JOIN per USING (user_id) LEFT JOIN burst USING (user_id)
        LEFT JOIN firsts USING (user_id) LEFT JOIN shared USING (user_id)
        LEFT JOIN (SELECT user_id, min(signup_ts) AS signup_ts FROM users GROUP BY user_id) u
            USING (user_id)
        CROSS JOIN shop
        ORDER BY ids.user_id"""


def table_ddl(name: str, history: bool = False) -> str:
    t = TABLES[name]
    cols = [f'"{c.name}" {c.sql_type}' for c in t.columns]
    cols += [f"{n} {ty}" for n, ty in META_COLUMNS]
    if history:
        cols.append("_superseded_at TIMESTAMP")
    target = f"{name}_history" if history else name
    return f"CREATE TABLE IF NOT EXISTS {target} ({', '.join(cols)})"


# The derived table of scored review and support texts (written by the text models).
TEXT_SCORES_DDL = f"""
CREATE TABLE IF NOT EXISTS {TEXT_SCORES} (
    _key VARCHAR,
    source VARCHAR,
    user_id VARCHAR,
    ts TIMESTAMP,
    item_id VARCHAR,
    lang VARCHAR,
    p_positive DOUBLE,
    negative_aspects VARCHAR,
    aspects VARCHAR,
    model_id VARCHAR
)"""


# The layout version this code writes (older warehouses are migrated on opening).
SCHEMA_VERSION = migrations.SCHEMA_VERSION


def _create_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The current layout's tables that are missing (text_scores is made when needed)."""
    for name in TABLES:
        con.execute(table_ddl(name))
        con.execute(table_ddl(name, history=True))
    con.execute(QUARANTINE_DDL)
    con.execute(INGESTS_DDL)


class Warehouse:
    """A DuckDB file with the canonical tables, their histories, quarantine and ingest log.

    Parameters
    ----------
    path
        The ``warehouse.duckdb`` file; created with every table on first use, and migrated
        in place when an older liucun wrote it (:mod:`liucun.migrations`).
    memory_limit, threads
        DuckDB settings (see ``[warehouse]`` in ``liucun.toml``).
    lock_timeout_s
        How long opening for writing waits while another process holds the file (DuckDB
        allows one writer) before :class:`WarehouseBusy`; ``None``: ``[warehouse]``'s
        default.
    on_wait
        Told once when opening has to wait (default: a line on stderr).
    """

    def __init__(
        self,
        path: Path,
        memory_limit: str = "2GB",
        threads: int = 0,
        lock_timeout_s: float | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.memory_limit = memory_limit
        self.threads = threads
        if lock_timeout_s is None:
            lock_timeout_s = config.section("warehouse")["lock_timeout_s"]
        self.lock_timeout_s = max(float(lock_timeout_s), 0.0)
        self.on_wait = on_wait or _say
        self._con: duckdb.DuckDBPyConnection | None = None
        self._ibis: Any = None

    # -- connection -----------------------------------------------------------------
    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = self._connect()
            con.execute(f"SET memory_limit='{self.memory_limit}'")
            if self.threads:
                con.execute(f"SET threads={int(self.threads)}")
            con.execute("SET TimeZone='UTC'")
            self._con = con
            try:
                self._create_schema()
            except BaseException:
                # Not left half open: the next use tries (and refuses or migrates) again.
                self._con = None
                con.close()
                raise
        return self._con

    def _connect(self) -> duckdb.DuckDBPyConnection:
        """Open the file for writing, waiting up to ``lock_timeout_s`` for another writer."""
        deadline = time.monotonic() + self.lock_timeout_s
        told = False
        while True:
            try:
                return duckdb.connect(str(self.path))
            except duckdb.IOException as e:
                if not _lock_conflict(e):
                    raise LiucunError(f"{self.path}: cannot open the warehouse ({e})") from None
            left = deadline - time.monotonic()
            if left <= 0:
                waited = f" (waited {self.lock_timeout_s:g} s)" if self.lock_timeout_s else ""
                raise WarehouseBusy(
                    "the warehouse is busy: another liucun process (a run or an ingest) is "
                    f"writing{waited}; retry when it has finished, or raise "
                    "[warehouse] lock_timeout_s in liucun.toml"
                )
            if not told:
                self.on_wait(
                    "warehouse busy (another liucun process is writing); "
                    f"waiting up to {self.lock_timeout_s:g} s"
                )
                told = True
            time.sleep(min(LOCK_POLL_S, left))

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
            self._ibis = None

    def _create_schema(self) -> None:
        """Create a fresh warehouse, or migrate an older one, at the current version;
        refuse one a newer liucun wrote (:func:`liucun.migrations.upgrade`)."""
        con = self._con
        assert con is not None
        migrations.upgrade(con, self.path, _create_tables)

    def schema_version(self) -> int:
        """The layout version recorded in the warehouse (:data:`SCHEMA_VERSION`)."""
        (version,) = one_row(self.con, f"SELECT max(version) FROM {migrations.VERSION_TABLE}")
        return int(version)

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """All or nothing: an exception (or a killed process) leaves the warehouse as it was."""
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        else:
            con.execute("COMMIT")

    # -- expressions ------------------------------------------------------------------
    @property
    def ibis(self) -> Any:
        """The Ibis backend over this warehouse's connection."""
        if self._ibis is None:
            import ibis

            self._ibis = ibis.duckdb.from_connection(self.con)
        return self._ibis

    def table(self, name: str) -> ir.Table:
        """A canonical table (or ``quarantine``, ``ingests``, ``<table>_history``) as Ibis."""
        if name not in self.table_names():
            raise LiucunError(
                f"no table '{name}' in {self.path}: expected one of {', '.join(TABLES)}"
            )
        return self.ibis.table(name)

    # -- derived tables ---------------------------------------------------------------

    def ensure_text_scores(self) -> None:
        """Create the derived ``text_scores`` table when it is not there yet."""
        self.con.execute(TEXT_SCORES_DDL)

    def keep_text_scores(self, model_id: str) -> None:
        """Drop the scores of every model but ``model_id``: one model scores every row."""
        self.ensure_text_scores()
        self.con.execute(f"DELETE FROM {TEXT_SCORES} WHERE model_id IS DISTINCT FROM ?", [model_id])

    def append_text_scores(self, frame: pd.DataFrame) -> int:
        """Append rows with the columns of ``text_scores``, in one transaction."""
        self.ensure_text_scores()
        with self.transaction() as tx:
            tx.register("_scored", frame)
            try:
                tx.execute(
                    f"INSERT INTO {TEXT_SCORES} SELECT {', '.join(frame.columns)} FROM _scored"
                )
            finally:
                tx.unregister("_scored")
        return len(frame)

    def frame(self, expr: ir.Table) -> pd.DataFrame:
        """An Ibis expression over this warehouse as pandas, converted by DuckDB itself.

        ``expr.execute()`` converts through Arrow, which types the columns of an empty
        result differently (``str`` where DuckDB gives ``object``); this keeps the frames
        of queries that moved from SQL to Ibis exactly as they were.
        """
        return self.con.execute(self.ibis.compile(expr)).df()

    def table_names(self) -> list[str]:
        rows = self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
        return sorted(r[0] for r in rows)

    def count(self, name: str) -> int:
        if name not in self.table_names():
            raise LiucunError(f"no table '{name}' in {self.path}")
        return int(one_row(self.con, f"SELECT count(*) FROM {ident(name)}")[0])

    def quarantine(
        self, table: str | None = None, limit: int | None = 20
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(rows per table and reason, the quarantined rows in file order)."""
        where = f"WHERE table_name = {sql_str(table)}" if table else ""
        counts = self.con.execute(
            f"SELECT table_name, reason, count(*) AS n FROM quarantine {where} "
            "GROUP BY ALL ORDER BY n DESC, table_name, reason"
        ).df()
        lim = f"LIMIT {int(limit)}" if limit is not None else ""
        rows = self.con.execute(
            f"SELECT * FROM quarantine {where} ORDER BY ingest_id, table_name, row_number {lim}"
        ).df()
        return counts, rows

    def last_activity(self) -> dt.datetime | None:
        """The newest timestamp of any table (the default ``as_of`` is the day after)."""
        parts = " UNION ALL ".join(
            f"SELECT max(ts) AS ts FROM {t}" for t in TABLES if "ts" in TABLES[t].column_names
        )
        return one_row(self.con, f"SELECT max(ts) FROM ({parts})")[0]

    def first_activity(self) -> dt.datetime | None:
        """The oldest timestamp of any table (where rolling backtest cutoffs may start)."""
        parts = " UNION ALL ".join(
            f"SELECT min(ts) AS ts FROM {t}" for t in TABLES if "ts" in TABLES[t].column_names
        )
        return one_row(self.con, f"SELECT min(ts) FROM ({parts})")[0]

    def fingerprint(self) -> dict[str, list[int]]:
        """Row count and newest ingest id per table: changes whenever an ingest changes data.

        Saved models are reused only while the fingerprint they were fitted on holds.
        """
        parts = " UNION ALL ".join(
            f"SELECT '{t}', count(*), coalesce(max(_ingest_id), 0) FROM {t}" for t in TABLES
        )
        out = {r[0]: [int(r[1]), int(r[2])] for r in self.con.execute(parts).fetchall()}
        if "text_scores" in self.table_names():  # derived: rescored when its model changes
            n, model = one_row(
                self.con, "SELECT count(*), coalesce(max(model_id), '') FROM text_scores"
            )
            out["text_scores"] = [int(n), zlib.crc32(str(model).encode())]
        return out

    def columns(self, name: str) -> list[str]:
        """The column names of a warehouse table, in table order."""
        return [r[0] for r in self.con.execute(f"DESCRIBE {ident(name)}").fetchall()]

    # -- feature queries: what the feature layer cannot say in Ibis --------------------
    def risk_features(self, as_of: dt.date, attributes: Sequence[str]) -> pd.DataFrame:
        """The rows of :func:`liucun.features.risk.risk_features`, sorted by user_id.

        DuckDB SQL: shared attributes come from users columns or from keys of the
        ``attributes`` JSON (rows whose JSON does not parse share nothing), the first
        order is ``arg_min`` over (ts, order_id), bursts a 24-hour RANGE window.
        """
        cut = _cut(as_of)
        shared = _shared_sql(set(self.columns("users")), attributes, cut)
        return self.con.execute(RISK_SQL.format(cut=cut, shared=shared)).df()

    def account_labels(self, names: Sequence[str]) -> pd.DataFrame | None:
        """(user_id, label) of every users row, ordered by user_id: the first of the users
        columns or ``attributes`` JSON keys ``names`` set, as lowercased text; ``None`` when
        no such column and no ``attributes`` column exist."""
        cols = set(self.columns("users"))
        exprs = [f"CAST({ident(n)} AS VARCHAR)" for n in names if n in cols]
        if "attributes" in cols:
            exprs += [
                f"CASE WHEN try(json_valid(attributes)) THEN "
                f"json_extract_string(attributes, {sql_str('$.' + n)}) END"
                for n in names
            ]
        if not exprs:
            return None
        return self.con.execute(
            f"SELECT user_id, lower(coalesce({', '.join(exprs)})) AS label "
            "FROM users ORDER BY user_id"
        ).df()

    @staticmethod
    @contextmanager
    def read_only(path: Path) -> Iterator[tuple[Any, set[str]]]:
        """(an Ibis backend, the table names) of a warehouse file opened read-only in UTC.

        Never waits for the lock: raises when the file is locked by a writer (a run or an
        ingest in progress) or was opened with other settings in this process. Never
        migrates: a version this code cannot read as is raises :class:`LiucunError` (a
        newer one: upgrade liucun; an older one: any writing command migrates it).
        """
        import ibis

        con = duckdb.connect(str(path), read_only=True)
        try:
            con.execute("SET TimeZone='UTC'")
            migrations.check_readable(con, Path(path))
            rows = con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()
            yield ibis.duckdb.from_connection(con), {r[0] for r in rows}
        finally:
            con.close()

    def summary(self) -> dict[str, Any]:
        """Customers, orders, revenue and date range: the first look at a loaded shop."""
        con = self.con
        counts = {name: self.count(name) for name in TABLES}
        users_sql = " UNION ".join(
            f"SELECT user_id FROM {t}"
            for t in TABLES
            if t != "items" and "user_id" in TABLES[t].column_names
        )
        customers = one_row(con, f"SELECT count(DISTINCT user_id) FROM ({users_sql})")[0]
        rev = one_row(
            con,
            "SELECT coalesce(sum(amount) FILTER (WHERE status = 'paid'), 0), "
            "min(ts), max(ts) FROM orders",
        )
        return {
            "tables": counts,
            "customers": int(customers),
            "revenue": float(rev[0]),
            "first_order": rev[1].isoformat() if rev[1] else None,
            "last_order": rev[2].isoformat() if rev[2] else None,
            "quarantined": self.count("quarantine"),
        }
