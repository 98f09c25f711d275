"""Contract cases: demand forecasting (issue 20) and price elasticity.

Small seeded synthetic sales; the contract is about mechanics (clone, fit, refit,
unfitted, save/load), not accuracy (tests/models/test_forecast.py and test_elasticity.py
judge that).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from contract_cases import Case, Data
from liucun.models.elasticity import PriceElasticity
from liucun.models.forecast import Croston, DemandGBM, MovingAverage

ORIGIN = pd.Timestamp("2024-07-01")


def _history() -> Data:
    """120 days of Poisson sales of 8 items with a weekly pattern, before ORIGIN."""
    rng = np.random.default_rng(0)
    dates = pd.date_range(end=ORIGIN - pd.Timedelta(days=1), periods=120, freq="D")
    week = np.array([0.7, 0.8, 0.9, 1.0, 1.0, 1.5, 1.3])[dates.day_of_week]
    rows = [
        pd.DataFrame(
            {"item_id": f"i{i}", "date": dates, "units": rng.poisson(level * week).astype(float)}
        )
        for i, level in enumerate(np.linspace(0.2, 3.0, 8))
    ]
    h = pd.concat(rows, ignore_index=True)
    return Data((h[h["units"] > 0].reset_index(drop=True), ORIGIN))


def _sales() -> Data:
    """Daily sales of 4 items in one category with 8 price steps each and promotion days."""
    rng = np.random.default_rng(1)
    dates = pd.date_range("2023-01-01", periods=200, freq="D")
    promo = (rng.random(len(dates)) < 0.08).astype(float)
    rows = []
    for i in range(4):
        shift = np.zeros(len(dates))
        for t in rng.choice(np.arange(20, len(dates)), 8, replace=False):
            shift[t:] += rng.normal(0, 0.15)
        price = np.round(50 * np.exp(shift), 2) * np.where(promo > 0, 0.8, 1.0)
        mu = 3.0 * (price / 50) ** -1.5 * np.exp(0.4 * promo)
        rows.append(
            pd.DataFrame(
                {
                    "item_id": f"a{i}",
                    "category": "a",
                    "date": dates,
                    "units": rng.poisson(mu).astype(float),
                    "price": price,
                }
            )
        )
    daily = pd.concat(rows, ignore_index=True)
    daily = daily[daily["units"] > 0].reset_index(drop=True)
    return Data((daily,), {"day_controls": pd.DataFrame({"date": dates, "promo": promo})})


CASES = [
    Case(
        "demand_gbm",
        lambda: DemandGBM(horizon=7, n_estimators=20, max_origins=6, seed=0, n_jobs=1),
        _history,
        lambda m, d: m.predict(),
    ),
    Case("croston", lambda: Croston(), _history, lambda m, d: m.predict(7)),
    Case("moving_average", lambda: MovingAverage(), _history, lambda m, d: m.predict(7)),
    Case(
        "price_elasticity",
        lambda: PriceElasticity(harmonics=1),
        _sales,
        lambda m, d: m.predict(d.fit_args[0]),
    ),
]
