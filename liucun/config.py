"""The workspace's ``liucun.toml``: documented defaults, written once, read everywhere."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

DEFAULT_TOML = """\
# liucun workspace settings. Every key is optional: delete one to get its default back.

[warehouse]
# DuckDB's memory limit for this workspace; bigger loads spill to disk beyond it.
memory_limit = "2GB"
# Worker threads DuckDB may use (0 = one per core).
threads = 0
# Where features are computed: "duckdb" (embedded, the default) or "spark" (the warehouse
# is exported to Parquet under the workspace and read by a local[*] Spark session; needs
# pip install 'liucun[spark]').
engine = "duckdb"

[ingest]
# Time zone for naive timestamps in source files (an ingest's --tz overrides it).
timezone = "UTC"
# Rows stamped more than this many hours after the ingest are quarantined as "in the future".
future_tolerance_hours = 24

[score]
# Default outcome window in days for churn, orders and revenue.
horizon_days = 90
# What churn means: "purchase" (default) = no purchase in the horizon; an event type
# (login, view, ...) = no event of that type in the horizon. Expected orders and revenue
# are about orders either way.
churn_event = "purchase"
# Training snapshots: up to `snapshots` cutoffs, `snapshot_step_days` apart, the latest
# one H days before as_of (its labels end there); each needs `min_history_days` of
# orders before it. With less history the label window shrinks (down to
# `min_label_days`) to keep `min_snapshots` cutoffs; below that BTYD models score alone.
snapshots = 6
min_snapshots = 5
snapshot_step_days = 30
min_history_days = 60
min_label_days = 14
# Reasons per customer; above `reasons_all_up_to` customers only the medium and high
# bands get them (SHAP contributions cost time at scale).
reasons = 3
reasons_all_up_to = 200000
seed = 0

[score.risk_bands]
# p_churn at or above these thresholds: medium, high (below medium: low).
medium = 0.5
high = 0.8

[recommend]
# Items per customer, the candidate sources chained into the ranker (popular, trending,
# itemknn, als, bpr, transitions, content), candidates taken from each, LambdaRank on.
k = 10
sources = ["popular", "trending", "itemknn", "als", "bpr", "transitions", "content"]
candidates = 30
ranker = true
# Diversity: at most this many items of one category per list (0: no cap).
max_per_category = 0
# Never recommended (out of stock, banned) / score multipliers (items on campaign).
blocked_items = []
boost_items = {}
# Fit and write recommendations in `liucun run` (turn off for very large shops).
in_run = true
seed = 0

[recommend.event_weights]
# How much each event says about liking an item (0 drops the type).
view = 1.0
add_to_cart = 3.0
purchase = 5.0
review = 4.0
rate = 4.0

[segments]
# Clusters are seeded: the same data gives the same clusters.
seed = 0
# Every rule of RFM segments, lifecycle stages, cluster names, tags and suggested plays can
# be overridden here, key by key; see DEFAULT_SEGMENTS_CONFIG in liucun/decide/segments.py.
# For example:
# [segments.lifecycle]
# new_days = 30
# k_active = 1.5

[plan]
# Share of planned customers held out at random as a control group.
control_share = 0.1
# A customer is contacted at most this many times per contact_window_days.
max_contacts = 2
contact_window_days = 30

# The action catalog: one table per action, named as in treatments.action.
# contact_cost is paid per contact; discount is the expected money off if redeemed.
[plan.actions.coupon_fixed]
contact_cost = 0.05
discount = 10.0

[plan.actions.coupon_pct]
contact_cost = 0.05
discount_rate = 0.10

[plan.actions.free_shipping]
contact_cost = 0.05
discount = 6.0

[plan.actions.reco_push]
contact_cost = 0.01
discount = 0.0
"""


def defaults() -> dict[str, Any]:
    return tomllib.loads(DEFAULT_TOML)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load(path: Path) -> dict[str, Any]:
    """Defaults overlaid with the file's values, so an older file still gets new keys."""
    if not path.exists():
        return defaults()
    from liucun.errors import LiucunError

    try:
        user = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise LiucunError(f"{path}: not valid TOML ({e})") from None
    return _merge(defaults(), user)
