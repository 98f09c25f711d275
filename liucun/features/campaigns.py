"""Past campaigns as training rows for uplift: who got which action (or was held back),
their features the day the campaign went out, and what they did in the next H days.

A label builder: the outcome window [campaign day, + H) is read, and only campaigns whose
window ends before ``as_of`` are used, so nothing at or after ``as_of`` is read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import ibis
import ibis.expr.types as ir
import pandas as pd

from liucun.features.base import as_of_value


def contact_outcomes(
    tables: Mapping[str, ir.Table],
    as_of: dt.date,
    horizon_days: int,
    window_days: int = 14,
) -> pd.DataFrame:
    """Randomised contacts (arm known) whose outcome window ends by ``as_of``, with what
    the customer did from the contact day on, in one query.

    Over the horizon [day, day + H): ``orders``, ``net_revenue`` (paid amounts, which are
    already after discounts), ``purchased``. Over the offer window [day, day + W):
    ``orders_window`` and ``discount_window`` (money off redeemed), for expected costs.
    Sorted by day, campaign, customer.
    """
    tr = tables["treatments"]
    last_start = as_of_value(as_of - dt.timedelta(days=horizon_days))
    c = tr.filter(tr.arm.notnull() & (tr.ts < last_start))
    c = c.select("user_id", "campaign_id", "action", "arm", "cost", day=c.ts.truncate("D"))
    c = c.mutate(contact=ibis.row_number().over(order_by=[c.day, c.campaign_id, c.user_id,
                                                          c.action, c.arm]))  # fmt: skip
    o = tables["orders"]
    o = o.select(
        o_user=o.user_id,
        o_ts=o.ts,
        o_paid=(o.status == "paid").fill_null(False),
        o_amount=o.amount.cast("float64"),
        o_discount=o.discount.cast("float64"),
    )
    j = c.left_join(
        o,
        [
            c.user_id == o.o_user,
            o.o_ts >= c.day,
            o.o_ts < c.day + ibis.interval(days=horizon_days),
        ],
    )
    in_window = j.o_ts < j.day + ibis.interval(days=window_days)
    g = j.group_by(["contact", "user_id", "campaign_id", "action", "arm", "cost", "day"]).aggregate(
        orders=j.o_ts.count(),
        net_revenue=j.o_amount.sum(where=j.o_paid),
        orders_window=j.o_ts.count(where=in_window),
        discount_window=j.o_discount.sum(where=in_window & j.o_paid),
    )
    df = g.order_by("contact").execute().sort_values("contact", kind="stable")
    df = df.drop(columns="contact").reset_index(drop=True)
    df["day"] = pd.to_datetime(df["day"]).dt.tz_localize(None)
    for col in ("orders", "orders_window"):
        df[col] = df[col].fillna(0).astype(int)
    for col in ("net_revenue", "discount_window"):
        df[col] = df[col].astype(float).fillna(0.0).clip(lower=0.0)
    df["purchased"] = (df["orders"] > 0).astype(int)
    return df


def recent_contacts(
    tables: Mapping[str, ir.Table], as_of: dt.date, window_days: int
) -> pd.DataFrame:
    """Treatment-arm contacts per customer in the ``window_days`` before ``as_of``."""
    if "treatments" not in tables:
        return pd.DataFrame(columns=["user_id", "contacts"])
    tr = tables["treatments"]
    cut = as_of_value(as_of)
    w = tr.filter(
        (tr.ts < cut)
        & (tr.ts >= cut - ibis.interval(days=window_days))
        & (tr.arm.isnull() | (tr.arm == "treatment"))
    )
    return w.group_by("user_id").aggregate(contacts=w.count()).execute()
