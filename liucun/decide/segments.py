"""Customer segments from the feature frame: RFM, lifecycle stage, clusters, customer 360.

Everything here is plain pandas / numpy / scikit-learn over the frame that
``liucun.features`` builds (one row per known customer as of a date, NaN where a value is
undefined), so it runs the same on a workspace's output, on a snapshot or on a hand-made
frame in a test, and never touches the warehouse. Missing feature families (a shop with
orders only has no sessions) simply switch off what needs them, as in the features.

Every function takes ``config``: the ``[segments]`` section of ``liucun.toml`` as a dict
(``None`` = the defaults). It is laid over :data:`DEFAULT_SEGMENTS_CONFIG` key by key, so a
workspace file may set only what it changes; lists (the RFM rules, the tag rules, the
cluster features) replace the default list as a whole.

Results come back in the input's row order and are deterministic whatever that order is:
anything order-sensitive (tie breaks, samples, k-means) works on rows sorted by user_id.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

STAGES = ("prospect", "new", "active", "at-risk", "dormant", "churned", "reactivated")
"""Lifecycle stages, from :func:`lifecycle`. ``prospect``: known but never ordered."""

# Features that are empty or undefined for a customer who never ordered.
NO_ORDER_FEATURES = [
    "recency_days",
    "orders_total",
    "revenue_total",
    "aov",
    "discount_share",
    "categories_bought",
    "refund_share",
]

DEFAULT_SEGMENTS_CONFIG: dict[str, Any] = {
    # ---- [segments.rfm] ------------------------------------------------------------------
    "rfm": {
        # Scores run 1..bins among customers who ordered (the default rules assume 5).
        "bins": 5,
        # How ties are scored. "min": a score is 1 + floor(bins × share of buyers strictly
        # worse), so identical histories always get identical scores (all one-order
        # customers get F = 1, the best recency gets R = bins unless it is tied with more
        # than 1/bins of buyers). "first": exact quintiles of the ranks, ties broken by
        # user_id (identical customers may land in different bins).
        "ties": "min",
        # Segment of customers who never ordered (their scores are NaN).
        "prospect_segment": "Prospect",
        # Segment of buyers that no rule matches (only custom rules can leave holes).
        "unmatched_segment": "Other",
        # The R × FM grid, FM = (F + M) / 2 (steps of 0.5). Ranges are inclusive [lo, hi];
        # the first rule that matches wins. The defaults tile the whole 5 × 5 grid:
        #   R 5: New (FM 1-1.5), Potential Loyalist (2-3), Loyal (3.5), Champions (4-5)
        #   R 4: Promising (1-1.5), Potential Loyalist (2-3), Loyal (3.5), Champions (4-5)
        #   R 3: About to Sleep (1-2), Need Attention (2.5-3), Loyal (3.5-5)
        #   R 2: Hibernating (1-2.5), At Risk (3-5)
        #   R 1: Lost (1-2.5), At Risk (3-3.5), Can't Lose (4-5)
        "rules": [
            {"name": "Champions", "r": [4, 5], "fm": [4.0, 5.0]},
            {"name": "Can't Lose", "r": [1, 1], "fm": [4.0, 5.0]},
            {"name": "At Risk", "r": [1, 2], "fm": [3.0, 5.0]},
            {"name": "Loyal", "r": [3, 5], "fm": [3.5, 5.0]},
            {"name": "New", "r": [5, 5], "fm": [1.0, 1.5]},
            {"name": "Promising", "r": [4, 4], "fm": [1.0, 1.5]},
            {"name": "Potential Loyalist", "r": [4, 5], "fm": [2.0, 3.0]},
            {"name": "Need Attention", "r": [3, 3], "fm": [2.5, 3.0]},
            {"name": "About to Sleep", "r": [3, 3], "fm": [1.0, 2.0]},
            {"name": "Hibernating", "r": [2, 2], "fm": [1.0, 2.5]},
            {"name": "Lost", "r": [1, 1], "fm": [1.0, 2.5]},
        ],
    },
    # ---- [segments.lifecycle] ------------------------------------------------------------
    # A buyer's rhythm is their mean inter-purchase interval (ipi_mean_days); one-order
    # buyers get the shop's typical interval. Stage by days since the last order:
    #   active   ≤ max(k_active × rhythm, floor_active_days)
    #   at-risk  ≤ max(k_at_risk × rhythm, floor_at_risk_days)
    #   dormant  ≤ max(k_dormant × rhythm, floor_dormant_days)
    #   churned  beyond (each threshold is at least the one before it).
    # Overrides, strongest first: prospect (never ordered), new, reactivated.
    "lifecycle": {
        # new: at most new_max_orders orders and first seen at most new_days ago.
        "new_days": 30,
        "new_max_orders": 1,
        # Multiples of the rhythm, and floors in days (a weekly buyer is not lost after
        # three weeks).
        "k_active": 1.5,
        "floor_active_days": 30.0,
        "k_at_risk": 2.5,
        "floor_at_risk_days": 60.0,
        "k_dormant": 4.0,
        "floor_dormant_days": 120.0,
        # reactivated: an order in the last reactivated_days days, after a gap (the
        # prev_gap_days feature) longer than the dormant threshold of the rhythm before it.
        "reactivated_days": 30,
        # The typical interval: median ipi_mean_days of repeat buyers, clipped to these
        # bounds; the fallback when the shop has no repeat buyer yet.
        "typical_ipi_bounds": [14.0, 120.0],
        "typical_ipi_fallback_days": 60.0,
    },
    # ---- [segments.clusters] -------------------------------------------------------------
    "clusters": {
        # Numeric features clustered (absent ones are skipped, constant ones dropped); each
        # is filled, transformed by sign(x)·log1p(|x|) (heavy tails), standardised and
        # clipped to ±clip_z.
        "features": [
            "has_ordered",
            "recency_days",
            "orders_total",
            "revenue_total",
            "aov",
            "discount_share",
            "sessions_90d",
            "views_90d",
            "carts_90d",
            "cart_abandon_rate_90d",
            "categories_bought",
            "refund_share",
            "support_90d",
        ],
        # NaN fill per feature: "max", "median", "zero" or a number. Recency is undefined
        # for those who never ordered: they are further from an order than anyone who did.
        "fill": {"recency_days": "max"},
        # Fill of every other feature: undefined shares and averages (no order, no cart)
        # mean "none of it".
        "fill_default": "zero",
        "clip_z": 5.0,
        # k is chosen in [k_min, k_max] by the silhouette on a seeded sample of this many
        # rows (silhouette is quadratic in rows).
        "k_min": 3,
        "k_max": 8,
        "sample_size": 5000,
        # The final k-means is fitted on at most this many rows (seeded sample); every
        # customer is then assigned to the nearest centre.
        "fit_sample_size": 200000,
        "n_init": 10,
        # Description: the top_features features by |mean z| are reported; the first
        # name_features phrases make the name (more if two names would collide).
        "top_features": 3,
        "name_features": 2,
        # A feature with |mean z| below this does not describe a cluster.
        "min_abs_z": 0.25,
        # Name of a cluster that nothing distinguishes.
        "typical_name": "typical",
        # Phrase per feature: [when below average, when above average]; "" says nothing
        # (most customers have ordered, so "buyers" would not distinguish a cluster).
        "phrases": {
            "has_ordered": ["never ordered", ""],
            "recency_days": ["recent", "dormant"],
            "orders_total": ["few orders", "frequent"],
            "revenue_total": ["low spend", "high spend"],
            "aov": ["small baskets", "big baskets"],
            "discount_share": ["full price", "discount seekers"],
            "sessions_90d": ["rare visitors", "frequent visitors"],
            "views_90d": ["few views", "many views"],
            "carts_90d": ["few carts", "cart builders"],
            "cart_abandon_rate_90d": ["checkout completers", "cart abandoners"],
            "categories_bought": ["single category", "broad taste"],
            "refund_share": ["no refunds", "refunders"],
            "support_90d": ["no support", "support-heavy"],
        },
        # Archetypes, tried in order before the phrases: the first whose "high" features
        # all have mean z ≥ archetype_min_z and "low" features all ≤ -archetype_min_z
        # opens the name; its features and the ones it "covers" (implies: a customer who
        # never ordered has no spend) are then not repeated.
        "archetype_min_z": 0.5,
        "archetypes": [
            {
                "name": "window shoppers",
                "high": ["views_90d"],
                "low": ["has_ordered"],
                "covers": NO_ORDER_FEATURES,
            },
            {"name": "prospects", "high": [], "low": ["has_ordered"], "covers": NO_ORDER_FEATURES},
            {
                "name": "high-value regulars",
                "high": ["revenue_total", "orders_total"],
                "low": ["recency_days"],
                "covers": ["has_ordered"],
            },
            {
                "name": "dormant one-timers",
                "high": ["recency_days", "has_ordered"],
                "low": ["orders_total"],
                "covers": [],
            },
        ],
    },
    # ---- [segments.tags] -----------------------------------------------------------------
    "tags": {
        # Population thresholds, computed once by tag_thresholds(): the quantile of
        # "column" among "buyers" (ordered), "positive" (column > 0) or "all" customers,
        # and at least "min".
        "thresholds": {
            "high_value_revenue": {
                "column": "revenue_total",
                "quantile": 0.8,
                "among": "buyers",
                "min": 0.0,
            },
            "frequent_browser_sessions": {
                "column": "sessions_30d",
                "quantile": 0.8,
                "among": "positive",
                "min": 3.0,
            },
        },
        # A tag fires when all of "all" hold and, if "any" is given, one of "any" does.
        # A condition is [column, op, value]; op ∈ >=, >, <=, <, ==, !=, in, not in; a value
        # "@name" is the threshold of that name. Columns: the features plus rfm_segment,
        # lifecycle_stage and cluster_name. A missing column or NaN never matches.
        "rules": [
            {
                "name": "high-value",
                "all": [["revenue_total", ">=", "@high_value_revenue"], ["revenue_total", ">", 0]],
            },
            {
                "name": "discount-seeker",
                "all": [["coupon_order_share", ">=", 0.5], ["orders_total", ">=", 2]],
            },
            {
                "name": "coupon-only",
                "all": [["coupon_order_share", ">=", 1.0], ["orders_total", ">=", 2]],
            },
            {
                "name": "category-lover",
                "all": [["top_category_share", ">=", 0.7], ["orders_total", ">=", 3]],
            },
            {
                "name": "cart-abandoner",
                "all": [["cart_abandon_rate_90d", ">=", 0.7], ["carts_90d", ">=", 3]],
            },
            {
                "name": "frequent-browser",
                "all": [["sessions_30d", ">=", "@frequent_browser_sessions"]],
            },
            {
                "name": "at-risk",
                "any": [
                    ["lifecycle_stage", "==", "at-risk"],
                    ["rfm_segment", "in", ["At Risk", "Can't Lose"]],
                ],
            },
            {"name": "new", "all": [["lifecycle_stage", "==", "new"]]},
            {
                "name": "complainer",
                "any": [["support_90d", ">=", 2], ["negative_review_share", ">=", 0.5]],
            },
            {
                "name": "refunder",
                "all": [["refund_share", ">=", 0.3], ["orders_total", ">=", 2]],
            },
            {"name": "opted-out", "all": [["opted_out", "==", 1]]},
        ],
    },
    # ---- [segments.profile] --------------------------------------------------------------
    "profile": {
        # Key facts shown in a customer 360, in this order (absent features are left out).
        "facts": [
            "tenure_days",
            "orders_total",
            "revenue_total",
            "aov",
            "recency_days",
            "ipi_mean_days",
            "top_category",
            "categories_bought",
            "coupon_order_share",
            "opted_out",
        ],
    },
    # ---- [segments.plays] ----------------------------------------------------------------
    # Suggested play per segment, shown by `liucun segments`.
    "plays": {
        "Champions": "reward, early access, ask for reviews",
        "Loyal": "upsell higher-value products, loyalty programme, ask for reviews",
        "Potential Loyalist": "membership or loyalty offer, personalised recommendations",
        "New": "onboarding series, nudge towards a second order",
        "Promising": "build awareness of the range, small incentive for a repeat order",
        "Need Attention": "limited-time offer, recommendations from past purchases",
        "About to Sleep": "reconnect with relevant products, modest discount",
        "At Risk": "win-back offer, personal outreach",
        "Can't Lose": "win them back: personal contact, best offer, ask what went wrong",
        "Hibernating": "relevant recommendations, low-cost special offer",
        "Lost": "low-cost reactivation or suppress",
        "Prospect": "welcome series, first-order incentive",
        "Other": "no RFM rule matched: review the rules",
    },
}


# ---- config and frame helpers --------------------------------------------------------------
def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _section(config: Mapping[str, Any] | None, name: str) -> dict[str, Any]:
    """One section of the segments config, laid over its defaults."""
    base = copy.deepcopy(DEFAULT_SEGMENTS_CONFIG[name])
    if config and isinstance(config.get(name), Mapping):
        return _merge(base, config[name])
    return base


def _ids(frame: pd.DataFrame) -> pd.Series:
    """user_id as text, checked unique: every output is one row per customer."""
    if "user_id" not in frame.columns:
        raise ValueError("features need a user_id column")
    ids = frame["user_id"].astype(str)
    if ids.duplicated().any():
        dup = ids[ids.duplicated()].iloc[0]
        raise ValueError(f"features must have one row per customer; {dup!r} repeats")
    return ids


def _num(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column as float (NaN where undefined or absent)."""
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    v = pd.to_numeric(frame[column], errors="coerce").to_numpy(
        dtype=float, na_value=np.nan, copy=True
    )
    v[~np.isfinite(v)] = np.nan
    return v


