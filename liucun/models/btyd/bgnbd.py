"""BG/NBD (Fader, Hardie & Lee 2005): Poisson purchases, dropout after a purchase."""

from __future__ import annotations

import math
from typing import Self

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betaln, expit, gammaln

from liucun.models.btyd._base import (
    FloatArray,
    _BTYDBase,
    _check_horizon,
    _check_summary,
    _hyp2f1_checked,
)


class BetaGeoModel(_BTYDBase):
    """BG/NBD: Poisson purchasing at a gamma(r, alpha) rate, dropout with beta(a, b)
    probability after each repeat purchase.

    Parameters
    ----------
    penalizer
        L2 weight on the log-parameters (``alpha`` in units of the data's mean ``T``, so the
        penalty does not depend on the time unit); 0 gives the plain MLE.
    """

    _param_names = ("r", "alpha", "a", "b")

    @staticmethod
    def _loglik(
        r: float, alpha: float, a: float, b: float, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        # log L = log[B(a,b+x)/B(a,b) * G(r+x) a^r / (G(r) (alpha+T)^(r+x))
        #            + 1{x>0} B(a+1,b+x-1)/B(a,b) * G(r+x) a^r / (G(r) (alpha+tx)^(r+x))]
        common = gammaln(r + x) - gammaln(r) + r * math.log(alpha) - betaln(a, b)
        term1 = betaln(a, b + x) - (r + x) * np.log(alpha + T)
        repeat = x > 0
        with np.errstate(all="ignore"):
            term2 = np.where(
                repeat,
                betaln(a + 1.0, np.where(repeat, b + x - 1.0, 1.0)) - (r + x) * np.log(alpha + tx),
                -np.inf,
            )
        return common + np.logaddexp(term1, term2)

    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> Self:
        """Fit r, alpha, a, b by maximum likelihood; ``weights`` counts identical customers."""
        return self._fit_repeat_model(
            frequency,
            recency,
            T,
            weights,
            lambda rate: [
                [0.0, -math.log(rate), 0.0, 0.0],
                [math.log(0.3), math.log(0.3 / rate), math.log(0.8), math.log(2.5)],
                [math.log(3.0), math.log(3.0 / rate), math.log(2.0), math.log(6.0)],
            ],
            scaled=(1,),
        )

    def log_likelihood(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """Per-customer log-likelihood under the fitted parameters (for checks and model choice)."""
        r, alpha, a, b = self._params()
        x, tx, t_obs = _check_summary(frequency, recency, T, broadcast=True)
        return self._loglik(r, alpha, a, b, x, tx, t_obs)

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """P(still active at T | history); exactly 1 with no repeat purchase (BG/NBD assumption:
        dropout can only happen right after a purchase)."""
        r, alpha, a, b = self._params()
        x, tx, t_obs = _check_summary(frequency, recency, T, broadcast=True)
        return self._p_alive(r, alpha, a, b, x, tx, t_obs)

    @staticmethod
    def _p_alive(
        r: float, alpha: float, a: float, b: float, x: FloatArray, tx: FloatArray, T: FloatArray
    ) -> FloatArray:
        repeat = x > 0
        with np.errstate(all="ignore"):
            log_odds_dead = (
                math.log(a)
                - np.log(np.where(repeat, b + x - 1.0, 1.0))
                + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
            )
        return np.where(repeat, expit(-log_odds_dead), 1.0)

    @staticmethod
    def _bracket(a: float, b: float, r: float, x: FloatArray, z: FloatArray) -> FloatArray:
        """(1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)) / (a-1), the Euler-transformed form
        of the paper's (1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)): its
        first two hypergeometric parameters no longer grow with x, so it stays finite."""
        if abs(a - 1.0) < 1e-7:  # removable singularity at a == 1
            a = 1.0 + math.copysign(1e-7, a - 1.0)
        f = _hyp2f1_checked(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z)
        return -np.expm1((a - 1.0) * np.log1p(-z) + np.log(np.maximum(f, 1e-300))) / (a - 1.0)

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """E[repeat purchases in (T, T+t] | frequency, recency, T]: the ranking signal for
        who will buy next (eq. 10 of Fader, Hardie & Lee 2005)."""
        r, alpha, a, b = self._params()
        horizon = _check_horizon(t)
        x, tx, t_obs = _check_summary(frequency, recency, T, broadcast=True)
        horizon, x, tx, t_obs = np.broadcast_arrays(horizon, x, tx, t_obs)
        z = horizon / (alpha + t_obs + horizon)
        alive = self._p_alive(r, alpha, a, b, x, tx, t_obs)
        return (a + b + x - 1.0) * self._bracket(a, b, r, x, z) * alive

    def expected_purchases_new(self, t: ArrayLike) -> FloatArray:
        """E[X(t)] for a customer just acquired: for budgeting on new cohorts."""
        r, alpha, a, b = self._params()
        horizon = _check_horizon(t)
        z = horizon / (alpha + horizon)
        return (a + b - 1.0) * self._bracket(a, b, r, np.zeros_like(z), z)
