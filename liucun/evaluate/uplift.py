"""Evaluation of uplift models on randomised (or propensity-weighted) campaign data.

An uplift score ranks customers by how much a treatment (a voucher, a call) changes their
outcome, which no single customer reveals: each is either treated or not. Uplift is judged
on groups instead, by comparing treated and control customers among the top-ranked ones.

* ``qini_curve`` / ``qini_coefficient``: Radcliffe's Qini, the incremental outcome in the
  top ``k`` scaled to the treated count, ``Y_t(k) - Y_c(k) * N_t(k) / N_c(k)``.
* ``auuc``: area under the uplift curve ``(mean_t(k) - mean_c(k)) * k``.
* ``uplift_by_decile``: the table a marketer reads.
* ``true_uplift_gain``: for simulations, where each customer's true effect is known.

Tied scores carry no ranking information, so the cumulative sums are interpolated linearly
across each block of ties (the expectation under random tie-breaking): a constant score
gives exactly the random line, whatever the input order. With ``propensity`` (the
probability each customer was treated) rows get inverse-propensity weights, rescaled within
each arm to sum to that arm's count so weighted curves stay in the unweighted units.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from liucun.evaluate.plots import line_chart, unit_axis, value_axis

__all__ = [
    "auuc",
    "qini_coefficient",
    "qini_curve",
    "qini_svg",
    "true_uplift_gain",
    "uplift_by_decile",
]

ArrayLike = Any  # numpy array, pandas Series or a plain sequence of numbers
NAN = float("nan")


def _floats(values: ArrayLike) -> np.ndarray:
    return np.asarray(values, dtype=float).reshape(-1)


def _prepare(
    y: ArrayLike, treated: ArrayLike, score: ArrayLike, propensity: ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Outcome, treatment flag (bool), score and weight; rows missing any value dropped."""
    cols = [_floats(y), _floats(treated), _floats(score)]
    if propensity is not None:
        cols.append(_floats(propensity))
    sizes = {c.size for c in cols}
    if len(sizes) != 1:
        raise ValueError(f"length mismatch: {[c.size for c in cols]}")
    keep = np.logical_and.reduce([np.isfinite(c) for c in cols])
    cols = [c[keep] for c in cols]
    yv, tv, sv = cols[:3]
    if not np.isin(tv, (0.0, 1.0)).all():
        raise ValueError("treated must be 0/1 (or boolean)")
    t = tv == 1
    w = np.ones(yv.size)
    if propensity is not None:
        e = cols[3]
        if ((e <= 0) | (e >= 1)).any():
            raise ValueError("propensity must lie strictly between 0 and 1")
        w = np.where(t, 1 / e, 1 / (1 - e))
        for arm in (t, ~t):  # rescale so each arm's weights sum to its count
            if arm.any():
                w[arm] *= arm.sum() / w[arm].sum()
    return yv, t, sv, w


