"""What the BTYD models share: input checks, stable special functions, the optimiser over
log-parameters, and the base class with fitted-state checks and JSON save/load."""

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
from scipy.special import gammaln, hyp2f1, logsumexp
from sklearn.exceptions import NotFittedError

from liucun.models.base import Estimator

FloatArray = NDArray[np.float64]

# Log-parameters live in this box (in rescaled units); wide enough for any real data set,
# narrow enough that exp() never overflows inside a likelihood term.
_LOG_BOUND = 18.0
MAX_EVALUATIONS = 1_500
"""Likelihood evaluations one fit may spend over all its starts. A fit that needs more is
running along a flat ridge (Pareto/NBD on replenishment-like buying took over 15 minutes
at 20,000 customers) and is given up as not converged, deterministically, so callers
leave the model out instead of waiting. A fit that converges takes 100-150 (CDNOW: BG/NBD
101, Pareto/NBD 141)."""
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


_LEGENDRE = np.polynomial.legendre.leggauss(96)


def _hyp2f1_1bc_sum(b: FloatArray, c: FloatArray, z: FloatArray, head: int = 256) -> FloatArray:
    """2F1(1, b; c; z) for 0 < b < c and 0 <= z < 1, in a fixed number of operations.

    The k-th term, exp(lnG(b+k) - lnG(b) - lnG(c+k) + lnG(c) + k ln z), is smooth in k:
    about k^-(c-b) z^k, a power law that turns geometric past k ~ 1/(-ln z). The first
    ``head`` terms are summed; the rest is the integral of the term from head - 1/2 (the
    midpoint rule, corrected for the terms' local decay rate), taken in log k, where the
    integrand is smooth, by Gauss-Legendre up to where z^k has fallen by e^-60.

    Why not sum on: near z = 1 the series needs some 40/(1 - z) terms (60,000 at
    z = 0.9993, met by Pareto/NBD fits on thin data, where the optimiser strays to large
    r and s and scipy's hyp2f1 returns NaN), once per likelihood evaluation.
    """
    b, c, z = (np.atleast_1d(np.asarray(v, dtype=float)) for v in np.broadcast_arrays(b, c, z))
    out = np.ones(b.shape)
    pos = z > 0
    if not pos.any():
        return out
    b, c, lz = b[pos, None], c[pos, None], np.log(z[pos])[:, None]
    base = gammaln(c) - gammaln(b)
    k = np.arange(head, dtype=float)[None, :]
    head_sum = np.exp(logsumexp(gammaln(b + k) - gammaln(c + k) + base + k * lz, axis=1))
    k0 = head - 0.5
    top = np.log1p(60.0 / (-lz * k0))  # in log k: z^k has fallen by e^-60 there
    x, w = _LEGENDRE
    u = (x[None, :] + 1.0) * top / 2.0
    kk = k0 * np.exp(u)
    log_term = gammaln(b + kk) - gammaln(c + kk) + base + kk * lz + np.log(kk)
    tail = np.exp(logsumexp(log_term, b=w[None, :], axis=1)) * top[:, 0] / 2.0
    # A sum of e^(-lam k) over k >= K is its integral from K - 1/2 times (lam/2)/sinh(lam/2):
    # with the local decay rate lam that takes the midpoint rule's error to third order.
    half = (np.log((c + k0) / (b + k0)) - lz)[:, 0] / 2.0
    out[pos] = head_sum + tail * half / np.sinh(half)
    return out


def _log_hyp2f1_1bc(b: FloatArray, c: FloatArray, z: FloatArray) -> FloatArray:
    """log 2F1(1, b; c; z) for 0 < b < c and 0 <= z < 1.

    The series has positive terms with ratio (b+k)/(c+k)*z < z, so the value lies in
    [1, 1/(1-z)]; anything outside that (scipy failing at extreme parameters) is recomputed
    by :func:`_hyp2f1_1bc_sum`.
    """
    b, c, z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (b, c, z)))
    with np.errstate(all="ignore"):
        val = hyp2f1(1.0, b, c, z)
        upper = 1.0 / (1.0 - z)
    bad = ~np.isfinite(val) | (val < 1.0 - 1e-12) | (val > upper * (1 + 1e-9))
    if bad.any():
        val = np.array(val, dtype=float)
        val[bad] = np.minimum(_hyp2f1_1bc_sum(b[bad], c[bad], z[bad]), upper[bad])
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
    spent = [0]

    def safe(theta: FloatArray) -> float:
        spent[0] += 1
        if spent[0] > MAX_EVALUATIONS:
            raise RuntimeError(
                f"maximum-likelihood fit gave up after {MAX_EVALUATIONS:,} evaluations"
            )
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


class _BTYDBase(Estimator):
    """Shared parts: fitted-state checks and JSON save/load (kept over the pickle of
    :class:`~liucun.models.base.Estimator`: a few parameters, portable and diffable)."""

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

    def _fit_repeat_model(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None,
        starts: Callable[[float], list[list[float]]],
        scaled: tuple[int, ...],
    ) -> Self:
        """Maximum likelihood of a repeat-purchase model (BG/NBD, Pareto/NBD) on log params.

        Time is divided by the customers' mean age while fitting; the parameters at
        positions ``scaled`` (the rate scales) are multiplied back. ``starts(rate)`` gives
        the starting points from the pooled purchase rate.
        """
        x, tx, t_obs = _check_summary(frequency, recency, T, broadcast=False)
        w = _check_weights(weights, x.size)
        pen = self._check_penalizer()
        scale = float(np.average(t_obs, weights=w)) or 1.0
        xs, txs, ts, wn = _merge_identical(x, tx, t_obs, w, scale)

        def nll(theta: FloatArray) -> float:
            ll = self._loglik(*np.exp(theta), xs, txs, ts)
            return -float(wn @ ll) + pen * float(theta @ theta)

        rate = max(float(w @ x) / float(w @ (t_obs / scale)), 1e-3)
        params = np.exp(_fit_log_params(nll, starts(rate)).x)
        for i in scaled:
            params[i] *= scale
        self.params_ = {k: float(v) for k, v in zip(self._param_names, params, strict=True)}
        self.log_likelihood_ = float(w @ self._loglik(*params, x, tx, t_obs))
        self.n_customers_ = float(w.sum())
        return self

    def _params(self) -> tuple[float, ...]:
        if not hasattr(self, "params_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit(...) or load(path) first."
            )
        return tuple(float(self.params_[k]) for k in self._param_names)

    def save(self, path: str | Path) -> Path:
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
        return Path(path)

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