def _buyers(frame: pd.DataFrame) -> np.ndarray:
    """Who ever ordered: has_ordered, else orders_total > 0, else nobody."""
    if "has_ordered" in frame.columns:
        return np.nan_to_num(_num(frame, "has_ordered")) > 0
    return np.nan_to_num(_num(frame, "orders_total")) > 0


def _sorted_order(ids: pd.Series) -> np.ndarray:
    """Positions that sort rows by user_id, so order-sensitive steps ignore input order."""
    return np.argsort(ids.to_numpy(dtype=str), kind="stable")


def _pyval(v: Any) -> Any:
    """A JSON- and TOML-friendly scalar: numpy types unboxed, NaN and NA as None."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


# ---- RFM -----------------------------------------------------------------------------------
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
    cfg = _section(config, "rfm")
    ids = _ids(features)
    bins = int(cfg["bins"])
    n = len(features)
    r = np.full(n, np.nan)
    f = np.full(n, np.nan)
    m = np.full(n, np.nan)
    seg = np.full(n, cfg["prospect_segment"], dtype=object)
    buyers = _buyers(features)
    if buyers.any():
        bid = ids.to_numpy(dtype=str)[buyers]
        r[buyers] = _scores(-_num(features, "recency_days")[buyers], bid, bins, cfg["ties"])
        f[buyers] = _scores(_num(features, "orders_total")[buyers], bid, bins, cfg["ties"])
        m[buyers] = _scores(_num(features, "revenue_total")[buyers], bid, bins, cfg["ties"])
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


# ---- lifecycle -----------------------------------------------------------------------------
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
    cfg = _section(config, "lifecycle")
    ipi = _num(features, "ipi_mean_days")
    repeat = (np.nan_to_num(_num(features, "orders_total")) >= 2) & ~np.isnan(ipi)
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
    cfg = _section(config, "lifecycle")
    ids = _ids(features)
    buyers = _buyers(features)
    orders = np.nan_to_num(_num(features, "orders_total"))
    recency = _num(features, "recency_days")
    ipi = _num(features, "ipi_mean_days")
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
            prev = _num(features, "prev_gap_days")
            # The rhythm before the last gap: the mean of the other n-2 gaps (the mean over
            # all gaps would be inflated by the very gap being judged). ipi_mean_days averages
            # the orders_total - 1 gaps between all orders, any status, as the features do.
            before = (ipi * (orders - 1) - prev) / np.where(orders >= 3, orders - 2, np.nan)
            before = np.where(np.isfinite(before) & (before >= 0), before, typical)
            _, _, dormant_before = _stage_limits(before, cfg)
            back = buyers & (recency <= cfg["reactivated_days"]) & (prev > dormant_before)
            stage[back] = "reactivated"

        age = _num(features, "tenure_days")
        for fallback in ("first_order_days", "recency_days"):
            age = np.where(np.isnan(age), _num(features, fallback), age)
        new = buyers & (orders <= cfg["new_max_orders"]) & (age <= cfg["new_days"])
    stage[new] = "new"
    stage[~buyers] = "prospect"
    return pd.Series(stage, index=pd.Index(ids.to_numpy(), name="user_id"), name="lifecycle_stage")


# ---- clusters ------------------------------------------------------------------------------
def _fill_value(values: np.ndarray, how: str | float) -> float:
    ok = values[~np.isnan(values)]
    if isinstance(how, int | float) and not isinstance(how, bool):
        return float(how)
    if how == "zero" or ok.size == 0:
        return 0.0
    if how == "max":
        return float(ok.max())
    if how == "median":
        return float(np.median(ok))
    raise ValueError(f"clusters fill must be 'max', 'median', 'zero' or a number, not {how!r}")


def _cluster_matrix(
    frame: pd.DataFrame, cfg: Mapping[str, Any]
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Filled, log-transformed, standardised and clipped features (z), names, raw filled."""
    cols: list[str] = []
    raw: list[np.ndarray] = []
    zs: list[np.ndarray] = []
    for c in cfg["features"]:
        if c not in frame.columns:
            continue
        v = _num(frame, c)
        v = np.where(np.isnan(v), _fill_value(v, cfg["fill"].get(c, cfg["fill_default"])), v)
        t = np.sign(v) * np.log1p(np.abs(v))
        sd = t.std() if len(t) else 0.0
        if not sd > 1e-12:
            continue  # constant: says nothing about who differs from whom
        cols.append(c)
        raw.append(v)
        zs.append(np.clip((t - t.mean()) / sd, -cfg["clip_z"], cfg["clip_z"]))
    n = len(frame)
    z = np.column_stack(zs) if zs else np.zeros((n, 0))
    r = np.column_stack(raw) if raw else np.zeros((n, 0))
    return z, cols, r


