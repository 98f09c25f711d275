"""What the dashboard and ``liucun report`` show beyond one customer, computed once per run.

The daily run writes ``dashboard.json`` next to its other outputs: KPIs, the cohort
heatmap, lifecycle stages (and their flow since the previous run), the RFM grid, segment
and cluster tables, the plan by action, campaign read-outs, risk bands, feature drift and
model health. Pages read it instead of touching a million customers per request. Every
value is plain JSON (no NaN: missing is ``null``).

This module imports neither FastAPI nor Jinja: the pipeline calls it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from liucun import config
from liucun.decide import at_risk
from liucun.decide.segments import STAGES
from liucun.engines import workspace_tables
from liucun.errors import LiucunError
from liucun.evaluate.drift import DRIFT_FEATURES, PSI_WARNING, psi_table
from liucun.evaluate.metrics import (
    calibration_table,
    classification_metrics,
    expected_calibration_error,
    lift_capture,
    lift_curve,
)
from liucun.features.cohorts import cohort_frame, cohort_matrix
from liucun.features.labels import LABELS, snapshot_frame
from liucun.models.btyd import btyd_features
from liucun.models.churn import ChurnValueModel
from liucun.outputs import clean, records
from liucun.runs import previous_run, read_output
from liucun.tasks.campaigns import list_campaigns, readout
from liucun.tasks.score import risk_band

if TYPE_CHECKING:
    from liucun.runs import RunResult
    from liucun.workspace import Workspace

__all__ = [
    "DASHBOARD_FILE",
    "band_table",
    "dashboard_aggregates",
    "frame_aggregates",
    "headline",
    "load_dashboard",
    "write_dashboard",
]

DASHBOARD_FILE = "dashboard.json"
VALIDATION_FILE = "validation.json"  # cached in the score model's folder
BANDS = ("high", "medium", "low")
ACTIVE_STAGES = ("new", "active", "reactivated")
NOT_KNOWN = "(not known)"


def dashboard_config(ws: Workspace) -> dict[str, Any]:
    """``[dashboard]`` of liucun.toml over its documented defaults (``liucun.config``)."""
    return config.section("dashboard", ws.config)


# -- JSON --------------------------------------------------------------------------------


def _num(df: pd.DataFrame, col: str) -> pd.Series:
    if col not in df.columns:
        return pd.Series(np.zeros(len(df)), index=df.index)
    return pd.to_numeric(df[col], errors="coerce")


# -- from the run's frames alone ---------------------------------------------------------


def frame_aggregates(
    customers: pd.DataFrame | None,
    scores: pd.DataFrame | None,
    plan: pd.DataFrame | None = None,
    segments: pd.DataFrame | None = None,
    clusters: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything computable from the run's outputs without the warehouse: KPIs, bands,
    stages, RFM grid, segment table, clusters, plan by action, p_churn histogram.

    The dashboard falls back on this (once per run) for runs older than dashboard.json.
    """
    out: dict[str, Any] = {}
    out["kpis"] = _kpis(customers, scores, plan)
    out["bands"] = _bands(scores)
    out["stages"] = _stages(customers if customers is not None else scores)
    out["rfm_grid"] = _rfm_grid(customers)
    out["segments"] = _segments(segments, scores)
    out["segment_names"] = _segment_names(segments, scores)
    out["clusters"] = _clusters(clusters)
    out["plan"] = _plan(plan)
    out["p_churn_hist"] = _histogram(scores)
    return clean(out)


