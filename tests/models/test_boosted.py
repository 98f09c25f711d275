"""Boosted churn/value models: they learn, calibrate, explain and round-trip through disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata, spearmanr
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

from liucun.models.boosted import BoostedClassifier, BoostedRegressor, FeatureMatrix

CATS = ("apparel", "beauty", "books")


def _frame(n: int, rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.uniform(-1, 1, size=n),
            "noise": rng.normal(size=n),
            "top_category": rng.choice(CATS, size=n),
        }
    )


def _logit(X: pd.DataFrame) -> np.ndarray:
    return (
        1.5 * X["x1"].to_numpy()
        - 1.0 * X["x2"].to_numpy()
        + 0.8 * (X["top_category"] == "beauty").to_numpy()
        - 0.7
    )


def _binary(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = _frame(n, rng)
    p = 1.0 / (1.0 + np.exp(-_logit(X)))
    return X, (rng.uniform(size=n) < p).astype(int)


@pytest.fixture(scope="module")
def data() -> dict[str, tuple[pd.DataFrame, np.ndarray]]:
    return {"train": _binary(4000, 1), "val": _binary(2000, 2), "test": _binary(2000, 3)}


@pytest.fixture(scope="module")
def platt(data: dict[str, tuple[pd.DataFrame, np.ndarray]]) -> BoostedClassifier:
    (X, y), (Xv, yv) = data["train"], data["val"]
    return BoostedClassifier(seed=0).fit(X, y, Xv, yv)


def _raw(model: BoostedClassifier | BoostedRegressor, X: pd.DataFrame) -> np.ndarray:
    """The booster's own raw score (log-odds), read from the fitted attributes."""
    return model.booster_.predict(
        model.matrix_.transform(X), num_iteration=model.best_iteration_, raw_score=True
    )


