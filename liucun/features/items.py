"""Per-item evidence as of a date (reviews, ratings, refunds) and the words of each item.

Evidence reads only rows with ts < as_of. Tables that a shop does not have (no reviews, no
events) give zeros rather than errors, so a shop with orders alone still gets refund rates.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import ibis
import pandas as pd

from liucun.features.text import scores_table

if TYPE_CHECKING:
    from liucun.workspace import Workspace

# Weight of each kind of interaction with an item, for interest keywords
# (``features.interactions.interaction_rows`` reads events and ordered items with them).
INTEREST_WEIGHTS = {"view": 1.0, "add_to_cart": 2.0, "purchase": 4.0, "review": 4.0, "rate": 4.0}


def item_evidence(ws: Workspace, as_of: dt.datetime) -> pd.DataFrame:
    """One row per item in ``items`` (or seen in orders/reviews): category, reviews,
    ratings, text sentiment, orders containing it and how many of those were refunded,
    and refund events naming it."""
    cut = ibis.literal(as_of, type="timestamp")
    rv, s = ws.table("reviews"), scores_table(ws)
    rv = rv.filter((rv.ts < cut) & rv.item_id.notnull())
    r = rv.group_by("item_id").aggregate(
        reviews=rv.count(), rated=rv.rating.count(), rating_mean=rv.rating.cast("float64").mean()
    )
    s = s.filter((s.source == "review") & (s.ts < cut) & s.item_id.notnull())
    s = s.group_by("item_id").aggregate(scored=s.count(), sentiment_mean=s.p_positive.mean())
    li, o = ws.table("order_items"), ws.table("orders")
    j = li.join(o, li.order_id == o.order_id)
    j = j.select(item_id=li.item_id, order_id=o.order_id, status=o.status, ts=o.ts)
    j = j.filter(j.ts < cut)
    o = j.group_by("item_id").aggregate(
        orders=j.order_id.nunique(), refunded=j.order_id.nunique(where=j.status == "refunded")
    )
    e = ws.table("events")
    e = e.filter((e.event_type == "refund") & (e.ts < cut) & e.item_id.notnull())
    e = e.group_by("item_id").aggregate(refund_events=e.count())
    i = ws.table("items")
    ids = ibis.union(i.select("item_id"), r.select("item_id"), o.select("item_id"), distinct=True)
    t = (
        ids.left_join(i, ids.item_id == i.item_id)
        .left_join(r, ids.item_id == r.item_id)
        .left_join(s, ids.item_id == s.item_id)
        .left_join(o, ids.item_id == o.item_id)
        .left_join(e, ids.item_id == e.item_id)
    )
    out = t.select(
        item_id=ids.item_id,
        category=i.category.fill_null(""),
        reviews=r.reviews.fill_null(0),
        rated=r.rated.fill_null(0),
        rating_mean=r.rating_mean,
        scored=s.scored.fill_null(0),
        sentiment_mean=s.sentiment_mean,
        orders=o.orders.fill_null(0),
        refunded=o.refunded.fill_null(0),
        refund_events=e.refund_events.fill_null(0),
    )
    return ws.warehouse.frame(out.order_by("item_id"))


def item_texts(ws: Workspace) -> pd.DataFrame:
    """item_id with the words that describe it: category path parts, brand, title."""
    i = ws.table("items")
    parts = [i.category.fill_null("").replace("/", " "), i.brand.fill_null(""),
             i.title.fill_null(""), i.description.fill_null("")]  # fmt: skip
    return ws.warehouse.frame(
        i.select("item_id", text=ibis.literal(" ").join(parts)).order_by("item_id")
    )
