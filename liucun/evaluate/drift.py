"""Feature drift between two runs: the population stability index (PSI) per feature."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from liucun.evaluate.metrics import NAN, floats

# The main features compared between runs; a PSI above the warning level flags a shift.
DRIFT_FEATURES = (
    "recency_days",
    "orders_90d",
    "revenue_90d",
    "orders_total",
    "revenue_total",
    "aov",
    "gap_ratio",
    "sessions_30d",
    "views_30d",
    "days_since_last_event",
    "tenure_days",
)
PSI_WARNING = 0.2
PSI_EPS = 1e-4


def _psi_shares(expected: pd.Series, actual: pd.Series, bins: int) -> tuple[np.ndarray, ...]:
    """Bin shares of both samples; missing values get a bin of their own."""
    if pd.api.types.is_numeric_dtype(expected) and pd.api.types.is_numeric_dtype(actual):
        e, a = floats(expected), floats(actual)
        finite = e[np.isfinite(e)]
        if finite.size:
            edges = np.quantile(finite, np.linspace(0, 1, bins + 1))
            inner = np.unique(edges[1:-1])
        else:
            inner = np.array([])
        nan_bin = inner.size + 1
        e_idx = np.where(np.isnan(e), nan_bin, np.searchsorted(inner, e, side="right"))
        a_idx = np.where(np.isnan(a), nan_bin, np.searchsorted(inner, a, side="right"))
        n_bins = nan_bin + 1
    else:
        # Categories are their own bins; missing values form one more.
        codes, levels = pd.factorize(
            pd.concat([expected.astype(object), actual.astype(object)], ignore_index=True),
            use_na_sentinel=False,
        )
        e_idx, a_idx = codes[: len(expected)], codes[len(expected) :]
        n_bins = max(len(levels), 1)
    e_share = np.bincount(e_idx, minlength=n_bins) / max(len(e_idx), 1)
    a_share = np.bincount(a_idx, minlength=n_bins) / max(len(a_idx), 1)
    return e_share, a_share


def psi(expected: ArrayLike, actual: ArrayLike, bins: int = 10) -> float:
    """Population stability index of ``actual`` against ``expected``.

    Bins are quantiles of ``expected`` so each holds about the same share before the shift;
    empty bins get a small epsilon so the log stays finite. Rules of thumb: < 0.1 stable,
    0.1-0.2 drifting, > 0.2 shifted. NaN when either sample is empty.
    """
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    e, a = pd.Series(expected).reset_index(drop=True), pd.Series(actual).reset_index(drop=True)
    if e.empty or a.empty:
        return NAN
    e_share, a_share = _psi_shares(e, a, bins)
    both_empty = (e_share == 0) & (a_share == 0)
    e_share = np.maximum(e_share[~both_empty], PSI_EPS)
    a_share = np.maximum(a_share[~both_empty], PSI_EPS)
    return float(np.sum((a_share - e_share) * np.log(a_share / e_share)))


def psi_table(
    before: pd.DataFrame, after: pd.DataFrame, columns: Iterable[str] | None = None, bins: int = 10
) -> pd.DataFrame:
    """PSI per feature between two snapshots, most shifted first.

    ``columns`` defaults to the columns both frames share, so drift in the features a model
    relies on can be checked before trusting its score on a new cutoff.
    """
    if columns is None:
        columns = [c for c in before.columns if c in after.columns]
    rows = [{"feature": c, "psi": psi(before[c], after[c], bins=bins)} for c in columns]
    table = pd.DataFrame(rows, columns=["feature", "psi"])
    return table.sort_values("psi", ascending=False, na_position="last", kind="stable").reset_index(
        drop=True
    )
