"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987): Poisson purchases, exponential lifetimes."""

from __future__ import annotations

import math
from typing import Self

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit, gammaln

from liucun.models.btyd._base import (
    FloatArray,
    _BTYDBase,
    _check_horizon,
    _check_summary,
    _expm1_ratio,
    _log1mexp,
    _log_hyp2f1_1bc,
)


class ParetoNBDModel(_BTYDBase):
    """Pareto/NBD: Poisson purchasing at a gamma(r, alpha) rate, exponential lifetime with a
    gamma(s, beta) dropout rate (dropout can happen at any time, unlike BG/NBD).

    Parameters
    ----------
    penalizer
        L2 weight on the log-parameters (``alpha``, ``beta`` in units of the data's mean
        ``T``); 0 gives the plain MLE.
    """

    _param_names = ("r", "alpha", "s", "beta")

    @staticmethod
    def _log_a0(
        r: float, alpha: float, s: float, beta: float, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        """log A0 of Fader & Hardie (2005) eq. 19-20, i.e. log of
        (r+s+x) * integral_{tx}^{T} (alpha+u)^-(r+x) (beta+u)^-(s+1) du.

        A0 = F(tx) - F(T) with F(y) = 2F1(m, b; m+1; z(y)) / (max(alpha,beta)+y)^m, m = r+s+x,
        z = |alpha-beta|/(max+y) (the branch keeps z in [0,1)). Euler's transform
        2F1(m, b; m+1; z) = (1-z)^(1-b) 2F1(1, m+1-b; m+1; z) leaves a series of positive terms
        bounded by 1/(1-z), so F is computed in logs with no overflow however large x is.
        """
        m = r + s + x
        hi, lo = max(alpha, beta), min(alpha, beta)
        b = s + 1.0 if alpha >= beta else r + x
        c_minus_b = m + 1.0 - b

        def log_f(y: FloatArray) -> FloatArray:
            log_hi, log_lo = np.log(hi + y), np.log(lo + y)
            z = (hi - lo) / (hi + y)
            return (
                (1.0 - b) * (log_lo - log_hi) + _log_hyp2f1_1bc(c_minus_b, m + 1.0, z) - m * log_hi
            )

        l_tx = log_f(tx)
        return l_tx + _log1mexp(log_f(T) - l_tx)

    @classmethod
    def _loglik(
        cls,
        r: float,
        alpha: float,
        s: float,
        beta: float,
        x: FloatArray,
        tx: FloatArray,
        T: FloatArray,
    ) -> FloatArray:
        common = gammaln(r + x) - gammaln(r) + r * math.log(alpha) + s * math.log(beta)
        alive_to_t = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        died = math.log(s) - np.log(r + s + x) + cls._log_a0(r, alpha, s, beta, x, tx, T)
        return common + np.logaddexp(alive_to_t, died)

    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> Self:
        """Fit r, alpha, s, beta by maximum likelihood; ``weights`` counts identical customers."""
        return self._fit_repeat_model(
            frequency,
            recency,
            T,
            weights,
            lambda rate: [
                [0.0, -math.log(rate), 0.0, 0.0],
                [math.log(0.5), math.log(0.5 / rate), math.log(0.5), 0.0],
                [math.log(3.0), math.log(3.0 / rate), math.log(2.0), math.log(3.0)],
            ],
            scaled=(1, 3),
        )

    def log_likelihood(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """Per-customer log-likelihood under the fitted parameters."""
        r, alpha, s, beta = self._params()
        x, tx, t_obs = _check_summary(frequency, recency, T, broadcast=True)
        return self._loglik(r, alpha, s, beta, x, tx, t_obs)

    def _p_alive_arrays(self, x: FloatArray, tx: FloatArray, T: FloatArray) -> FloatArray:
        r, alpha, s, beta = self._params()
        log_odds_dead = (
            math.log(s)
            - np.log(r + s + x)
            + (r + x) * np.log(alpha + T)
            + s * np.log(beta + T)
            + self._log_a0(r, alpha, s, beta, x, tx, T)
        )
        return expit(-log_odds_dead)

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """P(still active at T | history) (Fader & Hardie 2005, eq. 18)."""
        self._params()
        x, tx, t_obs = _check_summary(frequency, recency, T, broadcast=True)
        return self._p_alive_arrays(x, tx, t_obs)

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """E[repeat purchases in (T, T+t] | history] (Fader & Hardie 2005, eq. 22)."""
        r, alpha, s, beta = self._params()
        horizon = _check_horizon(t)
        x, tx, t_obs = _check_summary(frequency, recency, T, broadcast=True)
        horizon, x, tx, t_obs = np.broadcast_arrays(horizon, x, tx, t_obs)
        # (1 - ((beta+T)/(beta+T+t))^(s-1)) / (s-1), stable through s == 1.
        bracket = _expm1_ratio(1.0 - s, np.log1p(horizon / (beta + t_obs)))
        rate = (r + x) * (beta + t_obs) / (alpha + t_obs)
        return rate * bracket * self._p_alive_arrays(x, tx, t_obs)

    def expected_purchases_new(self, t: ArrayLike) -> FloatArray:
        """E[X(t)] for a customer just acquired."""
        r, alpha, s, beta = self._params()
        horizon = _check_horizon(t)
        return r * beta / alpha * _expm1_ratio(1.0 - s, np.log1p(horizon / beta))
