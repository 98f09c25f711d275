"""Point-in-time customer features, labels and training snapshots.

``build_features(tables, as_of)`` is an Ibis expression (any backend); ``feature_frame``
runs it on a workspace and returns pandas, one row per known customer sorted by user_id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING

import ibis.expr.types as ir
import pandas as pd

from liucun.features.base import Feature, as_of_value, days_between, known_customers
from liucun.features.families import FAMILIES, FEATURES
from liucun.features.labels import build_labels, snapshots
from liucun.features.text import TABLE as TEXT_SCORES

# Tables the warehouse derives from the canonical ones (not ingested).
DERIVED = (TEXT_SCORES,)

if TYPE_CHECKING:
    from liucun.workspace import Workspace

__all__ = [
    "FEATURES",
    "Feature",
    "build_features",
    "build_labels",
    "feature_frame",
    "snapshots",
    "workspace_tables",
]


def workspace_tables(ws: Workspace) -> dict[str, ir.Table]:
    """The canonical tables that hold rows: families needing an empty one are dropped.

    On DuckDB by default; on Spark when ``liucun.toml`` says ``engine = "spark"``.
    """
    from liucun.data.schema import TABLES
    from liucun.engines import spark_tables, workspace_engine

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


def build_features(tables: Mapping[str, ir.Table], as_of: dt.date | dt.datetime | str) -> ir.Table:
    """One row per customer known at ``as_of``; reads only rows with ts < as_of.

    Parameters
    ----------
    tables
        Canonical tables by name (missing or empty ones drop their families).
    as_of
        The cutoff: a date means 00:00 UTC that day.
    """
    cut = as_of_value(as_of)
    base = known_customers(tables, cut)
    out = base.select("user_id", tenure_days=days_between(cut, base.first_seen))
    counts: list[str] = []
    for _name, (family, needs) in FAMILIES.items():
        if not all(n in tables for n in needs):
            continue
        f = family(tables, cut)
        out = out.left_join(f, "user_id").drop("user_id_right")
        counts += [c for c in f.columns if _is_count(c)]
    fills = {c: out[c].fill_null(0) for c in counts if c in out.columns}
    out = out.mutate(**fills)
    # Float sums and means from a parallel aggregation differ in their last bits with the
    # order threads combine partial results (machine load decides it). Rounded to 10
    # decimals, the same data gives the same features, and the same models, every time.
    floats = {c: out[c].round(10) for c, t in out.schema().items() if t.is_floating()}
    return out.mutate(**floats).order_by("user_id")


def _is_count(name: str) -> bool:
    return name.startswith(
        (
            "orders_",
            "revenue_",
            "sessions_",
            "views_",
            "searches_",
            "carts_",
            "logins_",
            "support_",
            "treatments_",
            "reviews_total",
            "categories_bought",
            "has_ordered",
            "opted_out",
            "complaints_",
        )
    )


def feature_frame(ws: Workspace, as_of: dt.date | dt.datetime | str) -> pd.DataFrame:
    """Features as pandas, one row per known customer, sorted by user_id."""
    from liucun.engines import workspace_engine

    expr = build_features(workspace_tables(ws), as_of)
    # On DuckDB, Arrow → pandas directly gives the same frame (values and dtypes) as
    # ``execute()``, whose per-column conversion costs ~0.5 s at 200,000 customers.
    duck = workspace_engine(ws) == "duckdb"
    df = expr.to_pyarrow().to_pandas() if duck else expr.execute()
    return df.sort_values("user_id", kind="stable").reset_index(drop=True)
