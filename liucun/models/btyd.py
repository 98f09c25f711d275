"""Buy-till-you-die customer-base models: BG/NBD, Pareto/NBD and Gamma-Gamma spend.

Each model is fitted by maximum likelihood with numpy/scipy on per-customer summaries
(``frequency`` = repeat purchases, ``recency`` = time of the last repeat purchase since the
first, ``T`` = time since the first purchase), all in one time unit of the caller's choice.

Why written here instead of using ``lifetimes``: that package is archived, and its
likelihoods overflow for heavy buyers and long (daily) horizons. Here every likelihood term
is a log, hypergeometric functions are evaluated through Euler transforms whose series have
positive, bounded terms, and the optimiser works on log-parameters with time rescaled to
the data's mean ``T`` so that weekly and daily fits are the same problem.

References: Fader, Hardie & Lee (2005) "Counting your customers the easy way" (BG/NBD);
Schmittlein, Morrison & Colombo (1987) and Fader & Hardie (2005) "A note on deriving the
Pareto/NBD model and related expressions"; Fader, Hardie & Lee (2005) "RFM and CLV" and
Fader & Hardie (2013) "The Gamma-Gamma model of monetary value".
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import OptimizeResult, minimize
from scipy.special import betaln, expit, gammaln, hyp2f1
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

__all__ = ["BetaGeoModel", "GammaGammaModel", "ParetoNBDModel"]

FloatArray = NDArray[np.float64]

# Log-parameters live in this box (in rescaled units); wide enough for any real data set,
# narrow enough that exp() never overflows inside a likelihood term.
_LOG_BOUND = 18.0
_FORMAT_VERSION = 1


# --------------------------------------------------------------------------- input checks


def _as_float(name: str, values: ArrayLike, *, one_d: bool = True) -> FloatArray:
    """Non-negative finite floats; fitting wants 1-D, predicting accepts any broadcastable shape."""
    arr = np.atleast_1d(np.asarray(values, dtype=float))
    if one_d and arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    if np.any(arr < 0):
        raise ValueError(f"{name} must be non-negative")
    return arr


def _check_summary(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, *, broadcast: bool
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Validate (frequency, recency, T); fitting needs equal lengths, predicting broadcasts."""
    x = _as_float("frequency", frequency, one_d=not broadcast)
    tx = _as_float("recency", recency, one_d=not broadcast)
    t_obs = _as_float("T", T, one_d=not broadcast)
    if broadcast:
        try:
            x, tx, t_obs = np.broadcast_arrays(x, tx, t_obs)
        except ValueError as exc:
            raise ValueError("frequency, recency and T have incompatible shapes") from exc
    elif not (x.shape == tx.shape == t_obs.shape):
        raise ValueError(
            f"frequency, recency and T must have the same length, got "
            f"{x.shape[0]}, {tx.shape[0]}, {t_obs.shape[0]}"
        )
    if x.size == 0:
        raise ValueError("no customers given (empty input)")
    if np.any(x != np.floor(x)):
        raise ValueError("frequency must be whole numbers (counts of repeat purchases)")
    if np.any(tx > t_obs * (1 + 1e-9) + 1e-12):
        raise ValueError("recency must not exceed T (the last purchase lies inside the window)")
    # A customer without repeat purchases has no last repeat purchase: recency is moot.
    tx = np.where(x > 0, np.minimum(tx, t_obs), 0.0)
    return x.astype(float), tx, t_obs.astype(float)


def _check_weights(weights: ArrayLike | None, n: int) -> FloatArray:
    if weights is None:
        return np.ones(n)
    w = _as_float("weights", weights)
    if w.shape != (n,):
        raise ValueError(f"weights must have one entry per customer ({n}), got {w.shape[0]}")
    if w.sum() <= 0:
        raise ValueError("weights must not all be zero")
    return w


def _check_horizon(t: ArrayLike) -> FloatArray:
    return _as_float("t", t, one_d=False)


# --------------------------------------------------------------------------- special functions


