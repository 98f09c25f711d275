"""Rolling-origin backtest of the churn and value models, side by side with the anchors.

At each cutoff every model is fitted on data before it and judged on the next H days:
recency alone, BG/NBD and Pareto/NBD (with Gamma-Gamma for money), and the boosted
model that ``liucun score`` uses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from liucun.evaluate.metrics import (
    calibration_table,
    classification_metrics,
    lift_capture,
    lift_curve,
    regression_metrics,
    top_share,
)
from liucun.evaluate.splits import summarise_backtest
from liucun.features.btyd import WEEK, in_weeks, repeat_spend, summary_frame
from liucun.features.labels import LABELS, snapshot_frame
from liucun.models.btyd import BetaGeoModel, GammaGammaModel, ParetoNBDModel, fit_weekly
from liucun.tasks.score import fit_model

if TYPE_CHECKING:
    import ibis.expr.types as ir

MODELS = ("recency", "bgnbd", "paretonbd", "boosted")


@dataclass
class Predictions:
    """One model's predictions for one cutoff: P(purchase), orders, revenue."""

    p_purchase: np.ndarray
    orders: np.ndarray | None
    revenue: np.ndarray | None


def btyd_predictions(
    summary: pd.DataFrame, users: pd.Series, horizon: int, kind: str
) -> Predictions:
    """BG/NBD or Pareto/NBD purchases over H and Gamma-Gamma value, fitted in weeks."""

    model = fit_weekly((BetaGeoModel if kind == "bgnbd" else ParetoNBDModel)(), summary)
    s = summary.set_index("user_id").reindex(users.to_numpy())
    ok = s["frequency"].notna().to_numpy()
    orders = np.zeros(len(users))
    fo, ro, to = in_weeks(s[ok])
    orders[ok] = model.expected_purchases(horizon / WEEK, fo, ro, to)
    rep = summary[(summary["frequency"] > 0) & (summary["monetary"] > 0)]
    gg = GammaGammaModel().fit(rep["frequency"], rep["monetary"])
    value = np.zeros(len(users))
    value[ok] = gg.expected_average_value(*repeat_spend(s[ok]))
    # Ranking by P(at least one purchase) under a Poisson count is ranking by E[X(H)].
    return Predictions(1.0 - np.exp(-orders), orders, orders * value)


def evaluate(truth: pd.DataFrame, pred: Predictions) -> dict[str, float]:
    """Every backtest metric for one model at one cutoff (``truth`` holds the labels)."""

    y = truth["active"].to_numpy()
    out: dict[str, float] = {}
    c = classification_metrics(y, pred.p_purchase)
    out.update({k: c[k] for k in ("roc_auc", "pr_auc", "brier")})
    out.update(lift_capture(y, pred.p_purchase, (0.05, 0.10, 0.20)))
    nan = float("nan")
    if pred.orders is not None:
        out["orders_mae"] = regression_metrics(truth["orders_h"].to_numpy(), pred.orders)["mae"]
    else:
        out["orders_mae"] = nan
    rev = truth["revenue_h"].to_numpy()
    if pred.revenue is not None:
        out["revenue_spearman"] = regression_metrics(rev, pred.revenue)["spearman"]
        out["revenue_top10_share"] = top_share(rev, pred.revenue, 0.10)
    else:
        out["revenue_spearman"] = nan
        out["revenue_top10_share"] = nan
    out["revenue_top10_oracle"] = top_share(rev, rev, 0.10)
    return out


def backtest(
    tables: Mapping[str, ir.Table],
    cutoffs: Sequence[dt.date],
    horizon: int,
    cfg: Mapping[str, Any] | None = None,
    models: Sequence[str] = MODELS,
    on_step: Callable[[str], None] = lambda s: None,
) -> dict[str, Any]:
    """Metrics per cutoff and model, their means, and calibration/lift data for plots."""

    rows: list[dict[str, Any]] = []
    calib: dict[str, list[pd.DataFrame]] = {}
    lifts: dict[str, list[pd.DataFrame]] = {}
    notes: list[str] = []
    for cut in sorted(cutoffs):
        on_step(f"cutoff {cut}: features and labels")
        event = str((cfg or {}).get("churn_event", "purchase"))
        snap = snapshot_frame(tables, cut, horizon, event, sort=True)
        feats = snap.drop(columns=list(LABELS))
        truth = snap[["user_id", *LABELS]]
        summary = summary_frame(tables, cut)
        preds: dict[str, Predictions] = {}
        if "recency" in models:
            rec = feats["recency_days"].to_numpy(dtype=float)
            rec = np.where(np.isfinite(rec), rec, np.nanmax(rec, initial=0) + 1)
            preds["recency"] = Predictions(1.0 / (1.0 + rec), None, None)
        for kind in ("bgnbd", "paretonbd"):
            if kind in models:
                on_step(f"cutoff {cut}: {kind}")
                try:
                    preds[kind] = btyd_predictions(summary, feats["user_id"], horizon, kind)
                except RuntimeError as e:  # no maximum found (a flat ridge): left out, said
                    notes.append(f"{cut}: {kind} not fitted: {e}")
        if "boosted" in models:
            on_step(f"cutoff {cut}: boosted models")
            fitted = fit_model(tables, cut, horizon, cfg, on_step)
            if fitted.plan_.why:
                notes.append(f"{cut}: {fitted.plan_.why}")
            p = fitted.predict(feats, reasons=False)
            preds["boosted"] = Predictions(
                1.0 - p["p_churn"].to_numpy(),
                p["expected_orders"].to_numpy(),
                p["expected_revenue"].to_numpy(),
            )
        for name, pred in preds.items():
            m = evaluate(truth, pred)
            rows.append({"cutoff": cut.isoformat(), "model": name, "customers": len(truth), **m})
            if name != "recency":
                calib.setdefault(name, []).append(
                    calibration_table(1 - truth["active"].to_numpy(), 1.0 - pred.p_purchase)
                )
            lifts.setdefault(name, []).append(
                lift_curve(1 - truth["active"].to_numpy(), 1.0 - pred.p_purchase)
            )
    per_cutoff = pd.DataFrame(rows)
    return {
        "horizon_days": horizon,
        "cutoffs": [c.isoformat() for c in sorted(cutoffs)],
        "per_cutoff": per_cutoff,
        "summary": summarise_backtest(rows),
        "calibration": {k: v[-1] for k, v in calib.items()},
        "lift": {k: v[-1] for k, v in lifts.items()},
        "notes": notes,
    }
