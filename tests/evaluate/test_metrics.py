"""Metrics against hand-computed small cases and scikit-learn / scipy references."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from liucun.evaluate import (
    calibration_svg,
    calibration_table,
    classification_metrics,
    expected_calibration_error,
    lift_capture,
    lift_curve,
    lift_svg,
    psi,
    psi_table,
    regression_metrics,
    top_share,
)

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def scored() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    p = rng.uniform(size=2_000)
    y = (rng.uniform(size=p.size) < p).astype(int)
    return y, p


# classification -------------------------------------------------------------------------


def test_classification_matches_sklearn(scored: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = scored
    m = classification_metrics(y, pd.Series(p))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, p))
    assert m["pr_auc"] == pytest.approx(average_precision_score(y, p))
    assert m["brier"] == pytest.approx(brier_score_loss(y, p))
    assert m["log_loss"] == pytest.approx(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    assert m["base_rate"] == pytest.approx(y.mean())
    assert m["n"] == y.size


def test_classification_hand_example() -> None:
    m = classification_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert m["roc_auc"] == pytest.approx(0.75)
    assert m["brier"] == pytest.approx((0.01 + 0.16 + 0.4225 + 0.04) / 4)
    assert m["base_rate"] == 0.5


def test_classification_one_class_is_nan_not_crash() -> None:
    m = classification_metrics([0, 0, 0], [0.1, 0.2, 0.0])
    assert math.isnan(m["roc_auc"]) and math.isnan(m["pr_auc"])
    assert m["brier"] == pytest.approx((0.01 + 0.04) / 3)
    assert math.isfinite(m["log_loss"])  # p = 0 for a negative is clipped, not -inf
    assert m["base_rate"] == 0.0


def test_classification_log_loss_clipped_and_empty() -> None:
    assert math.isfinite(classification_metrics([1, 0], [0.0, 1.0])["log_loss"])
    empty = classification_metrics([], [])
    assert empty["n"] == 0 and math.isnan(empty["roc_auc"])


def test_classification_drops_missing_scores() -> None:
    m = classification_metrics([0, 1, 1], [0.2, 0.9, np.nan])
    assert m["n"] == 2 and m["roc_auc"] == 1.0


# calibration ----------------------------------------------------------------------------


def test_calibration_table_hand_example() -> None:
    y = [0, 0, 1, 0, 1, 1]
    p = [0.1, 0.1, 0.1, 0.9, 0.9, 0.9]
    t = calibration_table(y, p, bins=2)
    assert list(t.columns) == ["bin", "p_mean", "observed_rate", "count"]
    assert t["count"].tolist() == [3, 3]
    assert t["p_mean"].tolist() == pytest.approx([0.1, 0.9])
    assert t["observed_rate"].tolist() == pytest.approx([1 / 3, 2 / 3])
    ece = expected_calibration_error(y, p, bins=2)
    assert ece == pytest.approx((abs(0.1 - 1 / 3) + abs(0.9 - 2 / 3)) / 2)


def test_calibration_quantile_bins_are_balanced(scored: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = scored
    t = calibration_table(y, p, bins=10)
    assert len(t) == 10 and t["count"].sum() == y.size
    assert t["count"].between(195, 205).all()
    assert t["p_mean"].is_monotonic_increasing
    # Labels drawn from p are calibrated by construction.
    assert expected_calibration_error(y, p) < 0.05
    assert expected_calibration_error(y, p**3) > 0.1


def test_calibration_uniform_and_ties() -> None:
    t = calibration_table([0, 1, 0, 1], [0.05, 0.05, 0.95, 0.95], bins=10, strategy="uniform")
    assert t["bin"].tolist() == [0, 9]
    assert len(calibration_table([0, 1, 1], [0.3, 0.3, 0.3], bins=5)) == 1
    with pytest.raises(ValueError, match="strategy"):
        calibration_table([0], [0.5], strategy="width")


# ranking --------------------------------------------------------------------------------


def test_lift_capture_perfect_ranking() -> None:
    y = np.r_[np.ones(25), np.zeros(75)]
    m = lift_capture(y, y)
    # top 5 and top 10 are all positives; top 20 holds 20 of the 25 positives.
    assert m["capture_top5"] == pytest.approx(5 / 25)
    assert m["capture_top10"] == pytest.approx(10 / 25)
    assert m["capture_top20"] == pytest.approx(20 / 25)
    assert m["lift_top10"] == pytest.approx(1 / 0.25)
    y_rare = np.r_[np.ones(4), np.zeros(96)]
    assert lift_capture(y_rare, y_rare, (0.10,))["capture_top10"] == 1.0


def test_lift_capture_ties_are_stable() -> None:
    # All scores tie: the top 2 are the first two rows, as given.
    m = lift_capture([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0], np.zeros(20))
    assert m["capture_top10"] == 0.5 and m["lift_top10"] == pytest.approx(5.0)


def test_lift_capture_random_score_lift_near_one() -> None:
    rng = np.random.default_rng(0)
    y = rng.uniform(size=200_000) < 0.1
    m = lift_capture(y, rng.uniform(size=y.size))
    for key in ("lift_top5", "lift_top10", "lift_top20"):
        assert m[key] == pytest.approx(1.0, abs=0.06)


def test_lift_capture_no_positives_and_keys() -> None:
    m = lift_capture([0, 0, 0], [0.1, 0.2, 0.3], (0.025, 0.5))
    assert set(m) == {"capture_top2_5", "lift_top2_5", "capture_top50", "lift_top50"}
    assert all(math.isnan(v) for v in m.values())


def test_top_share_and_oracle() -> None:
    revenue = np.array([100.0, 0, 0, 0, 0, 0, 0, 0, 0, 50, 10, 10, 10, 10, 10, 0, 0, 0, 0, 0])
    score = np.arange(20)[::-1]  # ranks row 0 first, row 1 second, ...
    assert top_share(revenue, score, 0.10) == pytest.approx(100 / 200)
    assert top_share(revenue, revenue, 0.10) == pytest.approx(150 / 200)
    assert math.isnan(top_share(np.zeros(5), np.arange(5)))


def test_lift_curve_shape_and_end_point(scored: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = scored
    c = lift_curve(y, p, points=20)
    assert list(c.columns) == ["fraction", "capture", "lift"] and len(c) == 20
    assert c["capture"].is_monotonic_increasing
    assert c["capture"].iloc[-1] == pytest.approx(1.0) and c["lift"].iloc[-1] == pytest.approx(1)
    top10 = lift_capture(y, p, (0.10,))
    row = c.loc[np.isclose(c["fraction"], 0.10)].iloc[0]
    assert row["capture"] == pytest.approx(top10["capture_top10"])
    assert row["lift"] == pytest.approx(top10["lift_top10"])


# regression -----------------------------------------------------------------------------


def test_regression_metrics_hand_example() -> None:
    y, q = [1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 2.0, 6.0]
    m = regression_metrics(y, q)
    assert m["mae"] == pytest.approx((1 + 0 + 1 + 2) / 4)
    assert m["rmse"] == pytest.approx(math.sqrt((1 + 0 + 1 + 4) / 4))
    assert m["spearman"] == pytest.approx(stats.spearmanr(y, q).statistic)
    assert m["pearson"] == pytest.approx(np.corrcoef(y, q)[0, 1])
    assert m["sum_ratio"] == pytest.approx(12 / 10)


def test_regression_metrics_constant_is_nan() -> None:
    m = regression_metrics([1.0, 2.0, 3.0], [5.0, 5.0, 5.0])
    assert math.isnan(m["spearman"]) and math.isnan(m["pearson"])
    assert m["mae"] == pytest.approx(3.0)
    assert math.isnan(regression_metrics([0.0, 0.0], [1.0, 2.0])["sum_ratio"])


# stability ------------------------------------------------------------------------------


def test_psi_identical_and_shifted() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(size=5_000)
    assert psi(a, a) == pytest.approx(0.0, abs=1e-12)
    assert psi(a, rng.normal(size=5_000)) < 0.02
    assert psi(a, a + 1.0) > 0.2


def test_psi_hand_example_and_nan_bin() -> None:
    # Two bins split at the median 2.5: expected 50/50, actual 25/75.
    e, a = [1, 2, 3, 4], [1, 3, 4, 5]
    assert psi(e, a, bins=2) == pytest.approx((0.25 - 0.5) * math.log(0.5) + 0.25 * math.log(1.5))
    # Missing values fill a bin of their own: all-missing "actual" is a large shift.
    assert psi([1.0, 2.0, 3.0, 4.0], [np.nan] * 4, bins=2) > 1.0
    assert psi([1.0, np.nan], [1.0, np.nan]) == pytest.approx(0.0)


def test_psi_categorical() -> None:
    e = pd.Series(["a"] * 50 + ["b"] * 50)
    assert psi(e, e) == pytest.approx(0.0)
    assert psi(e, pd.Series(["a"] * 90 + ["b"] * 10)) > 0.2


def test_psi_table_sorted() -> None:
    rng = np.random.default_rng(2)
    before = pd.DataFrame({"stable": rng.normal(size=3_000), "moved": rng.normal(size=3_000)})
    after = pd.DataFrame(
        {"stable": rng.normal(size=3_000), "moved": rng.normal(2, size=3_000), "new": 1}
    )
    t = psi_table(before, after)
    assert list(t.columns) == ["feature", "psi"]
    assert t["feature"].tolist() == ["moved", "stable"]
    assert t["psi"].is_monotonic_decreasing
    assert psi_table(before, after, ["stable"])["feature"].tolist() == ["stable"]


# plots ----------------------------------------------------------------------------------


def test_svgs_parse_and_escape(scored: tuple[np.ndarray, np.ndarray]) -> None:
    y, p = scored
    cal = calibration_svg(
        {"gbm <v2> & co": calibration_table(y, p), "empty": calibration_table([], [])}
    )
    lift = lift_svg({"gbm": lift_curve(y, p), "random": lift_curve(y, np.zeros(y.size))})
    single = calibration_svg(calibration_table(y, p))
    for svg in (cal, lift, single):
        assert svg.startswith("<svg")
        root = ET.fromstring(svg)
        assert root.tag == f"{SVG}svg"
        assert root.findall(f".//{SVG}polyline")
        texts = [t.text for t in root.iter(f"{SVG}text")]
        assert "0.2" in texts and "1.0" in texts
    assert "gbm <v2> & co" in [t.text for t in ET.fromstring(cal).iter(f"{SVG}text")]
    assert "random" in [t.text for t in ET.fromstring(lift).iter(f"{SVG}text")]
