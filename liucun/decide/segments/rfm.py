"""RFM: recency, frequency and monetary scores among buyers, and the named R × FM segment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from liucun.decide.segments.common import buyer_mask, customer_ids, numeric, section


def _scores(good: np.ndarray, ids: np.ndarray, bins: int, ties: str) -> np.ndarray:
    """Bin 1..bins by rank of ``good`` (higher is better; NaN counts as the worst)."""
    n = len(good)
    g = np.where(np.isnan(good), -np.inf, good)
    if ties == "min":
        rank0 = pd.Series(g).rank(method="min").to_numpy() - 1
    elif ties == "first":
        order = np.lexsort((ids, g))
        rank0 = np.empty(n)
        rank0[order] = np.arange(n)
    else:
        raise ValueError(f"rfm.ties must be 'min' or 'first', not {ties!r}")
    return np.clip(1 + np.floor(bins * rank0 / n), 1, bins)


def rfm(features: pd.DataFrame, config: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """RFM scores and the named RFM segment of every customer.

    Scores are bins (quintiles by default) among customers who ordered, because the
    point of RFM is to rank buyers against each other; including the never-ordered would
    push every buyer up. R ranks by recency_days (more recent scores higher), F by
    orders_total, M by revenue_total (net). The segment comes from the first rule in
    ``config["rfm"]["rules"]`` whose R and FM = (F + M) / 2 ranges hold: the widely used
    R × FM grid, kept in configuration so a shop can move the boundaries.

    Parameters
    ----------
    features
        One row per customer (``liucun.features``): user_id, has_ordered (or
        orders_total), recency_days, orders_total, revenue_total.
    config
        The ``[segments]`` config; only its ``rfm`` section is read.

    Returns
    -------
    pandas.DataFrame
        ``user_id, r_score, f_score, m_score, rfm_segment`` in the input's row order;
        scores are floats 1..bins, NaN for customers who never ordered, whose segment is
        ``prospect_segment`` ("Prospect").
    """
    cfg = section(config, "rfm")
    ids = customer_ids(features)
    bins = int(cfg["bins"])
    n = len(features)
    r = np.full(n, np.nan)
    f = np.full(n, np.nan)
    m = np.full(n, np.nan)
    seg = np.full(n, cfg["prospect_segment"], dtype=object)
    buyers = buyer_mask(features)
    if buyers.any():
        bid = ids.to_numpy(dtype=str)[buyers]
        r[buyers] = _scores(-numeric(features, "recency_days")[buyers], bid, bins, cfg["ties"])
        f[buyers] = _scores(numeric(features, "orders_total")[buyers], bid, bins, cfg["ties"])
        m[buyers] = _scores(numeric(features, "revenue_total")[buyers], bid, bins, cfg["ties"])
        fm = (f + m) / 2
        seg[buyers] = cfg["unmatched_segment"]
        free = buyers.copy()
        for rule in cfg["rules"]:
            (rlo, rhi), (flo, fhi) = rule["r"], rule["fm"]
            hit = free & (r >= rlo) & (r <= rhi) & (fm >= flo) & (fm <= fhi)
            seg[hit] = rule["name"]
            free &= ~hit
    return pd.DataFrame(
        {"user_id": ids.to_numpy(), "r_score": r, "f_score": f, "m_score": m, "rfm_segment": seg}
    )
