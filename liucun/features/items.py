"""Per-item evidence as of a date (reviews, ratings, refunds) and the words of each item.

Evidence reads only rows with ts < as_of. Tables that a shop does not have (no reviews, no
events) give zeros rather than errors, so a shop with orders alone still gets refund rates.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd

from liucun.features.text import DDL, TABLE

if TYPE_CHECKING:
    from liucun.workspace import Workspace

# Weight of each kind of interaction with an item, for interest keywords
# (``features.interactions.interaction_rows`` reads events and ordered items with them).
INTEREST_WEIGHTS = {"view": 1.0, "add_to_cart": 2.0, "purchase": 4.0, "review": 4.0, "rate": 4.0}


def item_evidence(ws: Workspace, as_of: dt.datetime) -> pd.DataFrame:
    """One row per item in ``items`` (or seen in orders/reviews): category, reviews,
    ratings, text sentiment, orders containing it and how many of those were refunded,
    and refund events naming it."""
    con = ws.warehouse.con
    con.execute(DDL)
    return con.execute(
        f"""
        WITH r AS (
            SELECT item_id, count(*) AS reviews, count(rating) AS rated,
                   avg(rating::DOUBLE) AS rating_mean
            FROM reviews WHERE ts < $1 AND item_id IS NOT NULL GROUP BY item_id),
        s AS (
            SELECT item_id, count(*) AS scored, avg(p_positive) AS sentiment_mean
            FROM {TABLE} WHERE source = 'review' AND ts < $1 AND item_id IS NOT NULL
            GROUP BY item_id),
        o AS (
            SELECT oi.item_id, count(DISTINCT o.order_id) AS orders,
                   count(DISTINCT o.order_id) FILTER (WHERE o.status = 'refunded') AS refunded
            FROM order_items oi JOIN orders o USING (order_id)
            WHERE o.ts < $1 GROUP BY oi.item_id),
        e AS (
            SELECT item_id, count(*) AS refund_events FROM events
            WHERE event_type = 'refund' AND ts < $1 AND item_id IS NOT NULL GROUP BY item_id),
        ids AS (
            SELECT item_id FROM items UNION SELECT item_id FROM r UNION SELECT item_id FROM o)
        SELECT ids.item_id, coalesce(i.category, '') AS category,
               coalesce(r.reviews, 0) AS reviews, coalesce(r.rated, 0) AS rated, r.rating_mean,
               coalesce(s.scored, 0) AS scored, s.sentiment_mean,
               coalesce(o.orders, 0) AS orders, coalesce(o.refunded, 0) AS refunded,
               coalesce(e.refund_events, 0) AS refund_events
        FROM ids LEFT JOIN items i USING (item_id) LEFT JOIN r USING (item_id)
        LEFT JOIN s USING (item_id) LEFT JOIN o USING (item_id) LEFT JOIN e USING (item_id)
        ORDER BY ids.item_id""",
        [as_of],
    ).df()


def item_texts(ws: Workspace) -> pd.DataFrame:
    """item_id with the words that describe it: category path parts, brand, title."""
    return ws.warehouse.con.execute(
        """SELECT item_id, concat_ws(' ', replace(coalesce(category, ''), '/', ' '),
                  coalesce(brand, ''), coalesce(title, ''), coalesce(description, '')) AS text
           FROM items ORDER BY item_id"""
    ).df()