def test_classifier_learns_the_signal_on_held_out_data(platt, data) -> None:
    X, y = data["test"]
    p = platt.predict_proba(X)
    assert p.shape == (len(X), 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert ((p >= 0) & (p <= 1)).all()
    auc = roc_auc_score(y, p[:, 1])
    oracle = roc_auc_score(y, _logit(X))
    assert auc > 0.75 and auc > oracle - 0.05, (auc, oracle)
    # Early stopping on the validation slice stopped well before the cap.
    assert 1 <= platt.best_iteration_ < platt.max_rounds


def test_platt_calibration_matches_the_observed_rate_on_validation(platt, data) -> None:
    Xv, yv = data["val"]
    p = platt.predict_proba(Xv)[:, 1]
    assert abs(p.mean() - yv.mean()) < 0.01
    assert platt.calibration_ is not None and set(platt.calibration_) == {"platt"}
    # Binned reliability: each quintile's mean prediction is near its observed rate.
    bins = pd.qcut(p, 5, labels=False, duplicates="drop")
    gap = pd.DataFrame({"p": p, "y": yv, "b": bins}).groupby("b").mean()
    assert (gap["p"] - gap["y"]).abs().max() < 0.1


def test_platt_keeps_the_ranking_of_the_raw_score(platt, data) -> None:
    X, _ = data["test"]
    raw = _raw(platt, X)
    p = platt.predict_proba(X)[:, 1]
    slope, _intercept = platt.calibration_["platt"]
    assert slope > 0
    np.testing.assert_array_equal(rankdata(raw), rankdata(p))
    np.testing.assert_array_equal(np.argsort(raw, kind="stable"), np.argsort(p, kind="stable"))


def test_isotonic_calibration(data) -> None:
    (X, y), (Xv, yv), (Xt, yt) = data["train"], data["val"], data["test"]
    m = BoostedClassifier(seed=0, calibration="isotonic").fit(X, y, Xv, yv)
    assert m.calibration_ is not None and set(m.calibration_) == {"isotonic"}
    pv = m.predict_proba(Xv)[:, 1]
    assert abs(pv.mean() - yv.mean()) < 0.01
    p = m.predict_proba(Xt)[:, 1]
    assert ((p >= 1e-4 - 1e-12) & (p <= 1 - 1e-4 + 1e-12)).all()
    # A monotone map of the raw score: sorted by raw score, probabilities never fall.
    order = np.argsort(_raw(m, Xt), kind="stable")
    assert (np.diff(p[order]) >= -1e-12).all()
    # Steps tie customers, yet the ranking stays useful.
    assert len(np.unique(p)) < len(p)
    assert roc_auc_score(yt, p) > 0.7


def test_unknown_calibration_method_is_rejected(data) -> None:
    (X, y), (Xv, yv) = data["train"], data["val"]
    with pytest.raises(ValueError, match="calibration"):
        BoostedClassifier(calibration="beta", max_rounds=5).fit(X, y, Xv, yv)


def test_without_validation_slice_no_calibration_and_fixed_rounds(data) -> None:
    X, y = data["train"]
    m = BoostedClassifier(seed=0, max_rounds=40).fit(X, y)
    assert m.calibration_ is None and m.best_iteration_ == 40
    p = m.predict_proba(X)[:, 1]
    np.testing.assert_allclose(p, 1.0 / (1.0 + np.exp(-_raw(m, X))))


def test_save_load_round_trip_with_an_unseen_category(platt, data, tmp_path: Path) -> None:
    X, _ = data["test"]
    X = X.copy()
    X.loc[X.index[:50], "top_category"] = "garden"  # never seen in training
    X.loc[X.index[50:60], "top_category"] = None
    X.loc[X.index[60:70], "x1"] = np.nan
    platt.fit_explainer(data["train"][0])
    platt.save(tmp_path / "clf")
    back = BoostedClassifier.load(tmp_path / "clf")
    p0, p1 = platt.predict_proba(X), back.predict_proba(X)
    assert np.isfinite(p0).all()
    np.testing.assert_array_equal(p0, p1)
    assert back.matrix_.columns == platt.matrix_.columns
    assert back.matrix_.categories == {"top_category": sorted(CATS)}
    assert back.calibration == "platt" and back.calibration_ == platt.calibration_
    assert back.explainer_r2_ == pytest.approx(platt.explainer_r2_)
    pd.testing.assert_frame_equal(platt.contributions(X), back.contributions(X))
    pd.testing.assert_series_equal(platt.feature_importance(), back.feature_importance())
    # An unseen category scores like a missing one, not like some other category.
    unseen = X.iloc[:50].copy()
    missing = unseen.assign(top_category=None)
    np.testing.assert_array_equal(back.predict_proba(unseen), back.predict_proba(missing))
    with pytest.raises(ValueError, match="BoostedClassifier"):
        BoostedRegressor.load(tmp_path / "clf")


def test_isotonic_survives_save_load(data, tmp_path: Path) -> None:
    (X, y), (Xv, yv), (Xt, _) = data["train"], data["val"], data["test"]
    m = BoostedClassifier(seed=0, calibration="isotonic", max_rounds=200).fit(X, y, Xv, yv)
    m.save(tmp_path / "iso")
    back = BoostedClassifier.load(tmp_path / "iso")
    assert back.calibration == "isotonic"
    np.testing.assert_array_equal(m.predict_proba(Xt), back.predict_proba(Xt))


def test_explainer_is_faithful_and_contributions_have_the_right_shape(platt, data) -> None:
    X, _ = data["train"]
    r2 = platt.fit_explainer(X)
    assert r2 == platt.explainer_r2_
    assert r2 > 0.9
    Xt, _ = data["test"]
    Xt = Xt.set_index(pd.RangeIndex(1000, 1000 + len(Xt)))
    c = platt.contributions(Xt)
    assert c.shape == (len(Xt), len(platt.matrix_.columns))
    assert list(c.columns) == platt.matrix_.columns
    assert c.index.equals(Xt.index)
    assert np.isfinite(c.to_numpy()).all()
    # The signal's direction shows up per customer: more x1 pushes the score up.
    assert spearmanr(Xt["x1"], c["x1"])[0] > 0.9
    assert spearmanr(Xt["x2"], c["x2"])[0] < -0.8
    assert c["noise"].abs().mean() < 0.25 * c["x1"].abs().mean()
    exact = platt.contributions(Xt, exact=True)
    assert exact.shape == c.shape
    assert not np.allclose(exact.to_numpy(), c.to_numpy())
    assert spearmanr(exact["x1"], c["x1"])[0] > 0.9


def test_not_fitted_raises(tmp_path: Path) -> None:
    X = _frame(10, np.random.default_rng(0))
    clf, reg = BoostedClassifier(), BoostedRegressor()
    for call in (
        lambda: clf.predict_proba(X),
        lambda: clf.contributions(X),
        lambda: clf.fit_explainer(X),
        lambda: clf.feature_importance(),
        lambda: clf.save(tmp_path / "x"),
        lambda: reg.predict(X),
    ):
        with pytest.raises(NotFittedError, match="not fitted"):
            call()


def test_one_class_labels_raise(data) -> None:
    X, _ = data["train"]
    with pytest.raises(ValueError, match="one class"):
        BoostedClassifier().fit(X, np.ones(len(X)))
    with pytest.raises(ValueError, match="one class"):
        BoostedClassifier().fit(X, np.zeros(len(X)))


def _counts(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = _frame(n, rng)
    mean = np.exp(-0.5 + 0.8 * X["x1"].to_numpy() + 0.5 * (X["top_category"] == "books"))
    orders = rng.poisson(mean)
    spend = np.where(orders > 0, orders * rng.gamma(4.0, 10.0, size=n), 0.0)
    return X, spend, mean * 40.0


def test_tweedie_regressor_is_non_negative_and_tracks_the_mean(tmp_path: Path) -> None:
    X, y, _ = _counts(5000, 4)
    Xv, yv, _ = _counts(2000, 5)
    Xt, yt, truth = _counts(3000, 6)
    assert (y == 0).mean() > 0.3  # many zeros, as revenue is
    m = BoostedRegressor(seed=0).fit(X, y, Xv, yv)
    pred = m.predict(Xt)
    assert pred.shape == (len(Xt),)
    assert (pred >= 0).all() and np.isfinite(pred).all()
    assert pred.mean() == pytest.approx(yt.mean(), rel=0.1)
    assert spearmanr(pred, truth)[0] > 0.8
    m.save(tmp_path / "reg")
    back = BoostedRegressor.load(tmp_path / "reg")
    np.testing.assert_array_equal(pred, back.predict(Xt))


def test_tweedie_rejects_negative_targets() -> None:
    X, y, _ = _counts(200, 7)
    y[0] = -1.0
    with pytest.raises(ValueError, match="non-negative"):
        BoostedRegressor().fit(X, y)


def test_feature_matrix_keeps_columns_and_categories() -> None:
    df = pd.DataFrame(
        {
            "user_id": ["a", "b", "c"],
            "n": [1, 2, 3],
            "flag": [True, False, True],
            "cat": ["x", None, "y"],
            "when": pd.to_datetime(["2024-01-01"] * 3),
        }
    )
    fm = FeatureMatrix.learn(df, exclude={"user_id"})
    assert fm.columns == ["n", "flag", "cat"]
    assert fm.categories == {"cat": ["x", "y"]}
    new = pd.DataFrame({"cat": ["y", "z"], "n": [5, None], "extra": [1, 2]})
    M = fm.transform(new)
    assert list(M.columns) == ["n", "flag", "cat"]
    assert M["n"].dtype == "float64" and np.isnan(M.loc[1, "n"])
    assert M["flag"].isna().all()  # a column the frame lacks is missing, not an error
    assert list(M["cat"].cat.categories) == ["x", "y"]
    assert M["cat"].cat.codes.tolist() == [1, -1]  # unseen "z" is NaN
    assert FeatureMatrix(**fm.to_json()).transform(new).equals(M)
