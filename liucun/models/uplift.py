"""Uplift models: the causal effect of each action on a customer's outcome.

Learned from past campaigns where an action was given or held back (``arm`` treatment or
control). Two estimators on LightGBM base learners, for several actions at once:

- :class:`TLearner`: one outcome model per action and one for the control group; the
  uplift is the difference of their predictions. Simple, and biased where the arms'
  customers differ.
- :class:`DRLearner`: doubly robust (Kennedy's DR-learner). Cross-fitted outcome models
  and propensities give each customer a pseudo-outcome whose mean is the true effect even
  when one of the two is wrong; a final model regresses it on the features. Propensities
  are estimated (logistic regression), so assignment need not be uniform.
- :class:`LiftLearner`: multiplicative effects on a non-negative outcome (orders, spend).
  One baseline model learns how much each customer buys from every arm's rows at once;
  per arm a few shallow boosting rounds start from that baseline and learn only the arm's
  log-multiplier. Campaign effects are mostly "the same customer, a bit more", and the
  multiplier needs far less data than a whole outcome model per arm: on the simulated
  shops it ranks the true effects better than the T- and DR-learners on revenue, whose
  per-arm noise swamps the small effects.

Treatment labels are action names; ``control`` marks the held-back customers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from threadpoolctl import threadpool_limits

from liucun.errors import LiucunError
from liucun.models.base import Estimator
from liucun.models.boosted import FeatureMatrix

CONTROL = "control"
BASE_PARAMS: dict[str, Any] = {
    "objective": "regression",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.8,
    "lambda_l2": 1.0,
    "verbose": -1,
    "deterministic": True,
    "force_col_wise": True,
}


def _check_inputs(X: pd.DataFrame, treatment: Sequence[str], y: np.ndarray) -> np.ndarray:
    t = np.asarray(treatment, dtype=object)
    if not (len(X) == len(t) == len(y)):
        raise ValueError(f"X, treatment and y differ in length: {len(X)}, {len(t)}, {len(y)}")
    if (t == CONTROL).sum() < 10:
        raise ValueError("fewer than 10 control customers: no uplift can be learned")
    return t


def cross_fit(
    params: dict[str, Any], M: pd.DataFrame, y: np.ndarray, rounds: int, folds: int, seed: int
) -> np.ndarray:
    """Out-of-fold predictions of a LightGBM model: each row predicted by a model that
    never saw it, so later stages built on them are not fooled by overfitting."""
    out = np.zeros(len(y))
    log_link = params.get("objective") in ("poisson", "tweedie", "gamma")
    for train, test in KFold(folds, shuffle=True, random_state=seed).split(M):
        if log_link and not (y[train] > 0).any():
            # A fold that saw no outcome predicts none (LightGBM's log-link objectives
            # stop with a fatal error, printed to stderr, on labels that are all zero).
            continue
        d = lgb.Dataset(M.iloc[train], label=y[train])
        out[test] = lgb.train(params, d, num_boost_round=rounds).predict(M.iloc[test])
    return out


class _Base(Estimator):
    """Shared parameters (LightGBM rounds and parameters, seed) and input checks."""

    def __init__(self, rounds: int = 200, params: dict[str, Any] | None = None, seed: int = 0):
        self.rounds = rounds
        self.params = params
        self.seed = seed

    def _params(self) -> dict[str, Any]:
        return {**BASE_PARAMS, **(self.params or {}), "seed": self.seed}

    def _regressor(self, M: pd.DataFrame, y: np.ndarray) -> lgb.Booster:
        return lgb.train(self._params(), lgb.Dataset(M, label=y), num_boost_round=self.rounds)

    def _prepare(
        self, X: pd.DataFrame, treatment: Sequence[str], y: np.ndarray
    ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        """Checked inputs as (matrix, treatment, y); learns the columns and the actions
        (every arm but control with at least 10 rows)."""
        y = np.asarray(y, dtype=float)
        t = _check_inputs(X, treatment, y)
        self.matrix_ = FeatureMatrix.learn(X, exclude=set())
        self.actions_ = sorted(a for a in set(t) if a != CONTROL and (t == a).sum() >= 10)
        return self.matrix_.transform(X), t, y

    def _check(self) -> None:
        if not hasattr(self, "actions_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit() first")


class TLearner(_Base):
    """Uplift = μ_action(x) − μ_control(x), one LightGBM outcome model per arm."""

    def fit(self, X: pd.DataFrame, treatment: Sequence[str], y: np.ndarray) -> Self:
        M, t, y = self._prepare(X, treatment, y)
        self.models_ = {a: self._regressor(M[t == a], y[t == a]) for a in [CONTROL, *self.actions_]}
        return self

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        """Expected uplift per action (columns), one row per customer."""
        self._check()
        M = self.matrix_.transform(X)
        base = self.models_[CONTROL].predict(M)
        return pd.DataFrame(
            {a: self.models_[a].predict(M) - base for a in self.actions_}, index=X.index
        )


class DRLearner(_Base):
    """Doubly robust uplift with cross-fitting and estimated propensities."""

    def __init__(
        self,
        rounds: int = 200,
        params: dict[str, Any] | None = None,
        seed: int = 0,
        folds: int = 3,
        clip: float = 0.02,
    ) -> None:
        super().__init__(rounds, params, seed)
        self.folds = folds
        self.clip = clip

    def fit(self, X: pd.DataFrame, treatment: Sequence[str], y: np.ndarray) -> Self:
        M, t, y = self._prepare(X, treatment, y)
        arms = [CONTROL, *self.actions_]
        keep = np.isin(t, arms)
        M, t, y = M[keep].reset_index(drop=True), t[keep], y[keep]
        n = len(y)
        mu = np.zeros((n, len(arms)))
        prop = np.zeros((n, len(arms)))
        numeric = M.apply(lambda c: c.cat.codes if hasattr(c, "cat") else c).fillna(0)
        numeric = (numeric - numeric.mean()) / numeric.std().replace(0, 1)
        kf = KFold(self.folds, shuffle=True, random_state=self.seed)
        for train, test in kf.split(M):
            for j, a in enumerate(arms):
                sel = train[t[train] == a]
                mu[test, j] = self._regressor(M.iloc[sel], y[sel]).predict(M.iloc[test])
            lr = LogisticRegression(max_iter=500)
            # One BLAS thread: on a busy 2-core machine the threaded solver ran 50× slower.
            with threadpool_limits(1, "blas"):
                lr.fit(numeric.iloc[train], t[train])
            p = lr.predict_proba(numeric.iloc[test])
            cols = {c: i for i, c in enumerate(lr.classes_)}
            for j, a in enumerate(arms):
                prop[test, j] = p[:, cols[a]] if a in cols else 0.0
        prop = np.clip(prop, self.clip, 1.0)
        self.final_ = {}
        self.propensity_mean_ = {a: float(prop[:, j].mean()) for j, a in enumerate(arms)}
        t0 = (t == CONTROL).astype(float)
        r0 = mu[:, 0] + t0 * (y - mu[:, 0]) / prop[:, 0]
        for j, a in enumerate(arms[1:], start=1):
            ta = (t == a).astype(float)
            pseudo = mu[:, j] + ta * (y - mu[:, j]) / prop[:, j] - r0
            self.final_[a] = self._regressor(M, pseudo)
        return self

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        """Expected uplift per action (columns), one row per customer."""
        self._check()
        M = self.matrix_.transform(X)
        return pd.DataFrame({a: self.final_[a].predict(M) for a in self.actions_}, index=X.index)


class LiftLearner(_Base):
    """Uplift = base(x) · (m_action(x) − m_control(x)) for a count or amount outcome.

    ``objective`` is a LightGBM objective with a log link (``poisson`` for counts,
    ``tweedie`` for spend). The baseline is cross-fitted, so the per-arm rounds start
    from predictions the baseline made without seeing those rows; ``rounds``,
    ``num_leaves`` and ``min_data_in_leaf`` of the arm models are kept small on purpose
    (their job is a smooth multiplier, not a second outcome model).
    """

    def __init__(
        self,
        rounds: int = 50,
        params: dict[str, Any] | None = None,
        seed: int = 0,
        folds: int = 3,
        objective: str = "poisson",
        base_rounds: int = 300,
        prior: float = 10.0,
    ) -> None:
        super().__init__(rounds, params, seed)
        self.folds = folds
        self.objective = objective
        self.base_rounds = base_rounds
        self.prior = prior

    def _base_params(self) -> dict[str, Any]:
        return {**BASE_PARAMS, "objective": self.objective, "min_data_in_leaf": 50,
                "seed": self.seed}  # fmt: skip

    def _arm_params(self) -> dict[str, Any]:
        return {
            **self._base_params(),
            "learning_rate": 0.03,
            "num_leaves": 4,
            "min_data_in_leaf": 200,
            **(self.params or {}),
        }

    def fit(self, X: pd.DataFrame, treatment: Sequence[str], y: np.ndarray) -> Self:
        if (np.asarray(y, dtype=float) < 0).any():
            raise ValueError("LiftLearner needs a non-negative outcome (counts or amounts)")
        M, t, y = self._prepare(X, treatment, y)
        if not (y > 0).any():
            # LightGBM's log-link objectives refuse labels that are all zero.
            raise LiucunError("no positive outcome in the training rows: no uplift to learn")
        bp = self._base_params()
        oof = cross_fit(bp, M, y, self.base_rounds, self.folds, self.seed)
        self.base_ = lgb.train(bp, lgb.Dataset(M, label=y), num_boost_round=self.base_rounds)
        init = np.log(np.maximum(oof, 1e-9))
        ap = self._arm_params()
        self.arms_, self.intercepts_ = {}, {}
        for a in [CONTROL, *self.actions_]:
            s = t == a
            # The arm's average multiplier first (a Poisson rate ratio, shrunk towards 1 by
            # `prior` outcomes' worth): on a small arm the trees may find no split at all.
            prior = self.prior * max(float(y.mean()), 1e-9) / max(float(oof.mean()), 1e-9)
            c = float(np.log((y[s].sum() + prior) / (oof[s].sum() + prior)))
            self.intercepts_[a] = c
            if not (y[s] > 0).any():
                # An arm with no outcome at all: its shrunk multiplier alone (the trees of a
                # log-link objective cannot start from labels that are all zero).
                self.arms_[a] = None
                continue
            d = lgb.Dataset(M[s], label=y[s], init_score=init[s] + c)
            self.arms_[a] = lgb.train(ap, d, num_boost_round=self.rounds)
        return self

    def predict_arms(self, X: pd.DataFrame) -> pd.DataFrame:
        """Expected outcome under each arm (``control`` included), one row per customer."""
        self._check()
        M = self.matrix_.transform(X)
        base = self.base_.predict(M)
        return pd.DataFrame(
            {
                a: base
                * np.exp(self.intercepts_[a] + (0.0 if m is None else m.predict(M, raw_score=True)))
                for a, m in self.arms_.items()
            },
            index=X.index,
        )

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        """Expected uplift per action (columns), one row per customer."""
        arms = self.predict_arms(X)
        return arms[self.actions_].sub(arms[CONTROL], axis=0)


__all__ = ["CONTROL", "DRLearner", "LiftLearner", "TLearner", "cross_fit"]
