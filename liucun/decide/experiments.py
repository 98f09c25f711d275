"""Statistics of a campaign read-out: treatment against a randomised control group.

Plain numpy / scipy functions over arrays or one pandas frame; no warehouse, no state.

* :func:`lift`: difference of means with Welch's t-test and its confidence interval.
* :func:`proportion_lift`: difference of rates (0/1 outcomes) with a two-proportion z-test
  (pooled variance for the test, unpooled Wald interval for the CI).
* :func:`cuped`: the same difference after CUPED variance reduction with a pre-period
  covariate (Deng et al., 2013).
* :func:`readout`: one row per action over an exposure frame (``arm`` = ``"treatment"`` /
  ``"control"``, as in ``liucun.schema``).
* :func:`sample_size`, :func:`sample_size_mean`, :func:`minimum_detectable_effect`:
  planning, two-sided tests, normal approximation.

Every difference is treatment minus control. Confidence intervals are two-sided at level
``1 - alpha``. Bad input (an empty arm, a non-binary outcome for a proportion test,
mismatched lengths) raises :class:`ValueError` with a message naming the problem.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

__all__ = [
    "arm_sizes",
    "cuped",
    "lift",
    "minimum_detectable_effect",
    "proportion_lift",
    "readout",
    "sample_size",
    "sample_size_mean",
    "split_total",
]

TREATMENT = "treatment"
CONTROL = "control"


# ---------------------------------------------------------------------------- helpers


def _values(values: Any, name: str, minimum: int = 2) -> np.ndarray:
    """A 1-d float array without NaN, with at least ``minimum`` values."""
    arr = np.asarray(values, dtype=float).ravel()
    arr = arr[~np.isnan(arr)]
    if arr.size < minimum:
        what = "is empty" if arr.size == 0 else f"has {arr.size} value(s)"
        raise ValueError(f"{name} {what}: need at least {minimum} non-missing values per arm")
    return arr


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")


def _check_power(power: float) -> None:
    if not 0.0 < power < 1.0:
        raise ValueError(f"power must be in (0, 1), got {power!r}")


def _relative(diff: float, base: float) -> float:
    return diff / base if base != 0 else math.nan


# ---------------------------------------------------------------------------- tests


def lift(treated_values: Any, control_values: Any, alpha: float = 0.05) -> dict[str, float]:
    """Difference of means, treatment minus control, with Welch's t-test.

    Returns ``mean_treatment, mean_control, n_treatment, n_control, lift`` (absolute),
    ``relative_lift`` (lift / control mean; NaN when that is 0), ``ci_low, ci_high`` (the
    ``1 - alpha`` Welch interval of the difference) and ``p_value`` (two-sided). NaNs in
    the inputs are dropped; each arm needs two values. When both arms are constant the
    test is undefined and ``p_value`` / the CI are NaN.
    """
    _check_alpha(alpha)
    t = _values(treated_values, "treated_values")
    c = _values(control_values, "control_values")
    diff = float(t.mean() - c.mean())
    if t.var(ddof=1) == 0 and c.var(ddof=1) == 0:
        p, lo, hi = math.nan, math.nan, math.nan
    else:
        res = stats.ttest_ind(t, c, equal_var=False)
        ci = res.confidence_interval(confidence_level=1 - alpha)
        p, lo, hi = float(res.pvalue), float(ci.low), float(ci.high)
    return {
        "n_treatment": int(t.size),
        "n_control": int(c.size),
        "mean_treatment": float(t.mean()),
        "mean_control": float(c.mean()),
        "lift": diff,
        "relative_lift": _relative(diff, float(c.mean())),
        "ci_low": lo,
        "ci_high": hi,
        "p_value": p,
    }


def proportion_lift(treated: Any, control: Any, alpha: float = 0.05) -> dict[str, float]:
    """Difference of rates of 0/1 outcomes, treatment minus control.

    The p-value is the two-sided two-proportion z-test with the pooled rate under H0
    (``z = (p_t - p_c) / sqrt(p (1 - p) (1/n_t + 1/n_c))``); the CI is the unpooled Wald
    interval ``(p_t - p_c) ± z_{1-alpha/2} sqrt(p_t q_t / n_t + p_c q_c / n_c)``.
    Returns ``rate_treatment, rate_control, n_treatment, n_control, lift,
    relative_lift, ci_low, ci_high, z, p_value``. When no one (or everyone) converted in
    both arms the test is undefined: ``z`` and ``p_value`` are NaN.
    """
    _check_alpha(alpha)
    t = _values(treated, "treated", minimum=1)
    c = _values(control, "control", minimum=1)
    for name, arr in (("treated", t), ("control", c)):
        if not np.isin(arr, (0.0, 1.0)).all():
            raise ValueError(f"{name} must hold 0/1 (or boolean) outcomes for a proportion test")
    nt, nc = t.size, c.size
    pt, pc = float(t.mean()), float(c.mean())
    diff = pt - pc
    pooled = (t.sum() + c.sum()) / (nt + nc)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / nt + 1 / nc))
    if se0 > 0:
        z = diff / se0
        p = float(2 * stats.norm.sf(abs(z)))
    else:
        z, p = math.nan, math.nan
    se = math.sqrt(pt * (1 - pt) / nt + pc * (1 - pc) / nc)
    half = float(stats.norm.ppf(1 - alpha / 2)) * se
    return {
        "n_treatment": int(nt),
        "n_control": int(nc),
        "rate_treatment": pt,
        "rate_control": pc,
        "lift": diff,
        "relative_lift": _relative(diff, pc),
        "ci_low": diff - half,
        "ci_high": diff + half,
        "z": float(z),
        "p_value": p,
    }


def cuped(y: Any, x_pre: Any, treated: Any, alpha: float = 0.05) -> dict[str, float]:
    """Lift of ``y`` after CUPED adjustment with the pre-period covariate ``x_pre``.

    ``theta = cov(y, x) / var(x)`` over both arms pooled, ``y_adj = y - theta (x - mean x)``,
    then :func:`lift` on ``y_adj`` (Welch). ``treated`` is a boolean mask (or 0/1) of the
    same length. Rows where ``y`` or ``x_pre`` is NaN are dropped. Returns :func:`lift`'s
    keys for the adjusted outcome (``relative_lift`` is over the raw control mean), plus
    ``theta``, ``variance_reduction`` (``1 - var(y_adj) / var(y)``, pooled) and
    ``unadjusted_lift``. A constant ``x_pre`` gives ``theta = 0`` (no adjustment).
    """
    y_arr = np.asarray(y, dtype=float).ravel()
    x_arr = np.asarray(x_pre, dtype=float).ravel()
    mask = np.asarray(treated).ravel()
    if not (y_arr.size == x_arr.size == mask.size):
        raise ValueError(
            f"y, x_pre and treated must have the same length, got "
            f"{y_arr.size}, {x_arr.size} and {mask.size}"
        )
    if mask.dtype != bool:
        if not np.isin(mask, (0, 1)).all():
            raise ValueError("treated must be a boolean (or 0/1) mask")
        mask = mask.astype(bool)
    keep = ~(np.isnan(y_arr) | np.isnan(x_arr))
    y_arr, x_arr, mask = y_arr[keep], x_arr[keep], mask[keep]
    _values(y_arr[mask], "treatment arm")
    _values(y_arr[~mask], "control arm")
    var_x = float(np.var(x_arr, ddof=1))
    theta = float(np.cov(y_arr, x_arr, ddof=1)[0, 1] / var_x) if var_x > 0 else 0.0
    y_adj = y_arr - theta * (x_arr - x_arr.mean())
    var_y = float(np.var(y_arr, ddof=1))
    reduction = 1 - float(np.var(y_adj, ddof=1)) / var_y if var_y > 0 else 0.0
    out = lift(y_adj[mask], y_adj[~mask], alpha=alpha)
    out["relative_lift"] = _relative(out["lift"], float(y_arr[~mask].mean()))
    out["unadjusted_lift"] = float(y_arr[mask].mean() - y_arr[~mask].mean())
    out["theta"] = theta
    out["variance_reduction"] = reduction
    return out


# ---------------------------------------------------------------------------- read-out

READOUT_COLUMNS = (
    "n_treatment",
    "n_control",
    "conversion_treatment",
    "conversion_control",
    "conversion_lift",
    "conversion_p_value",
    "mean_treatment",
    "mean_control",
    "lift",
    "relative_lift",
    "ci_low",
    "ci_high",
    "p_value",
    "cuped_lift",
    "cuped_ci_low",
    "cuped_ci_high",
    "cuped_p_value",
    "cuped_variance_reduction",
    "incremental_revenue",
    "cost",
    "roi",
)
"""Columns of :func:`readout`, in order (index = the ``by`` values)."""


def _action_cost(cost: Any, frame: pd.DataFrame, arm: str, by: str) -> Mapping[Any, float]:
    """Total cost per action: a mapping / Series by action, or a column summed over
    treatment rows."""
    if isinstance(cost, str):
        if cost not in frame.columns:
            raise ValueError(f"cost column {cost!r} is not in the frame")
        treated = frame[frame[arm] == TREATMENT]
        return treated.groupby(by, sort=True)[cost].sum().to_dict()
    if isinstance(cost, pd.Series | Mapping):
        return dict(cost)
    raise ValueError(
        "cost must be None, a mapping / Series of total cost per action, or a column name"
    )


def readout(
    frame: pd.DataFrame,
    outcome: str = "revenue",
    pre: str | None = "pre_revenue",
    arm: str = "arm",
    by: str | None = "action",
    alpha: float = 0.05,
    cost: Mapping[Any, float] | pd.Series | str | None = None,
) -> pd.DataFrame:
    """One row per ``by`` value (all rows together when ``by`` is None): the campaign read-out.

    ``frame[arm]`` holds ``"treatment"`` / ``"control"``. Per action: arm sizes,
    conversion (``outcome > 0``) rates with their :func:`proportion_lift` and p-value, the
    mean outcome :func:`lift` with CI and p-value, the :func:`cuped` lift / CI / p-value
    and variance reduction when the ``pre`` column is present (NaN otherwise),
    ``incremental_revenue = lift × n_treatment`` and, when ``cost`` is given (a mapping or
    Series of total cost per action, or the name of a per-row cost column summed over
    treated rows), ``roi = (incremental_revenue - cost) / cost``. Columns are
    :data:`READOUT_COLUMNS`. Raises ValueError on missing columns, unknown arm labels, or
    an action whose treatment or control arm has fewer than two rows.
    """
    _check_alpha(alpha)
    needed = [outcome, arm] + ([by] if by is not None else [])
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(f"readout: frame lacks column(s) {missing}")
    labels = set(frame[arm].dropna().astype(str).unique())
    unknown = labels - {TREATMENT, CONTROL}
    if unknown:
        raise ValueError(
            f"readout: column {arm!r} must hold 'treatment' / 'control', found {sorted(unknown)}"
        )
    has_pre = pre is not None and pre in frame.columns
    costs = _action_cost(cost, frame, arm, by) if cost is not None and by is not None else None
    if cost is not None and by is None:
        if isinstance(cost, str):
            costs = {None: float(frame.loc[frame[arm] == TREATMENT, cost].sum())}
        else:
            costs = {None: float(cost) if np.isscalar(cost) else sum(dict(cost).values())}

    groups = [(None, frame)] if by is None else list(frame.groupby(by, sort=True))
    rows = []
    for key, g in groups:
        where = "" if by is None else f" for {by}={key!r}"
        is_t = (g[arm] == TREATMENT).to_numpy()
        is_c = (g[arm] == CONTROL).to_numpy()
        y = g[outcome].to_numpy(dtype=float)
        for name, m in (("treatment", is_t), ("control", is_c)):
            n = int((m & ~np.isnan(y)).sum())
            if n < 2:
                raise ValueError(
                    f"readout: the {name} arm{where} has {n} row(s) with an outcome; "
                    "need at least 2 per arm"
                )
        m = lift(y[is_t], y[is_c], alpha=alpha)
        conv_t = (y[is_t][~np.isnan(y[is_t])] > 0).astype(float)
        conv_c = (y[is_c][~np.isnan(y[is_c])] > 0).astype(float)
        p = proportion_lift(conv_t, conv_c, alpha=alpha)
        row: dict[str, Any] = {
            "n_treatment": m["n_treatment"],
            "n_control": m["n_control"],
            "conversion_treatment": p["rate_treatment"],
            "conversion_control": p["rate_control"],
            "conversion_lift": p["lift"],
            "conversion_p_value": p["p_value"],
            "mean_treatment": m["mean_treatment"],
            "mean_control": m["mean_control"],
            "lift": m["lift"],
            "relative_lift": m["relative_lift"],
            "ci_low": m["ci_low"],
            "ci_high": m["ci_high"],
            "p_value": m["p_value"],
        }
        if has_pre:
            sel = is_t | is_c
            cu = cuped(y[sel], g[pre].to_numpy(dtype=float)[sel], is_t[sel], alpha=alpha)
            row.update(
                cuped_lift=cu["lift"],
                cuped_ci_low=cu["ci_low"],
                cuped_ci_high=cu["ci_high"],
                cuped_p_value=cu["p_value"],
                cuped_variance_reduction=cu["variance_reduction"],
            )
        row["incremental_revenue"] = m["lift"] * m["n_treatment"]
        c = math.nan if costs is None else float(costs.get(key, math.nan))
        row["cost"] = c
        row["roi"] = (row["incremental_revenue"] - c) / c if c and not math.isnan(c) else math.nan
        rows.append(row)

    out = pd.DataFrame(rows, columns=list(READOUT_COLUMNS), dtype=float)
    out[["n_treatment", "n_control"]] = out[["n_treatment", "n_control"]].astype("int64")
    out.index = pd.Index([k for k, _ in groups], name=by if by is not None else "all")
    return out


# ---------------------------------------------------------------------------- planning


def _z(alpha: float, power: float) -> tuple[float, float]:
    _check_alpha(alpha)
    _check_power(power)
    return float(stats.norm.ppf(1 - alpha / 2)), float(stats.norm.ppf(power))


def _check_ratio(ratio: float) -> None:
    if not ratio > 0:
        raise ValueError(f"ratio (n_treatment / n_control) must be > 0, got {ratio!r}")


def _n_control_prop(p_c: float, d: float, za: float, zb: float, r: float) -> float:
    """Control-arm size for rates p_c and p_c + d, n_treatment = r · n_control (real)."""
    p_t = p_c + d
    pbar = (p_c + r * p_t) / (1 + r)
    num = za * math.sqrt(pbar * (1 - pbar) * (1 + 1 / r)) + zb * math.sqrt(
        p_c * (1 - p_c) + p_t * (1 - p_t) / r
    )
    return num**2 / d**2


def sample_size(
    baseline_rate: float,
    mde: float,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
) -> int:
    """Control-arm size to detect a rate change of ``mde`` (absolute, e.g. 0.02 = 2 pp).

    Two-sided two-proportion z-test, pooled-variance formula (Fleiss, no continuity
    correction), with ``ratio = n_treatment / n_control`` and ``p_t = baseline + mde``::

        n_c = [z_{1-α/2} sqrt(p̄ q̄ (1 + 1/r)) + z_{1-β} sqrt(p_c q_c + p_t q_t / r)]² / mde²
        p̄ = (p_c + r p_t) / (1 + r)

    rounded up; the treatment arm needs ``ceil(ratio * n_c)``. With ``ratio = 1`` this is
    the size of each arm (baseline 10 %, MDE 2 pp, α 0.05, power 0.8 → 3,841).
    """
    za, zb = _z(alpha, power)
    _check_ratio(ratio)
    if not 0 < baseline_rate < 1:
        raise ValueError(f"baseline_rate must be in (0, 1), got {baseline_rate!r}")
    if mde == 0 or not 0 < baseline_rate + mde < 1:
        raise ValueError(f"mde must be non-zero with baseline_rate + mde in (0, 1), got {mde!r}")
    return math.ceil(_n_control_prop(baseline_rate, mde, za, zb, ratio) - 1e-9)


def sample_size_mean(
    sd: float,
    mde: float,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
) -> int:
    """Control-arm size to detect a mean change of ``mde`` for an outcome with std ``sd``.

    Two-sided z approximation, common ``sd``, ``ratio = n_treatment / n_control``::

        n_c = (z_{1-α/2} + z_{1-β})² sd² (1 + 1/r) / mde²

    rounded up (sd 1, MDE 0.2, α 0.05, power 0.8 → 393 per arm).
    """
    za, zb = _z(alpha, power)
    _check_ratio(ratio)
    if not sd > 0:
        raise ValueError(f"sd must be > 0, got {sd!r}")
    if mde == 0:
        raise ValueError("mde must be non-zero")
    return math.ceil((za + zb) ** 2 * sd**2 * (1 + 1 / ratio) / mde**2 - 1e-9)


def minimum_detectable_effect(
    n_treatment: int,
    n_control: int,
    baseline_rate: float | None = None,
    sd: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
) -> float:
    """Smallest positive absolute effect detectable with these arm sizes.

    Give exactly one of ``baseline_rate`` (proportions: the inverse of
    :func:`sample_size`'s pooled formula, solved numerically for the upward change) or
    ``sd`` (means: ``(z_{1-α/2} + z_{1-β}) sd sqrt(1/n_t + 1/n_c)``). Returns NaN for a
    proportion when no upward change below 1 reaches the power.
    """
    za, zb = _z(alpha, power)
    if (baseline_rate is None) == (sd is None):
        raise ValueError("give exactly one of baseline_rate (proportions) or sd (means)")
    if n_treatment < 1 or n_control < 1:
        raise ValueError(
            f"n_treatment and n_control must be >= 1, got {n_treatment} and {n_control}"
        )
    if sd is not None:
        if not sd > 0:
            raise ValueError(f"sd must be > 0, got {sd!r}")
        return float((za + zb) * sd * math.sqrt(1 / n_treatment + 1 / n_control))
    assert baseline_rate is not None
    if not 0 < baseline_rate < 1:
        raise ValueError(f"baseline_rate must be in (0, 1), got {baseline_rate!r}")
    r = n_treatment / n_control

    def gap(d: float) -> float:
        return _n_control_prop(baseline_rate, d, za, zb, r) - n_control

    hi = 1 - baseline_rate - 1e-12
    if gap(hi) > 0:
        return math.nan
    return float(optimize.brentq(gap, 1e-12, hi, xtol=1e-12))


def _check_share(control_share: float) -> None:
    if not 0.0 < control_share < 1.0:
        raise ValueError(f"control_share must be in (0, 1), got {control_share!r}")


def arm_sizes(
    baseline_rate: float,
    mde: float,
    alpha: float = 0.05,
    power: float = 0.8,
    control_share: float = 0.5,
) -> tuple[int, int]:
    """``(n_treatment, n_control)`` to detect a rate change of ``mde`` with
    ``control_share`` of the customers held out: :func:`sample_size` with ``ratio =
    treated / control``, the treatment arm ``ceil(ratio · n_control)``. One formula for
    ``liucun campaign size`` and the first test of a shop without history."""
    _check_share(control_share)
    ratio = (1.0 - control_share) / control_share
    n_c = sample_size(baseline_rate, mde, alpha=alpha, power=power, ratio=ratio)
    return math.ceil(ratio * n_c - 1e-9), n_c


def split_total(total: int, control_share: float) -> tuple[int, int]:
    """``total`` customers split into ``(n_treatment, n_control)`` at ``control_share``,
    each arm at least one customer (so a split of 1 gives 2)."""
    _check_share(control_share)
    n_c = max(1, round(int(total) * control_share))
    return max(1, int(total) - n_c), n_c