def _log1mexp(d: FloatArray) -> FloatArray:
    """log(1 - exp(d)) for d <= 0, accurate near 0 and -inf; -inf when d >= 0."""
    d = np.asarray(d, dtype=float)
    out = np.full(d.shape, -np.inf)
    neg = d < 0
    near = neg & (d > -math.log(2.0))
    far = neg & ~near
    out[near] = np.log(-np.expm1(d[near]))
    out[far] = np.log1p(-np.exp(d[far]))
    return out


def _hyp2f1_series(
    a: FloatArray, b: FloatArray, c: FloatArray, z: FloatArray, max_terms: int = 200_000
) -> FloatArray:
    """Plain Gauss series, used only where scipy's hyp2f1 returns garbage (|z| < 1)."""
    a, b, c, z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (a, b, c, z)))
    term = np.ones(a.shape)
    total = np.ones(a.shape)
    active = np.ones(a.shape, dtype=bool)
    for k in range(max_terms):
        if not active.any():
            break
        term = np.where(active, term * (a + k) * (b + k) / ((c + k) * (k + 1.0)) * z, 0.0)
        total = total + term
        active &= np.abs(term) > 1e-17 * np.abs(total)
    return total


def _log_hyp2f1_1bc(b: FloatArray, c: FloatArray, z: FloatArray) -> FloatArray:
    """log 2F1(1, b; c; z) for 0 < b < c and 0 <= z < 1.

    The series has positive terms with ratio (b+k)/(c+k)*z < z, so the value lies in
    [1, 1/(1-z)]; anything outside that (scipy failing at extreme parameters) is recomputed
    by direct summation.
    """
    b, c, z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (b, c, z)))
    with np.errstate(all="ignore"):
        val = hyp2f1(1.0, b, c, z)
        upper = 1.0 / (1.0 - z)
    bad = ~np.isfinite(val) | (val < 1.0 - 1e-12) | (val > upper * (1 + 1e-9))
    if bad.any():
        val = np.array(val, dtype=float)
        val[bad] = _hyp2f1_series(np.ones(int(bad.sum())), b[bad], c[bad], z[bad])
    return np.log(np.maximum(val, 1.0))


def _hyp2f1_checked(a: FloatArray, b: FloatArray, c: FloatArray, z: FloatArray) -> FloatArray:
    """scipy's hyp2f1 with a series fallback where it returns NaN/inf."""
    a, b, c, z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (a, b, c, z)))
    with np.errstate(all="ignore"):
        val = np.array(hyp2f1(a, b, c, z), dtype=float)
    bad = ~np.isfinite(val)
    if bad.any():
        val[bad] = _hyp2f1_series(a[bad], b[bad], c[bad], z[bad])
    return val


def _expm1_ratio(d: float, u: FloatArray) -> FloatArray:
    """expm1(d*u)/d, with its limit u at d == 0 (why: Pareto/NBD's s == 1 and similar)."""
    if abs(d) < 1e-10:
        return np.asarray(u, dtype=float)
    return np.expm1(d * u) / d


