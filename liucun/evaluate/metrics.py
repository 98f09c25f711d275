"""Metrics that judge churn, CLV and propensity scores on a backtest's holdout window.

Plain functions on numpy arrays or pandas Series. Ranking metrics (lift, capture, top share)
matter most for retention: a campaign reaches the top of the list, not the whole base, so
"how many churners are in the top 10%" is the number a marketer acts on. Calibration matters
because expected-value decisions multiply probabilities by money.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    mean_absolute_error,
    roc_auc_score,
    root_mean_squared_error,
)

__all__ = [
    "calibration_table",
    "classification_metrics",
    "expected_calibration_error",
    "lift_capture",
    "lift_curve",
    "regression_metrics",
    "top_share",
]

ArrayLike = Any  # numpy array, pandas Series or a plain sequence of numbers

# Probabilities are clipped before log loss so one confident miss cannot make it infinite.
LOG_LOSS_EPS = 1e-15
# Share given to an empty PSI bin: keeps ln(a/e) finite while still penalising the gap.
NAN = float("nan")


def floats(values: ArrayLike) -> np.ndarray:
    return np.asarray(values, dtype=float).reshape(-1)


def _paired(y_true: ArrayLike, p: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays as floats with rows missing either value dropped (unscored customers)."""
    y, q = floats(y_true), floats(p)
    if y.shape != q.shape:
        raise ValueError(f"length mismatch: {y.size} labels vs {q.size} scores")
    keep = np.isfinite(y) & np.isfinite(q)
    return y[keep], q[keep]


