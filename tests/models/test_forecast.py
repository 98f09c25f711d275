"""Demand forecasters: the estimator contract, non-negative forecasts, intervals around
them, determinism, and that each baseline computes what its name says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from liucun.models.forecast import (
    BASELINES,
    Conformal,
    Croston,
    DemandGBM,
    MovingAverage,
    SeasonalNaive,
    WeekdayMean,
)
from liucun.models.forecast.calendar import calendar_features

ORIGIN = pd.Timestamp("2024-07-01")
WEEKLY = np.array([0.6, 0.7, 0.8, 0.9, 1.0, 1.6, 1.4])


def history(items: int = 24, days: int = 180, seed: int = 0) -> pd.DataFrame:
    """Poisson sales with a weekly pattern and item levels from 0.05 to 3 a day."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(end=ORIGIN - pd.Timedelta(days=1), periods=days, freq="D")
    level = np.geomspace(0.05, 3.0, items)
    lam = level[:, None] * WEEKLY[dates.day_of_week][None, :]
    y = rng.poisson(lam)
    df = pd.DataFrame(
        {
            "item_id": np.repeat([f"i{i:02d}" for i in range(items)], days),
            "date": np.tile(dates, items),
            "units": y.ravel().astype(float),
            "price": 10.0,
        }
    )
    return df[df["units"] > 0].reset_index(drop=True)


def small_gbm(**kw) -> DemandGBM:
    return DemandGBM(horizon=14, n_estimators=40, max_origins=12, **kw)


@pytest.fixture(scope="module")
def fitted() -> tuple[DemandGBM, pd.DataFrame]:
    h = history()
    return small_gbm().fit(h, ORIGIN), h


def test_gbm_forecasts_are_non_negative_with_intervals_around_them(fitted) -> None:
    model, h = fitted
    p = model.predict()
    assert list(p.columns) == ["item_id", "date", "forecast", "lo", "hi", "sd"]
    assert len(p) == 24 * 14 and p["date"].min() == ORIGIN
    assert (p[["forecast", "lo", "hi", "sd"]] >= 0).all().all()
    assert (p["lo"] <= p["forecast"] + 1e-12).all() and (p["forecast"] <= p["hi"] + 1e-12).all()
    assert model.stats_["model"] == "lightgbm_tweedie" and model.stats_["calibration_rows"] > 0
    # It learned the levels: forecast totals track the items' recent means.
    recent = h[h["date"] >= ORIGIN - pd.Timedelta(days=28)].groupby("item_id")["units"].sum() / 28
    mean_f = p.groupby("item_id")["forecast"].mean()
    assert np.corrcoef(mean_f.reindex(recent.index), recent)[0, 1] > 0.9
    # ... and the week: Saturdays above Mondays for the busiest items.
    top = p[p["item_id"].isin(recent.nlargest(5).index)]
    by_day = top.groupby(top["date"].dt.day_of_week)["forecast"].mean()
    assert by_day[5] > by_day[0]
    # Wider intervals at a higher level.
    wide = model.predict(interval=0.95)
    assert (wide["hi"] - wide["lo"] >= p["hi"] - p["lo"] - 1e-9).all()


def test_gbm_contract(fitted, tmp_path: Path) -> None:
    model, h = fitted
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    with pytest.raises(NotFittedError):
        copy.predict()
    again = small_gbm().fit(h, ORIGIN)
    pd.testing.assert_frame_equal(again.predict(), model.predict())
    loaded = DemandGBM.load(model.save(tmp_path / "m"))
    pd.testing.assert_frame_equal(loaded.predict(), model.predict())


def test_gbm_short_history_falls_back() -> None:
    h = history(items=3, days=20)
    m = small_gbm().fit(h, ORIGIN)
    p = m.predict()
    assert m.fallback_ and m.stats_["model"].startswith("moving_average")
    assert (p["lo"] <= p["forecast"]).all() and (p["forecast"] <= p["hi"]).all()


def test_gbm_ignores_rows_at_or_after_the_origin(fitted) -> None:
    model, h = fitted
    later = history(days=200, seed=5)
    later = later[later["date"] >= ORIGIN].assign(units=lambda d: d["units"] * 50)
    m = small_gbm().fit(pd.concat([h, later], ignore_index=True), ORIGIN)
    pd.testing.assert_frame_equal(m.predict(), model.predict())


def test_baselines_compute_what_they_say() -> None:
    dates = pd.date_range(end=ORIGIN - pd.Timedelta(days=1), periods=28, freq="D")
    units = np.arange(28, dtype=float) + 1  # 1..28
    h = pd.DataFrame({"item_id": "x", "date": dates, "units": units})
    sn = SeasonalNaive().fit(h, ORIGIN).predict(10)["forecast"].to_numpy()
    assert sn.tolist() == [22, 23, 24, 25, 26, 27, 28, 22, 23, 24]
    assert MovingAverage().fit(h, ORIGIN).predict(3)["forecast"].tolist() == [14.5] * 3
    wd = WeekdayMean().fit(h, ORIGIN).predict(8)["forecast"].to_numpy()
    assert wd[0] == np.mean([1, 8, 15, 22]) and wd[7] == wd[0]  # same weekday as the origin
    # TSB: a series that stopped selling decays towards zero; SBA keeps its last level.
    stop = h.assign(units=np.r_[np.ones(14), np.zeros(14)])
    tsb = Croston().fit(stop, ORIGIN).predict(1)["forecast"].iloc[0]
    sba = Croston(variant="sba").fit(stop, ORIGIN).predict(1)["forecast"].iloc[0]
    assert 0 < tsb < 0.3 and sba == pytest.approx(0.95)


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_every_baseline_is_non_negative_and_deterministic(name: str) -> None:
    h = history(items=4, days=60)
    a = BASELINES[name]().fit(h, ORIGIN).predict(9)
    b = BASELINES[name]().fit(h, ORIGIN).predict(9)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 36 and (a["forecast"] >= 0).all() and a["forecast"].sum() > 0
    with pytest.raises(NotFittedError):
        BASELINES[name]().predict(3)


def test_conformal_covers_its_level() -> None:
    rng = np.random.default_rng(1)
    f = rng.uniform(0.1, 5, 20_000)
    y = rng.poisson(f)
    step = rng.integers(0, 28, len(f))
    c = Conformal(f[:10_000], y[:10_000], step[:10_000])
    lo, hi, sd = c.bounds(f[10_000:], step[10_000:], 0.8)
    inside = (y[10_000:] >= lo) & (y[10_000:] <= hi)
    assert 0.75 < inside.mean() < 0.95
    assert (sd > 0).all()
    empty = Conformal(np.array([]), np.array([]), np.array([]))
    assert empty.fallback and (empty.bounds(f[:5], step[:5], 0.8)[1] >= f[:5]).all()


def test_calendar_features() -> None:
    cal = calendar_features(pd.DatetimeIndex(["2024-11-10", "2024-11-11", "2024-02-10"]))
    assert cal["d_1111"].tolist() == [-1, 0, 45]
    assert cal["d_cny"].iloc[2] == 0 and cal["weekday"].iloc[1] == 0  # 11.11.2024: a Monday
