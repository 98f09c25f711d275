"""What every segments module shares: the defaults, the config sections, frame helpers."""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from liucun import config as liucun_config
from liucun.models.segment import customer_ids, numeric, sorted_order

__all__ = [
    "DEFAULT_SEGMENTS_CONFIG",
    "NO_ORDER_FEATURES",
    "buyer_mask",
    "customer_ids",
    "numeric",
    "pyval",
    "section",
    "sorted_order",
]

DEFAULT_SEGMENTS_CONFIG: dict[str, Any] = liucun_config.section("segments")
"""The ``[segments]`` defaults, as documented in ``liucun.config.DEFAULT_TOML``."""

NO_ORDER_FEATURES = [
    "recency_days",
    "orders_total",
    "revenue_total",
    "aov",
    "discount_share",
    "categories_bought",
    "refund_share",
]
"""Features that are empty or undefined for a customer who never ordered (what the
``prospects`` and ``window shoppers`` cluster archetypes cover)."""


def section(config: Mapping[str, Any] | None, name: str) -> dict[str, Any]:
    """One section of the segments config, laid over its defaults."""
    base = copy.deepcopy(DEFAULT_SEGMENTS_CONFIG[name])
    if config and isinstance(config.get(name), Mapping):
        return liucun_config.deep_merge(base, copy.deepcopy(config[name]))
    return base


def buyer_mask(frame: pd.DataFrame) -> np.ndarray:
    """Who ever ordered: has_ordered, else orders_total > 0, else nobody."""
    if "has_ordered" in frame.columns:
        return np.nan_to_num(numeric(frame, "has_ordered")) > 0
    return np.nan_to_num(numeric(frame, "orders_total")) > 0


def pyval(v: Any) -> Any:
    """A JSON- and TOML-friendly scalar: numpy types unboxed, NaN and NA as None."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v
