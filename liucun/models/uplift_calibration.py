"""How far a model's uplift predictions hold on campaigns they were not fitted on.

A planner spends money on its predicted uplift, so the prediction is only trusted as far
as randomised evidence it never saw backs it. For one action, with ``s`` a model's
out-of-sample score (predicted uplift) for every contact of that action's treated arm
and of the control group, and ``r`` the outcome (variance-reduced), the least-squares fit

    r = b0 + b1·(s − s̄) + α·T + β·T·(s − s̄)

gives α, the pooled effect at the average score (what a randomised comparison of means
would say), and β, how much of each extra unit of predicted uplift shows up as realised
uplift: 1 for a calibrated model, 0 for one whose ranking is noise. The planner's
expected uplift is then ``α + β*·(s − s̄)`` with β* the slope shrunk by its own
uncertainty, so the level always comes from the evidence and the targeting only as far as
it has been shown out of sample. Standard errors are heteroskedasticity-robust (HC1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Calibration:
    """One action's evidence: effect at the mean score and the slope on the score."""

    alpha: float  # pooled effect per contact (outcome units) at the mean score
    beta: float  # realised uplift per unit of predicted uplift, as fitted
    beta_shrunk: float  # what predictions use: beta shrunk towards 0 by its noise
    cov: tuple[tuple[float, float], tuple[float, float]]  # of (alpha, beta)
    center: float  # s̄: the mean score the effect is measured at
    n_treated: int
    n_control: int
    # The scores the slope was measured on (1st and 99th percentiles): predictions do not
    # extrapolate it beyond them, where one model's extreme scores are least checked.
    s_min: float = -np.inf
    s_max: float = np.inf
    # What predictions use: alpha shrunk towards 0 by its own noise, like the slope. A plan
    # acts on its largest measured effects, whose noise is more often up than down.
    alpha_shrunk: float | None = None

    @property
    def alpha_se(self) -> float:
        return float(np.sqrt(max(self.cov[0][0], 0.0)))

    @property
    def beta_se(self) -> float:
        return float(np.sqrt(max(self.cov[1][1], 0.0)))

    def _d(self, s: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(s, dtype=float), self.s_min, self.s_max) - self.center

    def predict(self, s: np.ndarray) -> np.ndarray:
        """Expected uplift at scores ``s``."""
        level = self.alpha if self.alpha_shrunk is None else self.alpha_shrunk
        return level + self.beta_shrunk * self._d(s)

    def se(self, s: np.ndarray) -> np.ndarray:
        """Standard error of :meth:`predict` (the fitted slope's variance, not shrunk)."""
        d = self._d(s)
        (va, cab), (_, vb) = self.cov
        return np.sqrt(np.maximum(va + d * d * vb + 2.0 * d * cab, 0.0))

    def total_var(self, s: np.ndarray) -> float:
        """Variance of Σ predict(s) over a set of customers (their shared α and β)."""
        d = self._d(s)
        w = np.array([len(d), d.sum()])
        return float(w @ np.asarray(self.cov) @ w)


def shrink_level(alpha: float, se: float) -> float:
    """Positive-part James–Stein shrinkage of an effect towards 0, keeping its sign: at
    one standard error nothing is kept, at two three quarters."""
    if not np.isfinite(alpha) or alpha == 0:
        return 0.0
    if not np.isfinite(se) or se <= 0:
        return float(alpha)
    return float(alpha * max(0.0, 1.0 - (se / alpha) ** 2))


def shrink(beta: float, se: float) -> float:
    """Positive-part James–Stein shrinkage of a slope towards 0, capped at 1.5.

    A slope measured at one standard error keeps nothing, at two standard errors three
    quarters; a negative slope (predictions ranking backwards) is not used at all.
    """
    if not np.isfinite(beta) or beta <= 0:
        return 0.0
    if not np.isfinite(se) or se <= 0:
        return float(min(beta, 1.5))
    return float(min(beta * max(0.0, 1.0 - (se / beta) ** 2), 1.5))


def calibrate(r: np.ndarray, s: np.ndarray, treated: np.ndarray) -> Calibration:
    """Fit the interaction model above on one action's treated rows and the controls.

    ``r``: outcome per contact, ``s``: out-of-sample score per contact, ``treated``:
    True for the action's treated arm, False for controls.
    """
    r = np.asarray(r, dtype=float)
    s = np.asarray(s, dtype=float)
    t = np.asarray(treated, dtype=bool)
    center = float(s.mean()) if len(s) else 0.0
    d = s - center
    n_t, n_c = int(t.sum()), int((~t).sum())
    X = np.column_stack([np.ones_like(d), d, t.astype(float), t * d])
    if n_t < 2 or n_c < 2:
        nan = float("nan")
        return Calibration(nan, nan, 0.0, ((nan, nan), (nan, nan)), center, n_t, n_c)
    # With a constant score the slope columns are zero: least squares gives them 0.
    coef, *_ = np.linalg.lstsq(X, r, rcond=None)
    resid = r - X @ coef
    bread = np.linalg.pinv(X.T @ X)
    meat = (X * (resid**2)[:, None]).T @ X
    n, k = X.shape
    V = bread @ meat @ bread * (n / max(n - k, 1))
    alpha, beta = float(coef[2]), float(coef[3])
    cov = ((float(V[2, 2]), float(V[2, 3])), (float(V[3, 2]), float(V[3, 3])))
    if np.ptp(d) == 0:
        beta, cov = 0.0, ((cov[0][0], 0.0), (0.0, 0.0))
    b_se = float(np.sqrt(max(cov[1][1], 0.0)))
    s_min, s_max = (float(q) for q in np.quantile(s, [0.01, 0.99]))
    a_shrunk = shrink_level(alpha, float(np.sqrt(max(cov[0][0], 0.0))))
    return Calibration(
        alpha, beta, shrink(beta, b_se), cov, center, n_t, n_c, s_min, s_max, a_shrunk
    )


def by_band(
    r: np.ndarray, s: np.ndarray, treated: np.ndarray, bands: int = 5
) -> list[dict[str, float]]:
    """Predicted vs realised uplift per band of the score (highest band first).

    Realised uplift is the treated mean minus the control mean inside the band, with its
    standard error: the calibration table of a held-out read-out.
    """
    r, s, t = np.asarray(r, float), np.asarray(s, float), np.asarray(treated, bool)
    if len(s) < bands * 4:
        return []
    edges = np.unique(np.quantile(s, np.linspace(0, 1, bands + 1)))
    band = np.clip(np.searchsorted(edges, s, side="right") - 1, 0, len(edges) - 2)
    out = []
    for b in range(len(edges) - 2, -1, -1):
        m = band == b
        rt, rc = r[m & t], r[m & ~t]
        if len(rt) < 2 or len(rc) < 2:
            continue
        se = float(np.sqrt(rt.var(ddof=1) / len(rt) + rc.var(ddof=1) / len(rc)))
        out.append(
            {
                "predicted": float(s[m & t].mean()),
                "realised": float(rt.mean() - rc.mean()),
                "se": se,
                "n_treated": len(rt),
                "n_control": len(rc),
            }
        )
    return out


__all__ = ["Calibration", "by_band", "calibrate", "shrink", "shrink_level"]
