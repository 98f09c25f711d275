"""P(first order within the horizon) for known customers who never ordered: ``p_convert``.

p_churn asks whether a buyer buys again; for a prospect (signed up or browsed, never
ordered) the question is whether they buy at all, and their signal is different: how long
ago they signed up, how much they visit, view and fill carts, where they came from. A
small model of its own keeps that apart from the churn model (whose p_churn stays defined
for everyone, as the contract says).

The model is a regularised logistic regression on a few transformed columns, which is
calibrated on average by construction (with an unpenalised intercept, the fitted
probabilities sum to the positives of the training rows) and cannot overfit a few hundred
prospects the way trees would. When nothing separates (too few conversions, one class,
or no better than the base rate on the held-out rows) it predicts the base rate for
everyone and says so.

Tables go in as frames: numeric columns are read as numbers (``sign(x)·log1p(|x|)``,
missing filled with the training median plus a missing flag, standardised); text or
categorical columns (region, channel) as their ``max_categories`` most frequent values,
the rest as "other".

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame({"visits": rng.poisson(2.0, 2000)})
>>> y = (rng.uniform(size=2000) < 0.05 + 0.05 * (X["visits"] > 2)).astype(int)
>>> m = ConversionModel().fit(X, y)
>>> m.mode_
'logistic'
>>> bool(abs(m.predict_proba(X)[:, 1].mean() - y.mean()) < 1e-3)
True
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score

from liucun.models.base import Estimator

__all__ = ["ConversionModel"]

OTHER = "(other)"
MISSING = "(missing)"


class ConversionModel(Estimator):
    """P(first order within the horizon) per prospect: logistic, or the base rate.

    Parameters
    ----------
    C
        Inverse L2 strength of the logistic regression (on standardised columns).
    max_categories
        Most frequent values kept per text column; the others are one level.
    min_positives
        Fewer conversions (or non-conversions) than this in training: the base rate.
    stretch
        The horizon over the training label window (>= 1 when history was too short for
        the full horizon): P over the horizon = 1 - (1 - p)^stretch, a constant hazard.
    seed
        Seed of the solver (lbfgs is deterministic; kept for the estimator contract).
    """

    def __init__(
        self,
        C: float = 1.0,
        max_categories: int = 20,
        min_positives: int = 10,
        stretch: float = 1.0,
        seed: int = 0,
    ) -> None:
        self.C = C
        self.max_categories = max_categories
        self.min_positives = min_positives
        self.stretch = stretch
        self.seed = seed

    # -- fitting -------------------------------------------------------------------------

    def fit(
        self,
        X: pd.DataFrame,
        y: Any,
        X_val: pd.DataFrame | None = None,
        y_val: Any = None,
    ) -> Self:
        """Fit on ``X, y`` (y: 1 = ordered within the label window). With a later slice
        ``X_val, y_val`` the logistic model must beat the base rate there (log loss) to be
        kept; the final model is then refitted on both, and ``validation_`` records how
        the training-only fit did on the later slice (mean predicted vs realised)."""
        X = pd.DataFrame(X).reset_index(drop=True)
        y = np.asarray(y, dtype=float)
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} rows, y has {len(y)}")
        self.validation_: dict[str, Any] | None = None
        use_model = self._separable(y)
        why = ""
        if X_val is not None and y_val is not None and len(X_val):
            Xv = pd.DataFrame(X_val).reset_index(drop=True)
            yv = np.asarray(y_val, dtype=float)
            if use_model:
                self._fit_arrays(X, y)
                val = _judge(yv, self._p(Xv), np.full(len(yv), self.base_rate_))
                self.validation_ = val
                if not val["log_loss"] < val["log_loss_base"]:
                    use_model = False
                    why = "no better than the base rate on the latest cutoff"
            X = pd.concat([X, Xv], ignore_index=True)
            y = np.concatenate([y, yv])
        self._fit_arrays(X, y, logistic=use_model and self._separable(y))
        if self.mode_ == "base_rate" and not why:
            why = "too few conversions (or nothing to go by) to separate prospects"
        self.why_ = why
        return self

    def _separable(self, y: np.ndarray) -> bool:
        pos = float(y.sum())
        return min(pos, len(y) - pos) >= max(int(self.min_positives), 1)

    def _fit_arrays(self, X: pd.DataFrame, y: np.ndarray, logistic: bool = True) -> None:
        # Jeffreys' estimate: never exactly 0 or 1, so log loss and the stretch stay finite.
        self.base_rate_ = float((y.sum() + 0.5) / (len(y) + 1.0))
        self.rows_ = len(y)
        self.columns_ = list(X.columns)
        self.numeric_ = [c for c in X.columns if _is_number(X[c])]
        self.categories_ = {
            c: _top_levels(X[c], int(self.max_categories))
            for c in X.columns
            if c not in self.numeric_
        }
        self.mode_ = "base_rate"
        self.coef_: np.ndarray | None = None
        self.design_ = self._names()
        if not logistic:
            return
        raw = self._raw(X)
        self.median_ = np.nanmedian(np.where(np.isfinite(raw), raw, np.nan), axis=0)
        self.median_ = np.where(np.isfinite(self.median_), self.median_, 0.0)
        self.flags_ = [i for i in range(raw.shape[1]) if np.isnan(raw[:, i]).any()]
        Z = self._fill(raw)
        self.mean_ = Z.mean(axis=0)
        sd = Z.std(axis=0)
        self.keep_ = np.flatnonzero(sd > 1e-12)
        self.scale_ = np.where(sd > 1e-12, sd, 1.0)
        Z = ((Z - self.mean_) / self.scale_)[:, self.keep_]
        if Z.shape[1] == 0:
            return
        lr = LogisticRegression(C=float(self.C), max_iter=2000, random_state=int(self.seed))
        lr.fit(Z, y.astype(int))
        self.coef_ = np.concatenate([lr.coef_[0], lr.intercept_])
        self.mode_ = "logistic"

    # -- the design matrix ---------------------------------------------------------------

    def _names(self) -> list[str]:
        """The design's columns before the missing flags: numbers, then text levels."""
        levels = [f"{c}={v}" for c, keep in self.categories_.items() for v in [*keep, OTHER]]
        return [*self.numeric_, *levels]

    def _raw(self, X: pd.DataFrame) -> np.ndarray:
        """Numbers as sign·log1p(|x|) (NaN kept), then one-hot columns of the text levels;
        columns absent from ``X`` count as missing."""
        X = X.reindex(columns=self.columns_)
        parts = []
        for c in self.numeric_:
            v = pd.to_numeric(X[c], errors="coerce").to_numpy(dtype=float)
            parts.append(np.sign(v) * np.log1p(np.abs(v)))
        for c, keep in self.categories_.items():
            s = _levels(X[c], keep)
            for level in [*keep, OTHER]:
                parts.append((s == level).to_numpy(dtype=float))
        if not parts:
            return np.zeros((len(X), 0))
        return np.column_stack(parts)

    def _fill(self, raw: np.ndarray) -> np.ndarray:
        missing = np.isnan(raw)
        filled = np.where(missing, self.median_, raw)
        if not self.flags_:
            return filled
        return np.column_stack([filled, missing[:, self.flags_].astype(float)])

    def _p(self, X: pd.DataFrame) -> np.ndarray:
        """P(order within the label window), before any stretch."""
        if self.mode_ != "logistic" or self.coef_ is None:
            return np.full(len(X), self.base_rate_)
        Z = ((self._fill(self._raw(pd.DataFrame(X))) - self.mean_) / self.scale_)[:, self.keep_]
        z = Z @ self.coef_[:-1] + self.coef_[-1]
        return 1.0 / (1.0 + np.exp(-np.clip(z, -35, 35)))

    # -- predicting ----------------------------------------------------------------------

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Columns [P(no order), P(order)] within the horizon (scikit-learn's layout)."""
        self._check_fitted()
        p = self._p(pd.DataFrame(X).reset_index(drop=True))
        s = float(self.stretch)
        if s != 1.0:
            p = 1.0 - np.power(np.clip(1.0 - p, 1e-12, 1.0), s)
        p = np.clip(p, 0.0, 1.0)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """1 where a first order is more likely than not (rare: use ``predict_proba``)."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def summary(self) -> dict[str, Any]:
        """What the run records and the model page shows: mode, why, base rate, rows,
        validation."""
        self._check_fitted()
        base = self.base_rate_
        if float(self.stretch) != 1.0:
            base = 1.0 - (1.0 - base) ** float(self.stretch)
        return {
            "mode": self.mode_,
            "why": self.why_,
            "rows": self.rows_,
            "base_rate": base,
            "stretch": float(self.stretch),
            "validation": self.validation_,
        }


# -- helpers ---------------------------------------------------------------------------


def _is_number(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)


def _levels(s: pd.Series, keep: list[str]) -> pd.Series:
    t = s.astype("object").where(s.notna(), MISSING).astype(str)
    return t.where(t.isin(keep), OTHER)


def _top_levels(s: pd.Series, k: int) -> list[str]:
    """The ``k`` most frequent values (missing counted as one), ties by name."""
    t = s.astype("object").where(s.notna(), MISSING).astype(str)
    counts = t.value_counts()
    order = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [v for v, _ in order[: max(k, 0)]]


def _judge(y: np.ndarray, p: np.ndarray, base: np.ndarray) -> dict[str, Any]:
    """The later slice: realised vs mean predicted, log loss against the base rate's."""
    out: dict[str, Any] = {
        "rows": len(y),
        "realised": float(y.mean()) if len(y) else None,
        "predicted_mean": float(p.mean()) if len(p) else None,
        "base_rate": float(base[0]) if len(base) else None,
        "log_loss": float(log_loss(y, p, labels=[0, 1])) if len(y) else float("inf"),
        "log_loss_base": float(log_loss(y, base, labels=[0, 1])) if len(y) else float("inf"),
        "roc_auc": None,
    }
    if len(np.unique(y)) == 2:
        out["roc_auc"] = float(roc_auc_score(y, p))
    return out
