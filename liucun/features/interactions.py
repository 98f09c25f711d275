"""Who touched which item, when and how strongly: the input of the recommenders.

Rows come from click-stream events that name an item (weighted by type: a view says
less than a cart, a cart less than a purchase) and from order lines (purchases). Only
rows before ``as_of`` are read. Consumed items — excluded from recommendations by
default — are the items of a customer's orders and of their purchase, review and rate
events (and reviews naming an item).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import ibis
import ibis.expr.types as ir
import pandas as pd

from liucun.features.base import as_of_value, before

DEFAULT_EVENT_WEIGHTS: dict[str, float] = {
    "view": 1.0,
    "search": 0.0,
    "add_to_cart": 3.0,
    "remove_from_cart": 0.0,
    "purchase": 5.0,
    "review": 4.0,
    "rate": 4.0,
}
CONSUMING_EVENTS = ("purchase", "review", "rate")


def interaction_rows(
    tables: Mapping[str, ir.Table],
    as_of: dt.date | dt.datetime | str,
    weights: Mapping[str, float] | None = None,
) -> ir.Table:
    """(user_id, item_id, ts, event_type, weight) before ``as_of``; zero weights dropped."""
    cut = as_of_value(as_of)
    w = {k: float(v) for k, v in (weights or DEFAULT_EVENT_WEIGHTS).items() if float(v) > 0}
    parts = []
    if "events" in tables and w:
        e = before(tables["events"], cut)
        e = e.filter(e.item_id.notnull() & e.event_type.isin(list(w)))
        weight = e.event_type.cases(*[(k, v) for k, v in w.items()], else_=0.0)
        parts.append(
            e.select("user_id", "item_id", "ts", "event_type", weight=weight.cast("float64"))
        )
    if "orders" in tables and "order_items" in tables and w.get("purchase", 0) > 0:
        o = before(tables["orders"], cut)
        li = tables["order_items"]
        j = li.join(o, li.order_id == o.order_id)
        parts.append(
            j.select(
                user_id=j.user_id,
                item_id=j.item_id,
                ts=j.ts,
                event_type=ibis.literal("purchase"),
                weight=ibis.literal(w["purchase"], type="float64"),
            )
        )
    if not parts:
        raise ValueError("no item interactions: need events with item_id, or orders + order_items")
    return ibis.union(*parts, distinct=False)


def interaction_frame(
    tables: Mapping[str, ir.Table],
    as_of: dt.date | dt.datetime | str,
    weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """:func:`interaction_rows` as pandas, sorted by (user_id, ts, item_id, event_type)."""
    df = interaction_rows(tables, as_of, weights).execute()
    keys = ["user_id", "ts", "item_id", "event_type"]
    return df.sort_values(keys, kind="stable").reset_index(drop=True)


def consumed_rows(tables: Mapping[str, ir.Table], as_of: dt.date | dt.datetime | str) -> ir.Table:
    """Distinct (user_id, item_id) a customer consumed before ``as_of``."""
    cut = as_of_value(as_of)
    parts = []
    if "events" in tables:
        e = before(tables["events"], cut)
        e = e.filter(e.item_id.notnull() & e.event_type.isin(list(CONSUMING_EVENTS)))
        parts.append(e.select("user_id", "item_id"))
    if "orders" in tables and "order_items" in tables:
        o = before(tables["orders"], cut)
        li = tables["order_items"]
        j = li.join(o, li.order_id == o.order_id)
        parts.append(j.select(user_id=j.user_id, item_id=j.item_id))
    if "reviews" in tables:
        r = before(tables["reviews"], cut)
        r = r.filter(r.item_id.notnull())
        parts.append(r.select("user_id", "item_id"))
    if not parts:
        raise ValueError("no consumption data: need events, orders + order_items, or reviews")
    return ibis.union(*parts, distinct=True)


def consumed_frame(
    tables: Mapping[str, ir.Table], as_of: dt.date | dt.datetime | str
) -> pd.DataFrame:
    df = consumed_rows(tables, as_of).execute()
    return df.sort_values(["user_id", "item_id"], kind="stable").reset_index(drop=True)


def item_frame(tables: Mapping[str, ir.Table]) -> pd.DataFrame | None:
    """Items with their top-level category, price and text; None without an items table."""
    if "items" not in tables:
        return None
    it = tables["items"]
    df = it.select("item_id", "category", "price", "title", "description").execute()
    df["category"] = df["category"].astype("object").where(df["category"].notna(), None)
    top = df["category"].map(lambda c: c.split("/")[0].strip() if isinstance(c, str) else None)
    df["top_category"] = top
    return df.sort_values("item_id", kind="stable").reset_index(drop=True)
