"""Churn, orders, revenue and CLV per customer as of a date: fit, save, reuse, score.

The boosted models learn from snapshots at cutoffs before ``as_of - H`` (their label
windows end before ``as_of``), with BTYD outputs fitted at each cutoff as features; the
latest cutoff is the validation slice (early stopping, calibration). When history is too
short for the full horizon, labels use a shorter window ``h`` and the BTYD models stretch
the predictions from ``h`` to ``H``; when it is too short for any labels, the BTYD models
alone score. Nothing at or after ``as_of`` is read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from liucun.errors import LiucunError

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from liucun.workspace import Workspace

WEEK = 7.0
LABELS = ("purchased", "orders_h", "revenue_h", "active")
EVENT_TYPES = (
    "purchase",
    "view",
    "search",
    "add_to_cart",
    "login",
    "review",
    "rate",
    "coupon_redeem",
)
DEFAULT_SCORE_CONFIG: dict[str, Any] = {
    "horizon_days": 90,
    "churn_event": "purchase",
    "snapshots": 6,
    "min_snapshots": 5,
    "snapshot_step_days": 30,
    "min_history_days": 60,
    "min_label_days": 14,
    "risk_bands": {"medium": 0.5, "high": 0.8},
    "reasons": 3,
    "reasons_all_up_to": 200_000,
    "seed": 0,
}


def score_config(ws: Workspace) -> dict[str, Any]:
    from liucun.config import _merge

    return _merge(DEFAULT_SCORE_CONFIG, ws.config.get("score", {}))


# -- BTYD features ---------------------------------------------------------------------


@dataclass
class Btyd:
    """BG/NBD (+ Gamma-Gamma) fitted on the repeat-purchase summary at one cutoff."""

    bgnbd: Any = None
    gamma: Any = None
    summary: pd.DataFrame | None = None

    @classmethod
    def fit(cls, summary: pd.DataFrame) -> Btyd:
        """Fit what the data supports; a fit that fails or does not converge is left out."""
        from liucun.models.btyd import BetaGeoModel, GammaGammaModel

        out = cls(summary=summary)
        if len(summary) >= 20 and (summary["frequency"] > 0).sum() >= 5:
            out.bgnbd = _converged(lambda: fit_weekly(BetaGeoModel(), summary))
            rep = summary[(summary["frequency"] > 0) & (summary["monetary"] > 0)]
            if len(rep) >= 20:
                out.gamma = _converged(
                    lambda: GammaGammaModel().fit(rep["frequency"], rep["monetary"])
                )
        return out

    def expected(self, days: float, users: pd.Series) -> np.ndarray:
        """Expected repeat purchases in the next ``days`` per user (NaN: no orders).

        Without a fitted BG/NBD, the customer's own rate so far; either way capped at
        ``RATE_CAP`` times that rate, so a degenerate fit cannot promise absurd counts.
        """
        s = self._aligned(users)
        out = np.full(len(users), np.nan)
        ok = s["frequency"].notna().to_numpy()
        f, r, t = _weeks(s[ok])
        own = (f + 1.0) / np.maximum(t, 1.0) * (days / WEEK)
        if self.bgnbd is None:
            out[ok] = own
            return out
        with np.errstate(over="ignore", invalid="ignore"):
            e = self.bgnbd.expected_purchases(days / WEEK, f, r, t)
        out[ok] = np.clip(np.nan_to_num(e, nan=0.0, posinf=np.inf), 0.0, RATE_CAP * own)
        return out

    def p_alive(self, users: pd.Series) -> np.ndarray:
        s = self._aligned(users)
        out = np.full(len(users), np.nan)
        if self.bgnbd is None:
            return out
        ok = s["frequency"].notna().to_numpy()
        f, r, t = _weeks(s[ok])
        out[ok] = self.bgnbd.p_alive(f, r, t)
        return out

    def value(self, users: pd.Series) -> np.ndarray:
        s = self._aligned(users)
        out = np.full(len(users), np.nan)
        if self.gamma is None:
            return out
        ok = s["frequency"].notna().to_numpy()
        f, m = _spend(s[ok])
        out[ok] = self.gamma.expected_average_value(f, m)
        return out

    def _aligned(self, users: pd.Series) -> pd.DataFrame:
        """The summary in ``users``' order; indexed once, as predict asks five times."""
        assert self.summary is not None
        cached = self.__dict__.get("_by_user")
        if cached is None or cached[0] is not self.summary:
            cached = (self.summary, self.summary.set_index("user_id"))
            self.__dict__["_by_user"] = cached
        return cached[1].reindex(users.to_numpy())


