"""The BTYD bundle scoring uses: BG/NBD (+ Gamma-Gamma, + Pareto/NBD) on one cutoff's summary.

Its BG/NBD and Gamma-Gamma outputs are features of the boosted churn/value models at every
training cutoff, and the whole model where history is too short for labelled snapshots.
BG/NBD and Pareto/NBD are both stack members beside the boosted model
(``liucun.models.churn``): they differ in when customers may drop out (only after a
purchase, or at any time), and which one ranks a shop's customers better is an empirical
question the validation slice answers.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError

from liucun.features.btyd import WEEK, in_weeks, repeat_spend, summary_frame
from liucun.models.base import Estimator
from liucun.models.btyd.bgnbd import BetaGeoModel
from liucun.models.btyd.gamma import GammaGammaModel
from liucun.models.btyd.paretonbd import ParetoNBDModel

if TYPE_CHECKING:
    import ibis.expr.types as ir

RATE_CAP = 5.0


PNBD_COLUMN = "btyd_pnbd_expected"
"""Pareto/NBD's expected purchases over the label window: a stack member, not a feature."""


class Btyd(Estimator):
    """BG/NBD (+ Gamma-Gamma, + Pareto/NBD) fitted on the repeat-purchase summary at one cutoff.

    Parameters
    ----------
    pareto
        Fit Pareto/NBD too (about as costly as BG/NBD); without it its expectations are
        BG/NBD's (see :meth:`expected`).

    Attributes
    ----------
    summary_
        The summary it was fitted on (``liucun.features.btyd.summary_frame``); predictions
        are for its customers. A model loaded without one gets it set before predicting.
    bgnbd_, pnbd_, gamma_
        The fitted models, or None where the data is too thin, the fit did not converge or
        (``pnbd_``) ``pareto`` is off.
    """

    def __init__(self, pareto: bool = True) -> None:
        self.pareto = pareto

    def fit(self, summary: pd.DataFrame) -> Self:
        """Fit what the data supports; a fit that fails or does not converge is left out."""
        self.summary_: pd.DataFrame | None = summary
        self.bgnbd_: BetaGeoModel | None = None
        self.pnbd_: ParetoNBDModel | None = None
        self.gamma_: GammaGammaModel | None = None
        if len(summary) >= 20 and (summary["frequency"] > 0).sum() >= 5:
            self.bgnbd_ = _converged(lambda: fit_weekly(BetaGeoModel(), summary))
            if self.pareto:
                self.pnbd_ = _converged(lambda: fit_weekly(ParetoNBDModel(), summary))
            rep = summary[(summary["frequency"] > 0) & (summary["monetary"] > 0)]
            if len(rep) >= 20:
                self.gamma_ = _converged(
                    lambda: GammaGammaModel().fit(rep["frequency"], rep["monetary"])
                )
        return self

    def expected(self, days: float, users: pd.Series, model: str = "bgnbd") -> np.ndarray:
        """Expected repeat purchases in the next ``days`` per user (NaN: no orders), by
        BG/NBD (``model="bgnbd"``) or Pareto/NBD (``"pnbd"``).

        Without a fitted Pareto/NBD, BG/NBD's; without a fitted BG/NBD either, the
        customer's own rate so far; always capped at ``RATE_CAP`` times that rate, so a
        degenerate fit cannot promise absurd counts.
        """
        if model not in ("bgnbd", "pnbd"):
            raise ValueError(f"model={model!r}: expected 'bgnbd' or 'pnbd'")
        s = self._aligned(users)
        out = np.full(len(users), np.nan)
        ok = s["frequency"].notna().to_numpy()
        f, r, t = in_weeks(s[ok])
        own = (f + 1.0) / np.maximum(t, 1.0) * (days / WEEK)
        fitted = self.__dict__.get("pnbd_") if model == "pnbd" else None
        fitted = fitted if fitted is not None else self.bgnbd_
        if fitted is None:
            out[ok] = own
            return out
        with np.errstate(over="ignore", invalid="ignore"):
            e = fitted.expected_purchases(days / WEEK, f, r, t)
        out[ok] = np.clip(np.nan_to_num(e, nan=0.0, posinf=np.inf), 0.0, RATE_CAP * own)
        return out

    def p_alive(self, users: pd.Series) -> np.ndarray:
        """BG/NBD P(active) per user (NaN: no orders, or no fitted BG/NBD)."""
        s = self._aligned(users)
        out = np.full(len(users), np.nan)
        if self.bgnbd_ is None:
            return out
        ok = s["frequency"].notna().to_numpy()
        f, r, t = in_weeks(s[ok])
        out[ok] = self.bgnbd_.p_alive(f, r, t)
        return out

    def value(self, users: pd.Series) -> np.ndarray:
        """Gamma-Gamma expected spend per order (NaN: no orders, or no fitted model)."""
        s = self._aligned(users)
        out = np.full(len(users), np.nan)
        if self.gamma_ is None:
            return out
        ok = s["frequency"].notna().to_numpy()
        f, m = repeat_spend(s[ok])
        out[ok] = self.gamma_.expected_average_value(f, m)
        return out

    def _aligned(self, users: pd.Series) -> pd.DataFrame:
        """The summary in ``users``' order; indexed once, as predict asks five times."""
        self._check_fitted()
        if self.summary_ is None:
            raise NotFittedError("this Btyd has no summary to predict from: set summary_")
        cached = self.__dict__.get("_by_user")
        if cached is None or cached[0] is not self.summary_:
            cached = (self.summary_, self.summary_.set_index("user_id"))
            self.__dict__["_by_user"] = cached
        return cached[1].reindex(users.to_numpy())

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        state.pop("_by_user", None)  # a cache: rebuilt on the first prediction
        return state


