"""``liucun score``: churn, orders, revenue and CLV per customer as of a date.

The workspace side of scoring: the ``[score]`` settings, the horizon (``--horizon``, a
number in liucun.toml, or read from the shop's repeat-purchase gaps:
:mod:`liucun.decide.horizon`), where fitted models are kept and when they are reused, and
the scored table with segments, stages, risk bands and ``p_convert`` for customers who
never ordered. The models themselves are :class:`liucun.models.churn.ChurnValueModel` and
:class:`liucun.models.convert.ConversionModel`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from liucun import config
from liucun.decide import segments as seg
from liucun.decide.horizon import HorizonChoice, auto_horizon
from liucun.engines import workspace_engine, workspace_tables
from liucun.errors import LiucunError
from liucun.evaluate.metrics import classification_metrics, regression_metrics
from liucun.features import feature_frame
from liucun.features.base import as_of_value, before
from liucun.features.btyd import order_span, summary_frame
from liucun.features.labels import snapshot_frame
from liucun.models.churn import ChurnValueModel, Plan, plan_training
from liucun.models.convert import ConversionModel
from liucun.tasks.reviews import ensure_text_scores
from liucun.tasks.segments import segments_config
from liucun.workspace import MAX_HORIZON_DAYS, check_horizon

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from liucun.workspace import Workspace

__all__ = [
    "CONTRACT",
    "DEFAULT_SCORE_CONFIG",
    "HorizonChoice",
    "Plan",
    "ScoreResult",
    "churn_model",
    "convert_rows",
    "fit_convert",
    "fit_model",
    "model_dir",
    "plan_training",
    "prospect_inputs",
    "prospects",
    "resolve_horizon",
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


# -- the horizon -----------------------------------------------------------------------

OLD_DEFAULT_HORIZON = 90  # [score] horizon_days as every liucun.toml had it before "auto"


def resolve_horizon(
    ws: Workspace,
    as_of: dt.date,
    horizon: int | None = None,
    tables: Mapping[str, ir.Table] | None = None,
) -> HorizonChoice:
    """The churn horizon for ``as_of``: ``horizon`` (``--horizon``) if given, else a number
    in liucun.toml, else the one the shop's repeat gaps before ``as_of`` suggest.

    A number in liucun.toml is ``[score] horizon = N``, or ``horizon_days`` set to other
    than its old default (90) in a file written before ``horizon`` existed: it was the
    fixed horizon then, chosen by hand, and stays one. (Every workspace's file got
    ``horizon_days = 90`` written in when it was created; that one is read as "auto".)
    ``liucun plan`` does not come here: its window is ``[plan] horizon_days``.
    """
    if horizon is not None:
        days = check_horizon(int(horizon))
        return HorizonChoice(days, "argument", f"--horizon {days}")
    cfg = score_config(ws)
    fixed = _fixed_horizon(ws, cfg)
    if fixed is not None:
        key, days = fixed
        return HorizonChoice(days, "setting", f"[score] {key} = {days} in liucun.toml")
    return auto_horizon(tables if tables is not None else workspace_tables(ws), as_of, cfg)


def _fixed_horizon(ws: Workspace, cfg: Mapping[str, Any]) -> tuple[str, int] | None:
    """(setting, days) when liucun.toml fixes the horizon; None for "auto"."""
    toml = ws.path / "liucun.toml"
    value = cfg.get("horizon", "auto")
    key = "horizon"
    if isinstance(value, str) and value.strip().lower() == "auto":
        try:  # which keys the file itself sets (ws.config has the defaults merged in)
            mine = tomllib.loads(toml.read_text(encoding="utf-8")).get("score", {})
        except (OSError, tomllib.TOMLDecodeError):
            mine = {}
        old = mine.get("horizon_days", OLD_DEFAULT_HORIZON)
        if "horizon" in mine or old == OLD_DEFAULT_HORIZON:
            return None
        key, value = "horizon_days", mine["horizon_days"]
    try:
        days = int(str(value).strip()) if isinstance(value, str) else int(value)
        if isinstance(value, bool) or days != float(value):
            raise ValueError
    except (TypeError, ValueError):
        raise LiucunError(
            f'{toml}: [score] {key} = {value!r}: expected "auto" or a whole number of days'
        ) from None
    if not 1 <= days <= MAX_HORIZON_DAYS:
        raise LiucunError(f"{toml}: [score] {key} = {days}: must be 1 to {MAX_HORIZON_DAYS} days")
    return key, days


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


# -- p_convert: customers who never ordered ------------------------------------------------

# What a prospect has to go by: signup tenure, visits, views, searches, carts, logins,
# support, opt-out, campaigns; plus region and channel from the users table. Order features
# are left out (all zero for someone who never ordered).
PROSPECT_FEATURES = (
    "tenure_days",
    "sessions_30d",
    "views_30d",
    "sessions_90d",
    "views_90d",
    "searches_90d",
    "carts_90d",
    "cart_abandon_rate_90d",
    "logins_30d",
    "support_90d",
    "opted_out",
    "days_since_last_event",
    "treatments_180d",
    "days_since_last_treatment",
)
PROSPECT_ATTRIBUTES = {"region": ["region", "country"], "channel": ["channel", "source"]}
PROSPECT_TABLES = ("users", "orders", "events", "treatments")  # what those features read
CONVERT_DIR = "convert"
CONVERT_INFO = "info.json"


def prospects(features: pd.DataFrame) -> np.ndarray:
    """True for the customers in ``features`` who never ordered before its as_of."""
    col = "has_ordered" if "has_ordered" in features.columns else "orders_total"
    if col not in features.columns:
        return np.ones(len(features), dtype=bool)
    return pd.to_numeric(features[col], errors="coerce").fillna(0).to_numpy() == 0


def _attributes(ws: Workspace) -> pd.DataFrame | None:
    """Region and channel per user_id (lowercased text) from the users table or its
    ``attributes`` JSON; None when the shop records neither. Static attributes: read by
    user_id for customers already known at a cutoff."""
    cols = {}
    for name, keys in PROSPECT_ATTRIBUTES.items():
        got = ws.warehouse.account_labels(keys)
        if got is not None and got["label"].notna().any():
            cols[name] = got.drop_duplicates("user_id").set_index("user_id")["label"]
    if not cols:
        return None
    return pd.DataFrame(cols)


def _prospect_matrix(
    features: pd.DataFrame, attrs: pd.DataFrame | None
) -> tuple[pd.Series, pd.DataFrame]:
    """(user_id, model inputs) of the prospects in ``features``."""
    f = features[prospects(features)]
    X = f[[c for c in PROSPECT_FEATURES if c in f.columns]].reset_index(drop=True)
    users = f["user_id"].astype(str).reset_index(drop=True)
    if attrs is not None:
        for c in attrs.columns:
            X[c] = attrs[c].reindex(users).to_numpy()
    return users, X


def prospect_inputs(ws: Workspace, features: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """(user_id, conversion-model inputs) of the customers in ``features`` who never
    ordered: the prospect features plus region and channel."""
    return _prospect_matrix(features, _attributes(ws))


def _convert_windows(
    first: dt.date, as_of: dt.date, horizon: int, cfg: Mapping[str, Any]
) -> tuple[int, list[dt.date]]:
    """(label days, cutoffs) for the conversion labels: the churn model's rules (label
    windows end by as_of, ``min_history_days`` of orders before a cutoff, monthly steps),
    up to ``convert_snapshots`` cutoffs; with less history, one cutoff halfway."""
    n = max(int(cfg["convert_snapshots"]), 1)
    plan = plan_training(first, as_of, horizon, {**cfg, "snapshots": n, "min_snapshots": 2})
    if plan.mode == "boosted" and plan.cutoffs:
        return plan.label_days, plan.cutoffs
    h = min(horizon, (as_of - first).days // 2)
    if h < int(cfg["min_label_days"]) // 2 or h < 1:
        return h, []
    return h, [as_of - dt.timedelta(days=h)]


def convert_rows(
    ws: Workspace,
    tables: Mapping[str, ir.Table],
    cutoffs: list[dt.date],
    label_days: int,
    on_step: Callable[[str], None] = lambda s: None,
) -> list[tuple[pd.DataFrame, np.ndarray]]:
    """Per cutoff (oldest first): the prospects' model inputs at it and whether they
    ordered in the ``label_days`` after it (only rows before the window's end are read)."""
    attrs = _attributes(ws)
    duck = workspace_engine(ws) == "duckdb"
    out = []
    for cut in cutoffs:
        on_step(f"prospects at {cut} (first orders over {label_days} days)")
        sub = {k: tables[k] for k in PROSPECT_TABLES if k in tables}
        # Only prospects' rows matter here: the buyers' events (most of them, at scale)
        # are left out before the features are built. Buyers stay known by their orders.
        o = before(tables["orders"], as_of_value(cut))
        buyers = o.select("user_id").distinct()
        for k in ("events", "treatments"):
            if k in sub:
                sub[k] = sub[k].anti_join(buyers, "user_id")
        f = snapshot_frame(sub, cut, label_days, sort=True, arrow=duck)
        _, X = _prospect_matrix(f, attrs)
        y = f.loc[prospects(f), "purchased"].to_numpy(dtype=int)
        out.append((X, y))
    return out


def fit_convert(
    ws: Workspace,
    tables: Mapping[str, ir.Table],
    as_of: dt.date,
    horizon: int,
    cfg: Mapping[str, Any] | None = None,
    on_step: Callable[[str], None] = lambda s: None,
) -> tuple[ConversionModel, dict[str, Any]]:
    """The conversion model for ``as_of`` over ``horizon`` and how it was trained
    (label days, cutoffs); the latest cutoff is its validation slice."""
    cfg = {**DEFAULT_SCORE_CONFIG, **(cfg or {})}
    first, _ = order_span(tables, as_of)
    info: dict[str, Any] = {"label_days": None, "cutoffs": [], "prospect_rows": 0}
    model = ConversionModel(seed=int(cfg["seed"]))
    if first is None:
        raise LiucunError(f"no orders before {as_of}: nothing to learn conversion from")
    h, cutoffs = _convert_windows(first, as_of, horizon, cfg)
    rows = convert_rows(ws, tables, cutoffs, h, on_step) if cutoffs else []
    info.update(label_days=h, cutoffs=[c.isoformat() for c in cutoffs])
    if not rows:
        raise LiucunError(f"history before {as_of} too short for conversion labels")
    model.set_params(stretch=horizon / h)
    if len(rows) > 1:
        X = pd.concat([x for x, _ in rows[:-1]], ignore_index=True)
        y = np.concatenate([y for _, y in rows[:-1]])
        model.fit(X, y, rows[-1][0], rows[-1][1])
    else:
        model.fit(rows[0][0], rows[0][1])
    info["prospect_rows"] = int(sum(len(y) for _, y in rows))
    return model, info


def _conversion(
    ws: Workspace,
    path: Path,
    as_of: dt.date,
    horizon: int,
    cfg: Mapping[str, Any],
    features: pd.DataFrame,
    on_step: Callable[[str], None],
) -> tuple[np.ndarray, dict[str, Any]]:
    """p_convert per customer of ``features`` (NaN for those who ordered) and the model's
    summary, fitting the model into ``path/convert`` or reusing it from there."""
    p = np.full(len(features), np.nan)
    folder = path / CONVERT_DIR
    if (folder / CONVERT_INFO).exists():
        model = ConversionModel.load(folder)
        info = json.loads((folder / CONVERT_INFO).read_text(encoding="utf-8"))
    else:
        on_step("conversion model for customers who never ordered")
        try:
            model, info = fit_convert(ws, workspace_tables(ws), as_of, horizon, cfg, on_step)
        except LiucunError as e:
            return p, {"mode": "none", "why": str(e)}
        model.save(folder)
        tmp = folder / f".{CONVERT_INFO}.tmp"
        tmp.write_text(json.dumps(info, indent=1), encoding="utf-8")
        tmp.replace(folder / CONVERT_INFO)
    mask = prospects(features)
    if mask.any():
        _, X = prospect_inputs(ws, features)
        p[mask] = model.predict_proba(X)[:, 1]
    summary = {**model.summary(), **info, "prospects": int(mask.sum())}
    summary["expected_conversions"] = float(np.nansum(p))
    return p, summary


def risk_band(p_churn: np.ndarray, bands: Mapping[str, float]) -> np.ndarray:
    """ "low", "medium" or "high" per customer by the ``[score.risk_bands]`` thresholds."""
    medium, high = float(bands["medium"]), float(bands["high"])
    return np.where(p_churn >= high, "high", np.where(p_churn >= medium, "medium", "low"))


def model_dir(ws: Workspace, as_of: dt.date, horizon: int) -> Path:
    """Models are reused only for the same as_of, horizon, settings and warehouse content
    (the settings that only choose the horizon do not count: the horizon itself does)."""
    state = ws.warehouse.fingerprint()
    cfg = {k: v for k, v in score_config(ws).items() if not k.startswith("horizon")}
    key = json.dumps({"state": state, "cfg": cfg}, sort_keys=True, default=str)
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
    horizon: HorizonChoice | None = None  # how the horizon was chosen
    convert: dict[str, Any] | None = None  # the p_convert model's summary (None: off)


def score(
    ws: Workspace,
    as_of: dt.date,
    horizon: int | None = None,
    features: pd.DataFrame | None = None,
    on_step: Callable[[str], None] = lambda s: None,
    segments: pd.DataFrame | None = None,
) -> ScoreResult:
    """Scores for every known customer as of ``as_of`` (fitting or reusing the models).

    ``horizon``: ``--horizon``; None takes liucun.toml's, by default read from the shop's
    repeat-purchase gaps (:func:`resolve_horizon`). ``segments`` (``user_id, segment,
    lifecycle_stage``) is the daily run's customers table, so a run segments once; without
    it the customers are segmented here.
    """

    cfg = score_config(ws)
    choice = resolve_horizon(ws, as_of, horizon)
    H = choice.days
    on_step(f"horizon {H} days ({choice.why})")
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
    convert = None
    if cfg["convert"]:
        t0 = time.perf_counter()
        p_convert, convert = _conversion(ws, path, as_of, H, cfg, features, on_step)
        by_user = pd.Series(p_convert, index=features["user_id"].to_numpy())
        out["p_convert"] = by_user.reindex(out["user_id"].to_numpy()).to_numpy()
        cols.append("p_convert")
        seconds["convert"] = round(time.perf_counter() - t0, 3)
    return ScoreResult(out[cols], path, reused, model.plan_, seconds, choice, convert)
