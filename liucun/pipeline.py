"""The daily run: warehouse → features → segments → scores → recommendations → plan.

Every output is tagged by run_id.

Each stage reads what the one before wrote (one direction). Outputs of a run live in
``runs/<run_id>/``; ``runs/latest.json`` names the newest, which the CLI and the API
serve from.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from liucun.errors import LiucunError

if TYPE_CHECKING:
    from liucun.workspace import Workspace

STAGES = (
    "texts", "features", "segments", "scores", "recommendations", "reviews", "risk", "plan"
)  # fmt: skip


@dataclass
class RunResult:
    run_id: str
    as_of: str
    run_dir: str
    outputs: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)


def new_run_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")


def parse_as_of(value: str | dt.date | None, ws: Workspace) -> dt.date:
    """``--as-of``: a date; by default the day after the newest row in the warehouse."""
    if isinstance(value, dt.date):
        return value
    if value:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise LiucunError(f"--as-of {value}: expected a date YYYY-MM-DD") from None
    last = ws.warehouse.last_activity()
    if last is None:
        raise LiucunError("the warehouse is empty: ingest data first (see `liucun ingest`)")
    return last.date() + dt.timedelta(days=1)


def run(
    ws: Workspace,
    as_of: str | dt.date | None = None,
    on_step: Callable[[str], None] = lambda step: None,
) -> RunResult:
    """Run every stage that exists as of ``as_of`` and write the run's outputs."""
    from liucun.features import feature_frame

    if ws.warehouse.last_activity() is None:
        raise LiucunError("the warehouse is empty: ingest data first (see `liucun ingest`)")
    from liucun.serve.intake import ingest_inbox

    ingest_inbox(ws)  # events POSTed to the API since the last run
    day = parse_as_of(as_of, ws)
    run_id = new_run_id()
    run_dir = ws.path / "runs" / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    res = RunResult(run_id, day.isoformat(), str(run_dir))
    cfg = segments_config(ws)

    from liucun.reviews import reviews_config, score_warehouse_texts

    # Review and support texts are scored before features, which read their sentiment.
    text_cfg = reviews_config(ws)
    if text_cfg["in_run"]:
        t0 = time.perf_counter()
        on_step("review and support text sentiment")
        res.stats["texts"] = score_warehouse_texts(ws)
        res.seconds["texts"] = round(time.perf_counter() - t0, 3)

    t0 = time.perf_counter()
    on_step(f"features as of {day}")
    features = feature_frame(ws, day)
    res.seconds["features"] = round(time.perf_counter() - t0, 3)
    _write(res, "features", features)

    t0 = time.perf_counter()
    on_step("segments, lifecycle stages, clusters, profiles")
    customers, summary, report = segment_customers(features, cfg)
    res.seconds["segments"] = round(time.perf_counter() - t0, 3)
    _write(res, "customers", customers)
    _write(res, "segments", summary)
    (run_dir / "clusters.json").write_text(
        json.dumps(report, indent=2, default=str), encoding="utf-8"
    )
    res.outputs["clusters"] = str(run_dir / "clusters.json")
    t0 = time.perf_counter()
    on_step("churn, orders, revenue and CLV models")
    from liucun.scoring import score

    scored = score(ws, day, features=features, on_step=on_step)
    res.seconds["scores"] = round(time.perf_counter() - t0, 3)
    _write(res, "scores", scored.scores)
    bands = scored.scores["risk_band"].value_counts()

    from liucun.recommending import recommend, recommend_config

    recs_note = ""
    recs_frame = None
    if recommend_config(ws)["in_run"]:
        t0 = time.perf_counter()
        on_step("recommendations")
        try:
            recs = recommend(ws, day, users=list(features["user_id"]), on_step=on_step)
        except LiucunError as e:
            recs_note = f"no recommendations: {e}"
        else:
            res.seconds["recommendations"] = round(time.perf_counter() - t0, 3)
            _write(res, "recommendations", recs.recommendations)
            recs_frame = recs.recommendations
            res.outputs["recommender"] = str(recs.model_path)
    if text_cfg["in_run"]:
        from liucun.reviews import write_outputs

        t0 = time.perf_counter()
        on_step("review themes, topics, item quality, interests")
        text_out = write_outputs(ws, day, run_dir)
        res.outputs.update(text_out["paths"])
        res.stats["reviews"] = text_out["stats"]
        res.seconds["reviews"] = round(time.perf_counter() - t0, 3)
    from liucun.risk import risk_config

    risky: list[str] | None = None
    if risk_config(ws)["in_run"]:
        from liucun.risk import risk_scores
        from liucun.risk import write_outputs as write_risk

        t0 = time.perf_counter()
        on_step("risk: fraud and coupon abuse")
        risk = risk_scores(ws, day)
        res.outputs.update(write_risk(risk, run_dir))
        res.stats["risk"] = risk.stats
        risky = risk.high() if risk_config(ws)["exclude_from_coupons"] else []
        res.seconds["risk"] = round(time.perf_counter() - t0, 3)
    plan_note, plan_stats = _plan_stage(
        ws, day, res, features, scored.scores, recs_frame, on_step, risky
    )
    # Dashboard aggregates (KPIs, cohorts, flows, drift, model health): pages read this.
    from liucun.serve.aggregates import write_dashboard

    t0 = time.perf_counter()
    on_step("dashboard aggregates")
    res.outputs["dashboard"] = str(
        write_dashboard(
            ws, res, features, customers, scored.scores, scored.model_path, plan_stats, on_step
        )
    )
    res.seconds["dashboard"] = round(time.perf_counter() - t0, 3)
    res.stats = {
        **res.stats,
        "customers": len(features),
        "features": len(features.columns) - 1,
        "segments": len(summary),
        "clusters": report.get("k"),
        "silhouette": report.get("silhouette"),
        "score_mode": scored.plan.mode,
        "score_note": scored.plan.why,
        "models": str(scored.model_path),
        "models_reused": scored.reused,
        "high_risk": int(bands.get("high", 0)),
        "medium_risk": int(bands.get("medium", 0)),
        "recommendations_note": recs_note,
        "plan_note": plan_note,
        "plan": plan_stats,
    }
    (run_dir / "run.json").write_text(json.dumps(asdict(res), indent=2), encoding="utf-8")
    # Replaced atomically: a server reading the pointer sees the old run or this one.
    tmp = ws.path / "runs" / f".latest.{run_id}.json"
    tmp.write_text(json.dumps({"run_id": run_id, "as_of": res.as_of}), encoding="utf-8")
    os.replace(tmp, ws.path / "runs" / "latest.json")
    return res


