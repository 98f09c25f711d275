"""Rolling-origin cutoffs, CLI cutoff parsing and the per-model backtest summary."""

from __future__ import annotations

import datetime as dt
import itertools
import math

import pandas as pd
import pytest

from liucun.evaluate import parse_cutoffs, rolling_cutoffs, summarise_backtest

D = dt.date


def test_rolling_cutoffs_fit_label_window() -> None:
    first, last = D(2023, 1, 1), D(2025, 1, 1)
    cuts = rolling_cutoffs(first, last, horizon_days=90, n=4)
    assert cuts == sorted(cuts) and len(cuts) == 4
    assert cuts[-1] == last - dt.timedelta(days=90)
    assert all(c + dt.timedelta(days=90) <= last for c in cuts)
    # Default step is the horizon: label windows do not overlap.
    assert all((b - a).days == 90 for a, b in itertools.pairwise(cuts))


def test_rolling_cutoffs_step_and_min_history() -> None:
    first, last = D(2024, 1, 1), D(2024, 12, 31)
    cuts = rolling_cutoffs(first, last, horizon_days=30, n=50, step_days=30)
    assert cuts[0] >= first + dt.timedelta(days=90)
    assert cuts[-1] == D(2024, 12, 1)
    assert all((b - a).days == 30 for a, b in itertools.pairwise(cuts))
    assert len(cuts) < 50  # the rest would lack history
    tight = rolling_cutoffs(first, last, horizon_days=30, n=50, step_days=30, min_history_days=0)
    assert len(tight) > len(cuts) and tight[0] >= first


def test_rolling_cutoffs_none_fit() -> None:
    with pytest.raises(ValueError, match="no backtest cutoff fits"):
        rolling_cutoffs(D(2024, 1, 1), D(2024, 4, 1), horizon_days=90, n=3)
    with pytest.raises(ValueError, match="step_days"):
        rolling_cutoffs(D(2020, 1, 1), D(2024, 4, 1), horizon_days=90, n=3, step_days=0)
    with pytest.raises(ValueError, match="n must"):
        rolling_cutoffs(D(2020, 1, 1), D(2024, 4, 1), horizon_days=90, n=0)


def test_rolling_cutoffs_exact_fit() -> None:
    first = D(2024, 1, 1)
    last = first + dt.timedelta(days=90 + 60)
    assert rolling_cutoffs(first, last, horizon_days=60, n=3) == [first + dt.timedelta(days=90)]


def test_parse_cutoffs() -> None:
    assert parse_cutoffs("2024-09-01, 2024-06-01,2024-06-01,") == [D(2024, 6, 1), D(2024, 9, 1)]
    with pytest.raises(ValueError, match="2024-13-01"):
        parse_cutoffs("2024-06-01,2024-13-01")
    with pytest.raises(ValueError, match="no cutoff"):
        parse_cutoffs(" , ")


def test_summarise_backtest() -> None:
    rows = [
        {"cutoff": D(2024, 6, 1), "model": "gbm", "roc_auc": 0.80, "lift_top10": 3.0},
        {"cutoff": D(2024, 6, 1), "model": "baseline", "roc_auc": 0.70, "lift_top10": 2.0},
        {"cutoff": D(2024, 9, 1), "model": "gbm", "roc_auc": 0.70, "lift_top10": float("nan")},
        {"cutoff": D(2024, 9, 1), "model": "baseline", "roc_auc": 0.60, "lift_top10": 2.5},
    ]
    t = summarise_backtest(rows)
    assert list(t.columns) == ["model", "cutoffs", "roc_auc", "lift_top10"]
    assert t["model"].tolist() == ["gbm", "baseline"]
    assert t["cutoffs"].tolist() == [2, 2]
    assert t["roc_auc"].tolist() == pytest.approx([0.75, 0.65])
    assert t["lift_top10"].tolist() == pytest.approx([3.0, 2.25])  # NaN fold skipped


def test_summarise_backtest_edge_cases() -> None:
    assert list(summarise_backtest([]).columns) == ["model", "cutoffs"]
    with pytest.raises(ValueError, match="model"):
        summarise_backtest([{"cutoff": D(2024, 1, 1), "roc_auc": 0.5}])
    t = summarise_backtest([{"model": "m", "mae": 1.0}, {"model": "m", "mae": 3.0}])
    assert t.loc[0, "cutoffs"] == 2 and t.loc[0, "mae"] == 2.0
    assert isinstance(t, pd.DataFrame) and not math.isnan(t.loc[0, "mae"])