def _tokens(zrow: Mapping[str, float], cfg: Mapping[str, Any]) -> list[str]:
    """Name parts of one cluster: a matching archetype, then phrases by |mean z|."""
    tokens: list[str] = []
    taken: set[str] = set()
    amz = cfg["archetype_min_z"]
    for arch in cfg["archetypes"]:
        hi, lo = list(arch.get("high", [])), list(arch.get("low", []))
        if not hi and not lo:
            continue
        if all(zrow.get(f, math.nan) >= amz for f in hi) and all(
            zrow.get(f, math.nan) <= -amz for f in lo
        ):
            tokens.append(arch["name"])
            taken |= set(hi) | set(lo) | set(arch.get("covers", []))
            break
    for f, z in sorted(zrow.items(), key=lambda kv: -abs(kv[1])):
        if f in taken or abs(z) < cfg["min_abs_z"]:
            continue
        low, high = cfg["phrases"].get(f, [f"low {f}", f"high {f}"])
        word = high if z > 0 else low
        if word and word not in tokens:
            tokens.append(word)
    return tokens


def _names(tokens: list[list[str]], first: int, typical: str) -> list[str]:
    """Unique names: colliding clusters take more of their tokens, then a number."""
    counts = [first] * len(tokens)

    def name(i: int) -> str:
        return " · ".join(tokens[i][: counts[i]]) or typical

    while True:
        names = [name(i) for i in range(len(tokens))]
        grown = False
        for nm in set(names):
            group = [i for i, x in enumerate(names) if x == nm]
            if len(group) > 1:
                for i in group:
                    if counts[i] < len(tokens[i]):
                        counts[i] += 1
                        grown = True
        if not grown:
            break
    seen: dict[str, int] = {}
    out = []
    for nm in names:
        seen[nm] = seen.get(nm, 0) + 1
        out.append(nm if seen[nm] == 1 else f"{nm} ({seen[nm]})")
    return out


