"""Demand forecasting: liucun's global LightGBM model and the baselines it is measured
against, all fitted on a long ``item_id, date, units`` frame (see ``base``)."""

from liucun.models.forecast.base import Conformal, Forecaster, Panel, to_long
from liucun.models.forecast.baselines import (
    BASELINES,
    ETS,
    Croston,
    MovingAverage,
    SeasonalNaive,
    WeekdayMean,
)
from liucun.models.forecast.gbm import DemandGBM

__all__ = [
    "BASELINES",
    "ETS",
    "Conformal",
    "Croston",
    "DemandGBM",
    "Forecaster",
    "MovingAverage",
    "Panel",
    "SeasonalNaive",
    "WeekdayMean",
    "to_long",
]