def _merge_identical(
    x: FloatArray, tx: FloatArray, t_obs: FloatArray, w: FloatArray, scale: float
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Distinct (x, tx/scale, T/scale) rows with their normalised weights.

    The likelihood depends on (x, tx, T) only, so merging identical customers is exact and
    saves most of the special-function calls (one-time buyers share few distinct rows).
    """
    keys = np.stack([x, tx / scale, t_obs / scale], axis=1)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    wu = np.bincount(inverse.ravel(), weights=w) / w.sum()
    return uniq[:, 0], uniq[:, 1], uniq[:, 2], wu


# --------------------------------------------------------------------------- optimiser


def _fit_log_params(
    objective: Callable[[FloatArray], float], starts: Sequence[Sequence[float]]
) -> OptimizeResult:
    """Minimise over log-parameters: L-BFGS-B, Nelder-Mead where it stalls, next start on failure.

    Why several starts: these likelihoods are smooth but can be flat along ridges (e.g. BG/NBD
    a, b when few customers churn), where a single quasi-Newton run may stop early.
    """
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(starts[0])

    def safe(theta: FloatArray) -> float:
        with np.errstate(all="ignore"):
            value = float(objective(theta))
        return value if np.isfinite(value) else 1e100

    best: OptimizeResult | None = None
    for x0 in starts:
        theta0 = np.clip(np.asarray(x0, dtype=float), -_LOG_BOUND, _LOG_BOUND)
        if safe(theta0) >= 1e100:
            continue
        res = minimize(
            safe,
            theta0,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9},
        )
        if not res.success or res.fun >= 1e100:
            nm = minimize(
                safe,
                res.x if res.fun < 1e100 else theta0,
                method="Nelder-Mead",
                bounds=bounds,
                # A fit that runs off to a boundary never converges; cap the time it spends.
                options={"maxiter": 5_000, "xatol": 1e-9, "fatol": 1e-12, "adaptive": True},
            )
            if nm.fun <= res.fun:
                res = nm
        if res.fun < 1e100 and (best is None or res.fun < best.fun):
            best = res
        if best is not None and best.success:
            break
    if best is None or best.fun >= 1e100:
        raise RuntimeError("maximum-likelihood fit failed from every starting point")
    if not best.success:
        warnings.warn(
            f"optimiser did not report convergence: {best.message}", RuntimeWarning, stacklevel=3
        )
    return best


# --------------------------------------------------------------------------- base class


class _BTYDBase(BaseEstimator):
    """Shared parts: fitted-state checks and JSON save/load."""

    _param_names: ClassVar[tuple[str, ...]] = ()
    _registry: ClassVar[dict[str, type[_BTYDBase]]] = {}

    params_: dict[str, float]
    log_likelihood_: float

    def __init__(self, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _BTYDBase._registry[cls.__name__] = cls

    def _check_penalizer(self) -> float:
        pen = float(self.penalizer)
        if not np.isfinite(pen) or pen < 0:
            raise ValueError(f"penalizer must be a finite number >= 0, got {self.penalizer!r}")
        return pen

    def _params(self) -> tuple[float, ...]:
        if not hasattr(self, "params_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit(...) or load(path) first."
            )
        return tuple(float(self.params_[k]) for k in self._param_names)

    def save(self, path: str | Path) -> None:
        """Write the fitted parameters as a small JSON document (portable, diffable)."""
        self._params()
        doc = {
            "model": type(self).__name__,
            "format_version": _FORMAT_VERSION,
            "params": {k: float(self.params_[k]) for k in self._param_names},
            "penalizer": float(self.penalizer),
            "log_likelihood": float(self.log_likelihood_),
        }
        Path(path).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Restore a model written by ``save``; calling on the wrong class raises ValueError."""
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        name = doc.get("model")
        target = _BTYDBase._registry.get(name) if isinstance(name, str) else None
        if target is None or not issubclass(target, cls):
            raise ValueError(f"{path} holds a {name!r} model, not a {cls.__name__}")
        params = doc.get("params", {})
        missing = [k for k in target._param_names if k not in params]
        if missing:
            raise ValueError(f"{path} lacks parameters {missing}")
        model = target(penalizer=float(doc.get("penalizer", 0.0)))
        model.params_ = {k: float(params[k]) for k in target._param_names}
        model.log_likelihood_ = float(doc.get("log_likelihood", float("nan")))
        return model  # type: ignore[return-value]


# --------------------------------------------------------------------------- BG/NBD


class BetaGeoModel(_BTYDBase):
    """BG/NBD: Poisson purchasing at a gamma(r, alpha) rate, dropout with beta(a, b)
    probability after each repeat purchase.

    Parameters
    ----------
    penalizer
        L2 weight on the log-parameters (``alpha`` in units of the data's mean ``T``, so the
        penalty does not depend on the time unit); 0 gives the plain MLE.
    """

    _param_names = ("r", "alpha", "a", "b")

    @staticmethod
    def _loglik(
        r: float, alpha: float, a: float, b: float, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        # log L = log[B(a,b+x)/B(a,b) * G(r+x) a^r / (G(r) (alpha+T)^(r+x))
        #            + 1{x>0} B(a+1,b+x-1)/B(a,b) * G(r+x) a^r / (G(r) (alpha+tx)^(r+x))]
        common = gammaln(r + x) - gammaln(r) + r * math.log(alpha) - betaln(a, b)
        term1 = betaln(a, b + x) - (r + x) * np.log(alpha + T)
        repeat = x > 0
        with np.errstate(all="ignore"):
            term2 = np.where(
                repeat,
                betaln(a + 1.0, np.where(repeat, b + x - 1.0, 1.0)) - (r + x) * np.log(alpha + tx),
                -np.inf,
            )
        return common + np.logaddexp(term1, term2)

    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> Self:
        """Fit r, alpha, a, b by maximum likelihood; ``weights`` counts identical customers."""
        x, tx, t_obs = _check_summary(frequency, recency, T, broadcast=False)
        w = _check_weights(weights, x.size)
        pen = self._check_penalizer()
        scale = float(np.average(t_obs, weights=w)) or 1.0
        xs, txs, ts, wn = _merge_identical(x, tx, t_obs, w, scale)

        def nll(theta: FloatArray) -> float:
            r, alpha, a, b = np.exp(theta)
            ll = self._loglik(r, alpha, a, b, xs, txs, ts)
            return -float(wn @ ll) + pen * float(theta @ theta)

        rate = max(float(w @ x) / float(w @ (t_obs / scale)), 1e-3)
        starts = [
            [0.0, -math.log(rate), 0.0, 0.0],
            [math.log(0.3), math.log(0.3 / rate), math.log(0.8), math.log(2.5)],
            [math.log(3.0), math.log(3.0 / rate), math.log(2.0), math.log(6.0)],
        ]
        res = _fit_log_params(nll, starts)
        r, alpha, a, b = np.exp(res.x)
        alpha *= scale
        self.params_ = {"r": float(r), "alpha": float(alpha), "a": float(a), "b": float(b)}
        self.log_likelihood_ = float(w @ self._loglik(r, alpha, a, b, x, tx, t_obs))
        self.n_customers_ = float(w.sum())
        return self

    def log_likelihood(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """Per-customer log-likelihood under the fitted parameters (for checks and model choice)."""
        r, alpha, a, b = self._params()
        x, tx, t_obs = _check_summary(frequency, recency, T, broadcast=True)
        return self._loglik(r, alpha, a, b, x, tx, t_obs)

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """P(still active at T | history); exactly 1 with no repeat purchase (BG/NBD assumption:
        dropout can only happen right after a purchase)."""
        r, alpha, a, b = self._params()
        x, tx, t_obs = _check_summary(frequency, recency, T, broadcast=True)
        return self._p_alive(r, alpha, a, b, x, tx, t_obs)

    @staticmethod
    def _p_alive(
        r: float, alpha: float, a: float, b: float, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        repeat = x > 0
        with np.errstate(all="ignore"):
            log_odds_dead = (
                math.log(a)
                - np.log(np.where(repeat, b + x - 1.0, 1.0))
                + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
            )
        return np.where(repeat, expit(-log_odds_dead), 1.0)

    @staticmethod
    def _bracket(a: float, b: float, r: float, x: FloatArray, z: FloatArray) -> FloatArray:
        """(1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)) / (a-1), the Euler-transformed form
        of the paper's (1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)): its
        first two hypergeometric parameters no longer grow with x, so it stays finite."""
        if abs(a - 1.0) < 1e-7:  # removable singularity at a == 1
            a = 1.0 + math.copysign(1e-7, a - 1.0)
        f = _hyp2f1_checked(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z)
        return -np.expm1((a - 1.0) * np.log1p(-z) + np.log(np.maximum(f, 1e-300))) / (a - 1.0)

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """E[repeat purchases in (T, T+t] | frequency, recency, T]: the ranking signal for
        who will buy next (eq. 10 of Fader, Hardie & Lee 2005)."""
        r, alpha, a, b = self._params()
        horizon = _check_horizon(t)
        x, tx, t_obs = _check_summary(frequency, recency, T, broadcast=True)
        horizon, x, tx, t_obs = np.broadcast_arrays(horizon, x, tx, t_obs)
        z = horizon / (alpha + t_obs + horizon)
        alive = self._p_alive(r, alpha, a, b, x, tx, t_obs)
        return (a + b + x - 1.0) * self._bracket(a, b, r, x, z) * alive

    def expected_purchases_new(self, t: ArrayLike) -> FloatArray:
        """E[X(t)] for a customer just acquired: for budgeting on new cohorts."""
        r, alpha, a, b = self._params()
        horizon = _check_horizon(t)
        z = horizon / (alpha + horizon)
        return (a + b - 1.0) * self._bracket(a, b, r, np.zeros_like(z), z)


# --------------------------------------------------------------------------- Pareto/NBD


class ParetoNBDModel(_BTYDBase):
    """Pareto/NBD: Poisson purchasing at a gamma(r, alpha) rate, exponential lifetime with a
    gamma(s, beta) dropout rate (dropout can happen at any time, unlike BG/NBD).

    Parameters
    ----------
    penalizer
        L2 weight on the log-parameters (``alpha``, ``beta`` in units of the data's mean
        ``T``); 0 gives the plain MLE.
    """

    _param_names = ("r", "alpha", "s", "beta")

    @staticmethod
    def _log_a0(
        r: float, alpha: float, s: float, beta: float, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        """log A0 of Fader & Hardie (2005) eq. 19-20, i.e. log of
        (r+s+x) * integral_{tx}^{T} (alpha+u)^-(r+x) (beta+u)^-(s+1) du.

        A0 = F(tx) - F(T) with F(y) = 2F1(m, b; m+1; z(y)) / (max(alpha,beta)+y)^m, m = r+s+x,
        z = |alpha-beta|/(max+y) (the branch keeps z in [0,1)). Euler's transform
        2F1(m, b; m+1; z) = (1-z)^(1-b) 2F1(1, m+1-b; m+1; z) leaves a series of positive terms
        bounded by 1/(1-z), so F is computed in logs with no overflow however large x is.
        """
        m = r + s + x
        hi, lo = max(alpha, beta), min(alpha, beta)
        b = s + 1.0 if alpha >= beta else r + x
        c_minus_b = m + 1.0 - b

        def log_f(y: FloatArray) -> FloatArray:
            log_hi, log_lo = np.log(hi + y), np.log(lo + y)
            z = (hi - lo) / (hi + y)
            return (
                (1.0 - b) * (log_lo - log_hi) + _log_hyp2f1_1bc(c_minus_b, m + 1.0, z) - m * log_hi
            )

        l_tx = log_f(tx)
        return l_tx + _log1mexp(log_f(T) - l_tx)

    @classmethod
    def _loglik(
        cls,
        r: float,
        alpha: float,
        s: float,
        beta: float,
        x: FloatArray,
        tx: FloatArray,
        T: FloatArray,
    ) -> FloatArray:
        common = gammaln(r + x) - gammaln(r) + r * math.log(alpha) + s * math.log(beta)
        alive_to_t = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        died = math.log(s) - np.log(r + s + x) + cls._log_a0(r, alpha, s, beta, x, tx, T)
        return common + np.logaddexp(alive_to_t, died)

    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> Self:
        """Fit r, alpha, s, beta by maximum likelihood; ``weights`` counts identical customers."""
        x, tx, t_obs = _check_summary(frequency, recency, T, broadcast=False)
        w = _check_weights(weights, x.size)
        pen = self._check_penalizer()
        scale = float(np.average(t_obs, weights=w)) or 1.0
        xs, txs, ts, wu = _merge_identical(x, tx, t_obs, w, scale)

        def nll(theta: FloatArray) -> float:
            r, alpha, s, beta = np.exp(theta)
            ll = self._loglik(r, alpha, s, beta, xs, txs, ts)
            return -float(wu @ ll) + pen * float(theta @ theta)

        rate = max(float(w @ x) / float(w @ (t_obs / scale)), 1e-3)
        starts = [
            [0.0, -math.log(rate), 0.0, 0.0],
            [math.log(0.5), math.log(0.5 / rate), math.log(0.5), 0.0],
            [math.log(3.0), math.log(3.0 / rate), math.log(2.0), math.log(3.0)],
        ]
        res = _fit_log_params(nll, starts)
        r, alpha, s, beta = np.exp(res.x)
        alpha *= scale
        beta *= scale
        self.params_ = {"r": float(r), "alpha": float(alpha), "s": float(s), "beta": float(beta)}
        self.log_likelihood_ = float(w @ self._loglik(r, alpha, s, beta, x, tx, t_obs))
        self.n_customers_ = float(w.sum())
        return self

    def log_likelihood(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """Per-customer log-likelihood under the fitted parameters."""
        r, alpha, s, beta = self._params()
        x, tx, t_obs = _check_summary(frequency, recency, T, broadcast=True)
        return self._loglik(r, alpha, s, beta, x, tx, t_obs)

    def _p_alive_arrays(self, x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
        r, alpha, s, beta = self._params()
        log_odds_dead = (
            math.log(s)
            - np.log(r + s + x)
            + (r + x) * np.log(alpha + T)
            + s * np.log(beta + T)
            + self._log_a0(r, alpha, s, beta, x, tx, T)
        )
        return expit(-log_odds_dead)

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """P(still active at T | history) (Fader & Hardie 2005, eq. 18)."""
        self._params()
        x, tx, t_obs = _check_summary(frequency, recency, T, broadcast=True)
        return self._p_alive_arrays(x, tx, t_obs)

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """E[repeat purchases in (T, T+t] | history] (Fader & Hardie 2005, eq. 22)."""
        r, alpha, s, beta = self._params()
        horizon = _check_horizon(t)
        x, tx, t_obs = _check_summary(frequency, recency, T, broadcast=True)
        horizon, x, tx, t_obs = np.broadcast_arrays(horizon, x, tx, t_obs)
        # (1 - ((beta+T)/(beta+T+t))^(s-1)) / (s-1), stable through s == 1.
        bracket = _expm1_ratio(1.0 - s, np.log1p(horizon / (beta + t_obs)))
        rate = (r + x) * (beta + t_obs) / (alpha + t_obs)
        return rate * bracket * self._p_alive_arrays(x, tx, t_obs)

    def expected_purchases_new(self, t: ArrayLike) -> FloatArray:
        """E[X(t)] for a customer just acquired."""
        r, alpha, s, beta = self._params()
        horizon = _check_horizon(t)
        return r * beta / alpha * _expm1_ratio(1.0 - s, np.log1p(horizon / beta))


# --------------------------------------------------------------------------- Gamma-Gamma


TransactionModel = BetaGeoModel | ParetoNBDModel


class GammaGammaModel(_BTYDBase):
    """Gamma-Gamma spend: each transaction ~ gamma(p, nu), nu ~ gamma(q, v) across customers.

    Shrinks a customer's observed mean spend toward the population mean, more so when they
    have few transactions. Assumes spend is independent of purchase frequency.

    Parameters
    ----------
    penalizer
        L2 weight on the log-parameters (``v`` in units of the mean observed spend).
    """

    _param_names = ("p", "q", "v")

    @staticmethod
    def _loglik(p: float, q: float, v: float, x: FloatArray, m: FloatArray) -> FloatArray:
        # density of the mean zbar of x transactions (Fader & Hardie 2013, eq. 3)
        px = p * x
        return (
            gammaln(px + q)
            - gammaln(px)
            - gammaln(q)
            + q * math.log(v)
            + (px - 1.0) * np.log(m)
            + px * np.log(x)
            - (px + q) * np.log(v + x * m)
        )

    @staticmethod
    def _check_spend(
        frequency: ArrayLike, monetary_value: ArrayLike, *, broadcast: bool
    ) -> tuple[FloatArray, FloatArray]:
        x = _as_float("frequency", frequency, one_d=not broadcast)
        m = np.atleast_1d(np.asarray(monetary_value, dtype=float))
        if not broadcast and m.ndim != 1:
            raise ValueError(f"monetary_value must be one-dimensional, got shape {m.shape}")
        if broadcast:
            try:
                x, m = np.broadcast_arrays(x, m)
            except ValueError as exc:
                raise ValueError("frequency and monetary_value have incompatible shapes") from exc
        elif x.shape != m.shape:
            raise ValueError(
                f"frequency and monetary_value must have the same length, got "
                f"{x.shape[0]}, {m.shape[0]}"
            )
        if x.size == 0:
            raise ValueError("no customers given (empty input)")
        if np.any(x != np.floor(x)):
            raise ValueError("frequency must be whole numbers (counts of repeat purchases)")
        buyers = x > 0
        if not np.all(np.isfinite(m[buyers])) or np.any(m[buyers] <= 0):
            raise ValueError("monetary_value must be finite and > 0 where frequency > 0")
        return x.astype(float), np.where(buyers, m, 0.0)

    def fit(
        self, frequency: ArrayLike, monetary_value: ArrayLike, weights: ArrayLike | None = None
    ) -> Self:
        """Fit p, q, v on customers with frequency > 0 (monetary_value: their mean repeat spend)."""
        x, m = self._check_spend(frequency, monetary_value, broadcast=False)
        w = _check_weights(weights, x.size)
        pen = self._check_penalizer()
        keep = (x > 0) & (w > 0)
        if not keep.any():
            raise ValueError("Gamma-Gamma needs at least one customer with frequency > 0")
        x, m, w = x[keep], m[keep], w[keep]
        scale = float(np.average(m, weights=w))
        ms = m / scale
        wn = w / w.sum()

        def nll(theta: FloatArray) -> float:
            p, q, v = np.exp(theta)
            return -float(wn @ self._loglik(p, q, v, x, ms)) + pen * float(theta @ theta)

        # mean spend = p*v/(q-1) = 1 in scaled units: pick v to match for each (p, q) guess
        starts = [
            [0.0, math.log(2.0), 0.0],
            [math.log(5.0), math.log(4.0), math.log(0.6)],
            [math.log(0.5), math.log(1.5), 0.0],
        ]
        res = _fit_log_params(nll, starts)
        p, q, v = np.exp(res.x)
        v *= scale
        self.params_ = {"p": float(p), "q": float(q), "v": float(v)}
        self.log_likelihood_ = float(w @ self._loglik(p, q, v, x, m))
        self.n_customers_ = float(w.sum())
        return self

    def expected_average_value(self, frequency: ArrayLike, monetary_value: ArrayLike) -> FloatArray:
        """E[mean spend | x, zbar]: a weighted mix of the population mean p*v/(q-1) and zbar.

        Customers with frequency 0 get the population mean. NaN where the mean does not exist
        (q <= 1 with frequency 0).
        """
        p, q, v = self._params()
        x, m = self._check_spend(frequency, monetary_value, broadcast=True)
        denom = p * x + q - 1.0
        with np.errstate(all="ignore"):
            out = p * (v + x * m) / denom
        return np.where(denom > 0, out, np.nan)

    def expected_revenue(
        self,
        transaction_model: TransactionModel,
        t: ArrayLike,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        monetary_value: ArrayLike,
    ) -> FloatArray:
        """Undiscounted revenue expected in (T, T+t]: expected purchases x expected spend."""
        n = transaction_model.expected_purchases(t, frequency, recency, T)
        return n * self.expected_average_value(frequency, monetary_value)

    def clv(
        self,
        transaction_model: TransactionModel,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        monetary_value: ArrayLike,
        time: int = 12,
        discount_rate: float = 0.0,
        freq_unit_per_time: float = 1.0,
    ) -> FloatArray:
        """Discounted revenue over ``time`` periods of ``freq_unit_per_time`` model time units
        each (e.g. 12 periods of 4.345 for a year in months with a weekly model); purchases in
        period i are discounted by (1 + discount_rate)^i."""
        if time < 1 or freq_unit_per_time <= 0 or discount_rate < 0:
            raise ValueError("time must be >= 1, freq_unit_per_time > 0 and discount_rate >= 0")
        value = self.expected_average_value(frequency, monetary_value)
        total = np.zeros_like(value)
        previous = np.zeros_like(value)
        for i in range(1, int(time) + 1):
            cum = transaction_model.expected_purchases(
                i * freq_unit_per_time, frequency, recency, T
            )
            total = total + (cum - previous) * value / (1.0 + discount_rate) ** i
            previous = cum
        return total