def clusters(
    features: pd.DataFrame, config: Mapping[str, Any] | None = None, seed: int = 0
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Behavioural clusters with k chosen by silhouette, each described and named.

    RFM ranks buyers on three fixed axes; clusters find the groups the data actually
    holds (window shoppers, discount seekers, big-basket occasionals), including
    customers who never ordered. Features are log-transformed (spend and counts are
    heavy-tailed), standardised so no unit dominates, and clipped at ±clip_z so a few
    extreme customers cannot claim a cluster each. k is the best silhouette in
    [k_min, k_max] on a seeded sample (silhouette is quadratic in rows); k-means with
    ``n_init`` restarts and ``random_state=seed``. Rows are sorted by user_id first, so the
    result depends on the data and the seed, never on row order. Clusters are numbered
    by size (0 = largest) and named from their most distinguishing features (largest
    |mean z|; see ``phrases`` and ``archetypes`` in the config).

    Parameters
    ----------
    features
        The feature frame; the numeric columns in ``config["clusters"]["features"]``
        that exist are used (NaN filled as configured).
    config
        The ``[segments]`` config; its ``clusters`` section is read.
    seed
        Seed of the samples and of k-means.

    Returns
    -------
    labels : pandas.DataFrame
        ``user_id, cluster, cluster_name`` in the input's row order.
    report : dict
        ``k``, ``silhouette`` (of the final clusters on the selection sample; NaN with a
        single cluster), ``k_scores`` (silhouette per k tried), ``features`` (used),
        ``rows``, ``sample_size``, ``seed`` and ``clusters``: per cluster ``cluster``,
        ``name``, ``size``, ``share``, ``top_features`` (``feature``, ``mean_z``) and
        ``means`` (raw means of the filled features). Plain Python types throughout.
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from threadpoolctl import threadpool_limits

    cfg = _section(config, "clusters")
    ids = _ids(features)
    order = _sorted_order(ids)
    frame = features.iloc[order]
    z, cols, raw = _cluster_matrix(frame, cfg)
    n = len(frame)
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, size=min(n, int(cfg["sample_size"])), replace=False))
    zs = z[sample]

    distinct = len(np.unique(zs, axis=0)) if len(cols) else 1
    k_hi = min(int(cfg["k_max"]), distinct - 1, len(zs) - 1)
    k_lo = max(2, min(int(cfg["k_min"]), k_hi))
    k_scores: list[dict[str, Any]] = []
    best_k, best_s, best_model = 1, -math.inf, None
    # The sample is small: one thread is fastest, and threads spinning on a busy machine
    # cost 10-50x here (measured on 2 shared cores).
    with threadpool_limits(limits=1):
        for k in range(k_lo, k_hi + 1):
            km = KMeans(n_clusters=k, n_init=int(cfg["n_init"]), random_state=seed).fit(zs)
            s = (
                float(silhouette_score(zs, km.labels_))
                if 1 < len(np.unique(km.labels_)) < len(zs)
                else -1.0
            )
            k_scores.append({"k": k, "silhouette": s})
            if s > best_s:
                best_k, best_s, best_model = k, s, km

    if best_model is None:
        raw_labels = np.zeros(n, dtype=int)
    else:
        if len(zs) == n:
            model = best_model  # the sample is everything: no need to fit again
        else:
            size = min(n, int(cfg["fit_sample_size"]))
            fit_rows = np.sort(rng.choice(n, size=size, replace=False))
            model = KMeans(n_clusters=best_k, n_init=int(cfg["n_init"]), random_state=seed)
            # Large: k-means' own (OpenMP) threads pay; BLAS threads inside them do not.
            with threadpool_limits(limits=1, user_api="blas"):
                model.fit(z[fit_rows])
        with threadpool_limits(limits=1, user_api="blas"):
            raw_labels = model.predict(z)

    # Number clusters by size, largest first (ties: k-means' own order).
    ks, sizes = np.unique(raw_labels, return_counts=True)
    rank = {int(k): i for i, k in enumerate(ks[np.lexsort((ks, -sizes))])}
    labels = np.array([rank[int(k)] for k in raw_labels], dtype=int)
    k_final = len(ks)
    with threadpool_limits(limits=1):
        sil = (
            float(silhouette_score(zs, labels[sample]))
            if 1 < len(np.unique(labels[sample])) < len(zs)
            else math.nan
        )

    zrows, tokens = [], []
    for c in range(k_final):
        mz = z[labels == c].mean(axis=0) if len(cols) else np.zeros(0)
        zrow = {f: float(v) for f, v in zip(cols, mz, strict=True)}
        zrows.append(zrow)
        tokens.append(_tokens(zrow, cfg))
    names = _names(tokens, int(cfg["name_features"]), cfg["typical_name"])

    described = []
    for c in range(k_final):
        in_c = labels == c
        top = sorted(zrows[c].items(), key=lambda kv: -abs(kv[1]))[: int(cfg["top_features"])]
        described.append(
            {
                "cluster": c,
                "name": names[c],
                "size": int(in_c.sum()),
                "share": float(in_c.mean()),
                "top_features": [{"feature": f, "mean_z": v} for f, v in top],
                "means": {f: float(raw[in_c, j].mean()) for j, f in enumerate(cols)},
            }
        )
    report = {
        "k": k_final,
        "silhouette": sil,
        "k_scores": k_scores,
        "features": cols,
        "rows": n,
        "sample_size": len(sample),
        "seed": seed,
        "clusters": described,
    }
    back = np.empty(n, dtype=int)
    back[order] = np.arange(n)  # sorted position of each input row
    out_labels = labels[back]
    out = pd.DataFrame(
        {
            "user_id": ids.to_numpy(),
            "cluster": out_labels,
            "cluster_name": np.array(names, dtype=object)[out_labels],
        }
    )
    return out, report