def _kpis(
    customers: pd.DataFrame | None, scores: pd.DataFrame | None, plan: pd.DataFrame | None
) -> dict[str, Any]:
    k: dict[str, Any] = {"customers": 0}
    base = customers if customers is not None else scores
    if base is None:
        return k
    k["customers"] = len(base)
    if "lifecycle_stage" in base.columns:
        k["active_customers"] = int(base["lifecycle_stage"].isin(ACTIVE_STAGES).sum())
    if customers is not None and "orders_total" in customers.columns:
        k["buyers"] = int((_num(customers, "orders_total") > 0).sum())
    if scores is not None and len(scores):
        p = _num(scores, "p_churn")
        buyers = scores["lifecycle_stage"] != "prospect" if "lifecycle_stage" in scores else None
        k["churn_rate"] = float(p[buyers].mean()) if buyers is not None and buyers.any() else None
        k["churn_rate_all"] = float(p.mean())
        clv = _num(scores, "clv_365d").fillna(0)
        k["revenue_at_risk"] = float((p * clv).sum())
        k["expected_revenue"] = float(_num(scores, "expected_revenue").fillna(0).sum())
        if "risk_band" in scores.columns:
            # Customers to act on: prospects and customers gone for good are counted apart
            # (the at-risk list leaves them out by default too).
            high = (scores["risk_band"] == "high").fillna(False).to_numpy(dtype=bool)
            prospect, gone = at_risk.groups(scores, customers)
            k["high_risk"] = int((high & ~prospect & ~gone).sum())
            k["high_risk_prospects"] = int((high & prospect).sum())
            k["high_risk_gone"] = int((high & gone & ~prospect).sum())
        if "p_convert" in scores.columns:  # customers who never ordered: P(first order)
            pc = _num(scores, "p_convert").dropna()
            k["prospects"] = len(pc)
            k["expected_conversions"] = float(pc.sum())
            k["mean_p_convert"] = float(pc.mean()) if len(pc) else None
    if plan is not None and len(plan):
        treated = plan["action"] != "control"
        k["planned"] = int(treated.sum())
        k["plan_cost"] = float(_num(plan, "cost")[treated].sum())
        k["plan_uplift"] = float(_num(plan, "expected_uplift")[treated].sum())
    return k


def _bands(scores: pd.DataFrame | None) -> list[dict[str, Any]]:
    if scores is None or "risk_band" not in scores.columns:
        return []
    p = _num(scores, "p_churn")
    var = p * _num(scores, "clv_365d").fillna(0)
    rows = []
    present = [b for b in BANDS if (scores["risk_band"] == b).any()]
    present += sorted(set(scores["risk_band"].dropna().astype(str)) - set(BANDS))
    for b in present:
        m = scores["risk_band"] == b
        rows.append({"band": b, "customers": int(m.sum()), "value_at_risk": float(var[m].sum())})
    return rows


def _stages(frame: pd.DataFrame | None) -> list[dict[str, Any]]:

    if frame is None or "lifecycle_stage" not in frame.columns:
        return []
    counts = frame["lifecycle_stage"].value_counts()
    order = [s for s in STAGES if s in counts.index]
    order += sorted(set(counts.index.astype(str)) - set(order))
    return [{"stage": s, "customers": int(counts[s])} for s in order]


def _rfm_grid(customers: pd.DataFrame | None) -> dict[str, Any] | None:
    """Customers per (R, F) score cell, R from best (top row) to worst; mean M per cell."""
    if customers is None or not {"r_score", "f_score"} <= set(customers.columns):
        return None
    c = customers.dropna(subset=["r_score", "f_score"])
    if c.empty:
        return None
    r = c["r_score"].astype(int)
    f = c["f_score"].astype(int)
    top = int(max(r.max(), f.max()))
    rs, fs = list(range(top, 0, -1)), list(range(1, top + 1))
    counts = pd.crosstab(r, f).reindex(index=rs, columns=fs, fill_value=0)
    rev = _num(c, "revenue_total")
    revenue = rev.groupby([r, f]).mean().unstack().reindex(index=rs, columns=fs)
    return {
        "r": rs,
        "f": fs,
        "counts": counts.to_numpy().tolist(),
        "avg_revenue": revenue.to_numpy().tolist(),
        "max": int(counts.to_numpy().max()),
    }


def _segments(segments: pd.DataFrame | None, scores: pd.DataFrame | None) -> list[dict[str, Any]]:
    if segments is None or segments.empty:
        return []
    seg = segments.copy()
    if scores is not None and "segment" in scores.columns:
        p = _num(scores, "p_churn")
        var = p * _num(scores, "clv_365d").fillna(0)
        g = pd.DataFrame({"segment": scores["segment"], "p": p, "var": var}).groupby("segment")
        seg["mean_p_churn"] = seg["segment"].map(g["p"].mean())
        seg["value_at_risk"] = seg["segment"].map(g["var"].sum())
    return records(seg, strict=True)


