"""The baselines liucun's forecaster is measured against (and falls back to).

Each predicts from the item x day panel alone: seasonal naive (the same weekday a week
ago), the mean of the last 28 days, the mean of the same weekday over the last 4 weeks,
Croston-style intermittent demand (TSB by default) and exponential smoothing (ETS, one
statsmodels model per series: a baseline only, seconds per hundred series).
"""

from __future__ import annotations

import warnings

import numpy as np

from liucun.errors import LiucunError
from liucun.models.forecast.base import Forecaster, Panel


def _tail(y: np.ndarray, days: int) -> np.ndarray:
    """The last ``days`` columns, zero-padded on the left when the panel is shorter."""
    if y.shape[1] >= days:
        return y[:, y.shape[1] - days :]
    return np.hstack([np.zeros((y.shape[0], days - y.shape[1])), y])


class SeasonalNaive(Forecaster):
    """Day t forecast = the units of day t - period (repeating the last period)."""

    def __init__(self, period: int = 7) -> None:
        self.period = period

    def _fit_panel(self, panel: Panel) -> None:
        self.last_ = _tail(panel.units, self.period)

    def _predict_matrix(self, horizon: int) -> np.ndarray:
        return self.last_[:, np.arange(horizon) % self.period]


class MovingAverage(Forecaster):
    """Every day's forecast = the mean daily units of the last ``window`` days."""

    def __init__(self, window: int = 28) -> None:
        self.window = window

    def _fit_panel(self, panel: Panel) -> None:
        self.level_ = _tail(panel.units, self.window).mean(axis=1)

    def _predict_matrix(self, horizon: int) -> np.ndarray:
        return np.repeat(self.level_[:, None], horizon, axis=1)


class WeekdayMean(Forecaster):
    """Day t forecast = the mean of the same weekday over the last ``weeks`` weeks."""

    def __init__(self, weeks: int = 4) -> None:
        self.weeks = weeks

    def _fit_panel(self, panel: Panel) -> None:
        y = _tail(panel.units, 7 * self.weeks)
        # Column p of the tail falls on the weekday of origin + p (7 * weeks days back).
        self.profile_ = y.reshape(len(y), self.weeks, 7).mean(axis=1)

    def _predict_matrix(self, horizon: int) -> np.ndarray:
        return self.profile_[:, np.arange(horizon) % 7]


class Croston(Forecaster):
    """Intermittent demand: smoothed size of a sale times smoothed chance of one.

    ``variant="tsb"`` (Teunter-Syntetos-Babai) updates the chance every day, so an item
    that stops selling decays to zero; ``"sba"`` is Croston's method with the
    Syntetos-Boylan bias correction (1 - alpha / 2), updated on sale days only.
    """

    def __init__(self, alpha: float = 0.1, beta: float = 0.1, variant: str = "tsb") -> None:
        self.alpha = alpha
        self.beta = beta
        self.variant = variant

    def _fit_panel(self, panel: Panel) -> None:
        if self.variant not in ("tsb", "sba"):
            raise LiucunError(f"Croston variant {self.variant!r}: expected tsb or sba")
        y = panel.units
        n, t_len = y.shape
        sale = y > 0
        first = np.where(sale.any(axis=1), sale.argmax(axis=1), t_len)
        size = np.where(first < t_len, y[np.arange(n), np.minimum(first, t_len - 1)], 0.0)
        prob = np.zeros(n)
        interval = np.ones(n)
        since = np.ones(n)
        a, b = self.alpha, self.beta
        for t in range(t_len):
            on = t >= first
            s = sale[:, t] & on
            size = np.where(s, size + a * (y[:, t] - size), size)
            if self.variant == "tsb":
                prob = np.where(t == first, 1.0, np.where(on, prob + b * (s - prob), prob))
            else:
                interval = np.where(s & (t > first), interval + b * (since - interval), interval)
                since = np.where(s, 1.0, since + 1.0)
        if self.variant == "tsb":
            self.level_ = prob * size
        else:
            self.level_ = np.where(first < t_len, (1 - a / 2) * size / interval, 0.0)

    def _predict_matrix(self, horizon: int) -> np.ndarray:
        return np.repeat(self.level_[:, None], horizon, axis=1)


class ETS(Forecaster):
    """Holt-Winters exponential smoothing per series (additive weekly season, no trend),
    on the last ``history_days``; a series too short or failing to fit gets the 28-day mean.
    """

    def __init__(self, history_days: int = 182, seasonal_periods: int = 7) -> None:
        self.history_days = history_days
        self.seasonal_periods = seasonal_periods

    def _fit_panel(self, panel: Panel) -> None:
        try:
            from statsmodels.tsa.holtwinters import ExponentialSmoothing
        except ImportError:
            raise LiucunError(
                "the ETS baseline needs statsmodels: pip install 'liucun[forecast]'"
            ) from None
        y = _tail(panel.units, min(self.history_days, panel.units.shape[1]))
        self.fits_ = []
        for row in y:
            nz = np.flatnonzero(row)
            series = row[nz[0] :] if len(nz) else row[-0:]
            if len(series) < 2 * self.seasonal_periods + 2 or row.sum() == 0:
                self.fits_.append(float(_tail(row[None], 28).mean()))
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = ExponentialSmoothing(
                        series,
                        trend=None,
                        seasonal="add",
                        seasonal_periods=self.seasonal_periods,
                        initialization_method="estimated",
                    ).fit()
                self.fits_.append(model)
            except (ValueError, np.linalg.LinAlgError):
                self.fits_.append(float(_tail(row[None], 28).mean()))

    def _predict_matrix(self, horizon: int) -> np.ndarray:
        out = np.empty((len(self.fits_), horizon))
        for i, m in enumerate(self.fits_):
            out[i] = m if isinstance(m, float) else np.asarray(m.forecast(horizon))
        return np.nan_to_num(out)


BASELINES: dict[str, type[Forecaster]] = {
    "seasonal_naive": SeasonalNaive,
    "moving_average": MovingAverage,
    "weekday_mean": WeekdayMean,
    "croston": Croston,
    "ets": ETS,
}