def _plan_stage(
    ws: Workspace,
    day: dt.date,
    res: RunResult,
    features: pd.DataFrame,
    scores: pd.DataFrame,
    recs: pd.DataFrame | None,
    on_step: Callable[[str], None],
    risky: list[str] | None = None,
) -> tuple[str, dict[str, Any]]:
    """The day's campaign plan and its message drafts, with [plan] budget; a shop without
    randomised campaigns gets a note instead (nothing to learn uplift from yet)."""
    from liucun.planning import drafts, message_context, plan, plan_config

    if not plan_config(ws).get("in_run", True):
        return "plan stage off ([plan] in_run = false)", {}
    t0 = time.perf_counter()
    on_step("campaign plan")
    try:
        r = plan(ws, day, features=features, context=scores, on_step=on_step, risky=risky)
    except LiucunError as e:
        return f"no plan: {e}", {}
    _write(res, "plan", r.plan)
    on_step("message drafts")
    _write(res, "messages", drafts(ws, r.plan, message_context(ws, scores, recs)))
    res.seconds["plan"] = round(time.perf_counter() - t0, 3)
    keys = ("budget", "spend", "planned", "control", "by_action", "expected_uplift", "excluded",
            "risky_excluded")  # fmt: skip
    return "", {k: r.stats[k] for k in keys}


def _write(res: RunResult, name: str, df: pd.DataFrame) -> None:
    path = Path(res.run_dir) / f"{name}.parquet"
    df.to_parquet(path, index=False)
    res.outputs[name] = str(path)


def segments_config(ws: Workspace) -> dict[str, Any]:
    """``[segments]`` of liucun.toml over the defaults (a partial section is fine)."""
    from liucun.config import _merge
    from liucun.decide.segments import DEFAULT_SEGMENTS_CONFIG

    return _merge(DEFAULT_SEGMENTS_CONFIG, ws.config.get("segments", {}))


PROFILE_FACTS = ("orders_total", "revenue_total", "recency_days", "tenure_days", "top_category")


