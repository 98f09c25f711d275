"""Behaviour that fraud and coupon abuse leave in the data, per account, as of a date.

Everything reads rows with ts < as_of only (users by signup_ts). Shared attributes
(device, address, payment token) come from users columns of that name or from keys of
the users ``attributes`` JSON; an account with none simply shares nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from liucun.data.sources import ident, sql_str

if TYPE_CHECKING:
    from liucun.workspace import Workspace

# Documented columns of ``risk_features`` (beyond user_id), for reasons and the detector.
RISK_FEATURES: dict[str, str] = {
    "orders": "orders placed",
    "coupon_orders": "orders with a coupon or offer",
    "coupon_share": "share of orders with a coupon or offer",
    "discount_share": "discounts / (paid amounts + discounts)",
    "refunded": "orders refunded",
    "refund_share": "share of orders refunded",
    "coupon_refunded": "coupon orders later refunded",
    "cancelled": "orders cancelled (chargebacks among them)",
    "cancel_share": "share of orders cancelled",
    "max_orders_24h": "most orders within 24 hours",
    "first_discount_share": "discount share of the first order",
    "days_since_first_order": "days since the first order",
    "first_order_hours_after_signup": "hours from signup to the first order",
    "amount_max_ratio": "largest order / the customer's median order",
    "amount_max_shop_ratio": "largest order / the shop's 99th percentile order",
    "shared_accounts": "accounts sharing a device, address or payment token with this one",
    "shared_signup_days": "days between signups of the accounts sharing an attribute",
}


def _shared_sql(ws: Workspace, attributes: Sequence[str], cut: str) -> str:
    """(user_id, shared_accounts, shared_signup_days) over the attributes present."""
    cols = {r[0] for r in ws.warehouse.con.execute('DESCRIBE "users"').fetchall()}
    parts = []
    for a in attributes:
        if a in cols:
            value = f"CAST({ident(a)} AS VARCHAR)"
        elif "attributes" in cols:
            value = f"json_extract_string(attributes, {sql_str('$.' + a)})"
        else:
            continue
        parts.append(
            f"SELECT user_id, {sql_str(a)} AS attr, {value} AS value, signup_ts FROM users "
            f"WHERE (signup_ts IS NULL OR signup_ts < {cut})"
            + (" AND try(json_valid(attributes))" if a not in cols else "")
        )
    if not parts:
        return (
            "SELECT NULL::VARCHAR AS user_id, 0 AS shared_accounts, "
            "NULL::DOUBLE AS shared_signup_days WHERE false"
        )
    return f"""
        WITH v AS ({" UNION ALL ".join(parts)}),
        v2 AS (SELECT * FROM v WHERE value IS NOT NULL AND value <> ''),
        g AS (SELECT attr, value, count(DISTINCT user_id) AS n,
                     date_diff('second', min(signup_ts), max(signup_ts)) / 86400.0 AS span
              FROM v2 GROUP BY attr, value)
        SELECT v2.user_id, max(g.n) - 1 AS shared_accounts,
               min(g.span) FILTER (WHERE g.n > 1) AS shared_signup_days
        FROM v2 JOIN g USING (attr, value) GROUP BY v2.user_id"""


def risk_features(
    ws: Workspace, as_of: dt.date, attributes: Sequence[str] = ("device_id",)
) -> pd.DataFrame:
    """One row per account with orders or a users row before ``as_of``, sorted by user_id."""
    cut = sql_str(dt.datetime.combine(as_of, dt.time()).isoformat(sep=" "))
    cut = f"TIMESTAMP {cut}"
    shared = _shared_sql(ws, attributes, cut)
    return ws.warehouse.con.execute(
        f"""
        WITH o AS (
            SELECT order_id, user_id, ts, coalesce(amount, 0)::DOUBLE AS amount,
                   coalesce(discount, 0)::DOUBLE AS discount, status,
                   (coupon_code IS NOT NULL OR coalesce(discount, 0) > 0) AS coupon
            FROM orders WHERE ts < {cut}),
        o24 AS (
            SELECT user_id, count(*) OVER (PARTITION BY user_id ORDER BY ts
                   RANGE BETWEEN INTERVAL 1 DAY PRECEDING AND CURRENT ROW) AS n24
            FROM o),
        firsts AS (
            SELECT user_id, arg_min(discount / nullif(amount + discount, 0), (ts, order_id))
                   AS first_discount_share, min(ts) AS first_ts
            FROM o GROUP BY user_id),
        per AS (
            SELECT user_id, count(*) AS orders, count(*) FILTER (WHERE coupon) AS coupon_orders,
                   sum(discount) AS discounts, sum(amount) FILTER (WHERE status = 'paid') AS paid,
                   count(*) FILTER (WHERE status = 'refunded') AS refunded,
                   count(*) FILTER (WHERE status = 'refunded' AND coupon) AS coupon_refunded,
                   count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
                   max(amount) AS amount_max, median(amount) AS amount_median
            FROM o GROUP BY user_id),
        shop AS (SELECT quantile_cont(amount, 0.99) AS p99 FROM o),
        burst AS (SELECT user_id, max(n24) AS max_orders_24h FROM o24 GROUP BY user_id),
        shared AS ({shared}),
        ids AS (
            SELECT user_id FROM per
            UNION SELECT user_id FROM users WHERE signup_ts IS NULL OR signup_ts < {cut})
        SELECT ids.user_id,
               coalesce(per.orders, 0) AS orders,
               coalesce(per.coupon_orders, 0) AS coupon_orders,
               per.coupon_orders / nullif(per.orders, 0) AS coupon_share,
               per.discounts / nullif(coalesce(per.paid, 0) + per.discounts, 0) AS discount_share,
               coalesce(per.refunded, 0) AS refunded,
               per.refunded / nullif(per.orders, 0) AS refund_share,
               coalesce(per.coupon_refunded, 0) AS coupon_refunded,
               coalesce(per.cancelled, 0) AS cancelled,
               per.cancelled / nullif(per.orders, 0) AS cancel_share,
               coalesce(burst.max_orders_24h, 0) AS max_orders_24h,
               firsts.first_discount_share,
               date_diff('second', firsts.first_ts, {cut}) / 86400.0 AS days_since_first_order,
               date_diff('second', u.signup_ts, firsts.first_ts) / 3600.0
                   AS first_order_hours_after_signup,
               per.amount_max / nullif(per.amount_median, 0) AS amount_max_ratio,
               per.amount_max / nullif(shop.p99, 0) AS amount_max_shop_ratio,
               coalesce(shared.shared_accounts, 0) AS shared_accounts,
               shared.shared_signup_days
        FROM ids LEFT JOIN per USING (user_id) LEFT JOIN burst USING (user_id)
        LEFT JOIN firsts USING (user_id) LEFT JOIN shared USING (user_id)
        LEFT JOIN (SELECT user_id, min(signup_ts) AS signup_ts FROM users GROUP BY user_id) u
            USING (user_id)
        CROSS JOIN shop
        ORDER BY ids.user_id"""
    ).df()


def order_rows(ws: Workspace, as_of: dt.date) -> pd.DataFrame:
    """Orders before ``as_of`` with what order-level checks need."""
    cut = sql_str(dt.datetime.combine(as_of, dt.time()).isoformat(sep=" "))
    return ws.warehouse.con.execute(
        f"""SELECT order_id, user_id, ts, amount, coalesce(discount, 0) AS discount, status,
                   coupon_code
            FROM orders WHERE ts < TIMESTAMP {cut} ORDER BY user_id, ts, order_id"""
    ).df()


def account_labels(ws: Workspace, names: Sequence[str] = ("label", "is_fraud")) -> pd.DataFrame:
    """(user_id, label) from a users column or ``attributes`` key named ``label`` or
    ``is_fraud`` (1/0, true/false); empty when the shop has no labels."""
    cols = {r[0] for r in ws.warehouse.con.execute('DESCRIBE "users"').fetchall()}
    exprs = [f"CAST({ident(n)} AS VARCHAR)" for n in names if n in cols]
    if "attributes" in cols:
        exprs += [
            f"CASE WHEN try(json_valid(attributes)) THEN "
            f"json_extract_string(attributes, {sql_str('$.' + n)}) END"
            for n in names
        ]
    if not exprs:
        return pd.DataFrame(columns=["user_id", "label"])
    df = ws.warehouse.con.execute(
        f"SELECT user_id, lower(coalesce({', '.join(exprs)})) AS label FROM users ORDER BY user_id"
    ).df()
    df["label"] = df["label"].map({"1": 1, "true": 1, "1.0": 1, "0": 0, "false": 0, "0.0": 0})
    return df.dropna(subset=["label"]).astype({"label": int}).reset_index(drop=True)
