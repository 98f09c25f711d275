"""The repeat-purchase summary that BTYD models (BG/NBD, Pareto/NBD, Gamma-Gamma) fit on.

Per customer with an order before ``as_of``, in days, at day grain as these models
assume (several orders on one day are one transaction):

- ``frequency``: repeat purchase days (distinct order days - 1);
- ``recency``: days from the first to the last order day;
- ``T``: days from the first order day to ``as_of`` (the customer's age);
- ``monetary``: mean paid revenue of the repeat purchase days (NULL when none).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from liucun.features.base import as_of_value, before, days_between

WEEK = 7.0  # days: the models are fitted in weeks


def btyd_summary(tables: Mapping[str, ir.Table], as_of: dt.date | dt.datetime | str) -> ir.Table:
    """One row per customer who ordered before ``as_of``: frequency, recency, T, monetary."""
    cut = as_of_value(as_of)
    o = before(tables["orders"], cut)
    day = o.ts.truncate("D")
    paid = o.amount.cast("float64").fill_null(0) * (o.status == "paid").cast("float64")
    o = o.mutate(day=day, paid=paid)
    d = o.group_by(["user_id", "day"]).aggregate(value=o.paid.sum())
    g = d.group_by("user_id").aggregate(
        days=d.count(),
        first=d.day.min(),
        last=d.day.max(),
        total=d.value.sum(),
        first_value=d.value.argmin(d.day),
    )
    repeat = (g.days - 1).cast("float64")
    return g.select(
        "user_id",
        frequency=repeat,
        recency=days_between(g.last, g.first),
        T=days_between(cut, g.first),
        # Rounded like the features: DuckDB's parallel sum differs in its last bits from run
        # to run, and Gamma-Gamma (then every model stacked on it) would follow it.
        monetary=((g.total - g.first_value) / repeat.nullif(0)).round(10),
    )


def summary_frame(
    tables: Mapping[str, ir.Table], as_of: dt.date | dt.datetime | str
) -> pd.DataFrame:
    """:func:`btyd_summary` as pandas, sorted by user_id."""
    df = btyd_summary(tables, as_of).execute()
    return df.sort_values("user_id", kind="stable").reset_index(drop=True)


def order_span(
    tables: Mapping[str, ir.Table], as_of: dt.date | dt.datetime | str
) -> tuple[dt.date | None, dt.date | None]:
    """Days of the first and last order before ``as_of`` (None, None: no orders)."""
    o = before(tables["orders"], as_of_value(as_of))
    row = o.aggregate(first=o.ts.min(), last=o.ts.max()).execute().iloc[0]
    if pd.isna(row["first"]):
        return None, None
    return pd.Timestamp(row["first"]).date(), pd.Timestamp(row["last"]).date()


def in_weeks(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frequency, recency, T) of the summary as BG/NBD and Pareto/NBD take them: in weeks,
    with T kept above zero (the likelihoods take its log)."""
    return (
        summary["frequency"].to_numpy(dtype=float),
        summary["recency"].to_numpy(dtype=float) / WEEK,
        np.maximum(summary["T"].to_numpy(dtype=float) / WEEK, 1e-6),
    )


def repeat_spend(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Gamma-Gamma inputs (frequency, monetary): repeat days with no paid value count as no
    repeat spend."""
    m = summary["monetary"].fillna(0).to_numpy(dtype=float)
    f = np.where(m > 0, summary["frequency"].to_numpy(dtype=float), 0.0)
    return f, np.where(m > 0, m, 0.0)
