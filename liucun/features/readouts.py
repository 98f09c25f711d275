"""A past campaign as an analysis frame: who was contacted (or held back), and what they
bought in the days after the contact and in the days before it.

The only layer of the read-out that queries the warehouse; everything is an Ibis
expression, so it runs on any backend. Point in time: for a read-out ``as_of`` a date,
no treatments row and no orders row at or after ``as_of`` is read (the campaign-existence
check looks at the campaign's first contact only, to say why a read-out is impossible).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import ibis
import ibis.expr.types as ir
import pandas as pd

from liucun.errors import LiucunError
from liucun.features.base import as_of_value

__all__ = ["CAMPAIGN_FRAME_COLUMNS", "campaign_frame", "campaign_list", "campaign_window"]

CAMPAIGN_FRAME_COLUMNS = (
    "user_id",
    "action",
    "arm",
    "cost",
    "day",
    "ts",
    "revenue",
    "orders",
    "discount",
    "pre_revenue",
)
"""Columns of :func:`campaign_frame`, in order."""

_SHOWN_IDS = 8


def _treatments(tables: Mapping[str, ir.Table]) -> ir.Table:
    if "treatments" not in tables:
        raise LiucunError("no campaigns in the warehouse: ingest a treatments file first")
    return tables["treatments"]


def _known_ids(tr: ir.Table, cut: ir.TimestampScalar | None) -> list[str]:
    t = tr if cut is None else tr.filter(tr.ts < cut)
    g = t.group_by("campaign_id").aggregate(start=t.ts.min())
    df = g.execute().sort_values(["start", "campaign_id"], ascending=[False, True])
    return [str(c) for c in df["campaign_id"]]


def campaign_window(
    tables: Mapping[str, ir.Table], campaign_id: str, as_of: dt.date, horizon_days: int
) -> dict[str, object]:
    """Where the campaign stands as of ``as_of``.

    Returns ``start`` and ``last`` (days of the first and the last contact before
    ``as_of``), ``contacts`` (rows before ``as_of``), ``window_days`` (the outcome window
    every contact has observed: ``min(H, as_of - last)``) and ``complete`` (the full
    ``H``-day window of every contact lies before ``as_of``). Raises :class:`LiucunError`
    for an unknown campaign (naming a few known ones) or one that starts on or after
    ``as_of``.
    """
    if horizon_days < 1:
        raise LiucunError(f"horizon {horizon_days}: must be at least 1 day")
    tr = _treatments(tables)
    cut = as_of_value(as_of)
    mine = tr.filter(tr.campaign_id == campaign_id)
    info = mine.aggregate(
        first=mine.ts.min(),
        last=mine.ts.max(where=mine.ts < cut),
        contacts=mine.count(where=mine.ts < cut).fill_null(0),
    ).execute()
    first = info["first"].iloc[0]
    if pd.isna(first):
        known = _known_ids(tr, cut) or _known_ids(tr, None)
        shown = ", ".join(known[:_SHOWN_IDS]) + (", ..." if len(known) > _SHOWN_IDS else "")
        raise LiucunError(
            f"no campaign '{campaign_id}' in treatments; known campaigns: {shown or 'none'}"
            " (see `liucun campaign list`)"
        )
    start = pd.Timestamp(first).date()
    if start >= as_of:
        raise LiucunError(
            f"campaign '{campaign_id}' starts on {start}, not before --as-of {as_of}: "
            "nothing to read out yet"
        )
    last = pd.Timestamp(info["last"].iloc[0]).date()
    observed = (as_of - last).days
    return {
        "start": start,
        "last": last,
        "contacts": int(info["contacts"].iloc[0]),
        "window_days": min(horizon_days, observed),
        "complete": observed >= horizon_days,
    }


def campaign_frame(
    tables: Mapping[str, ir.Table],
    campaign_id: str,
    as_of: dt.date,
    horizon_days: int,
    window: Mapping[str, object] | None = None,
) -> pd.DataFrame:
    """One row per contact of ``campaign_id`` made before ``as_of``, with its outcomes.

    Columns :data:`CAMPAIGN_FRAME_COLUMNS`: the contact (``user_id, action, arm, cost``,
    ``day`` = its day at 00:00 UTC, ``ts``), then over the outcome window
    ``[day, day + W)`` with ``W = min(H, as_of - last contact day)`` (so the window ends
    by ``as_of`` and every contact is followed for the same number of days; ``W = H`` once
    the campaign's window is complete): ``revenue`` (amounts of paid orders), ``orders``
    (orders of any status), ``discount`` (money taken off paid orders), and
    ``pre_revenue`` (paid amounts in ``[day - H, day)``, the CUPED covariate). A missing
    contact cost is 0. Sorted by (day, user_id, ts, action).

    Nothing at or after ``as_of`` is read. Raises :class:`LiucunError` as
    :func:`campaign_window` does; pass its result as ``window`` when you have it.
    """
    win = window or campaign_window(tables, campaign_id, as_of, horizon_days)
    W = int(win["window_days"])
    cut = as_of_value(as_of)
    tr = _treatments(tables)
    c = tr.filter((tr.campaign_id == campaign_id) & (tr.ts < cut))
    c = c.select(
        "user_id",
        "action",
        "arm",
        "ts",
        cost=c.cost.cast("float64").fill_null(0.0),
        day=c.ts.truncate("D"),
    )
    c = c.mutate(contact=ibis.row_number().over(order_by=[c.day, c.user_id, c.ts, c.action, c.arm]))
    if "orders" in tables:
        o = tables["orders"]
        o = o.filter(o.ts < cut)
        o = o.select(
            o_user=o.user_id,
            o_ts=o.ts,
            o_paid=(o.status == "paid").fill_null(False),
            o_amount=o.amount.cast("float64").fill_null(0.0),
            o_discount=o.discount.cast("float64").fill_null(0.0),
        )
        j = c.left_join(
            o,
            [
                c.user_id == o.o_user,
                o.o_ts >= c.day - ibis.interval(days=horizon_days),
                o.o_ts < c.day + ibis.interval(days=W),
            ],
        )
        after = j.o_ts >= j.day
        paid_after = after & j.o_paid
        g = j.group_by(["contact", "user_id", "action", "arm", "cost", "day", "ts"]).aggregate(
            revenue=j.o_amount.sum(where=paid_after).fill_null(0.0),
            orders=j.o_ts.count(where=after).fill_null(0),
            discount=j.o_discount.sum(where=paid_after).fill_null(0.0),
            pre_revenue=j.o_amount.sum(where=(j.o_ts < j.day) & j.o_paid).fill_null(0.0),
        )
    else:
        g = c.mutate(
            revenue=ibis.literal(0.0),
            orders=ibis.literal(0),
            discount=ibis.literal(0.0),
            pre_revenue=ibis.literal(0.0),
        )
    df = g.order_by("contact").execute()
    df = df.sort_values("contact", kind="stable").reset_index(drop=True)
    out = df[list(CAMPAIGN_FRAME_COLUMNS)].copy()
    for col in ("user_id", "action", "arm"):
        out[col] = out[col].astype(str)
    for col in ("day", "ts"):
        out[col] = pd.to_datetime(out[col]).dt.tz_localize(None).astype("datetime64[us]")
    for col in ("cost", "revenue", "discount", "pre_revenue"):
        out[col] = out[col].astype("float64")
    out["orders"] = out["orders"].astype("int64")
    return out


def campaign_list(tables: Mapping[str, ir.Table], as_of: dt.date | None = None) -> pd.DataFrame:
    """One row per campaign: ``campaign_id, start, end`` (days of its first and last
    contact), ``contacts, treated, control`` and ``actions`` (sorted, comma-separated).

    With ``as_of`` only contacts before it are counted. Newest campaign first.
    """
    tr = _treatments(tables)
    if as_of is not None:
        tr = tr.filter(tr.ts < as_of_value(as_of))
    g = tr.group_by("campaign_id").aggregate(
        start=tr.ts.min(),
        end=tr.ts.max(),
        contacts=tr.count(),
        treated=tr.count(where=tr.arm == "treatment").fill_null(0),
        control=tr.count(where=tr.arm == "control").fill_null(0),
    )
    a = tr.select("campaign_id", "action").distinct()
    df = g.execute()
    acts = a.execute()
    cols = ["campaign_id", "start", "end", "contacts", "treated", "control", "actions"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    names = (
        acts.dropna()
        .astype(str)
        .sort_values(["campaign_id", "action"])
        .groupby("campaign_id")["action"]
        .agg(", ".join)
    )
    df["campaign_id"] = df["campaign_id"].astype(str)
    df["actions"] = df["campaign_id"].map(names).fillna("")
    for col in ("start", "end"):
        df[col] = pd.to_datetime(df[col]).dt.tz_localize(None).dt.date
    for col in ("contacts", "treated", "control"):
        df[col] = df[col].astype("int64")
    df = df.sort_values(["start", "campaign_id"], ascending=[False, True], kind="stable")
    return df[cols].reset_index(drop=True)
