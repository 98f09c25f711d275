"""Tags: rule-based labels (high-value, discount-seeker, cart-abandoner, ...) per customer."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from liucun.decide.segments.common import buyer_mask, numeric, section


def tag_thresholds(
    features: pd.DataFrame, config: Mapping[str, Any] | None = None
) -> dict[str, float]:
    """Population thresholds the tag rules refer to (``"@name"``), computed once.

    "High value" only means something against the shop's own customers, and computing
    quantiles per profile would cost a pass over everyone for each one; so they are
    computed here once and handed to :func:`profile` / :func:`tags`.

    Parameters
    ----------
    features
        The whole feature frame.
    config
        The ``[segments]`` config; ``tags.thresholds`` is read.

    Returns
    -------
    dict
        Threshold name → value (NaN when its column is missing or has no values among
        the chosen customers, so rules using it never fire).
    """
    cfg = section(config, "tags")
    buyers = buyer_mask(features)
    out: dict[str, float] = {}
    for name, spec in cfg["thresholds"].items():
        v = numeric(features, spec["column"])
        among = spec.get("among", "all")
        if among == "buyers":
            v = v[buyers]
        elif among == "positive":
            v = v[v > 0]
        elif among != "all":
            raise ValueError(f"tags.thresholds.{name}.among must be buyers, positive or all")
        v = v[~np.isnan(v)]
        q = float(np.quantile(v, spec["quantile"])) if v.size else math.nan
        out[name] = max(q, float(spec.get("min", -math.inf))) if v.size else math.nan
    return out


_OPS = {
    ">=": np.greater_equal,
    ">": np.greater,
    "<=": np.less_equal,
    "<": np.less,
}


def _condition(ctx: pd.DataFrame, cond: Sequence[Any], thresholds: Mapping[str, float]) -> Any:
    """Rows of ``ctx`` where [column, op, value] holds (missing column or NaN: False)."""
    column, op, value = cond
    n = len(ctx)
    if column not in ctx.columns:
        return np.zeros(n, dtype=bool)
    if isinstance(value, str) and value.startswith("@"):
        value = thresholds.get(value[1:], math.nan)
    col = ctx[column]
    if op in ("in", "not in"):
        hit = col.isin(list(value)).to_numpy() & col.notna().to_numpy()
        return hit if op == "in" else ~hit & col.notna().to_numpy()
    if op in ("==", "!="):
        if isinstance(value, str):
            eq = (col.astype(object) == value).to_numpy(dtype=bool)
        else:
            eq = numeric(ctx, column) == float(value)
        return eq if op == "==" else ~eq & col.notna().to_numpy()
    if op not in _OPS:
        raise ValueError(f"unknown tag condition operator {op!r}")
    with np.errstate(invalid="ignore"):
        return _OPS[op](numeric(ctx, column), float(value))


def tags(
    context: pd.DataFrame,
    config: Mapping[str, Any] | None = None,
    thresholds: Mapping[str, float] | None = None,
) -> pd.Series:
    """Tags of many customers at once, by the rules in ``config["tags"]["rules"]``.

    The vectorised form of the tags in :func:`profile`, for writing every profile of a
    run in one pass.

    Parameters
    ----------
    context
        The feature frame, optionally with ``rfm_segment``, ``lifecycle_stage`` and
        ``cluster_name`` columns joined on.
    config
        The ``[segments]`` config; ``tags.rules`` is read.
    thresholds
        From :func:`tag_thresholds`; without them rules using ``"@name"`` never fire.

    Returns
    -------
    pandas.Series
        A list of tag names per row (rule order), indexed like ``context``.
    """
    cfg = section(config, "tags")
    th = dict(thresholds or {})
    n = len(context)
    fired: list[tuple[str, np.ndarray]] = []
    for rule in cfg["rules"]:
        hit = np.ones(n, dtype=bool)
        for cond in rule.get("all", []):
            hit &= _condition(context, cond, th)
        if rule.get("any"):
            anyhit = np.zeros(n, dtype=bool)
            for cond in rule["any"]:
                anyhit |= _condition(context, cond, th)
            hit &= anyhit
        fired.append((rule["name"], hit))
    rows = [[name for name, hit in fired if hit[i]] for i in range(n)]
    return pd.Series(rows, index=context.index, name="tags", dtype=object)
