"""Gamma-Gamma spend (Fader & Hardie 2013): mean spend per customer, shrunk to the population's."""

from __future__ import annotations

import math
from typing import Self

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import gammaln

from liucun.models.btyd._base import (
    FloatArray,
    _as_float,
    _BTYDBase,
    _check_weights,
    _fit_log_params,
)
from liucun.models.btyd.bgnbd import BetaGeoModel
from liucun.models.btyd.paretonbd import ParetoNBDModel

TransactionModel = BetaGeoModel | ParetoNBDModel


class GammaGammaModel(_BTYDBase):
    """Gamma-Gamma spend: each transaction ~ gamma(p, nu), nu ~ gamma(q, v) across customers.

    Shrinks a customer's observed mean spend toward the population mean, more so when they
    have few transactions. Assumes spend is independent of purchase frequency.

    Parameters
    ----------
    penalizer
        L2 weight on the log-parameters (``v`` in units of the mean observed spend).
    """

    _param_names = ("p", "q", "v")

    @staticmethod
    def _loglik(p: float, q: float, v: float, x: FloatArray, m: FloatArray) -> FloatArray:
        # density of the mean zbar of x transactions (Fader & Hardie 2013, eq. 3)
        px = p * x
        return (
            gammaln(px + q)
            - gammaln(px)
            - gammaln(q)
            + q * math.log(v)
            + (px - 1.0) * np.log(m)
            + px * np.log(x)
            - (px + q) * np.log(v + x * m)
        )

    @staticmethod
    def _check_spend(
        frequency: ArrayLike, monetary_value: ArrayLike, *, broadcast: bool
    ) -> tuple[FloatArray, FloatArray]:
        x = _as_float("frequency", frequency, one_d=not broadcast)
        m = np.atleast_1d(np.asarray(monetary_value, dtype=float))
        if not broadcast and m.ndim != 1:
            raise ValueError(f"monetary_value must be one-dimensional, got shape {m.shape}")
        if broadcast:
            try:
                x, m = np.broadcast_arrays(x, m)
            except ValueError as exc:
                raise ValueError("frequency and monetary_value have incompatible shapes") from exc
        elif x.shape != m.shape:
            raise ValueError(
                f"frequency and monetary_value must have the same length, got "
                f"{x.shape[0]}, {m.shape[0]}"
            )
        if x.size == 0:
            raise ValueError("no customers given (empty input)")
        if np.any(x != np.floor(x)):
            raise ValueError("frequency must be whole numbers (counts of repeat purchases)")
        buyers = x > 0
        if not np.all(np.isfinite(m[buyers])) or np.any(m[buyers] <= 0):
            raise ValueError("monetary_value must be finite and > 0 where frequency > 0")
        return x.astype(float), np.where(buyers, m, 0.0)

    def fit(
        self, frequency: ArrayLike, monetary_value: ArrayLike, weights: ArrayLike | None = None
    ) -> Self:
        """Fit p, q, v on customers with frequency > 0 (monetary_value: their mean repeat spend)."""
        x, m = self._check_spend(frequency, monetary_value, broadcast=False)
        w = _check_weights(weights, x.size)
        pen = self._check_penalizer()
        keep = (x > 0) & (w > 0)
        if not keep.any():
            raise ValueError("Gamma-Gamma needs at least one customer with frequency > 0")
        x, m, w = x[keep], m[keep], w[keep]
        scale = float(np.average(m, weights=w))
        ms = m / scale
        wn = w / w.sum()

        def nll(theta: FloatArray) -> float:
            p, q, v = np.exp(theta)
            return -float(wn @ self._loglik(p, q, v, x, ms)) + pen * float(theta @ theta)

        # mean spend = p*v/(q-1) = 1 in scaled units: pick v to match for each (p, q) guess
        starts = [
            [0.0, math.log(2.0), 0.0],
            [math.log(5.0), math.log(4.0), math.log(0.6)],
            [math.log(0.5), math.log(1.5), 0.0],
        ]
        res = _fit_log_params(nll, starts)
        p, q, v = np.exp(res.x)
        v *= scale
        self.params_ = {"p": float(p), "q": float(q), "v": float(v)}
        self.log_likelihood_ = float(w @ self._loglik(p, q, v, x, m))
        self.n_customers_ = float(w.sum())
        return self

    def expected_average_value(self, frequency: ArrayLike, monetary_value: ArrayLike) -> FloatArray:
        """E[mean spend | x, zbar]: a weighted mix of the population mean p*v/(q-1) and zbar.

        Customers with frequency 0 get the population mean. NaN where the mean does not exist
        (q <= 1 with frequency 0).
        """
        p, q, v = self._params()
        x, m = self._check_spend(frequency, monetary_value, broadcast=True)
        denom = p * x + q - 1.0
        with np.errstate(all="ignore"):
            out = p * (v + x * m) / denom
        return np.where(denom > 0, out, np.nan)

    def expected_revenue(
        self,
        transaction_model: TransactionModel,
        t: ArrayLike,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        monetary_value: ArrayLike,
    ) -> FloatArray:
        """Undiscounted revenue expected in (T, T+t]: expected purchases x expected spend."""
        n = transaction_model.expected_purchases(t, frequency, recency, T)
        return n * self.expected_average_value(frequency, monetary_value)

    def clv(
        self,
        transaction_model: TransactionModel,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        monetary_value: ArrayLike,
        time: int = 12,
        discount_rate: float = 0.0,
        freq_unit_per_time: float = 1.0,
    ) -> FloatArray:
        """Discounted revenue over ``time`` periods of ``freq_unit_per_time`` model time units
        each (e.g. 12 periods of 4.345 for a year in months with a weekly model); purchases in
        period i are discounted by (1 + discount_rate)^i."""
        if time < 1 or freq_unit_per_time <= 0 or discount_rate < 0:
            raise ValueError("time must be >= 1, freq_unit_per_time > 0 and discount_rate >= 0")
        value = self.expected_average_value(frequency, monetary_value)
        total = np.zeros_like(value)
        previous = np.zeros_like(value)
        for i in range(1, int(time) + 1):
            cum = transaction_model.expected_purchases(
                i * freq_unit_per_time, frequency, recency, T
            )
            total = total + (cum - previous) * value / (1.0 + discount_rate) ** i
            previous = cum
        return total
