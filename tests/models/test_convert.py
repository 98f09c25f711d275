"""p_convert's model: the estimator contract, the base-rate fallback, and calibration.

The estimator contract runs in ``test_contract.py`` (case ``conversion_model``).
Calibration is checked twice: on synthetic prospects whose conversion probability is
known, and on a simulated shop, where the prospects' mean p_convert as of a date must
match the share who really placed a first order in the horizon after it (the warehouse
holds those days; the model reads none).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from contract_cases.scoring import prospects_frame as _prospects
from sklearn.metrics import roc_auc_score

import liucun
from liucun.engines import workspace_tables
from liucun.features import feature_frame
from liucun.features.labels import build_labels
from liucun.models.convert import ConversionModel
from liucun.tasks.score import fit_convert, prospect_inputs, prospects

START = dt.date(2024, 1, 1)
AS_OF = START + dt.timedelta(days=240)
H = 90


# -- the model on synthetic prospects ----------------------------------------------------


def test_calibrated_and_separating_on_known_probabilities() -> None:
    X, y, _ = _prospects(6000, 2)
    Xt, yt, p_true = _prospects(6000, 3)
    m = ConversionModel().fit(X.iloc[:4000], y[:4000], X.iloc[4000:], y[4000:])
    assert m.mode_ == "logistic" and m.why_ == ""
    p = m.predict_proba(Xt)[:, 1]
    assert ((p >= 0) & (p <= 1)).all()
    # On average as often as it happens, and per decile of p close to the true rates.
    assert abs(p.mean() - yt.mean()) < 0.01
    assert np.corrcoef(p, p_true)[0, 1] > 0.9
    assert roc_auc_score(yt, p) > 0.65
    v = m.validation_
    assert v is not None and v["rows"] == 2000 and v["log_loss"] < v["log_loss_base"]
    assert abs(v["predicted_mean"] - v["realised"]) < 0.02


def test_base_rate_when_nothing_separates() -> None:
    X, _, _ = _prospects(2000, 4)
    rng = np.random.default_rng(5)
    noise = (rng.uniform(size=2000) < 0.1).astype(int)  # unrelated to X
    m = ConversionModel().fit(X.iloc[:1200], noise[:1200], X.iloc[1200:], noise[1200:])
    assert m.mode_ == "base_rate" and "base rate" in m.why_
    p = m.predict_proba(X)[:, 1]
    assert np.ptp(p) == 0 and p[0] == pytest.approx(noise.mean(), abs=0.01)
    # Too few conversions to learn from: the (smoothed) base rate, never 0.
    few = np.zeros(500, dtype=int)
    few[:3] = 1
    m = ConversionModel().fit(X.iloc[:500], few)
    assert m.mode_ == "base_rate" and m.summary()["base_rate"] == pytest.approx(3.5 / 501)
    assert (m.predict_proba(X.iloc[:5])[:, 1] > 0).all()


def test_stretch_turns_a_short_window_into_the_horizon() -> None:
    X, y, _ = _prospects(3000, 6)
    short = ConversionModel().fit(X, y)
    long = ConversionModel(stretch=3.0).fit(X, y)
    p, q = short.predict_proba(X)[:, 1], long.predict_proba(X)[:, 1]
    np.testing.assert_allclose(q, 1 - (1 - p) ** 3, rtol=1e-12)
    assert long.summary()["stretch"] == 3.0


def test_unseen_levels_and_missing_columns_still_score() -> None:
    X, y, _ = _prospects(2000, 7)
    m = ConversionModel().fit(X, y)
    odd = X.iloc[:10].drop(columns=["carts_90d"]).assign(region="mars", channel=None)
    p = m.predict_proba(odd)[:, 1]
    assert np.isfinite(p).all() and ((p > 0) & (p < 1)).all()


# -- on a simulated shop -----------------------------------------------------------------


@pytest.fixture(scope="module")
def shop(simulated_workspace: Callable[..., Path]) -> Path:
    tables = ("users", "orders", "events", "treatments")
    return simulated_workspace(tables, users=2000, days=365, holdout_days=0, seed=3, start=START)


def test_p_convert_is_calibrated_on_a_simulated_shop(shop: Path) -> None:
    with liucun.Workspace(shop) as ws:
        tables = workspace_tables(ws)
        model, info = fit_convert(ws, tables, AS_OF, H)
        features = feature_frame(ws, AS_OF)
        ordered = set(build_labels(tables, AS_OF, H).execute()["user_id"])
        users, X = prospect_inputs(ws, features)
    # Trained on prospects at past cutoffs whose label windows end by AS_OF.
    cuts = [dt.date.fromisoformat(c) for c in info["cutoffs"]]
    assert len(cuts) == 3 and all(c + dt.timedelta(days=info["label_days"]) <= AS_OF for c in cuts)
    assert model.mode_ == "logistic" and {"region", "channel"} <= set(X.columns)
    assert len(users) == int(prospects(features).sum()) > 300
    p = model.predict_proba(X)[:, 1]
    realised = users.isin(ordered).to_numpy()
    assert 0.03 < realised.mean() < 0.5  # the shop's prospects do convert, not all
    assert abs(p.mean() - realised.mean()) < 0.03, (p.mean(), realised.mean())
    assert roc_auc_score(realised, p) > 0.7