def _cumulative(
    y: np.ndarray, t: np.ndarray, score: np.ndarray, w: np.ndarray, ks: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weighted Y_t, N_t, Y_c, N_c among the top ``ks`` (may be fractional) by score.

    Sums are exact at the end of each block of tied scores and linear within it.
    """
    order = np.argsort(-score, kind="stable")
    s, yo, to, wo = score[order], y[order], t[order], w[order]
    n = s.size
    # Boundaries: 0, the end of every tie block, n (positions in the cumulative arrays).
    ends = np.flatnonzero(s[1:] != s[:-1]) + 1
    bounds = np.concatenate(([0], ends, [n]))
    out = []
    for values in (wo * yo * to, wo * to, wo * yo * ~to, wo * ~to):
        cum = np.concatenate(([0.0], np.cumsum(values)))
        out.append(np.interp(ks, bounds, cum[bounds]))
    return out[0], out[1], out[2], out[3]


def _qini_values(y, t, s, w, ks) -> np.ndarray:
    yt, nt, yc, nc = _cumulative(y, t, s, w, ks)
    with np.errstate(divide="ignore", invalid="ignore"):
        control = np.where(nc > 0, yc * nt / nc, 0.0)
    return yt - control


def _uplift_values(y, t, s, w, ks) -> np.ndarray:
    yt, nt, yc, nc = _cumulative(y, t, s, w, ks)
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = np.where((nt > 0) & (nc > 0), yt / nt - yc / nc, 0.0)
    return diff * ks


def _trapezoid(y: np.ndarray, x: np.ndarray) -> float:
    """Trapezoid rule (``np.trapezoid`` needs numpy 2, the project allows 1.26)."""
    return float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2)


def _both_arms(t: np.ndarray) -> bool:
    return bool(t.any() and (~t).any())


def qini_curve(
    y: ArrayLike,
    treated: ArrayLike,
    uplift_score: ArrayLike,
    propensity: ArrayLike | None = None,
    points: int = 100,
) -> pd.DataFrame:
    """Qini curve at ``points + 1`` evenly spaced fractions from 0 to 1.

    ``qini`` is ``Y_t(k) - Y_c(k) * N_t(k) / N_c(k)`` for the top ``k = fraction * n``
    customers by descending score (the control term is 0 while no control is reached);
    ``random`` is the straight line from 0 to the curve's end, which any ranking shares.
    All NaN when the data lack a treated or a control customer.
    """
    if points < 1:
        raise ValueError(f"points must be >= 1, got {points}")
    y_, t, s, w = _prepare(y, treated, uplift_score, propensity)
    fractions = np.arange(points + 1) / points
    if not _both_arms(t):
        nan = np.full(fractions.size, NAN)
        return pd.DataFrame({"fraction": fractions, "qini": nan, "random": nan})
    qini = _qini_values(y_, t, s, w, fractions * y_.size)
    return pd.DataFrame({"fraction": fractions, "qini": qini, "random": fractions * qini[-1]})


def qini_coefficient(
    y: ArrayLike,
    treated: ArrayLike,
    uplift_score: ArrayLike,
    propensity: ArrayLike | None = None,
) -> float:
    """Area between the Qini curve and the random line over fraction in [0, 1], divided by n.

    Evaluated at every ``k = 0..n`` (trapezoids). Positive when the score puts responsive
    customers first, about 0 for a random score, negative for a backwards one. NaN without
    both a treated and a control customer.
    """
    y_, t, s, w = _prepare(y, treated, uplift_score, propensity)
    n = y_.size
    if not _both_arms(t):
        return NAN
    ks = np.arange(n + 1, dtype=float)
    qini = _qini_values(y_, t, s, w, ks)
    gap = qini - (ks / n) * qini[-1]
    return float(_trapezoid(gap, ks / n) / n)


def auuc(
    y: ArrayLike,
    treated: ArrayLike,
    uplift_score: ArrayLike,
    propensity: ArrayLike | None = None,
) -> float:
    """Area under the uplift curve ``(mean_t(k) - mean_c(k)) * k``, over fraction, divided by n.

    The uplift term is 0 while either arm is still empty in the top ``k``. A random score
    gives about half the average treatment effect; better rankings give more. NaN without
    both a treated and a control customer.
    """
    y_, t, s, w = _prepare(y, treated, uplift_score, propensity)
    n = y_.size
    if not _both_arms(t):
        return NAN
    ks = np.arange(n + 1, dtype=float)
    return float(_trapezoid(_uplift_values(y_, t, s, w, ks), ks / n) / n)


def uplift_by_decile(
    y: ArrayLike, treated: ArrayLike, score: ArrayLike, deciles: int = 10
) -> pd.DataFrame:
    """Treated and control means per score bucket; bucket 1 holds the highest scores.

    Buckets are equal-sized by rank (ties split in input order); ``uplift`` is
    ``mean_treated - mean_control`` and NaN where either arm is empty.
    """
    if deciles < 1:
        raise ValueError(f"deciles must be >= 1, got {deciles}")
    y_, t, s, _ = _prepare(y, treated, score)
    n = y_.size
    order = np.argsort(-s, kind="stable")
    bucket = np.empty(n, dtype=int)
    bucket[order] = np.arange(n) * deciles // max(n, 1) + 1
    rows = []
    for d in range(1, deciles + 1):
        in_d = bucket == d
        yt, yc = y_[in_d & t], y_[in_d & ~t]
        mt = float(yt.mean()) if yt.size else NAN
        mc = float(yc.mean()) if yc.size else NAN
        rows.append((d, int(yt.size), int(yc.size), mt, mc, mt - mc))
    columns = ["decile", "n_treated", "n_control", "mean_treated", "mean_control", "uplift"]
    return pd.DataFrame(rows, columns=columns)


def true_uplift_gain(true_effect: ArrayLike, score: ArrayLike, fraction: float) -> dict[str, float]:
    """Summed true effect of the top ``fraction`` by score, against the best possible.

    ``k`` is rounded up (at least 1). ``gain`` sums the true effects of the top ``k`` by
    score (ties in score count at their average); ``oracle`` the ``k`` largest effects;
    ``ratio`` is gain / oracle (NaN when the oracle is not positive).
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    effect, s = _floats(true_effect), _floats(score)
    if effect.shape != s.shape:
        raise ValueError(f"length mismatch: {effect.size} effects vs {s.size} scores")
    keep = np.isfinite(effect) & np.isfinite(s)
    effect, s = effect[keep], s[keep]
    n = effect.size
    if n == 0:
        return {"k": 0, "gain": NAN, "oracle": NAN, "ratio": NAN}
    k = min(n, max(1, math.ceil(fraction * n - 1e-9)))
    ones = np.ones(n, dtype=bool)
    gain, *_ = _cumulative(effect, ones, s, np.ones(n), np.array([float(k)]))
    oracle = float(np.sort(effect)[::-1][:k].sum())
    ratio = float(gain[0]) / oracle if oracle > 0 else NAN
    return {"k": k, "gain": float(gain[0]), "oracle": oracle, "ratio": ratio}


def qini_svg(curves: Mapping[str, pd.DataFrame], title: str = "Qini curve") -> str:
    """Qini curves (``qini_curve`` output) as inline SVG, one line per model.

    The y axis spans the curves' range (incremental outcome: money or a count, not a unit
    square) with round ticks written like money (``12.5k``, never ``1.2e+04``); each model
    keeps its colour from :func:`liucun.look.model_color` and its random line is dashed
    grey. Names are escaped.
    """
    pts = {name: _finite_pairs(c["fraction"], c["qini"]) for name, c in curves.items()}
    rnd = [_finite_pairs(c["fraction"], c["random"]) for c in curves.values() if "random" in c]
    values = [v for series in (*pts.values(), *rnd) for _, v in series]
    x = unit_axis("share of customers (by uplift score)")
    y = value_axis("incremental outcome", values)
    return line_chart(pts, title, x, y, references={"random": rnd})


def _finite_pairs(xs: pd.Series, ys: pd.Series) -> list[tuple[float, float]]:
    """(x, y) pairs of a curve, rows with a missing or infinite value dropped."""
    pairs = zip(np.asarray(xs, dtype=float), np.asarray(ys, dtype=float), strict=True)
    return [(float(a), float(b)) for a, b in pairs if math.isfinite(a) and math.isfinite(b)]
