"""Uplift learners recover planted heterogeneous effects, with and without confounding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.exceptions import NotFittedError

from liucun.models.uplift import CONTROL, DRLearner, LiftLearner, TLearner


def _experiment(n: int = 6000, confounded: bool = False, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n), "x3": rng.normal(size=n)})
    effect_a = np.clip(X["x1"].to_numpy(), 0, None) * 2.0  # only customers with x1 > 0 respond
    effect_b = -0.5 * np.ones(n)  # action b hurts everyone a little
    if confounded:
        # Customers with high x2 (who buy more anyway) get action a far more often.
        p_a = 1 / (1 + np.exp(-1.5 * X["x2"].to_numpy()))
        u = rng.random(n)
        t = np.where(u < p_a * 0.7, "a", np.where(u < 0.85, "b", CONTROL))
    else:
        t = rng.choice(["a", "b", CONTROL], size=n, p=[0.4, 0.4, 0.2])
    base = 1.0 + 1.5 * X["x2"].to_numpy() + rng.normal(scale=1.0, size=n)
    y = base + np.where(t == "a", effect_a, 0) + np.where(t == "b", effect_b, 0)
    return X, t, y, effect_a, effect_b


@pytest.mark.parametrize("learner", [TLearner, DRLearner])
def test_learners_rank_customers_by_their_true_effect(learner) -> None:
    X, t, y, effect_a, effect_b = _experiment()
    model = learner(rounds=150).fit(X, t, y)
    up = model.predict(X)
    assert list(up.columns) == ["a", "b"]
    assert spearmanr(up["a"], effect_a)[0] > 0.6
    # Average effects come out with the right sign and size.
    assert abs(up["a"].mean() - effect_a.mean()) < 0.25
    assert abs(up["b"].mean() - effect_b.mean()) < 0.25


def test_doubly_robust_corrects_confounded_assignment() -> None:
    X, t, y, effect_a, _ = _experiment(n=8000, confounded=True, seed=1)
    naive = y[t == "a"].mean() - y[t == CONTROL].mean()
    dr = DRLearner(rounds=150).fit(X, t, y).predict(X)
    # The naive difference is inflated by who got the action; DR gets the mean effect back.
    assert naive - effect_a.mean() > 0.5
    assert abs(dr["a"].mean() - effect_a.mean()) < 0.3


def test_unfitted_and_bad_input() -> None:
    X, t, y, _, _ = _experiment(n=200)
    with pytest.raises(NotFittedError):
        TLearner().predict(X)
    with pytest.raises(ValueError, match="control"):
        TLearner().fit(X, np.full(len(X), "a"), y)
    with pytest.raises(ValueError, match="length"):
        DRLearner().fit(X, t[:-1], y)


def test_same_seed_same_uplift() -> None:
    X, t, y, _, _ = _experiment(n=2000)
    a = DRLearner(rounds=50, seed=3).fit(X, t, y).predict(X)
    b = DRLearner(rounds=50, seed=3).fit(X, t, y).predict(X)
    pd.testing.assert_frame_equal(a, b)


# ---------------------------------------------------------------------------- LiftLearner


def _counts(n: int = 6000, seed: int = 0):
    """Poisson orders: base rate exp(f(x2)), action a multiplies it by 1 to 1.6 rising with
    x1 (persuadables), action b by 0.85 for everyone (sleeping dogs)."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n), "x3": rng.normal(size=n)})
    base = np.exp(0.3 + 0.5 * X["x2"].to_numpy())
    lift_a = 1.0 + 0.6 / (1.0 + np.exp(-2.0 * X["x1"].to_numpy()))
    lift_b = np.full(n, 0.85)
    t = rng.choice(["a", "b", CONTROL], size=n, p=[0.35, 0.35, 0.3])
    y = rng.poisson(base * np.where(t == "a", lift_a, np.where(t == "b", lift_b, 1.0)))
    return X, t, y, base * (lift_a - 1.0), base * (lift_b - 1.0)


def test_lift_learner_recovers_multiplicative_effects() -> None:
    X, t, y, effect_a, effect_b = _counts()
    model = LiftLearner(seed=0).fit(X, t, y)
    up = model.predict(X)
    assert list(up.columns) == ["a", "b"]
    assert spearmanr(up["a"], effect_a)[0] > 0.5
    # Average effects within 30% of the truth, with the right sign.
    for got, true in ((up["a"], effect_a), (up["b"], effect_b)):
        assert abs(got.mean() - true.mean()) < 0.3 * abs(true.mean()), (got.mean(), true.mean())
    assert up["b"].mean() < 0 < up["a"].mean()


def test_lift_learner_predicts_every_arm_including_control() -> None:
    X, t, y, _, _ = _counts(n=3000, seed=2)
    t = t.copy()
    t[:8] = "rare"  # fewer than 10 contacts: not an action
    model = LiftLearner(seed=0).fit(X, t, y)
    arms = model.predict_arms(X)
    assert list(arms.columns) == [CONTROL, "a", "b"]
    assert arms.index.equals(X.index)
    assert np.isfinite(arms.to_numpy()).all() and (arms.to_numpy() > 0).all()
    up = model.predict(X)
    pd.testing.assert_frame_equal(up, arms[["a", "b"]].sub(arms[CONTROL], axis=0))
    # Expected outcomes are on the scale of the data: the control arm's mean matches.
    assert arms[CONTROL].mean() == pytest.approx(y[t == CONTROL].mean(), rel=0.15)


def test_lift_learner_rejects_bad_input() -> None:
    X, t, y, _, _ = _counts(n=600, seed=4)
    with pytest.raises(NotFittedError):
        LiftLearner().predict(X)
    bad = y.astype(float)
    bad[5] = -1.0
    with pytest.raises(ValueError, match="non-negative"):
        LiftLearner().fit(X, t, bad)
    few = np.where(t == CONTROL, "a", t)
    few[:9] = CONTROL  # nine controls
    with pytest.raises(ValueError, match="control"):
        LiftLearner().fit(X, few, y)


def test_lift_learner_same_seed_same_prediction() -> None:
    X, t, y, _, _ = _counts(n=2000, seed=5)
    a = LiftLearner(seed=3).fit(X, t, y).predict_arms(X)
    b = LiftLearner(seed=3).fit(X, t, y).predict_arms(X)
    pd.testing.assert_frame_equal(a, b)
    c = LiftLearner(seed=4).fit(X, t, y).predict_arms(X)
    assert not np.allclose(a.to_numpy(), c.to_numpy())  # the seed is used (fold split)
