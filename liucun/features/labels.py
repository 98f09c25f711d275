"""Labels read the window after ``as_of``; snapshots stack features and labels over cutoffs.

A label for cutoff ``as_of`` and horizon H covers [as_of, as_of + H days): the only code
that may read at or after ``as_of``. Training stacks several cutoffs (customers appear at
several ages), so a model learns from the same kind of rows it later scores.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping

import ibis
import ibis.expr.types as ir
import pandas as pd

from liucun.features.base import as_of_value
from liucun.features.build import build_features

LABELS = ("purchased", "orders_h", "revenue_h", "active")
"""The columns :func:`label_frame` adds: never model inputs."""


def build_labels(
    tables: Mapping[str, ir.Table], as_of: dt.date | dt.datetime | str, horizon_days: int
) -> ir.Table:
    """Per customer with an order in the window: ``orders_h``, ``revenue_h``, ``purchased``.

    Customers absent from the result bought nothing in the window (label 0).
    """
    cut = as_of_value(as_of)
    o = tables["orders"]
    w = o.filter((o.ts >= cut) & (o.ts < cut + ibis.interval(days=horizon_days)))
    g = w.group_by("user_id").aggregate(
        orders_h=w.count(),
        revenue_h=w.amount.cast("float64").sum(where=w.status == "paid"),
    )
    return g.mutate(revenue_h=g.revenue_h.fill_null(0), purchased=ibis.literal(1))


def build_activity_labels(
    tables: Mapping[str, ir.Table],
    as_of: dt.date | dt.datetime | str,
    horizon_days: int,
    event_type: str,
) -> ir.Table:
    """Customers with an ``event_type`` event in [as_of, as_of + H): ``active`` = 1."""
    cut = as_of_value(as_of)
    e = tables["events"]
    w = e.filter(
        (e.ts >= cut)
        & (e.ts < cut + ibis.interval(days=horizon_days))
        & (e.event_type == event_type)
    )
    return w.select("user_id").distinct().mutate(active=ibis.literal(1))


def label_frame(
    features: pd.DataFrame,
    tables: Mapping[str, ir.Table],
    as_of: dt.date | dt.datetime | str,
    horizon_days: int,
    churn_event: str = "purchase",
) -> pd.DataFrame:
    """``features`` with the labels of its customers joined on (0 for no purchase).

    ``active`` is the retention label: ``purchased`` when ``churn_event`` is "purchase"
    (the default), otherwise whether the customer had an event of that type in the window.
    """
    labels = build_labels(tables, as_of, horizon_days).execute()
    out = features.merge(labels, on="user_id", how="left")
    for c in ("orders_h", "revenue_h", "purchased"):
        out[c] = out[c].fillna(0)
    out["purchased"] = out["purchased"].astype(int)
    if churn_event == "purchase":
        out["active"] = out["purchased"]
    elif "events" not in tables:
        raise ValueError(f"churn_event = {churn_event!r} needs an events table")
    else:
        act = build_activity_labels(tables, as_of, horizon_days, churn_event).execute()
        out = out.merge(act, on="user_id", how="left")
        out["active"] = out["active"].fillna(0).astype(int)
    return out


def snapshot_frame(
    tables: Mapping[str, ir.Table],
    as_of: dt.date,
    horizon_days: int,
    churn_event: str = "purchase",
    *,
    add: Callable[[pd.DataFrame, dt.date], pd.DataFrame] | None = None,
    sort: bool = False,
    arrow: bool = False,
) -> pd.DataFrame:
    """One snapshot: the features at ``as_of``, then ``add``'s columns (model outputs
    fitted at that cutoff, such as the BTYD features), then the labels of the window after.

    ``sort`` orders the customers by user_id first; ``arrow`` reads the features through
    Arrow instead of ``execute()`` (the same frame on DuckDB, and faster).
    """
    expr = build_features(tables, as_of)
    f = expr.to_pyarrow().to_pandas() if arrow else expr.execute()
    if sort:
        f = f.sort_values("user_id", kind="stable").reset_index(drop=True)
    if add is not None:
        f = add(f, as_of)
    return label_frame(f, tables, as_of, horizon_days, churn_event)


def training_snapshots(
    tables: Mapping[str, ir.Table],
    cutoffs: Iterable[dt.date],
    horizon_days: int,
    churn_event: str = "purchase",
    *,
    add: Callable[[pd.DataFrame, dt.date], pd.DataFrame] | None = None,
    on_step: Callable[[str], None] = lambda step: None,
) -> pd.DataFrame:
    """:func:`snapshot_frame` at each cutoff, stacked in the cutoffs' order with an
    ``as_of`` column first: the rows the churn and value models learn from."""

    frames = []
    for cut in cutoffs:
        on_step(f"snapshot {cut} (labels over {horizon_days} days)")
        f = snapshot_frame(tables, cut, horizon_days, churn_event, add=add)
        f.insert(0, "as_of", pd.Timestamp(cut))
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def snapshots(
    tables: Mapping[str, ir.Table],
    cutoffs: Iterable[dt.date],
    horizon_days: int,
) -> pd.DataFrame:
    """Features and labels at each cutoff, stacked, with an ``as_of`` column."""

    snap = training_snapshots(tables, cutoffs, horizon_days)
    return snap.sort_values(["as_of", "user_id"], kind="stable")
