"""Campaign read-out statistics: calibration on A/A data, power on planted effects, CUPED,
the read-out frame and the planning formulas against hand-computed numbers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from liucun.decide.experiments import (
    READOUT_COLUMNS,
    cuped,
    lift,
    minimum_detectable_effect,
    proportion_lift,
    readout,
    sample_size,
    sample_size_mean,
)

SEEDS = 300


def _revenue(rng: np.random.Generator, n: int, effect: float = 0.0) -> np.ndarray:
    """Skewed revenue: 20 % buy, lognormal basket."""
    buy = rng.random(n) < 0.2
    return np.where(buy, rng.lognormal(3.0, 0.8, n) + effect, 0.0)


# ---------------------------------------------------------------------------- lift


def test_lift_matches_hand_numbers() -> None:
    t = np.array([3.0, 5.0, 7.0, 9.0])
    c = np.array([1.0, 2.0, 3.0])
    out = lift(t, c)
    assert out["mean_treatment"] == 6.0 and out["mean_control"] == 2.0
    assert out["lift"] == 4.0 and out["relative_lift"] == 2.0
    # Welch by hand: se² = 20/3/4 + 1/3, df by Welch-Satterthwaite.
    vt, vc = 20 / 3 / 4, 1 / 3
    se = math.sqrt(vt + vc)
    df = (vt + vc) ** 2 / (vt**2 / 3 + vc**2 / 2)
    from scipy import stats

    half = stats.t.ppf(0.975, df) * se
    assert out["ci_low"] == pytest.approx(4 - half)
    assert out["ci_high"] == pytest.approx(4 + half)
    assert out["p_value"] == pytest.approx(2 * stats.t.sf(4 / se, df))


def test_aa_lift_is_calibrated() -> None:
    p_values, covered = [], 0
    for seed in range(SEEDS):
        rng = np.random.default_rng(seed)
        out = lift(_revenue(rng, 400), _revenue(rng, 400))
        p_values.append(out["p_value"])
        covered += out["ci_low"] <= 0.0 <= out["ci_high"]
    p = np.array(p_values)
    assert (p < 0.05).mean() < 0.08
    assert covered / SEEDS > 0.92
    # Roughly uniform: each quarter of [0, 1] holds 25 % ± 7 %.
    counts = np.histogram(p, bins=4, range=(0, 1))[0] / SEEDS
    assert np.all(np.abs(counts - 0.25) < 0.07)


def test_planted_lift_detected() -> None:
    rng = np.random.default_rng(7)
    t, c = rng.normal(11.0, 5.0, 3000), rng.normal(10.0, 5.0, 3000)
    out = lift(t, c)
    assert out["p_value"] < 1e-6
    assert out["ci_low"] < 1.0 < out["ci_high"]
    assert out["relative_lift"] == pytest.approx(0.1, abs=0.03)


# ---------------------------------------------------------------------------- proportions


def test_proportion_lift_hand_numbers() -> None:
    t = np.r_[np.ones(120), np.zeros(880)]  # 12 %
    c = np.r_[np.ones(100), np.zeros(900)]  # 10 %
    out = proportion_lift(t, c)
    pooled = 0.11
    z = 0.02 / math.sqrt(pooled * (1 - pooled) * 2 / 1000)
    assert out["lift"] == pytest.approx(0.02)
    assert out["z"] == pytest.approx(z)
    from scipy import stats

    assert out["p_value"] == pytest.approx(2 * stats.norm.sf(z))
    se = math.sqrt(0.12 * 0.88 / 1000 + 0.1 * 0.9 / 1000)
    assert out["ci_high"] - out["ci_low"] == pytest.approx(2 * 1.959964 * se, rel=1e-5)


def test_aa_proportions_calibrated_and_planted_detected() -> None:
    p_values = []
    for seed in range(SEEDS):
        rng = np.random.default_rng(seed)
        out = proportion_lift(rng.random(1000) < 0.1, rng.random(1000) < 0.1)
        p_values.append(out["p_value"])
    assert (np.array(p_values) < 0.05).mean() < 0.08
    rng = np.random.default_rng(1)
    out = proportion_lift(rng.random(20000) < 0.12, rng.random(20000) < 0.10)
    assert out["p_value"] < 1e-6 and out["ci_low"] < 0.02 < out["ci_high"]


def test_proportion_rejects_non_binary() -> None:
    with pytest.raises(ValueError, match="0/1"):
        proportion_lift([0, 1, 2], [0, 1])


# ---------------------------------------------------------------------------- CUPED


def _pre_post(rng: np.random.Generator, n: int, effect: float) -> tuple[np.ndarray, ...]:
    x = rng.gamma(2.0, 10.0, n)  # pre-period revenue
    treated = rng.random(n) < 0.5
    y = 0.8 * x + rng.normal(0, 5.0, n) + effect * treated
    return y, x, treated


def test_cuped_reduces_variance_and_is_unbiased() -> None:
    raw, adjusted, p_aa = [], [], []
    for seed in range(200):
        rng = np.random.default_rng(seed)
        y, x, treated = _pre_post(rng, 1000, effect=2.0)
        out = cuped(y, x, treated)
        assert out["theta"] == pytest.approx(0.8, abs=0.1)
        assert out["variance_reduction"] > 0.75  # corr² ≈ 128 / (128 + 25 + 1) ≈ 0.83
        assert out["ci_high"] - out["ci_low"] < 0.5 * (
            lift(y[treated], y[~treated])["ci_high"] - lift(y[treated], y[~treated])["ci_low"]
        )
        raw.append(out["unadjusted_lift"])
        adjusted.append(out["lift"])
        ya, xa, ta = _pre_post(rng, 1000, effect=0.0)
        p_aa.append(cuped(ya, xa, ta)["p_value"])
    adjusted_arr = np.array(adjusted)
    # Unbiased: the mean estimate sits on the planted 2.0 within 3 standard errors.
    assert abs(adjusted_arr.mean() - 2.0) < 3 * adjusted_arr.std() / math.sqrt(200)
    assert adjusted_arr.std() < 0.5 * np.std(raw)
    assert (np.array(p_aa) < 0.05).mean() < 0.08


def test_cuped_uncorrelated_pre_changes_little() -> None:
    rng = np.random.default_rng(3)
    n = 2000
    y, x, treated = rng.normal(0, 1, n), rng.normal(0, 1, n), rng.random(n) < 0.5
    out = cuped(y, x, treated)
    assert abs(out["theta"]) < 0.1
    assert out["variance_reduction"] < 0.02


def test_cuped_constant_pre_and_bad_input() -> None:
    y = np.arange(10.0)
    treated = np.arange(10) % 2 == 0
    out = cuped(y, np.ones(10), treated)
    assert out["theta"] == 0.0 and out["variance_reduction"] == 0.0
    assert out["lift"] == pytest.approx(lift(y[treated], y[~treated])["lift"])
    with pytest.raises(ValueError, match="same length"):
        cuped(y, np.ones(9), treated)
    with pytest.raises(ValueError, match="control arm is empty"):
        cuped(y, y, np.ones(10, bool))


# ---------------------------------------------------------------------------- read-out


def _campaign(seed: int = 0, n: int = 4000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    action = rng.choice(["coupon", "email", "push"], n)
    arm = np.where(rng.random(n) < 0.3, "control", "treatment")
    pre = rng.gamma(2.0, 20.0, n)
    effect = np.select([action == "coupon", action == "email"], [10.0, 3.0], 0.0)
    base = 0.5 * pre + rng.normal(0, 10, n) + effect * (arm == "treatment")
    revenue = np.where(rng.random(n) < 0.6, np.maximum(base, 0.0), 0.0)
    return pd.DataFrame(
        {"action": action, "arm": arm, "revenue": revenue, "pre_revenue": pre, "cost": 0.5}
    )


def test_readout_columns_and_values() -> None:
    frame = _campaign()
    costs = {"coupon": 1000.0, "email": 100.0, "push": 50.0}
    out = readout(frame, cost=costs)
    assert list(out.columns) == list(READOUT_COLUMNS)
    assert list(out.index) == ["coupon", "email", "push"]
    assert out.index.name == "action"
    coupon = frame[frame["action"] == "coupon"]
    t = coupon.loc[coupon["arm"] == "treatment", "revenue"]
    c = coupon.loc[coupon["arm"] == "control", "revenue"]
    row = out.loc["coupon"]
    assert row["n_treatment"] == len(t) and row["n_control"] == len(c)
    assert row["lift"] == pytest.approx(t.mean() - c.mean())
    assert row["conversion_treatment"] == pytest.approx((t > 0).mean())
    assert row["incremental_revenue"] == pytest.approx(row["lift"] * len(t))
    assert row["roi"] == pytest.approx((row["incremental_revenue"] - 1000.0) / 1000.0)
    assert row["p_value"] < 0.01 and row["cuped_p_value"] < row["p_value"]
    assert (out["cuped_variance_reduction"] > 0.1).all()
    assert (out["cuped_ci_high"] - out["cuped_ci_low"] < out["ci_high"] - out["ci_low"]).all()


def test_readout_without_pre_cost_column_and_no_by() -> None:
    frame = _campaign().drop(columns="pre_revenue")
    out = readout(frame, cost="cost")
    assert out["cuped_lift"].isna().all() and out["roi"].notna().all()
    n_t = (frame.loc[frame["action"] == "push", "arm"] == "treatment").sum()
    assert out.loc["push", "cost"] == pytest.approx(0.5 * n_t)
    total = readout(frame, by=None)
    assert len(total) == 1 and total["n_treatment"].iloc[0] == (frame["arm"] == "treatment").sum()
    assert total["roi"].isna().all()


def test_readout_bad_input() -> None:
    frame = _campaign()
    no_control = frame[~((frame["action"] == "push") & (frame["arm"] == "control"))]
    with pytest.raises(ValueError, match="control arm for action='push' has 0 row"):
        readout(no_control)
    with pytest.raises(ValueError, match="lacks column"):
        readout(frame, outcome="gmv")
    with pytest.raises(ValueError, match="'treatment' / 'control'"):
        readout(frame.assign(arm="holdout"))
    with pytest.raises(ValueError, match="treated_values is empty"):
        lift([], [1.0, 2.0])


# ---------------------------------------------------------------------------- planning


def test_sample_size_hand_numbers() -> None:
    # Pooled-variance (Fleiss, no continuity correction) formula, p1 = .10, p2 = .12:
    # [1.95996·sqrt(2·.11·.89) + 0.84162·sqrt(.09 + .1056)]² / .02² = 3840.8 → 3841.
    assert sample_size(0.10, 0.02) == 3841
    # Means: 2·(1.95996 + 0.84162)²·1² / 0.2² = 392.4 → 393.
    assert sample_size_mean(1.0, 0.2) == 393
    # Unequal allocation needs fewer controls but more people overall.
    n_c = sample_size(0.10, 0.02, ratio=4.0)
    assert n_c < 3841 and 5 * n_c > 2 * 3841
    assert sample_size_mean(1.0, 0.2, ratio=3.0) == math.ceil(7.849 * (1 + 1 / 3) / 0.04)
    assert sample_size(0.10, 0.02, power=0.9) > 3841


def test_mde_inverts_sample_size() -> None:
    mde = minimum_detectable_effect(3841, 3841, baseline_rate=0.10)
    assert mde == pytest.approx(0.02, abs=1e-4) and mde <= 0.02
    assert minimum_detectable_effect(393, 393, sd=1.0) == pytest.approx(0.2, abs=1e-3)
    assert minimum_detectable_effect(8000, 2000, baseline_rate=0.05) > 0
    assert math.isnan(minimum_detectable_effect(2, 2, baseline_rate=0.5))
    with pytest.raises(ValueError, match="exactly one"):
        minimum_detectable_effect(100, 100)


def test_planned_size_has_the_power() -> None:
    """At the planned size, a planted 2 pp effect is detected ~80 % of the time."""
    rng = np.random.default_rng(0)
    n = sample_size(0.10, 0.02)
    hits = [
        proportion_lift(rng.random(n) < 0.12, rng.random(n) < 0.10)["p_value"] < 0.05
        for _ in range(SEEDS)
    ]
    assert 0.72 < np.mean(hits) < 0.88
