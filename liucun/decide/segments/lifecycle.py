"""Lifecycle stages: where each customer stands, measured against their own buying rhythm."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from liucun.decide.segments.common import buyer_mask, customer_ids, numeric, section

STAGES = ("prospect", "new", "active", "at-risk", "dormant", "churned", "reactivated")
"""Lifecycle stages, from :func:`lifecycle`. ``prospect``: known but never ordered."""


def typical_interval(features: pd.DataFrame, config: Mapping[str, Any] | None = None) -> float:
    """The shop's typical days between orders: the rhythm lent to one-order customers.

    A single order has no interval of its own, and the shop's own habit (weekly groceries
    or yearly furniture) is a far better guess than any fixed number. The median of
    repeat buyers' mean interval, clipped to ``typical_ipi_bounds`` so a handful of repeat
    buyers cannot set an absurd rhythm.

    Parameters
    ----------
    features
        The feature frame (ipi_mean_days, orders_total).
    config
        The ``[segments]`` config; its ``lifecycle`` section is read.

    Returns
    -------
    float
        Days.
    """
    cfg = section(config, "lifecycle")
    ipi = numeric(features, "ipi_mean_days")
    repeat = (np.nan_to_num(numeric(features, "orders_total")) >= 2) & ~np.isnan(ipi)
    if not repeat.any():
        return float(cfg["typical_ipi_fallback_days"])
    lo, hi = cfg["typical_ipi_bounds"]
    return float(np.clip(np.median(ipi[repeat]), lo, hi))


def _stage_limits(
    rhythm: np.ndarray, cfg: Mapping[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Upper recency (days) of active, at-risk and dormant for each rhythm; non-decreasing."""
    active = np.maximum(cfg["k_active"] * rhythm, cfg["floor_active_days"])
    at_risk = np.maximum(np.maximum(cfg["k_at_risk"] * rhythm, cfg["floor_at_risk_days"]), active)
    dormant = np.maximum(np.maximum(cfg["k_dormant"] * rhythm, cfg["floor_dormant_days"]), at_risk)
    return active, at_risk, dormant


def lifecycle(features: pd.DataFrame, config: Mapping[str, Any] | None = None) -> pd.Series:
    """The lifecycle stage of every customer, measured against their own rhythm.

    Thirty days without an order is alarming for a weekly shopper and normal for someone
    who buys twice a year, so the thresholds scale with the customer's mean
    inter-purchase interval (one-order customers borrow :func:`typical_interval`), with
    floors in days. Stages, strongest first:

    - ``prospect``: never ordered (an extra stage: known, e.g. signed up or browsing);
    - ``new``: at most ``new_max_orders`` orders and first seen at most ``new_days`` ago
      (tenure_days; first_order_days or recency_days where tenure is missing);
    - ``reactivated``: ordered in the last ``reactivated_days`` days after a gap
      (prev_gap_days) longer than the dormant threshold of their rhythm before that gap;
      no one is reactivated when the frame has no prev_gap_days;
    - ``active`` / ``at-risk`` / ``dormant`` / ``churned``: recency_days within
      ``max(k × rhythm, floor)`` for k_active, k_at_risk, k_dormant, else churned.

    Parameters
    ----------
    features
        The feature frame: user_id, has_ordered, orders_total, recency_days,
        ipi_mean_days, tenure_days, optional prev_gap_days.
    config
        The ``[segments]`` config; its ``lifecycle`` section is read.

    Returns
    -------
    pandas.Series
        Stage per customer (one of :data:`STAGES`), indexed by user_id in input order,
        named ``lifecycle_stage``.
    """
    cfg = section(config, "lifecycle")
    ids = customer_ids(features)
    buyers = buyer_mask(features)
    orders = np.nan_to_num(numeric(features, "orders_total"))
    recency = numeric(features, "recency_days")
    ipi = numeric(features, "ipi_mean_days")
    typical = typical_interval(features, config)

    rhythm = np.where((orders >= 2) & ~np.isnan(ipi), ipi, typical)
    active, at_risk, dormant = _stage_limits(rhythm, cfg)
    with np.errstate(invalid="ignore"):
        stage = np.select(
            [recency <= active, recency <= at_risk, recency <= dormant],
            ["active", "at-risk", "dormant"],
            "churned",
        ).astype(object)

        if "prev_gap_days" in features.columns:
            prev = numeric(features, "prev_gap_days")
            # The rhythm before the last gap: the mean of the other n-2 gaps (the mean over
            # all gaps would be inflated by the very gap being judged). ipi_mean_days averages
            # the orders_total - 1 gaps between all orders, any status, as the features do.
            before = (ipi * (orders - 1) - prev) / np.where(orders >= 3, orders - 2, np.nan)
            before = np.where(np.isfinite(before) & (before >= 0), before, typical)
            _, _, dormant_before = _stage_limits(before, cfg)
            back = buyers & (recency <= cfg["reactivated_days"]) & (prev > dormant_before)
            stage[back] = "reactivated"

        age = numeric(features, "tenure_days")
        for fallback in ("first_order_days", "recency_days"):
            age = np.where(np.isnan(age), numeric(features, fallback), age)
        new = buyers & (orders <= cfg["new_max_orders"]) & (age <= cfg["new_days"])
    stage[new] = "new"
    stage[~buyers] = "prospect"
    return pd.Series(stage, index=pd.Index(ids.to_numpy(), name="user_id"), name="lifecycle_stage")
