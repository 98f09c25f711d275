"""The planner's evidence: effects measured on held-out campaigns, guardrails, intervals.

Synthetic randomised history with a known truth: ``good`` raises orders in the window and
net revenue over the horizon (more for customers with high ``x``); ``bad`` raises orders
in the window too (a window model likes it) but drives customers away, so its horizon
effect is negative. The planner must plan the first and guard against the second.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from liucun.models.nba import NextBestAction
from liucun.models.uplift_calibration import by_band, calibrate, shrink

ACTIONS = {
    "good": {"kind": "message", "contact_cost": 0.1},
    "bad": {"kind": "message", "contact_cost": 0.1},
}


def _history(n: int = 6000, seed: int = 0) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, n)
    orders_total = rng.poisson(3.0, n).astype(float)
    t = rng.choice(["control", "good", "bad"], n, p=[0.3, 0.35, 0.35])
    base = 0.2 + 0.1 * orders_total / 3
    lam = base * np.where(t == "good", 1 + 2.0 * x, 1.0) * np.where(t == "bad", 1.8, 1.0)
    orders_window = rng.poisson(lam)
    value = 40.0
    true = {"good": 2.0 * x * base * value + 0.0, "bad": np.full(n, -6.0)}
    later = rng.gamma(2.0, 10.0, n) * (orders_total / 3)  # ordinary buying, heavy noise
    net = orders_window * value + later
    net = net + np.where(t == "bad", -6.0 - 0.8 * base * value, 0.0) + rng.normal(0, 5, n)
    rows = pd.DataFrame(
        {
            "x": x,
            "orders_total": orders_total,
            "aov": np.full(n, value),
            "user_id": [f"u{i:05d}" for i in range(n)],
            "campaign_id": rng.choice(["c1", "c2", "c3", "c4"], n),
            "action": np.where(t == "control", rng.choice(["good", "bad"], n), t),
            "arm": np.where(t == "control", "control", "treatment"),
            "cost": np.where(t == "control", 0.0, 0.1),
            "day": pd.Timestamp("2024-03-01"),
            "orders": orders_window + rng.poisson(1.0, n),
            "net_revenue": np.maximum(net, 0.0),
            "purchased": (orders_window > 0).astype(int),
            "orders_window": orders_window.astype(float),
            "discount_window": 0.0,
            "treatment": t,
        }
    )
    return rows, true


@pytest.fixture(scope="module")
def fitted() -> tuple[NextBestAction, pd.DataFrame]:
    rows, _ = _history()
    return NextBestAction(ACTIONS, seed=0).fit(rows), rows


def test_calibrate_recovers_effect_and_slope() -> None:
    rng = np.random.default_rng(1)
    n = 20000
    s = rng.normal(0, 2, n)
    t = rng.random(n) < 0.5
    r = 1.0 + 0.5 * s + t * (3.0 + 0.8 * (s - s.mean())) + rng.normal(0, 4, n)
    cal = calibrate(r, s, t)
    assert abs(cal.alpha - 3.0) < 3 * cal.alpha_se
    assert abs(cal.beta - 0.8) < 3 * cal.beta_se
    assert 0 < cal.beta_shrunk <= cal.beta
    mid = cal.predict(np.array([0.0, 2.0]))
    assert mid[1] > mid[0]
    assert (cal.se(np.array([0.0, 5.0])) > 0).all()


def test_a_noise_ranking_keeps_only_the_measured_level() -> None:
    rng = np.random.default_rng(2)
    n = 4000
    s = rng.normal(0, 2, n)  # unrelated to the effect
    t = rng.random(n) < 0.5
    r = t * 2.0 + rng.normal(0, 4, n)
    cal = calibrate(r, s, t)
    assert cal.beta_shrunk < 0.25
    assert np.ptp(cal.predict(s)) < 0.5 * np.ptp(s)


def test_shrink_rules() -> None:
    assert shrink(-1.0, 0.1) == 0.0
    assert shrink(1.0, 1.0) == 0.0  # one standard error: nothing kept
    assert shrink(1.0, 0.5) == pytest.approx(0.75)
    assert shrink(10.0, 0.0) == 1.5


def test_bands_put_the_highest_scores_first() -> None:
    rng = np.random.default_rng(3)
    s = rng.normal(0, 1, 2000)
    t = rng.random(2000) < 0.5
    r = t * (2 * s) + rng.normal(0, 1, 2000)
    b = by_band(r, s, t)
    assert len(b) == 5
    assert b[0]["predicted"] > b[-1]["predicted"]
    assert b[0]["realised"] > b[-1]["realised"]


def test_guardrails_plan_the_good_action_and_keep_the_bad_one_out(fitted) -> None:
    model, _ = fitted
    ev = model.training_["evidence"]
    assert model.status_["bad"] == "not_shown", ev["bad"]
    assert ev["bad"]["hi"] < 0  # measured harmful, and the interval says so
    assert model.status_["good"] in ("proven", "targeted"), ev["good"]
    assert ev["good"]["lo"] <= ev["good"]["net_effect"] <= ev["good"]["hi"]
    assert "campaigns" in model.training_["held_out_by"]


def test_predictions_are_tied_to_the_measured_effect(fitted) -> None:
    model, rows = fitted
    features = rows.drop(columns=["treatment", "orders_window", "net_revenue"]).iloc[:500]
    uplift, cost = model.predict(features)
    score, lo, hi = model.predict_interval(features)
    assert (lo.to_numpy() <= uplift.to_numpy() + 1e-9).all()
    assert (uplift.to_numpy() <= hi.to_numpy() + 1e-9).all()
    # The window model thinks `bad` helps (more orders in the window); the evidence wins.
    assert score["bad"].mean() > 0
    assert uplift["bad"].mean() < 0
    # The measured effect of `good` is what the mean prediction says, not the window's.
    ev = model.training_["evidence"]["good"]
    assert uplift["good"].mean() == pytest.approx(ev["net_effect"] + 0.1, abs=2 * ev["se"])
    total, t_lo, t_hi = model.total_interval({"good": score["good"].to_numpy()})
    assert t_lo < total < t_hi
    assert total == pytest.approx(uplift["good"].sum())
    assert (cost.to_numpy() >= 0.1 - 1e-12).all()


def test_one_campaign_is_held_out_by_rows() -> None:
    rows, _ = _history(n=3000, seed=4)
    rows["campaign_id"] = "only"
    model = NextBestAction(ACTIONS, seed=0).fit(rows)
    assert "one campaign" in model.training_["held_out_by"]
    assert set(model.calibration_) == {"good", "bad"}


def test_confidence_is_checked() -> None:
    rows, _ = _history(n=1000, seed=5)
    with pytest.raises(Exception, match="confidence"):
        NextBestAction(ACTIONS, confidence=1.2).fit(rows)


def test_window_targeting_takes_the_slope_from_the_window() -> None:
    rows, _ = _history(n=6000, seed=6)
    horizon = NextBestAction(ACTIONS, seed=0).fit(rows)
    window = NextBestAction(ACTIONS, seed=0, targeting="window").fit(rows)
    for a in ("good", "bad"):
        h, w = horizon.calibration_[a], window.calibration_[a]
        assert w.alpha == pytest.approx(h.alpha)  # the level is the horizon's either way
        assert w.beta_se < h.beta_se  # the window measures the slope more precisely
    # `good` works through the window, so its targeting shows there.
    assert window.calibration_["good"].beta_shrunk > 0
    with pytest.raises(Exception, match="targeting"):
        NextBestAction(ACTIONS, targeting="sideways").fit(rows)


def test_predictions_do_not_extrapolate_the_slope() -> None:
    rng = np.random.default_rng(7)
    s = rng.normal(0, 1, 5000)
    t = rng.random(5000) < 0.5
    cal = calibrate(t * (1.0 + s) + rng.normal(0, 0.5, 5000), s, t)
    far = cal.predict(np.array([100.0, cal.s_max]))
    assert far[0] == pytest.approx(far[1])  # a score far out counts as the edge's
    assert cal.s_min < 0 < cal.s_max


def test_level_is_shrunk_and_intervals_are_simultaneous(fitted) -> None:
    model, _ = fitted
    for a, cal in model.calibration_.items():
        assert abs(cal.alpha_shrunk) <= abs(cal.alpha) + 1e-12, a
        assert np.sign(cal.alpha_shrunk) in (0, np.sign(cal.alpha))
    from scipy.stats import norm

    assert model.z_ == pytest.approx(norm.ppf(1 - 0.1 / (2 * len(model.actions_))))
    assert model.z_ > norm.ppf(0.95)  # wider than one action's own interval


def test_a_fold_without_outcomes_predicts_none(capfd) -> None:
    """One order among 600 contacts: the cross-fitting fold that never sees it predicts
    no orders instead of stopping LightGBM with '[Fatal] sum of labels is zero'."""
    from liucun.models.uplift import BASE_PARAMS, cross_fit

    rows, _ = _history(n=600)
    y = np.zeros(len(rows))
    y[7] = 1.0
    M = rows[["x", "orders_total"]]
    oof = cross_fit({**BASE_PARAMS, "objective": "poisson"}, M, y, rounds=5, folds=5, seed=0)
    assert oof[7] == 0.0 and np.isfinite(oof).all()
    assert "LightGBM" not in capfd.readouterr().err
