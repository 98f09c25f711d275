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

from liucun.features.base import as_of_value, before

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


def risk_features(
    ws: Workspace, as_of: dt.date, attributes: Sequence[str] = ("device_id",)
) -> pd.DataFrame:
    """One row per account with orders or a users row before ``as_of``, sorted by user_id.

    The query is DuckDB's (:meth:`Warehouse.risk_features`): shared attributes are read
    from JSON, which Ibis cannot say the same way on every engine.
    """
    return ws.warehouse.risk_features(as_of, attributes)


def order_rows(ws: Workspace, as_of: dt.date) -> pd.DataFrame:
    """Orders before ``as_of`` with what order-level checks need."""
    o = before(ws.table("orders"), as_of_value(dt.datetime.combine(as_of, dt.time())))
    rows = o.select(
        "order_id",
        "user_id",
        "ts",
        "amount",
        discount=o.discount.fill_null(0),
        status=o.status,
        coupon_code=o.coupon_code,
    ).order_by(["user_id", "ts", "order_id"])
    return ws.warehouse.frame(rows)


def account_labels(ws: Workspace, names: Sequence[str] = ("label", "is_fraud")) -> pd.DataFrame:
    """(user_id, label) from a users column or ``attributes`` key named ``label`` or
    ``is_fraud`` (1/0, true/false); empty when the shop has no labels."""
    df = ws.warehouse.account_labels(names)
    if df is None:
        return pd.DataFrame(columns=["user_id", "label"])
    df["label"] = df["label"].map({"1": 1, "true": 1, "1.0": 1, "0": 0, "false": 0, "0.0": 0})
    return df.dropna(subset=["label"]).astype({"label": int}).reset_index(drop=True)
