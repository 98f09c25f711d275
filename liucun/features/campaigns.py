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


def campaign_contacts(
    tables: Mapping[str, ir.Table], as_of: dt.date, horizon_days: int
) -> pd.DataFrame:
    """Randomised contacts (arm known) whose outcome window ends by ``as_of``."""
    tr = tables["treatments"]
    last_start = as_of_value(as_of - dt.timedelta(days=horizon_days))
    t = tr.filter(tr.arm.notnull() & (tr.ts < last_start))
    t = t.mutate(day=t.ts.truncate("D"))
    df = t.select("user_id", "campaign_id", "action", "arm", "cost", "day").execute()
    return df.sort_values(["day", "campaign_id", "user_id"], kind="stable").reset_index(drop=True)


def contact_outcomes(
    tables: Mapping[str, ir.Table],
    contacts: pd.DataFrame,
    horizon_days: int,
    window_days: int = 14,
) -> pd.DataFrame:
    """Per contact, what the customer did from the contact day on.

    Over the horizon [day, day + H): ``orders``, ``net_revenue`` (paid amounts, which are
    already after discounts), ``purchased``. Over the offer window [day, day + W):
    ``orders_window`` and ``discount_window`` (money off redeemed), for expected costs.
    """
    o = tables["orders"]
    frames = []
    for day in sorted(pd.to_datetime(contacts["day"]).dt.date.unique()):
        start = as_of_value(day)
        w = o.filter((o.ts >= start) & (o.ts < start + ibis.interval(days=horizon_days)))
        in_window = w.ts < start + ibis.interval(days=window_days)
        paid = w.status == "paid"
        g = w.group_by("user_id").aggregate(
            orders=w.count(),
            net_revenue=w.amount.cast("float64").sum(where=paid),
            orders_window=w.count(where=in_window),
            discount_window=w.discount.cast("float64").sum(where=in_window & paid),
        )
        f = g.execute()
        f["day"] = pd.Timestamp(day)
        frames.append(f)
    c = contacts.copy()
    c["day"] = pd.to_datetime(c["day"]).dt.tz_localize(None)
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if not out.empty:
        out["day"] = pd.to_datetime(out["day"])
        c = c.merge(out, on=["user_id", "day"], how="left")
    for col in ("orders", "orders_window"):
        c[col] = c[col].fillna(0).astype(int) if col in c else 0
    for col in ("net_revenue", "discount_window"):
        c[col] = c[col].astype(float).fillna(0.0).clip(lower=0.0) if col in c else 0.0
    c["purchased"] = (c["orders"] > 0).astype(int)
    return c


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