RATE_CAP = 5.0


def _converged(fit: Callable[[], Any]) -> Any:
    import warnings

    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        try:
            model = fit()
        except (ValueError, RuntimeError, FloatingPointError):
            return None
    if any("did not report convergence" in str(w.message) for w in caught):
        return None
    return model


def fit_weekly(model: Any, summary: pd.DataFrame) -> Any:
    """Fit a BG/NBD or Pareto/NBD model on the summary, in weeks (the models merge
    customers with identical histories themselves)."""
    return model.fit(*_weeks(summary))


def _weeks(s: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        s["frequency"].to_numpy(dtype=float),
        s["recency"].to_numpy(dtype=float) / WEEK,
        np.maximum(s["T"].to_numpy(dtype=float) / WEEK, 1e-6),
    )


def _spend(s: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Gamma-Gamma inputs: repeat days with no paid value count as no repeat spend."""
    m = s["monetary"].fillna(0).to_numpy(dtype=float)
    f = np.where(m > 0, s["frequency"].to_numpy(dtype=float), 0.0)
    return f, np.where(m > 0, m, 0.0)


def add_btyd_features(features: pd.DataFrame, btyd: Btyd, label_days: int) -> pd.DataFrame:
    users = features["user_id"]
    out = features.copy()
    out["btyd_p_alive"] = btyd.p_alive(users)
    out["btyd_expected"] = btyd.expected(label_days, users)
    out["btyd_value"] = btyd.value(users)
    return out


# -- the fitted bundle -----------------------------------------------------------------


@dataclass
class Plan:
    """Which label window and cutoffs the data allows for ``as_of`` and horizon ``H``."""

    as_of: dt.date
    horizon: int
    label_days: int
    cutoffs: list[dt.date]
    mode: str  # "boosted" or "btyd"
    why: str = ""


def plan_training(first: dt.date, as_of: dt.date, horizon: int, cfg: Mapping[str, Any]) -> Plan:
    """The longest label window ≤ H that leaves ``min_snapshots`` cutoffs with history.

    More, later cutoffs beat a longer window: on CDNOW (273-day horizon, 273 days of
    history) 90-day labels at 5 cutoffs rank revenue better than 153-day labels at 3.
    """
    step = int(cfg["snapshot_step_days"])
    n = int(cfg["snapshots"])
    hist = int(cfg["min_history_days"])
    need = max(int(cfg["min_snapshots"]), 2) - 1
    span = (as_of - first).days
    label = min(horizon, span - hist - need * step)
    if label < int(cfg["min_label_days"]):
        why = (
            f"{span} days of history before {as_of}: too short for labelled snapshots "
            f"(need {hist + need * step + int(cfg['min_label_days'])}); BTYD models only"
        )
        return Plan(as_of, horizon, horizon, [], "btyd", why)
    cutoffs = []
    for j in range(n):
        c = as_of - dt.timedelta(days=label + j * step)
        if (c - first).days < hist:
            break
        cutoffs.append(c)
    why = "" if label == horizon else f"labels over {label} days (history too short for {horizon})"
    return Plan(as_of, horizon, label, sorted(cutoffs), "boosted", why)


@dataclass
class ScoreModels:
    plan: Plan
    classifier: Any = None
    orders: Any = None
    revenue: Any = None
    btyd: Btyd | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    features: list[str] = field(default_factory=list)
    meanings: dict[str, str] = field(default_factory=dict)
    stack: dict[str, Any] = field(default_factory=dict)


# -- stacking: the boosted model and BG/NBD, weighed on the validation slice ----------
#
# The trees see the BG/NBD outputs as features, yet on short or shifted histories (a
# cohort scored older than it was trained) the parametric model extrapolates better. A
# logistic fit on [boosted log-odds, BG/NBD log-odds] over the later slice both weighs
# the two and calibrates; revenue takes the geometric blend whose weight ranks the later
# slice's revenue best.

BLEND_WEIGHTS = (1.0, 0.75, 0.5, 0.25)


def _btyd_logit(expected: np.ndarray) -> np.ndarray:
    q = 1.0 - np.exp(-np.nan_to_num(np.asarray(expected, float), nan=0.0))
    q = np.clip(q, 1e-6, 1 - 1e-6)
    return np.log(q / (1 - q))


def _btyd_revenue(X: pd.DataFrame, fallback: np.ndarray) -> np.ndarray:
    r = X["btyd_expected"].to_numpy(float) * X["btyd_value"].to_numpy(float)
    return np.where(np.isfinite(r) & (r > 0), r, fallback)


def _blend(a: np.ndarray, b: np.ndarray, w: float) -> np.ndarray:
    eps = 1e-9
    return np.exp(w * np.log(np.maximum(a, eps)) + (1 - w) * np.log(np.maximum(b, eps)))


def fit_stack(models: ScoreModels, Xv: pd.DataFrame, val: pd.DataFrame) -> dict[str, Any]:
    from scipy.stats import spearmanr
    from sklearn.linear_model import LogisticRegression

    out: dict[str, Any] = {}
    y = val["active"].to_numpy()
    if len(np.unique(y)) == 2:
        z = np.column_stack([models.classifier._raw(Xv), _btyd_logit(Xv["btyd_expected"])])
        lr = LogisticRegression(C=1e6).fit(z, y)
        out["purchase"] = [*map(float, lr.coef_[0]), float(lr.intercept_[0])]
    rb = models.revenue.predict(Xv)
    rt = _btyd_revenue(Xv, rb)
    truth = val["revenue_h"].to_numpy()
    if np.ptp(truth) > 0:
        scores = {w: spearmanr(truth, _blend(rb, rt, w))[0] for w in BLEND_WEIGHTS}
        out["revenue_weight"] = max(scores, key=lambda w: (np.nan_to_num(scores[w]), w))
    return out


def stacked_purchase(models: ScoreModels, X: pd.DataFrame) -> np.ndarray:
    coef = models.stack.get("purchase")
    if coef is None:
        return models.classifier.predict_proba(X)[:, 1]
    z = coef[0] * models.classifier._raw(X) + coef[1] * _btyd_logit(X["btyd_expected"]) + coef[2]
    return 1.0 / (1.0 + np.exp(-z))


def stacked_revenue(models: ScoreModels, X: pd.DataFrame) -> np.ndarray:
    rb = models.revenue.predict(X)
    w = float(models.stack.get("revenue_weight", 1.0))
    return rb if w >= 1.0 else _blend(rb, _btyd_revenue(X, rb), w)


def fit(
    tables: Mapping[str, ir.Table],
    as_of: dt.date,
    horizon: int,
    cfg: Mapping[str, Any] | None = None,
    on_step: Callable[[str], None] = lambda s: None,
) -> ScoreModels:
    """Fit the churn, orders and revenue models for scoring at ``as_of`` over ``horizon``."""
    from liucun.evaluate.metrics import classification_metrics, regression_metrics
    from liucun.features import FEATURES, build_features
    from liucun.features.btyd import order_span, summary_frame
    from liucun.features.labels import label_frame
    from liucun.models.boosted import BoostedClassifier, BoostedRegressor

    cfg = {**DEFAULT_SCORE_CONFIG, **(cfg or {})}
    if "orders" not in tables:
        raise LiucunError("scoring needs orders: ingest an orders table first")
    first, _last = order_span(tables, as_of)
    if first is None:
        raise LiucunError(f"no orders before {as_of}: nothing to learn churn from")
    churn_event = str(cfg.get("churn_event", "purchase"))
    if churn_event not in EVENT_TYPES:
        raise LiucunError(
            f"[score] churn_event = {churn_event!r}: expected one of {', '.join(EVENT_TYPES)}"
        )
    if churn_event != "purchase" and "events" not in tables:
        raise LiucunError(f"[score] churn_event = {churn_event!r} needs an events table")
    plan = plan_training(first, as_of, horizon, cfg)
    meanings = {f.name: f.meaning for f in FEATURES}
    models = ScoreModels(plan, meanings=meanings)
    on_step(f"BTYD models as of {as_of}")
    models.btyd = Btyd.fit(summary_frame(tables, as_of))
    if plan.mode == "btyd" or len(plan.cutoffs) < 2:
        plan.mode = "btyd"
        if churn_event != "purchase":
            plan.why += f"; p_churn is about purchases, not {churn_event} events"
        return models

    frames = []
    for c in plan.cutoffs:
        on_step(f"snapshot {c} (labels over {plan.label_days} days)")
        f = build_features(tables, c).execute()
        f = add_btyd_features(f, Btyd.fit(summary_frame(tables, c)), plan.label_days)
        f = label_frame(f, tables, c, plan.label_days, churn_event)
        f.insert(0, "as_of", pd.Timestamp(c))
        frames.append(f)
    snap = pd.concat(frames, ignore_index=True)
    last = snap["as_of"] == pd.Timestamp(plan.cutoffs[-1])
    train, val = snap[~last], snap[last]
    drop = ["as_of", "user_id", *LABELS]
    X, Xv = train.drop(columns=drop), val.drop(columns=drop)
    seed = int(cfg["seed"])
    on_step(f"boosted models on {len(train):,} rows, validated on {len(val):,}")
    try:
        models.classifier = BoostedClassifier(seed=seed).fit(X, train["active"], Xv, val["active"])
    except ValueError as e:
        plan.mode, plan.why = "btyd", f"boosted churn model not fitted: {e}; BTYD models only"
        return models
    models.orders = BoostedRegressor(seed=seed).fit(X, train["orders_h"], Xv, val["orders_h"])
    models.revenue = BoostedRegressor(seed=seed).fit(X, train["revenue_h"], Xv, val["revenue_h"])
    models.features = list(models.classifier.matrix_.columns)
    models.stack = fit_stack(models, Xv, val)
    on_step("distilling the explainer for reasons")
    r2 = models.classifier.fit_explainer(X)
    p = stacked_purchase(models, Xv)
    models.metrics = {
        "validation_cutoff": plan.cutoffs[-1].isoformat(),
        "train_rows": len(train),
        "validation_rows": len(val),
        "explainer_r2": round(r2, 4),
        "churn_event": churn_event,
        "retained": classification_metrics(val["active"].to_numpy(), p),
        "orders": regression_metrics(val["orders_h"].to_numpy(), models.orders.predict(Xv)),
        "revenue": regression_metrics(val["revenue_h"].to_numpy(), models.revenue.predict(Xv)),
    }
    return models


def predict(
    models: ScoreModels,
    features: pd.DataFrame,
    reasons: bool | np.ndarray = True,
    k: int = 3,
) -> pd.DataFrame:
    """p_churn, expected orders/revenue over H, next order date and CLV per customer."""
    plan = models.plan
    users = features["user_id"]
    btyd = models.btyd or Btyd()
    H, h = plan.horizon, plan.label_days
    e_h = btyd.expected(h, users) if btyd.summary is not None else np.full(len(users), np.nan)
    e_H = btyd.expected(H, users) if btyd.summary is not None else e_h
    e_365 = btyd.expected(365, users) if btyd.summary is not None else e_h
    value = btyd.value(users) if btyd.summary is not None else np.full(len(users), np.nan)
    out = pd.DataFrame({"user_id": users.to_numpy()})
    if plan.mode == "boosted" and models.classifier is not None:
        X = add_btyd_features(features, btyd, h).drop(columns=["user_id"])
        p_buy_h = stacked_purchase(models, X)
        orders_h = models.orders.predict(X)
        revenue_h = stacked_revenue(models, X)
        # Stretch h → H with the BTYD time shape; customers BTYD cannot see scale linearly.
        stretch = np.where(np.isfinite(e_h) & (e_h > 1e-9), e_H / np.maximum(e_h, 1e-9), H / h)
        p_none = np.power(np.clip(1 - p_buy_h, 1e-9, 1), stretch)
        orders = orders_h * stretch
        revenue = revenue_h * stretch
        year = np.where(np.isfinite(e_H) & (e_H > 1e-9), e_365 / np.maximum(e_H, 1e-9), 365 / H)
        clv = revenue * year
    else:
        mean_value = np.nanmean(value) if np.isfinite(value).any() else 0.0
        orders = np.nan_to_num(e_H, nan=0.0)
        p_none = np.exp(-orders)
        v = np.where(np.isfinite(value), value, mean_value)
        revenue = orders * v
        clv = np.nan_to_num(e_365, nan=0.0) * v
    p_churn = np.clip(p_none, 0.0, 1.0)
    out["p_churn"] = p_churn
    out["expected_orders"] = orders
    out["expected_revenue"] = revenue
    out["clv_365d"] = clv
    out["next_order_date"] = _next_order_date(plan.as_of, H, p_churn)
    if plan.mode == "boosted" and models.classifier is not None and reasons is not False:
        mask = np.ones(len(out), bool) if reasons is True else np.asarray(reasons, bool)
        out["reasons"] = explain(models, features, mask, k)
    elif reasons is False:
        out["reasons"] = ""
    else:
        out["reasons"] = _btyd_reasons(features, btyd, users)
    return out


def explain(models: ScoreModels, features: pd.DataFrame, mask: np.ndarray, k: int) -> np.ndarray:
    """Reasons in words for the customers in ``mask`` ("" for the others)."""
    from liucun.models.reasons import top_reasons

    text = np.full(len(features), "", dtype=object)
    if mask.any():
        btyd = models.btyd or Btyd()
        values = add_btyd_features(features[mask], btyd, models.plan.label_days)
        contrib = models.classifier.contributions(values.drop(columns=["user_id"]))
        text[mask] = top_reasons(contrib, values, models.meanings, k=k)
    return text


def _next_order_date(as_of: dt.date, horizon: int, p_churn: np.ndarray) -> pd.Series:
    """The median day of the next order if orders came at the rate p_churn implies."""
    rate = -np.log(np.clip(p_churn, 1e-12, 1 - 1e-12)) / horizon  # per day
    days = np.log(2) / np.maximum(rate, 1e-12)
    days = np.where(days <= 730, days, np.nan)
    offset = pd.to_timedelta(days, unit="D")
    return pd.Series(pd.Timestamp(as_of) + offset).dt.normalize()


def _btyd_reasons(features: pd.DataFrame, btyd: Btyd, users: pd.Series) -> list[str]:
    alive = btyd.p_alive(users) if btyd.summary is not None else np.full(len(users), np.nan)
    rec = features.get("recency_days", pd.Series(np.nan, index=features.index)).to_numpy()
    out = []
    for a, r in zip(alive, rec, strict=True):
        parts = []
        parts.append("has never ordered" if not np.isfinite(r) else f"no purchase for {r:.0f} days")
        if np.isfinite(a):
            parts.append(f"BG/NBD P(active) {a:.0%}")
        out.append("; ".join(parts))
    return out


def risk_band(p_churn: np.ndarray, bands: Mapping[str, float]) -> np.ndarray:
    medium, high = float(bands["medium"]), float(bands["high"])
    return np.where(p_churn >= high, "high", np.where(p_churn >= medium, "medium", "low"))


# -- saving and reusing ----------------------------------------------------------------


def library_versions() -> dict[str, str]:
    out = {}
    for pkg in ("liucun", "lightgbm", "scikit-learn", "scipy", "numpy", "pandas", "duckdb"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def model_dir(ws: Workspace, as_of: dt.date, horizon: int) -> Path:
    """Models are reused only for the same as_of, horizon, settings and warehouse content."""
    state = ws.warehouse.fingerprint()
    key = json.dumps({"state": state, "cfg": score_config(ws)}, sort_keys=True, default=str)
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return ws.path / "models" / f"score-{as_of.isoformat()}-h{horizon}-{digest}"


def save(models: ScoreModels, path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    for name in ("classifier", "orders", "revenue"):
        m = getattr(models, name)
        if m is not None:
            m.save(path / name)
    btyd = models.btyd
    if btyd is not None:
        if btyd.bgnbd is not None:
            btyd.bgnbd.save(path / "bgnbd.json")
        if btyd.gamma is not None:
            btyd.gamma.save(path / "gamma_gamma.json")
        if btyd.summary is not None:
            btyd.summary.to_parquet(path / "btyd_summary.parquet", index=False)
    plan = asdict(models.plan)
    plan["as_of"] = models.plan.as_of.isoformat()
    plan["cutoffs"] = [c.isoformat() for c in models.plan.cutoffs]
    meta = {
        "plan": plan,
        "training_window": {
            "first_cutoff": plan["cutoffs"][0] if plan["cutoffs"] else None,
            "last_label_day": models.plan.as_of.isoformat(),
        },
        "features": models.features,
        "metrics": models.metrics,
        "stack": models.stack,
        "versions": library_versions(),
        "saved_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    (path / "meta.json").write_text(json.dumps(meta, indent=1, default=_json), encoding="utf-8")


def _json(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return str(v)


def load(path: Path) -> ScoreModels:
    from liucun.features import FEATURES
    from liucun.models.boosted import BoostedClassifier, BoostedRegressor
    from liucun.models.btyd import BetaGeoModel, GammaGammaModel

    meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    p = meta["plan"]
    plan = Plan(
        dt.date.fromisoformat(p["as_of"]),
        p["horizon"],
        p["label_days"],
        [dt.date.fromisoformat(c) for c in p["cutoffs"]],
        p["mode"],
        p.get("why", ""),
    )
    models = ScoreModels(
        plan, metrics=meta["metrics"], features=meta["features"], stack=meta.get("stack", {})
    )
    models.meanings = {f.name: f.meaning for f in FEATURES}
    if (path / "classifier").exists():
        models.classifier = BoostedClassifier.load(path / "classifier")
        models.orders = BoostedRegressor.load(path / "orders")
        models.revenue = BoostedRegressor.load(path / "revenue")
    btyd = Btyd()
    if (path / "btyd_summary.parquet").exists():
        btyd.summary = pd.read_parquet(path / "btyd_summary.parquet")
    if (path / "bgnbd.json").exists():
        btyd.bgnbd = BetaGeoModel.load(path / "bgnbd.json")
    if (path / "gamma_gamma.json").exists():
        btyd.gamma = GammaGammaModel.load(path / "gamma_gamma.json")
    models.btyd = btyd
    return models


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
) -> ScoreResult:
    """Scores for every known customer as of ``as_of`` (fitting or reusing the models)."""
    from liucun.decide import segments as seg
    from liucun.features import feature_frame, workspace_tables
    from liucun.pipeline import segments_config
    from liucun.reviews import ensure_text_scores

    cfg = score_config(ws)
    H = int(horizon if horizon is not None else cfg["horizon_days"])
    if H < 1:
        raise LiucunError(f"--horizon {H}: must be at least 1 day")
    seconds: dict[str, float] = {}
    ensure_text_scores(ws)  # review sentiment features; before the models' fingerprint
    path = model_dir(ws, as_of, H)
    t0 = time.perf_counter()
    reused = (path / "meta.json").exists()
    if reused:
        on_step(f"reusing models in {path.name}")
        models = load(path)
    else:
        models = fit(workspace_tables(ws), as_of, H, cfg, on_step)
        save(models, path)
    seconds["fit"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    if features is None:
        on_step(f"features as of {as_of}")
        features = feature_frame(ws, as_of)
    if models.btyd is not None and models.btyd.summary is None:
        from liucun.features.btyd import summary_frame

        models.btyd.summary = summary_frame(workspace_tables(ws), as_of)
    on_step(f"scoring {len(features):,} customers")
    scfg = segments_config(ws)
    rfm = seg.rfm(features, scfg)
    stage = seg.lifecycle(features, scfg)
    many = len(features) > int(cfg["reasons_all_up_to"])
    out = predict(models, features, reasons=not many, k=int(cfg["reasons"]))
    out["risk_band"] = risk_band(out["p_churn"].to_numpy(), cfg["risk_bands"])
    if many and models.classifier is not None:
        mask = out["risk_band"].to_numpy() != "low"
        out["reasons"] = explain(models, features, mask, int(cfg["reasons"]))
    out = out.merge(rfm[["user_id", "rfm_segment"]], on="user_id", how="left")
    out = out.rename(columns={"rfm_segment": "segment"})
    out["lifecycle_stage"] = stage.reindex(out["user_id"]).to_numpy()
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
    return ScoreResult(out[cols], path, reused, models.plan, seconds)
