"""Engines beyond the embedded DuckDB warehouse: the same Ibis feature code on Spark.

``spark_tables(ws)`` exports the warehouse's non-empty canonical tables to Parquet under
the workspace (``spark/<table>.parquet``) and registers them on an Ibis pyspark backend, so
``build_features`` runs unchanged on Spark. Both engines are pinned to UTC: DuckDB in
``Warehouse.con``, Spark here (session zone and the JVM's default zone).

Timestamps are written as UTC-adjusted Parquet timestamps (DuckDB ``TIMESTAMPTZ`` with the
connection in UTC), so Spark reads them as ``TIMESTAMP`` instants, the type of the ``as_of``
literals Ibis compiles. Written zone-less, Spark would read them as ``TIMESTAMP_NTZ`` and
cast them through the session zone wherever they meet a ``TIMESTAMP``. Either way the
session zone must be UTC: the hour and weekday of an instant are taken in it (measured:
23:59:59 UTC reads as hour 7 of the next day in an Asia/Shanghai session).

The Parquet files are local to the workspace: this serves a local[*] session (tests, one
big machine); a cluster needs the workspace on storage its executors can read. Views are
named after the tables, so one Spark session holds one workspace's tables at a time.

pyspark is an optional extra (``pip install 'liucun[spark]'``) and is imported lazily.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from liucun.errors import LiucunError
from liucun.schema import DERIVED, TABLES
from liucun.warehouse import sql_str

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from liucun.workspace import Workspace

MISSING = "the spark engine needs pyspark: pip install 'liucun[spark]'"
ENGINES = ("duckdb", "spark")


def _pyspark() -> Any:
    try:
        import pyspark.sql
    except ImportError:
        raise LiucunError(MISSING) from None
    return pyspark.sql


def workspace_engine(ws: Workspace) -> str:
    """The workspace's ``[warehouse] engine``: "duckdb" or "spark"."""
    engine = str(ws.config["warehouse"].get("engine", "duckdb")).strip().lower()
    if engine not in ENGINES:
        raise LiucunError(
            f"{ws.path / 'liucun.toml'}: [warehouse] engine must be one of "
            f"{', '.join(ENGINES)}, not {engine!r}"
        )
    return engine


def spark_session(app_name: str = "liucun", cores: str = "*", shuffle_partitions: int = 4) -> Any:
    """A local SparkSession pinned to UTC: no UI, loopback only, few shuffle partitions.

    Reuses the running session if there is one (a JVM holds one SparkContext); the
    session-level settings are applied to it either way. Spark 4's ANSI mode stays on:
    the feature code never divides by zero or casts out of range.
    """
    sql = _pyspark()
    conf = {
        "spark.sql.session.timeZone": "UTC",
        # The JVM's default zone too (it decides how zone-less values are read and shown);
        # effective only when this call starts the JVM.
        "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.sql.shuffle.partitions": str(shuffle_partitions),
        "spark.default.parallelism": str(shuffle_partitions),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }
    # Loopback only: no lookup of the host's name, nothing listening outside.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = sql.SparkSession.builder.master(f"local[{cores}]").appName(app_name)
    for k, v in conf.items():
        builder = builder.config(k, v)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    for k in ("spark.sql.session.timeZone", "spark.sql.shuffle.partitions"):
        session.conf.set(k, conf[k])
    return session


def export_parquet(ws: Workspace, name: str, path: Path) -> None:
    """One warehouse table to one Parquet file, timestamps as UTC-adjusted instants."""

    con = ws.warehouse.con
    cols = []
    for col, ty, *_ in con.execute(f'DESCRIBE "{name}"').fetchall():
        q = f'"{col}"'
        # TIMESTAMPTZ is written with isAdjustedToUTC=true: Spark reads it as TIMESTAMP
        # (an instant) rather than TIMESTAMP_NTZ, so no session-zone shift.
        cols.append(f"CAST({q} AS TIMESTAMPTZ) AS {q}" if ty == "TIMESTAMP" else q)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    con.execute(
        f'COPY (SELECT {", ".join(cols)} FROM "{name}") TO {sql_str(str(tmp))} '
        "(FORMAT parquet, COMPRESSION zstd)"
    )
    tmp.replace(path)


def spark_tables(ws: Workspace, session: Any = None) -> dict[str, ir.Table]:
    """The workspace's non-empty canonical tables on Spark, as Ibis tables.

    Each is exported from the DuckDB warehouse to ``<workspace>/spark/<table>.parquet`` and
    registered as a temporary view of the same name on an Ibis pyspark backend.

    Parameters
    ----------
    ws
        The workspace whose warehouse is exported.
    session
        A SparkSession (default: :func:`spark_session`).
    """
    _pyspark()
    import ibis

    if session is None:
        session = spark_session()
    con = ibis.pyspark.connect(session)
    out: dict[str, ir.Table] = {}
    present = ws.warehouse.table_names()
    for name in [*TABLES, *(n for n in DERIVED if n in present)]:
        if ws.warehouse.count(name) == 0:
            continue
        path = (ws.path / "spark" / f"{name}.parquet").resolve()
        export_parquet(ws, name, path)
        session.catalog.refreshByPath(str(path))
        session.read.parquet(str(path)).createOrReplaceTempView(name)
        out[name] = con.table(name)
    return out


def workspace_tables(ws: Workspace) -> dict[str, ir.Table]:
    """The canonical tables that hold rows: families needing an empty one are dropped.

    On DuckDB by default; on Spark when ``liucun.toml`` says ``engine = "spark"``.
    """
    if workspace_engine(ws) == "spark":
        return spark_tables(ws)

    # Derived tables (text scores) count too when the warehouse has them.
    names = [*TABLES, *(n for n in DERIVED if n in ws.warehouse.table_names())]
    # One query for all: compiling an Ibis count per table costs more than the check.
    exists = ", ".join(f'EXISTS (SELECT 1 FROM "{name}")' for name in names)
    # fetchall, not fetchone: DuckDB leaves a partly fetched result open, and the next
    # query on the connection then fails with ResourceInUseException on large warehouses.
    (held,) = ws.warehouse.con.execute(f"SELECT {exists}").fetchall()
    return {name: ws.table(name) for name, has in zip(names, held, strict=True) if has}