# ---- tags and the customer 360 -------------------------------------------------------------
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
    cfg = _section(config, "tags")
    buyers = _buyers(features)
    out: dict[str, float] = {}
    for name, spec in cfg["thresholds"].items():
        v = _num(features, spec["column"])
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
            eq = _num(ctx, column) == float(value)
        return eq if op == "==" else ~eq & col.notna().to_numpy()
    if op not in _OPS:
        raise ValueError(f"unknown tag condition operator {op!r}")
    with np.errstate(invalid="ignore"):
        return _OPS[op](_num(ctx, column), float(value))


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
    cfg = _section(config, "tags")
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
    facts_cfg = _section(config, "profile")["facts"]
    segment = _pyval(rr.get("rfm_segment"))
    ctx = {**row, "rfm_segment": segment, "lifecycle_stage": stage, "cluster_name": cluster_name}
    ctx_frame = pd.DataFrame([ctx])
    return {
        "user_id": None if row.get("user_id") is None else str(row["user_id"]),
        "facts": {c: _pyval(row[c]) for c in facts_cfg if c in row},
        "rfm": {k: _pyval(rr.get(k)) for k in ("r_score", "f_score", "m_score")},
        "segment": segment,
        "lifecycle_stage": stage,
        "cluster": cluster_name,
        "tags": list(tags(ctx_frame, config, thresholds).iloc[0]),
    }


# ---- segment summary -----------------------------------------------------------------------
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
    rcfg = _section(config, "rfm")
    plays = _section(config, "plays")
    facts = pd.DataFrame(
        {
            "user_id": _ids(features).to_numpy(),
            "recency_days": _num(features, "recency_days"),
            "orders_total": np.nan_to_num(_num(features, "orders_total")),
            "revenue_total": np.nan_to_num(_num(features, "revenue_total")),
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
