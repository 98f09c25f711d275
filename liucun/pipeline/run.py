"""The daily run: warehouse → features → segments → scores → recommendations → plan,
and demand (forecasts, stock alerts, elasticities: :mod:`liucun.pipeline.demand`).

Every output is tagged by run_id.

Each stage reads what the one before wrote (one direction). Outputs of a run live in
``runs/<run_id>/``; ``runs/latest.json`` names the newest, which the CLI and the API
serve from.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from liucun.data.inbox import ingest_inbox
from liucun.errors import LiucunError
from liucun.features import feature_frame
from liucun.outputs import clean
from liucun.pipeline.aggregates import write_dashboard
from liucun.pipeline.demand import demand_stage
from liucun.runs import RunResult, clean_partial_runs, finish_run, new_run_id, start_run
from liucun.tasks.messages import drafts, message_context
from liucun.tasks.plan import plan, plan_config
from liucun.tasks.recommend import recommend, recommend_config
from liucun.tasks.reviews import reviews_config, score_warehouse_texts, write_outputs
from liucun.tasks.risk import risk_config, risk_scores
from liucun.tasks.risk import write_outputs as write_risk
from liucun.tasks.score import score
from liucun.tasks.segments import segment_customers, segments_config
from liucun.workspace import parse_as_of

if TYPE_CHECKING:
    from liucun.workspace import Workspace


def run(
    ws: Workspace,
    as_of: str | dt.date | None = None,
    on_step: Callable[[str], None] = lambda step: None,
) -> RunResult:
    """Run every stage that exists as of ``as_of`` and write the run's outputs."""

    if ws.warehouse.last_activity() is None:
        raise LiucunError("the warehouse is empty: ingest data first (see `liucun ingest`)")

    # The warehouse is open for writing now, so no other run is writing its folder.
    clean_partial_runs(ws)
    ingest_inbox(ws)  # events POSTed to the API since the last run
    day = parse_as_of(as_of, ws)
    run_id = new_run_id()
    run_dir = start_run(ws, run_id)
    res = RunResult(run_id, day.isoformat(), str(run_dir))
    cfg = segments_config(ws)

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

    scored = score(ws, day, features=features, on_step=on_step, segments=customers)
    res.seconds["scores"] = round(time.perf_counter() - t0, 3)
    _write(res, "scores", scored.scores)
    # The churn horizon and how it was chosen ([score] horizon: "auto" reads the shop's
    # repeat gaps), and the p_convert model: in run.json, and dashboard.json from there.
    if scored.horizon is not None:
        res.stats["horizon"] = scored.horizon.days
        res.stats["horizon_choice"] = clean(scored.horizon.as_dict())
    if scored.convert is not None:
        res.stats["convert"] = clean(scored.convert)
    bands = scored.scores["risk_band"].value_counts()

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
        t0 = time.perf_counter()
        on_step("review themes, topics, item quality, interests")
        text_out = write_outputs(ws, day, run_dir)
        res.outputs.update(text_out["paths"])
        res.stats["reviews"] = text_out["stats"]
        res.seconds["reviews"] = round(time.perf_counter() - t0, 3)

    risky: list[str] | None = None
    if risk_config(ws)["in_run"]:
        t0 = time.perf_counter()
        on_step("risk: fraud and coupon abuse")
        risk = risk_scores(ws, day)
        res.outputs.update(write_risk(risk, run_dir))
        res.stats["risk"] = risk.stats
        risky = risk.high() if risk_config(ws)["exclude_from_coupons"] else []
        res.seconds["risk"] = round(time.perf_counter() - t0, 3)
    # Demand forecasts, stock alerts and elasticities (a shop without the data: notes);
    # the plan reads the elasticities' suggested discounts as price offers.
    demand, prices = demand_stage(ws, day, res, on_step)
    plan_note, plan_stats = _plan_stage(
        ws, day, res, features, scored.scores, recs_frame, on_step, risky, prices
    )
    # Dashboard aggregates (KPIs, cohorts, flows, drift, model health): pages read this.

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
        "demand_note": "; ".join(demand["notes"]),
        "plan": plan_stats,
    }
    # run.json marks the run complete; latest.json then names it (both atomically).
    finish_run(ws, run_dir, asdict(res))
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
    prices: pd.DataFrame | None = None,
) -> tuple[str, dict[str, Any]]:
    """The day's campaign plan and its message drafts, with [plan] budget; a shop without
    randomised campaigns gets a note instead (nothing to learn uplift from yet)."""

    if not plan_config(ws).get("in_run", True):
        return "plan stage off ([plan] in_run = false)", {}
    t0 = time.perf_counter()
    on_step("campaign plan")
    try:
        r = plan(
            ws,
            day,
            features=features,
            context=scores,
            on_step=on_step,
            risky=risky,
            prices=prices,
        )
    except LiucunError as e:
        return f"no plan: {e}", {}
    _write(res, "plan", r.plan)
    on_step("message drafts")
    # The run's recommendations fill the drafts; none (stage off or failed) means no items
    # rather than a second try at fitting the recommender here.
    no_recs = pd.DataFrame(columns=["user_id", "item_id", "rank"])
    ctx = message_context(
        ws, day, r.plan, scores, recs if recs is not None else no_recs, features, on_step
    )
    _write(res, "messages", drafts(ws, r.plan, ctx))
    res.seconds["plan"] = round(time.perf_counter() - t0, 3)
    keys = ("budget", "spend", "planned", "control", "by_action", "expected_uplift", "excluded",
            "risky_excluded", "expected_uplift_lo", "expected_uplift_hi", "cost_margin",
            "explore", "evidence", "outcome_days", "confidence", "first_test", "why",
            "horizon_days")  # fmt: skip
    return "", {k: r.stats[k] for k in keys if k in r.stats}


def _write(res: RunResult, name: str, df: pd.DataFrame) -> None:
    path = Path(res.run_dir) / f"{name}.parquet"
    df.to_parquet(path, index=False)
    res.outputs[name] = str(path)
