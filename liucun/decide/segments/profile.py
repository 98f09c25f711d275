"""The customer 360: one customer's facts, scores, segment, stage, cluster and tags."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from liucun.decide.segments.common import pyval, section
from liucun.decide.segments.tags import tags


def profile(
    features_row: pd.Series | Mapping[str, Any],
    rfm_row: pd.Series | Mapping[str, Any] | None,
    stage: str | None,
    cluster_name: str | None,
    config: Mapping[str, Any] | None = None,
    thresholds: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """One customer's 360: key facts, tags, RFM segment, lifecycle stage and cluster.

    What a growth analyst or the shop's service desk wants on one screen, as a plain
    JSON-ready dict (numpy types unboxed, NaN as None) for the API and the CLI.

    Parameters
    ----------
    features_row
        The customer's row of the feature frame.
    rfm_row
        Their row of :func:`rfm` (or None when not computed).
    stage
        Their lifecycle stage (:func:`lifecycle`).
    cluster_name
        Their cluster's name (:func:`clusters`).
    config
        The ``[segments]`` config; ``profile.facts`` and ``tags`` are read.
    thresholds
        :func:`tag_thresholds` of the whole population, computed once; without them
        tags relying on a population threshold (high-value, frequent-browser) never fire.

    Returns
    -------
    dict
        ``user_id``, ``facts`` (configured features present in the row), ``rfm``
        (``r_score``, ``f_score``, ``m_score``), ``segment``, ``lifecycle_stage``,
        ``cluster``, ``tags`` (list of names).
    """
    row = dict(features_row)
    rr = dict(rfm_row) if rfm_row is not None else {}
    facts_cfg = section(config, "profile")["facts"]
    segment = pyval(rr.get("rfm_segment"))
    ctx = {**row, "rfm_segment": segment, "lifecycle_stage": stage, "cluster_name": cluster_name}
    ctx_frame = pd.DataFrame([ctx])
    return {
        "user_id": None if row.get("user_id") is None else str(row["user_id"]),
        "facts": {c: pyval(row[c]) for c in facts_cfg if c in row},
        "rfm": {k: pyval(rr.get(k)) for k in ("r_score", "f_score", "m_score")},
        "segment": segment,
        "lifecycle_stage": stage,
        "cluster": cluster_name,
        "tags": list(tags(ctx_frame, config, thresholds).iloc[0]),
    }
