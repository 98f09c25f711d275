"""The segment summary: size, revenue and a suggested play per RFM segment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from liucun.decide.segments.common import customer_ids, numeric, section


def segment_summary(
    features: pd.DataFrame, rfm_df: pd.DataFrame, config: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """One row per RFM segment present: size, revenue share, averages and a suggested play.

    The table a growth team reads first (``liucun segments``): where the customers are,
    where the money is, and what to do about each group (plays from ``config["plays"]``).

    Parameters
    ----------
    features
        The feature frame (recency_days, orders_total, revenue_total).
    rfm_df
        :func:`rfm` of the same customers.
    config
        The ``[segments]`` config; ``rfm`` (segment order) and ``plays`` are read.

    Returns
    -------
    pandas.DataFrame
        ``segment, customers, revenue_share, avg_recency_days, avg_orders, avg_revenue,
        suggested_play``; segments in rule order, then Prospect and the unmatched one.
        revenue_share is the segment's share of total revenue_total (0 everywhere when
        the shop has no revenue); avg_recency_days is NaN for Prospect.
    """
    rcfg = section(config, "rfm")
    plays = section(config, "plays")
    facts = pd.DataFrame(
        {
            "user_id": customer_ids(features).to_numpy(),
            "recency_days": numeric(features, "recency_days"),
            "orders_total": np.nan_to_num(numeric(features, "orders_total")),
            "revenue_total": np.nan_to_num(numeric(features, "revenue_total")),
        }
    )
    seg = pd.DataFrame({"user_id": rfm_df["user_id"].astype(str), "segment": rfm_df["rfm_segment"]})
    df = seg.merge(facts, on="user_id", how="left", validate="one_to_one")
    total = df["revenue_total"].sum()
    known = [r["name"] for r in rcfg["rules"]] + [
        rcfg["prospect_segment"],
        rcfg["unmatched_segment"],
    ]
    present = list(dict.fromkeys(known))
    present = [s for s in present if (df["segment"] == s).any()]
    present += sorted(set(df["segment"].dropna()) - set(present))
    rows = []
    for s in present:
        part = df[df["segment"] == s]
        rows.append(
            {
                "segment": s,
                "customers": len(part),
                "revenue_share": float(part["revenue_total"].sum() / total) if total > 0 else 0.0,
                "avg_recency_days": float(part["recency_days"].mean()),
                "avg_orders": float(part["orders_total"].mean()),
                "avg_revenue": float(part["revenue_total"].mean()),
                "suggested_play": str(plays.get(s, "")),
            }
        )
    columns = [
        "segment",
        "customers",
        "revenue_share",
        "avg_recency_days",
        "avg_orders",
        "avg_revenue",
        "suggested_play",
    ]
    return pd.DataFrame(rows, columns=columns)