def segment_customers(
    features: pd.DataFrame, cfg: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """(one row per customer with segment, stage, cluster, tags; segment table; cluster report)."""
    from liucun.decide import segments as seg

    rfm = seg.rfm(features, cfg)
    stage = seg.lifecycle(features, cfg)
    clusters, report = seg.clusters(features, cfg, seed=int(cfg.get("seed", 0)))
    facts = [c for c in PROFILE_FACTS if c in features.columns]
    out = (
        features[["user_id", *facts]]
        .merge(rfm, on="user_id", how="left")
        .merge(stage.rename("lifecycle_stage"), left_on="user_id", right_index=True, how="left")
        .merge(clusters, on="user_id", how="left")
    )
    context = features.merge(
        out[["user_id", "rfm_segment", "lifecycle_stage", "cluster_name"]], on="user_id", how="left"
    )
    thresholds = seg.tag_thresholds(features, cfg)
    out["tags"] = seg.tags(context, cfg, thresholds).map(", ".join).to_numpy()
    out = out.rename(columns={"rfm_segment": "segment"})
    return out, seg.segment_summary(features, rfm, cfg), report


def customer_profile(ws: Workspace, user_id: str) -> dict[str, Any]:
    """The customer 360 of ``user_id`` from the latest run."""
    from liucun.decide import segments as seg

    features = read_output(ws, "features")
    customers = read_output(ws, "customers").set_index("user_id")
    if user_id not in customers.index:
        raise LiucunError(f"no customer '{user_id}' in the latest run ({latest_run(ws).name})")
    cfg = segments_config(ws)
    row = features.loc[features["user_id"] == user_id].iloc[0]
    c = customers.loc[user_id]
    return seg.profile(
        row,
        {
            "r_score": c["r_score"],
            "f_score": c["f_score"],
            "m_score": c["m_score"],
            "rfm_segment": c["segment"],
        },
        c["lifecycle_stage"],
        c["cluster_name"],
        cfg,
        seg.tag_thresholds(features, cfg),
    )


def latest_run(ws: Workspace) -> Path:
    """The newest run's folder; one clear line if there is none."""
    pointer = ws.path / "runs" / "latest.json"
    if not pointer.exists():
        raise LiucunError(f"no run in {ws.path}: run `liucun run --as-of DATE` first")
    run_id = json.loads(pointer.read_text(encoding="utf-8"))["run_id"]
    return ws.path / "runs" / run_id


def read_output(ws: Workspace, name: str, run_dir: Path | None = None) -> pd.DataFrame:
    path = (run_dir or latest_run(ws)) / f"{name}.parquet"
    if not path.exists():
        raise LiucunError(f"{path}: the latest run has no {name} output")
    return pd.read_parquet(path)


# -- early warning ---------------------------------------------------------------------

DRIFT_FEATURES = (
    "recency_days",
    "orders_90d",
    "revenue_90d",
    "orders_total",
    "revenue_total",
    "aov",
    "gap_ratio",
    "sessions_30d",
    "views_30d",
    "days_since_last_event",
    "tenure_days",
)
PSI_WARNING = 0.2


def previous_run(ws: Workspace, before: str) -> Path | None:
    """The newest run older than run ``before`` that wrote scores."""
    runs = sorted(p for p in (ws.path / "runs").glob("*") if (p / "scores.parquet").exists())
    older = [p for p in runs if p.name < before]
    return older[-1] if older else None


@dataclass
class Alerts:
    run: RunResult
    previous: str | None
    alerts: pd.DataFrame
    drift: pd.DataFrame

    @property
    def drifted(self) -> list[str]:
        return list(self.drift.loc[self.drift["psi"] > PSI_WARNING, "feature"])


def alerts(
    ws: Workspace,
    as_of: str | dt.date | None = None,
    on_step: Callable[[str], None] = lambda step: None,
) -> Alerts:
    """Runs the job as of ``as_of``; who crossed into the high band since the previous run.

    Value at risk = the customer's revenue of the last 365 days × p_churn. Feature drift
    between the two runs is the PSI of the main features.
    """
    from liucun.evaluate.metrics import psi_table

    res = run(ws, as_of, on_step=on_step)
    now = pd.read_parquet(res.outputs["scores"])
    feats = pd.read_parquet(res.outputs["features"])
    prev_dir = previous_run(ws, res.run_id)
    if prev_dir is None:
        was_high: set[str] = set()
        drift = pd.DataFrame(columns=["feature", "psi"])
    else:
        before = read_output(ws, "scores", prev_dir)
        was_high = set(before.loc[before["risk_band"] == "high", "user_id"])
        old = read_output(ws, "features", prev_dir)
        cols = [c for c in DRIFT_FEATURES if c in feats.columns and c in old.columns]
        drift = psi_table(old, feats, cols)
    crossed = now[(now["risk_band"] == "high") & ~now["user_id"].isin(was_high)].copy()
    spend = feats.set_index("user_id").get("revenue_365d")
    year = spend.reindex(crossed["user_id"]).fillna(0).to_numpy() if spend is not None else 0.0
    crossed["value_at_risk"] = year * crossed["p_churn"].to_numpy()
    crossed = crossed.sort_values(["value_at_risk", "p_churn"], ascending=False, kind="stable")
    cols = ["user_id", "p_churn", "value_at_risk", "clv_365d", "segment", "lifecycle_stage"]
    crossed = crossed[[*cols, "reasons"]].reset_index(drop=True)
    run_dir = Path(res.run_dir)
    crossed.to_parquet(run_dir / "alerts.parquet", index=False)
    drift.to_parquet(run_dir / "drift.parquet", index=False)
    return Alerts(res, prev_dir.name if prev_dir else None, crossed, drift)