def _converged(fit: Callable[[], Any]) -> Any:
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        try:
            model = fit()
        except (ValueError, RuntimeError, FloatingPointError):
            return None
    if any("did not report convergence" in str(w.message) for w in caught):
        return None
    return model


def fit_weekly(
    model: BetaGeoModel | ParetoNBDModel, summary: pd.DataFrame
) -> BetaGeoModel | ParetoNBDModel:
    """Fit a BG/NBD or Pareto/NBD model on the summary, in weeks (the models merge
    customers with identical histories themselves)."""
    return model.fit(*in_weeks(summary))


def add_btyd_features(features: pd.DataFrame, btyd: Btyd, label_days: int) -> pd.DataFrame:
    """``features`` with the bundle's P(active), expected purchases over ``label_days`` and
    expected spend (the boosted models' BTYD inputs), and Pareto/NBD's expected purchases
    (:data:`PNBD_COLUMN`, for stacking only)."""
    users = features["user_id"]
    out = features.copy()
    out["btyd_p_alive"] = btyd.p_alive(users)
    out["btyd_expected"] = btyd.expected(label_days, users)
    out["btyd_value"] = btyd.value(users)
    out[PNBD_COLUMN] = btyd.expected(label_days, users, model="pnbd")
    return out


def btyd_features(
    tables: Mapping[str, ir.Table], label_days: int, pareto_at: Collection[dt.date] = ()
) -> Callable[[pd.DataFrame, dt.date], pd.DataFrame]:
    """The snapshot recipe's model step (``liucun.features.labels.snapshot_frame``): BTYD
    outputs from a bundle fitted on the summary at each cutoff (with Pareto/NBD at the
    cutoffs in ``pareto_at`` only: the stack reads it on the validation slice alone)."""

    def add(features: pd.DataFrame, cutoff: dt.date) -> pd.DataFrame:
        btyd = Btyd(pareto=cutoff in pareto_at).fit(summary_frame(tables, cutoff))
        return add_btyd_features(features, btyd, label_days)

    return add
