"""``liucun score``: churn, orders, revenue and CLV per customer as of a date.

The workspace side of scoring: the ``[score]`` settings, where fitted models are kept and
when they are reused, and the scored table with segments, stages and risk bands. The
models themselves are :class:`liucun.models.churn.ChurnValueModel`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from liucun import config
from liucun.decide import segments as seg
from liucun.engines import workspace_tables
from liucun.evaluate.metrics import classification_metrics, regression_metrics
from liucun.features import feature_frame
from liucun.features.btyd import summary_frame
from liucun.models.churn import ChurnValueModel, Plan, plan_training
from liucun.tasks.reviews import ensure_text_scores
from liucun.tasks.segments import segments_config
from liucun.workspace import check_horizon

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from liucun.workspace import Workspace

__all__ = [
    "CONTRACT",
    "DEFAULT_SCORE_CONFIG",
    "Plan",
    "ScoreResult",
    "churn_model",
    "fit_model",
    "model_dir",
    "plan_training",
    "risk_band",
    "score",
    "score_config",
    "validation_metrics",
]

DEFAULT_SCORE_CONFIG: dict[str, Any] = config.section("score")
"""The documented ``[score]`` defaults (``liucun.config.DEFAULT_TOML``)."""


def score_config(ws: Workspace) -> dict[str, Any]:
    """``[score]`` of the workspace's liucun.toml over the documented defaults."""
    return config.section("score", ws.config)


# -- the models ------------------------------------------------------------------------


def churn_model(horizon: int, cfg: Mapping[str, Any] | None = None) -> ChurnValueModel:
    """The unfitted model that ``[score]`` settings ``cfg`` (over the defaults) describe."""
    cfg = {**DEFAULT_SCORE_CONFIG, **(cfg or {})}
    return ChurnValueModel(
        horizon=horizon,
        churn_event=str(cfg.get("churn_event", "purchase")),
        snapshots=cfg["snapshots"],
        min_snapshots=cfg["min_snapshots"],
        snapshot_step_days=cfg["snapshot_step_days"],
        min_history_days=cfg["min_history_days"],
        min_label_days=cfg["min_label_days"],
        seed=int(cfg["seed"]),
    )


def validation_metrics(val: pd.DataFrame, pred: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Metrics of the validation slice kept with the model (``metrics_``, ``meta.json``):
    retention ranking and calibration, orders and revenue (the boosted models' own)."""
    return {
        "retained": classification_metrics(val["active"].to_numpy(), pred["active"]),
        "orders": regression_metrics(val["orders_h"].to_numpy(), pred["orders_h"]),
        "revenue": regression_metrics(val["revenue_h"].to_numpy(), pred["revenue_h"]),
    }


def fit_model(
    tables: Mapping[str, ir.Table],
    as_of: dt.date,
    horizon: int,
    cfg: Mapping[str, Any] | None = None,
    on_step: Callable[[str], None] = lambda s: None,
) -> ChurnValueModel:
    """The models for scoring at ``as_of`` over ``horizon``, fitted as ``liucun score``
    fits them (with the validation metrics kept)."""
    model = churn_model(horizon, cfg)
    return model.fit(tables, as_of, on_step=on_step, validation_metrics=validation_metrics)


def risk_band(p_churn: np.ndarray, bands: Mapping[str, float]) -> np.ndarray:
    """ "low", "medium" or "high" per customer by the ``[score.risk_bands]`` thresholds."""
    medium, high = float(bands["medium"]), float(bands["high"])
    return np.where(p_churn >= high, "high", np.where(p_churn >= medium, "medium", "low"))


def model_dir(ws: Workspace, as_of: dt.date, horizon: int) -> Path:
    """Models are reused only for the same as_of, horizon, settings and warehouse content."""
    state = ws.warehouse.fingerprint()
    key = json.dumps({"state": state, "cfg": score_config(ws)}, sort_keys=True, default=str)
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return ws.path / "models" / f"score-{as_of.isoformat()}-h{horizon}-{digest}"


# -- the command -----------------------------------------------------------------------

CONTRACT = ("user_id", "p_churn", "expected_orders", "expected_revenue", "segment")


@dataclass
class ScoreResult:
    scores: pd.DataFrame
    model_path: Path
    reused: bool
    plan: Plan
    seconds: dict[str, float]


def score(
    ws: Workspace,
    as_of: dt.date,
    horizon: int | None = None,
    features: pd.DataFrame | None = None,
    on_step: Callable[[str], None] = lambda s: None,
    segments: pd.DataFrame | None = None,
) -> ScoreResult:
    """Scores for every known customer as of ``as_of`` (fitting or reusing the models).

    ``segments`` (``user_id, segment, lifecycle_stage``) is the daily run's customers
    table, so a run segments once; without it the customers are segmented here.
    """

    cfg = score_config(ws)
    H = int(horizon if horizon is not None else cfg["horizon_days"])
    check_horizon(H)
    seconds: dict[str, float] = {}
    ensure_text_scores(ws)  # review sentiment features; before the models' fingerprint
    path = model_dir(ws, as_of, H)
    t0 = time.perf_counter()
    reused = (path / "meta.json").exists()
    if reused:
        on_step(f"reusing models in {path.name}")
        model = ChurnValueModel.load(path)
    else:
        model = fit_model(workspace_tables(ws), as_of, H, cfg, on_step)
        model.save(path)
    seconds["fit"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    if features is None:
        on_step(f"features as of {as_of}")
        features = feature_frame(ws, as_of)
    if model.btyd_.summary_ is None:  # a folder saved without it
        model.btyd_.summary_ = summary_frame(workspace_tables(ws), as_of)
    on_step(f"scoring {len(features):,} customers")
    if segments is None:
        scfg = segments_config(ws)
        segments = seg.rfm(features, scfg)[["user_id", "rfm_segment"]].rename(
            columns={"rfm_segment": "segment"}
        )
        segments["lifecycle_stage"] = seg.lifecycle(features, scfg).to_numpy()
    many = len(features) > int(cfg["reasons_all_up_to"])
    out = model.predict(features, reasons=not many, k=int(cfg["reasons"]))
    out["risk_band"] = risk_band(out["p_churn"].to_numpy(), cfg["risk_bands"])
    if many and model.classifier_ is not None:
        mask = out["risk_band"].to_numpy() != "low"
        out["reasons"] = model.explain(features, mask, int(cfg["reasons"]))
    out = out.merge(segments[["user_id", "segment"]], on="user_id", how="left")
    out["lifecycle_stage"] = (
        segments.set_index("user_id")["lifecycle_stage"].reindex(out["user_id"]).to_numpy()
    )
    cols = [
        "user_id",
        "p_churn",
        "expected_orders",
        "expected_revenue",
        "segment",
        "lifecycle_stage",
        "reasons",
        "risk_band",
        "next_order_date",
        "clv_365d",
    ]
    seconds["score"] = round(time.perf_counter() - t0, 3)
    return ScoreResult(out[cols], path, reused, model.plan_, seconds)
