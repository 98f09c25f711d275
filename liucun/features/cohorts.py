"""Monthly cohort retention: of the customers whose first order fell in a month, the share
who ordered again 1, 2, ... months later.

A cohort is the calendar month (UTC) of a customer's first order; ``months_since`` counts
calendar months from it (0 = the cohort month, where the share is 1 by definition). A
purchase is an order of any status, as everywhere else. Only orders with ``ts < as_of``
are read, so the last month of the table is a partial month when ``as_of`` falls inside it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import ibis.expr.types as ir
import pandas as pd

from liucun.features.base import as_of_value, before

__all__ = ["cohort_frame", "cohort_matrix", "cohort_retention"]


def _month_index(ts: ir.TimestampValue) -> ir.IntegerValue:
    """Months since year 0: portable month arithmetic (no engine-specific date_diff)."""
    return ts.year().cast("int64") * 12 + ts.month().cast("int64") - 1


def _newest_month(as_of: dt.date | dt.datetime | str) -> int:
    """Month index of the last instant before ``as_of`` (on the 1st: the month before)."""
    if isinstance(as_of, str):
        as_of = dt.date.fromisoformat(as_of)
    if not isinstance(as_of, dt.datetime):
        as_of = dt.datetime.combine(as_of, dt.time())
    last = as_of - dt.timedelta(microseconds=1)
    return last.year * 12 + last.month - 1


def cohort_retention(
    tables: Mapping[str, ir.Table], as_of: dt.date | dt.datetime | str, months: int = 24
) -> ir.Table:
    """One row per (cohort, months_since) with ``customers`` who ordered that month,
    ``cohort_size`` and ``share``; the ``months`` newest cohorts before ``as_of``.

    Columns: ``cohort`` (month index: year × 12 + month - 1), ``months_since``,
    ``customers``, ``cohort_size``, ``share``.
    """
    cut = as_of_value(as_of)
    o = before(tables["orders"], cut)
    o = o.select(user_id=o.user_id, month=_month_index(o.ts))
    first = o.group_by("user_id").aggregate(cohort=o.month.min())
    first = first.filter(first.cohort > _newest_month(as_of) - months)
    sizes = first.group_by("cohort").aggregate(cohort_size=first.user_id.count())
    j = o.inner_join(first, "user_id")
    j = j.select(j.user_id, j.cohort, months_since=j.month - j.cohort)
    active = j.group_by(["cohort", "months_since"]).aggregate(customers=j.user_id.nunique())
    out = active.inner_join(sizes, "cohort")
    return out.select(
        "cohort",
        "months_since",
        "customers",
        "cohort_size",
        share=out.customers.cast("float64") / out.cohort_size.cast("float64"),
    ).order_by(["cohort", "months_since"])


def cohort_frame(
    tables: Mapping[str, ir.Table], as_of: dt.date | dt.datetime | str, months: int = 24
) -> pd.DataFrame:
    """:func:`cohort_retention` as pandas with ``cohort`` as ``YYYY-MM`` text."""
    if "orders" not in tables:
        return pd.DataFrame(columns=["cohort", "months_since", "customers", "cohort_size", "share"])
    # Arrow, as feature_frame does: the same frame, and the path every engine supports.
    df = cohort_retention(tables, as_of, months).to_pyarrow().to_pandas()
    idx = df["cohort"].astype(int)
    df["cohort"] = [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in idx]
    df["months_since"] = df["months_since"].astype(int)
    df["customers"] = df["customers"].astype(int)
    df["cohort_size"] = df["cohort_size"].astype(int)
    return df.sort_values(["cohort", "months_since"], kind="stable").reset_index(drop=True)


def cohort_matrix(frame: pd.DataFrame) -> dict[str, object]:
    """The heatmap: cohorts (rows, oldest first), sizes, months 0..max, shares (None where
    the cohort has not reached that month yet; 0.0 where it has and nobody ordered)."""
    if frame.empty:
        return {"cohorts": [], "sizes": [], "months": [], "shares": []}
    cohorts = sorted(frame["cohort"].unique())
    width = int(frame["months_since"].max()) + 1
    newest = max(cohorts)
    ny, nm = int(newest[:4]), int(newest[5:7])
    shares: list[list[float | None]] = []
    sizes: list[int] = []
    by = {c: g for c, g in frame.groupby("cohort", sort=False)}
    for c in cohorts:
        g = by[c]
        reach = (ny - int(c[:4])) * 12 + nm - int(c[5:7])  # months this cohort has seen
        vals = dict(zip(g["months_since"].astype(int), g["share"].astype(float), strict=True))
        shares.append([round(vals.get(m, 0.0), 4) if m <= reach else None for m in range(width)])
        sizes.append(int(g["cohort_size"].iloc[0]))
    return {"cohorts": cohorts, "sizes": sizes, "months": list(range(width)), "shares": shares}
