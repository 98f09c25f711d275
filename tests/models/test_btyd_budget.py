"""A BTYD fit that runs along a flat ridge gives up after a fixed number of likelihood
evaluations (deterministic: the same data always gives up), and the bundle leaves that
model out instead of waiting: a replenishment-like shop once kept `liucun score` busy for
over 15 minutes in the Pareto/NBD fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from liucun.models.btyd import BetaGeoModel, ParetoNBDModel, _base
from liucun.models.btyd.bundle import Btyd


def _summary(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """Customers from a BG/NBD process: purchases at a gamma-distributed weekly rate, each
    purchase followed by a drop-out with a beta-distributed chance."""
    rng = np.random.default_rng(seed)
    T = rng.uniform(20, 52, n)
    lam, p = rng.gamma(2.0, 0.25, n), rng.beta(2.0, 6.0, n)
    freq, rec = np.zeros(n), np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T[i]:
                break
            freq[i] += 1
            rec[i] = t
            if rng.uniform() < p[i]:
                break
    return pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(n)],
            "frequency": freq,
            "recency": rec,
            "T": T,
            "monetary": np.where(freq > 0, rng.gamma(4, 10, n), 0.0),
        }
    )


@pytest.mark.parametrize("model", [BetaGeoModel, ParetoNBDModel])
def test_a_fit_within_the_budget_is_unchanged(model: type) -> None:
    s = _summary()
    fitted = model().fit(s["frequency"], s["recency"], s["T"])
    assert all(np.isfinite(v) and v > 0 for v in fitted.params_.values())


def test_a_fit_over_the_budget_gives_up(monkeypatch: pytest.MonkeyPatch) -> None:
    s = _summary()
    monkeypatch.setattr(_base, "MAX_EVALUATIONS", 5)
    with pytest.raises(RuntimeError, match="gave up after 5 evaluations"):
        ParetoNBDModel().fit(s["frequency"], s["recency"], s["T"])


def test_the_bundle_leaves_a_model_that_gave_up_out(monkeypatch: pytest.MonkeyPatch) -> None:
    s = _summary()
    monkeypatch.setattr(_base, "MAX_EVALUATIONS", 5)
    b = Btyd().fit(s)
    assert b.bgnbd_ is None and b.pnbd_ is None
    monkeypatch.setattr(_base, "MAX_EVALUATIONS", 1_500)
    b = Btyd().fit(s)
    assert b.bgnbd_ is not None and b.pnbd_ is not None
