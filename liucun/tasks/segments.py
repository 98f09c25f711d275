"""The segments task: the workspace's ``[segments]`` settings, the run's customers table
(segment, stage, cluster and tags per customer) and one customer's 360 from the latest run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from liucun import config
from liucun.decide import segments as seg
from liucun.errors import LiucunError
from liucun.runs import latest_run, read_output

if TYPE_CHECKING:
    from liucun.workspace import Workspace

PROFILE_FACTS = ("orders_total", "revenue_total", "recency_days", "tenure_days", "top_category")
"""Features copied into the customers table beside the segments."""


def segments_config(ws: Workspace) -> dict[str, Any]:
    """``[segments]`` of liucun.toml over the defaults (a partial section is fine)."""
    return config.section("segments", ws.config)


def segment_customers(
    features: pd.DataFrame, cfg: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """(one row per customer with segment, stage, cluster, tags; segment table; cluster report).

    RFM and lifecycle stages are computed once here; the customers table carries them on
    (``segment``, ``lifecycle_stage``) for the later stages of a run.
    """
    rfm = seg.rfm(features, cfg)
    stage = seg.lifecycle(features, cfg)
    clusters, report = seg.clusters(features, cfg, seed=int(cfg.get("seed", 0)))
    facts = [c for c in PROFILE_FACTS if c in features.columns]
    out = (
        features[["user_id", *facts]]
        .merge(rfm, on="user_id", how="left")
        .merge(stage.rename("lifecycle_stage"), left_on="user_id", right_index=True, how="left")
        .merge(clusters, on="user_id", how="left")
    )
    context = features.merge(
        out[["user_id", "rfm_segment", "lifecycle_stage", "cluster_name"]], on="user_id", how="left"
    )
    thresholds = seg.tag_thresholds(features, cfg)
    out["tags"] = seg.tags(context, cfg, thresholds).map(", ".join).to_numpy()
    out = out.rename(columns={"rfm_segment": "segment"})
    return out, seg.segment_summary(features, rfm, cfg), report


def customer_profile(ws: Workspace, user_id: str) -> dict[str, Any]:
    """The customer 360 of ``user_id`` from the latest run."""
    features = read_output(ws, "features")
    customers = read_output(ws, "customers").set_index("user_id")
    if user_id not in customers.index:
        raise LiucunError(f"no customer '{user_id}' in the latest run ({latest_run(ws).name})")
    cfg = segments_config(ws)
    row = features.loc[features["user_id"] == user_id].iloc[0]
    c = customers.loc[user_id]
    scores = {"r_score": c["r_score"], "f_score": c["f_score"], "m_score": c["m_score"]}
    return seg.profile(
        row,
        {**scores, "rfm_segment": c["segment"]},
        c["lifecycle_stage"],
        c["cluster_name"],
        cfg,
        seg.tag_thresholds(features, cfg),
    )