def _segment_names(segments: pd.DataFrame | None, scores: pd.DataFrame | None) -> list[str]:
    if segments is not None and "segment" in segments.columns:
        return [str(s) for s in segments["segment"]]
    if scores is not None and "segment" in scores.columns:
        return sorted(scores["segment"].dropna().astype(str).unique())
    return []


def _clusters(report: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not report or not report.get("clusters"):
        return None
    feats = list(report.get("features") or [])
    rows = []
    for c in report["clusters"]:
        rows.append(
            {
                "cluster": c.get("cluster"),
                "name": c.get("name"),
                "size": c.get("size"),
                "share": c.get("share"),
                "top_features": [
                    {"feature": t.get("feature"), "mean_z": t.get("mean_z")}
                    for t in c.get("top_features") or []
                ],
                "means": {f: (c.get("means") or {}).get(f) for f in feats},
            }
        )
    return {
        "k": report.get("k"),
        "silhouette": report.get("silhouette"),
        "features": feats,
        "clusters": rows,
    }


def _plan(plan: pd.DataFrame | None) -> dict[str, Any] | None:
    if plan is None or "action" not in plan.columns:
        return None
    p = plan.assign(
        cost=_num(plan, "cost").fillna(0),
        expected_uplift=_num(plan, "expected_uplift").fillna(0),
        p_churn=_num(plan, "p_churn"),
    )
    g = p.groupby("action", sort=True)
    by = pd.DataFrame(
        {
            "customers": g.size(),
            "cost": g["cost"].sum(),
            "expected_uplift": g["expected_uplift"].sum(),
            "mean_p_churn": g["p_churn"].mean(),
        }
    ).reset_index()
    by["net"] = by["expected_uplift"] - by["cost"]
    by["control"] = by["action"] == "control"
    # Control rows carry the uplift their action was expected to bring: not a plan value.
    by.loc[by["control"], ["expected_uplift", "net"]] = np.nan
    by = by.sort_values(["control", "customers"], ascending=[True, False], kind="stable")
    treated = p[p["action"] != "control"]
    by_segment: list[dict[str, Any]] = []
    if "segment" in p.columns and len(treated):
        x = pd.crosstab(treated["segment"], treated["action"])
        x = x.loc[x.sum(axis=1).sort_values(ascending=False).index]
        by_segment = [
            {"segment": str(s), "actions": {str(a): int(n) for a, n in row.items() if n}}
            for s, row in x.iterrows()
        ]
    return {
        "by_action": records(by, strict=True),
        "planned": len(treated),
        "control": int((p["action"] == "control").sum()),
        "cost": float(treated["cost"].sum()),
        "expected_uplift": float(treated["expected_uplift"].sum()),
        "by_segment": by_segment,
    }


def _histogram(scores: pd.DataFrame | None, bins: int = 20) -> dict[str, Any] | None:
    if scores is None or "p_churn" not in scores.columns:
        return None
    p = _num(scores, "p_churn").dropna().clip(0, 1).to_numpy()
    counts, edges = np.histogram(p, bins=bins, range=(0.0, 1.0))
    return {"edges": [round(float(e), 3) for e in edges], "counts": counts.tolist()}


# -- with the warehouse and the previous run ---------------------------------------------


def dashboard_aggregates(
    ws: Workspace,
    as_of: dt.date | str,
    features: pd.DataFrame,
    customers: pd.DataFrame,
    scores: pd.DataFrame,
    plan: pd.DataFrame | None,
    *,
    run_id: str | None = None,
    segments: pd.DataFrame | None = None,
    clusters: Mapping[str, Any] | None = None,
    model_path: str | Path | None = None,
    plan_stats: Mapping[str, Any] | None = None,
    on_step: Callable[[str], None] = lambda step: None,
    horizon: Mapping[str, Any] | None = None,
    convert: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Every aggregate the dashboard pages and the report need, as plain JSON.

    ``run_id`` finds the previous run (lifecycle flow, feature drift); ``model_path`` the
    score model (metrics, and calibration/lift on its validation slice, overall and per
    p_churn band, read only from rows before ``as_of``); ``horizon`` how the churn horizon
    was chosen and ``convert`` the p_convert model's summary (the run's stats). A part
    that cannot be computed is ``null`` with a note.
    """

    day = as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(str(as_of))
    cfg = dashboard_config(ws)
    notes: list[str] = []
    out = frame_aggregates(customers, scores, plan, segments, clusters)
    out["run_id"] = run_id
    out["as_of"] = day.isoformat()
    out["generated"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    if plan_stats and out.get("plan") is not None:
        out["plan"]["stats"] = clean(dict(plan_stats))
    out["horizon"] = clean(dict(horizon)) if horizon else None
    out["convert"] = clean(dict(convert)) if convert else None

    def part(name: str, fn: Callable[[], Any]) -> Any:
        try:
            return clean(fn())
        except Exception as e:  # one broken part must not cost the run its dashboard
            notes.append(f"{name}: {type(e).__name__}: {e}")
            return None

    on_step("dashboard: cohort retention")
    out["cohorts"] = part("cohorts", lambda: _cohorts(ws, day, int(cfg["cohort_months"])))

    prev = previous_run(ws, run_id) if run_id else None
    out["previous_run"] = prev.name if prev is not None else None
    out["flow"] = None
    out["drift"] = None
    if prev is not None:
        on_step(f"dashboard: changes since run {prev.name}")
        out["previous_as_of"] = part("previous run", lambda: _run_as_of(prev))
        out["flow"] = part(
            "lifecycle flow", lambda: _flow(read_output(ws, "customers", prev), customers)
        )
        out["drift"] = part("drift", lambda: _drift(prev, features))

    on_step("dashboard: model health")
    out["model"] = part(
        "model health",
        lambda: (
            _model_health(ws, Path(model_path), bool(cfg["model_health"])) if model_path else None
        ),
    )
    on_step("dashboard: campaign read-outs")
    out["readouts"] = part("read-outs", lambda: _readouts(ws, day, int(cfg["readouts"])))
    out["notes"] = notes
    return clean(out)


def _cohorts(ws: Workspace, day: dt.date, months: int) -> dict[str, Any]:

    tables = workspace_tables(ws)
    return cohort_matrix(cohort_frame(tables, day, months))


def _run_as_of(run_dir: Path) -> str | None:
    path = run_dir / "run.json"
    return json.loads(path.read_text(encoding="utf-8")).get("as_of") if path.exists() else None


def _flow(before: pd.DataFrame, now: pd.DataFrame) -> dict[str, Any]:
    """Customers by (stage in the previous run, stage now); new customers come from
    ``(not known)``."""

    b = before[["user_id", "lifecycle_stage"]].astype({"user_id": str})
    n = now[["user_id", "lifecycle_stage"]].astype({"user_id": str})
    j = n.merge(b, on="user_id", how="left", suffixes=("", "_before"))
    j["lifecycle_stage_before"] = j["lifecycle_stage_before"].fillna(NOT_KNOWN)
    x = pd.crosstab(j["lifecycle_stage_before"], j["lifecycle_stage"])
    cols = [s for s in STAGES if s in x.columns] + sorted(set(x.columns) - set(STAGES))
    rows = [s for s in STAGES if s in x.index] + sorted(set(x.index) - {*STAGES, NOT_KNOWN})
    if NOT_KNOWN in x.index:
        rows.append(NOT_KNOWN)
    x = x.reindex(index=rows, columns=cols, fill_value=0)
    moved = int(sum(x.loc[r, c] for r in rows for c in cols if r != c and r != NOT_KNOWN))
    return {
        "from": rows,
        "to": cols,
        "counts": x.to_numpy().tolist(),
        "max": int(x.to_numpy().max()) if x.size else 0,
        "moved": moved,
    }


def _drift(prev: Path, features: pd.DataFrame) -> list[dict[str, Any]]:
    """PSI of the main features between the previous run and this one (most shifted
    first), with their means."""

    path = prev / "features.parquet"
    if not path.exists():
        return []
    import pyarrow.parquet as pq

    held = set(pq.read_schema(path).names)
    cols = [c for c in DRIFT_FEATURES if c in features.columns and c in held]
    old = pd.read_parquet(path, columns=cols)
    table = psi_table(old, features, cols)
    table["mean_before"] = [float(_num(old, c).mean()) for c in table["feature"]]
    table["mean_now"] = [float(_num(features, c).mean()) for c in table["feature"]]
    table["warning"] = table["psi"] > PSI_WARNING
    return records(table, strict=True)


def _model_health(ws: Workspace, path: Path, validate: bool) -> dict[str, Any] | None:
    """The score model's meta (mode, cutoffs, validation metrics) and, for the boosted
    model, calibration and lift of p_churn on its validation slice (cached next to it)."""
    meta_path = path / "meta.json"
    if not meta_path.exists():
        return None
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    out: dict[str, Any] = {
        "path": path.name,
        "plan": meta.get("plan"),
        "metrics": meta.get("metrics"),
        "training_window": meta.get("training_window"),
        "features": len(meta.get("features") or []),
        "saved_at": meta.get("saved_at"),
        "validation": None,
    }
    if not validate or (meta.get("plan") or {}).get("mode") != "boosted":
        return out
    cache = path / VALIDATION_FILE
    if cache.exists():
        cached = json.loads(cache.read_text(encoding="utf-8"))
        if cached is None or "deciles" in cached:  # older caches lack the band tables
            out["validation"] = cached
            return out
    val = _validation(ws, path)
    if val is not None:
        tmp = path / f".{VALIDATION_FILE}.{os.getpid()}"
        tmp.write_text(json.dumps(clean(val), indent=1), encoding="utf-8")
        os.replace(tmp, cache)
    out["validation"] = val
    return out


def _validation(ws: Workspace, path: Path) -> dict[str, Any] | None:
    """The fitted model's predictions on its held-out validation cutoff against what
    happened in the label window after it (which ends at the model's as_of)."""

    model = ChurnValueModel.load(path)
    metrics = model.metrics_ or {}
    if model.classifier_ is None or not metrics.get("validation_cutoff"):
        return None
    cut = dt.date.fromisoformat(str(metrics["validation_cutoff"]))
    days = int(model.plan_.label_days)
    tables = workspace_tables(ws)
    event = str(metrics.get("churn_event", "purchase"))
    add = btyd_features(tables, days)  # as the model's training snapshots had them
    f = snapshot_frame(tables, cut, days, event, add=add, sort=True, arrow=True)
    X = f.drop(columns=["user_id", *LABELS])
    p_churn = 1.0 - model.stacked_purchase(X)
    held = getattr(model, "validation_", None)
    if held is not None and len(held) == len(f):
        # Trees grown again on every cutoff have seen this slice's labels: read the
        # predictions the held-out trees made, as the model's own metrics did.
        p = held.set_index("user_id")["p_active"].reindex(f["user_id"].astype(str).to_numpy())
        if p.notna().all():
            p_churn = 1.0 - p.to_numpy(dtype=float)
    churned = 1 - f["active"].to_numpy()
    cls = classification_metrics(churned, p_churn)
    bands = risk_band(p_churn, config.section("score", ws.config)["risk_bands"])
    deciles = band_table(churned, p_churn, _decile_of(p_churn), DECILES)
    return {
        "cutoff": cut.isoformat(),
        "label_days": days,
        "customers": len(f),
        "churn_rate": float(churned.mean()) if len(f) else None,
        "metrics": {**cls, "ece": expected_calibration_error(churned, p_churn)},
        "capture": lift_capture(churned, p_churn, (0.05, 0.10, 0.20)),
        "calibration": records(calibration_table(churned, p_churn), strict=True),
        "lift": records(lift_curve(churned, p_churn), strict=True),
        "bands": band_table(churned, p_churn, bands, BANDS),
        "deciles": deciles,
        "headline": headline(deciles, float(churned.mean()) if len(f) else None, days),
    }


# -- lift and calibration per p_churn band, in words ----------------------------------------

DECILES = tuple(range(1, 11))  # 1 = the tenth of customers with the highest p_churn


def _decile_of(p: np.ndarray) -> np.ndarray:
    """1..10 by p_churn, highest first; ties keep the frame's order (sorted by user_id)."""
    n = len(p)
    if n == 0:
        return np.zeros(0, dtype=int)
    rank = np.empty(n, dtype=int)
    rank[np.argsort(-np.asarray(p, float), kind="stable")] = np.arange(n)
    return rank * 10 // n + 1


def band_table(
    churned: np.ndarray, p: np.ndarray, band: np.ndarray, order: tuple[Any, ...]
) -> list[dict[str, Any]]:
    """Per band (in ``order``, empty ones left out): customers, their share, the mean
    predicted p_churn, the share who churned, and lift = that share over the base rate
    (2.0: churned twice as often as the average customer)."""
    y = np.asarray(churned, float)
    q = np.asarray(p, float)
    n = len(y)
    base = float(y.mean()) if n else float("nan")
    rows = []
    for b in order:
        m = band == b
        k = int(m.sum())
        if not k:
            continue
        rate = float(y[m].mean())
        rows.append(
            {
                "band": b if isinstance(b, str) else int(b),
                "customers": k,
                "share": k / n,
                "p_mean": float(q[m].mean()),
                "churn_rate": rate,
                "lift": rate / base if base > 0 else None,
                "gap": float(q[m].mean()) - rate,
            }
        )
    return rows


def headline(deciles: list[dict[str, Any]], base: float | None, days: int) -> str | None:
    """What an analyst reads first: how much more often the top tenth by p_churn churned,
    and how much more often the bottom tenth bought (the telling lift where most
    customers churn)."""
    top = next((r for r in deciles if r["band"] == 1), None)
    if top is None or base is None or top.get("lift") is None:
        return None
    text = (
        f"Customers in the top 10% by p_churn churned {top['lift']:.1f}× as often as average "
        f"({top['churn_rate']:.0%} vs {base:.0%} made no purchase in {days} days; "
        f"{top['p_mean']:.0%} predicted)."
    )
    bottom = next((r for r in deciles if r["band"] == 10), None)
    if bottom is not None and base < 1:
        bought, avg = 1 - bottom["churn_rate"], 1 - base
        text += (
            f" The bottom 10% bought again {bought / avg:.1f}× as often as average "
            f"({bought:.0%} vs {avg:.0%}; {1 - bottom['p_mean']:.0%} predicted)."
        )
    return text


def _readouts(ws: Workspace, day: dt.date, newest: int) -> list[dict[str, Any]]:
    """Read-outs (lift with intervals per action) of the newest randomised campaigns."""

    try:
        camps = list_campaigns(ws, day)
    except LiucunError:
        return []
    camps = camps[camps["control"] > 0].head(newest)
    out = []
    for row in camps.itertuples(index=False):
        try:
            r = readout(ws, str(row.campaign_id), day)
        except (LiucunError, ValueError) as e:
            out.append({"campaign_id": str(row.campaign_id), "error": str(e)})
            continue
        t = r.table.reset_index()
        out.append(
            {
                "campaign_id": r.campaign_id,
                "start": r.start,
                "contacts": r.contacts,
                "horizon_days": r.horizon_days,
                "window_days": r.window_days,
                "complete": r.complete,
                "window_line": r.window_line,
                "actions": records(t, strict=True),
                "notes": list(r.notes),
            }
        )
    return out


# -- files ---------------------------------------------------------------------------------


def write_dashboard(
    ws: Workspace,
    res: RunResult,
    features: pd.DataFrame,
    customers: pd.DataFrame,
    scores: pd.DataFrame,
    model_path: str | Path | None = None,
    plan_stats: Mapping[str, Any] | None = None,
    on_step: Callable[[str], None] = lambda step: None,
) -> Path:
    """The run's ``dashboard.json`` (the pipeline's last stage), from what it wrote."""
    run_dir = Path(res.run_dir)
    plan = pd.read_parquet(res.outputs["plan"]) if "plan" in res.outputs else None
    segments = pd.read_parquet(res.outputs["segments"]) if "segments" in res.outputs else None
    clusters_path = run_dir / "clusters.json"
    clusters = (
        json.loads(clusters_path.read_text(encoding="utf-8")) if clusters_path.exists() else None
    )
    doc = dashboard_aggregates(
        ws,
        res.as_of,
        features,
        customers,
        scores,
        plan,
        run_id=res.run_id,
        segments=segments,
        clusters=clusters,
        model_path=model_path,
        plan_stats=plan_stats,
        on_step=on_step,
        horizon=res.stats.get("horizon_choice"),
        convert=res.stats.get("convert"),
    )
    path = run_dir / DASHBOARD_FILE
    tmp = run_dir / f".{DASHBOARD_FILE}.tmp"
    tmp.write_text(json.dumps(doc, allow_nan=False, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_dashboard(run_dir: Path) -> dict[str, Any] | None:
    """A run's dashboard.json, or None for runs made before it existed."""
    path = Path(run_dir) / DASHBOARD_FILE
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))
