"""Time-based backtests and the metrics that judge models on them."""

from __future__ import annotations

from liucun.evaluate.drift import psi, psi_table
from liucun.evaluate.metrics import (
    calibration_table,
    classification_metrics,
    expected_calibration_error,
    lift_capture,
    lift_curve,
    regression_metrics,
    top_share,
)
from liucun.evaluate.plots import calibration_svg, lift_svg
from liucun.evaluate.ranking import ranking_metrics, recommendation_lists
from liucun.evaluate.splits import parse_cutoffs, rolling_cutoffs, summarise_backtest

__all__ = [
    "calibration_svg",
    "calibration_table",
    "classification_metrics",
    "expected_calibration_error",
    "lift_capture",
    "lift_curve",
    "lift_svg",
    "parse_cutoffs",
    "psi",
    "psi_table",
    "ranking_metrics",
    "recommendation_lists",
    "regression_metrics",
    "rolling_cutoffs",
    "summarise_backtest",
    "top_share",
]

from liucun.evaluate.uplift import (
    auuc,
    qini_coefficient,
    qini_curve,
    qini_svg,
    true_uplift_gain,
    uplift_by_decile,
)

__all__ += [
    "auuc",
    "qini_coefficient",
    "qini_curve",
    "qini_svg",
    "true_uplift_gain",
    "uplift_by_decile",
]