def _top_k(n: int, fraction: float) -> int:
    """Customers in the top ``fraction``: rounded up so a non-empty base never gives 0."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    # The epsilon stops 0.1 * 30 = 3.0000000000000004 from rounding up to 4.
    return min(n, max(1, math.ceil(fraction * n - 1e-9)))


def _rank_order(score: np.ndarray) -> np.ndarray:
    """Indices by descending score; ties keep input order and missing scores go last."""
    key = np.where(np.isnan(score), -np.inf, score)
    return np.argsort(-key, kind="stable")


def _pct_key(fraction: float) -> str:
    return f"top{fraction * 100:g}".replace(".", "_")


def classification_metrics(y_true: ArrayLike, p: ArrayLike) -> dict[str, float]:
    """ROC-AUC, PR-AUC, Brier, log loss, base rate and n for binary labels and probabilities.

    A backtest cutoff can hold a single class (no churners in a small segment); the ranking
    metrics are then NaN instead of raising, so one fold does not sink a whole backtest.
    """
    y, q = _paired(y_true, p)
    n = int(y.size)
    out: dict[str, float] = {
        "roc_auc": NAN,
        "pr_auc": NAN,
        "brier": NAN,
        "log_loss": NAN,
        "base_rate": NAN,
        "n": n,
    }
    if n == 0:
        return out
    yi = (y > 0).astype(int)
    if yi.min() != yi.max():
        out["roc_auc"] = float(roc_auc_score(yi, q))
        out["pr_auc"] = float(average_precision_score(yi, q))
    out["brier"] = float(brier_score_loss(yi, q, pos_label=1))
    out["log_loss"] = float(log_loss(yi, np.clip(q, LOG_LOSS_EPS, 1 - LOG_LOSS_EPS), labels=[0, 1]))
    out["base_rate"] = float(yi.mean())
    return out


def _bin_index(p: np.ndarray, bins: int, strategy: str) -> np.ndarray:
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    if strategy == "quantile":
        edges = np.quantile(p, np.linspace(0, 1, bins + 1)) if p.size else np.array([])
    elif strategy == "uniform":
        edges = np.linspace(0, 1, bins + 1)
    else:
        raise ValueError(f"strategy must be 'quantile' or 'uniform', got {strategy!r}")
    # Tied quantiles collapse into one bin rather than leaving empty ones.
    inner = np.unique(edges[1:-1])
    return np.searchsorted(inner, p, side="right")


def calibration_table(
    y_true: ArrayLike, p: ArrayLike, bins: int = 10, strategy: str = "quantile"
) -> pd.DataFrame:
    """Mean prediction vs observed rate per probability bin (non-empty bins only).

    Quantile bins by default: churn scores are skewed, and equal-width bins would put most
    customers in the first one or two.
    """
    y, q = _paired(y_true, p)
    idx = _bin_index(q, bins, strategy)
    frame = pd.DataFrame({"bin": idx, "p": q, "y": (y > 0).astype(float)})
    table = (
        frame.groupby("bin", sort=True)
        .agg(p_mean=("p", "mean"), observed_rate=("y", "mean"), count=("y", "size"))
        .reset_index()
    )
    table["bin"] = table["bin"].astype(int)
    table["count"] = table["count"].astype(int)
    return table[["bin", "p_mean", "observed_rate", "count"]]


def expected_calibration_error(
    y_true: ArrayLike, p: ArrayLike, bins: int = 10, strategy: str = "quantile"
) -> float:
    """Count-weighted mean |predicted - observed| over calibration bins (NaN when empty)."""
    table = calibration_table(y_true, p, bins=bins, strategy=strategy)
    total = table["count"].sum()
    if total == 0:
        return NAN
    gap = (table["p_mean"] - table["observed_rate"]).abs()
    return float((gap * table["count"]).sum() / total)


def lift_capture(
    y_true: ArrayLike, score: ArrayLike, fractions: Sequence[float] = (0.05, 0.10, 0.20)
) -> dict[str, float]:
    """Capture (share of all positives) and lift (rate / base rate) in each top fraction.

    Keys are ``capture_top5``, ``lift_top5``, ... (``top2_5`` for 2.5%). NaN when there are
    no positives, since neither quantity is defined then.
    """
    y, s = _paired(y_true, score)
    out: dict[str, float] = {}
    yi = (y > 0).astype(float)[_rank_order(s)]
    n, positives = yi.size, yi.sum()
    for fraction in fractions:
        key = _pct_key(fraction)
        if n == 0 or positives == 0:
            out[f"capture_{key}"] = out[f"lift_{key}"] = NAN
            continue
        k = _top_k(n, fraction)
        hit = yi[:k].sum()
        out[f"capture_{key}"] = float(hit / positives)
        out[f"lift_{key}"] = float((hit / k) / (positives / n))
    return out


def top_share(values: ArrayLike, score: ArrayLike, fraction: float = 0.10) -> float:
    """Share of total ``values`` (e.g. holdout revenue) held by the top ``fraction`` by score.

    ``top_share(values, values)`` is the oracle: the best any ranking could do.
    """
    v, s = _paired(values, score)
    total = v.sum()
    if v.size == 0 or total == 0:
        return NAN
    k = _top_k(v.size, fraction)
    return float(v[_rank_order(s)][:k].sum() / total)


def lift_curve(y_true: ArrayLike, score: ArrayLike, points: int = 20) -> pd.DataFrame:
    """Capture and lift at ``points`` evenly spaced top fractions, for plots."""
    if points < 1:
        raise ValueError(f"points must be >= 1, got {points}")
    y, s = _paired(y_true, score)
    fractions = np.arange(1, points + 1) / points
    yi = (y > 0).astype(float)[_rank_order(s)]
    n, positives = yi.size, yi.sum()
    if n == 0 or positives == 0:
        nan = np.full(points, np.nan)
        return pd.DataFrame({"fraction": fractions, "capture": nan, "lift": nan})
    cum = np.cumsum(yi)
    ks = np.array([_top_k(n, f) for f in fractions])
    capture = cum[ks - 1] / positives
    lift = (cum[ks - 1] / ks) / (positives / n)
    return pd.DataFrame({"fraction": fractions, "capture": capture, "lift": lift})


def regression_metrics(y_true: ArrayLike, y_pred: ArrayLike) -> dict[str, float]:
    """MAE, RMSE, Spearman, Pearson and sum ratio for value (CLV) predictions.

    Spearman judges the ranking that targeting uses; ``sum_ratio`` (sum predicted / sum
    actual) shows whether the total forecast for a cohort is biased, which MAE hides.
    Correlations are NaN when either side is constant.
    """
    y, q = _paired(y_true, y_pred)
    out: dict[str, float] = {
        "mae": NAN,
        "rmse": NAN,
        "spearman": NAN,
        "pearson": NAN,
        "sum_ratio": NAN,
        "n": int(y.size),
    }
    if y.size == 0:
        return out
    out["mae"] = float(mean_absolute_error(y, q))
    out["rmse"] = float(root_mean_squared_error(y, q))
    if y.size >= 2 and np.ptp(y) > 0 and np.ptp(q) > 0:
        out["spearman"] = float(stats.spearmanr(y, q).statistic)
        out["pearson"] = float(stats.pearsonr(y, q).statistic)
    total = y.sum()
    if total != 0:
        out["sum_ratio"] = float(q.sum() / total)
    return out
