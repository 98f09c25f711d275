"""The engine boundary: the warehouse hands out table expressions.

DuckDB (one file in the workspace) is the embedded default. Stages above this line work
with Ibis table expressions, so the same feature code can run on any Ibis backend (Spark
when one machine is not enough); only this module and the ingest/feature layers write SQL.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from liucun.data.schema import META_COLUMNS, TABLES
from liucun.data.sources import sql_str
from liucun.errors import LiucunError

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


def table_ddl(name: str, history: bool = False) -> str:
    t = TABLES[name]
    cols = [f'"{c.name}" {c.sql_type}' for c in t.columns]
    cols += [f"{n} {ty}" for n, ty in META_COLUMNS]
    if history:
        cols.append("_superseded_at TIMESTAMP")
    target = f"{name}_history" if history else name
    return f"CREATE TABLE IF NOT EXISTS {target} ({', '.join(cols)})"


class Warehouse:
    """A DuckDB file with the canonical tables, their histories, quarantine and ingest log.

    Parameters
    ----------
    path
        The ``warehouse.duckdb`` file; created with every table on first use.
    memory_limit, threads
        DuckDB settings (see ``[warehouse]`` in ``liucun.toml``).
    """

    def __init__(self, path: Path, memory_limit: str = "2GB", threads: int = 0) -> None:
        self.path = Path(path)
        self.memory_limit = memory_limit
        self.threads = threads
        self._con: duckdb.DuckDBPyConnection | None = None
        self._ibis: Any = None

    # -- connection -----------------------------------------------------------------
    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                con = duckdb.connect(str(self.path))
            except duckdb.IOException as e:
                raise LiucunError(f"{self.path}: cannot open the warehouse ({e})") from None
            con.execute(f"SET memory_limit='{self.memory_limit}'")
            if self.threads:
                con.execute(f"SET threads={int(self.threads)}")
            con.execute("SET TimeZone='UTC'")
            self._con = con
            self._create_schema()
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
            self._ibis = None

    def _create_schema(self) -> None:
        con = self._con
        assert con is not None
        for name in TABLES:
            con.execute(table_ddl(name))
            con.execute(table_ddl(name, history=True))
        con.execute(QUARANTINE_DDL)
        con.execute(INGESTS_DDL)

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

    def table_names(self) -> list[str]:
        rows = self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
        return sorted(r[0] for r in rows)

    def count(self, name: str) -> int:
        if name not in self.table_names():
            raise LiucunError(f"no table '{name}' in {self.path}")
        return int(self.con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])

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
        return self.con.execute(f"SELECT max(ts) FROM ({parts})").fetchone()[0]

    def first_activity(self) -> dt.datetime | None:
        """The oldest timestamp of any table (where rolling backtest cutoffs may start)."""
        parts = " UNION ALL ".join(
            f"SELECT min(ts) AS ts FROM {t}" for t in TABLES if "ts" in TABLES[t].column_names
        )
        return self.con.execute(f"SELECT min(ts) FROM ({parts})").fetchone()[0]

    def fingerprint(self) -> dict[str, list[int]]:
        """Row count and newest ingest id per table: changes whenever an ingest changes data.

        Saved models are reused only while the fingerprint they were fitted on holds.
        """
        parts = " UNION ALL ".join(
            f"SELECT '{t}', count(*), coalesce(max(_ingest_id), 0) FROM {t}" for t in TABLES
        )
        out = {r[0]: [int(r[1]), int(r[2])] for r in self.con.execute(parts).fetchall()}
        if "text_scores" in self.table_names():  # derived: rescored when its model changes
            n, model = self.con.execute(
                "SELECT count(*), coalesce(max(model_id), '') FROM text_scores"
            ).fetchall()[0]
            out["text_scores"] = [int(n), zlib.crc32(str(model).encode())]
        return out

    def summary(self) -> dict[str, Any]:
        """Customers, orders, revenue and date range: the first look at a loaded shop."""
        con = self.con
        counts = {name: self.count(name) for name in TABLES}
        users_sql = " UNION ".join(
            f"SELECT user_id FROM {t}"
            for t in TABLES
            if t != "items" and "user_id" in TABLES[t].column_names
        )
        customers = con.execute(f"SELECT count(DISTINCT user_id) FROM ({users_sql})").fetchone()[0]
        rev = con.execute(
            "SELECT coalesce(sum(amount) FILTER (WHERE status = 'paid'), 0), "
            "min(ts), max(ts) FROM orders"
        ).fetchone()
        return {
            "tables": counts,
            "customers": int(customers),
            "revenue": float(rev[0]),
            "first_order": rev[1].isoformat() if rev[1] else None,
            "last_order": rev[2].isoformat() if rev[2] else None,
            "quarantined": self.count("quarantine"),
        }
