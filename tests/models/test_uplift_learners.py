"""Uplift learners recover planted heterogeneous effects, with and without confounding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.exceptions import NotFittedError

from liucun.models.uplift import CONTROL, DRLearner, TLearner


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
