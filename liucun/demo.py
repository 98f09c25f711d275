"""``liucun demo``: a simulated shop, loaded and run end to end, in one call."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from liucun.backtests.policy import compare, most_common_action
from liucun.data.ingest import IngestResult
from liucun.pipeline.run import run
from liucun.report import churn_section, summary_report
from liucun.sim import simulate
from liucun.sim.actions import ACTIONS
from liucun.workspace import Workspace

# Ingest order: who and what first, then what they did.
TABLES = ("users", "items", "orders", "order_items", "events", "reviews", "treatments")


@dataclass
class DemoResult:
    run_id: str
    sim_dir: Path
    truth_dir: Path
    run_dir: Path
    report: Path
    ingested: list[IngestResult] = field(default_factory=list)
    summary: dict = field(default_factory=dict)


def run_demo(
    ws: Workspace,
    users: int = 5000,
    days: int = 365,
    holdout_days: int = 90,
    seed: int = 7,
    on_step: Callable[[str], None] = lambda step: None,
) -> DemoResult:
    """Simulate a shop into ``ws/sim``, ingest its history, run what exists, report.

    The simulator's ``truth/`` folder is written beside the data and never ingested:
    it is there to score models and plans against.
    """
    sim_dir = ws.path / "sim"
    on_step(f"simulating {users:,} customers over {days} days")
    sim = simulate(sim_dir, users=users, days=days, holdout_days=holdout_days, seed=seed)
    results: list[IngestResult] = []
    for table in TABLES:
        on_step(f"ingesting {table}")
        results += ws.ingest(table, sim_dir / f"{table}.parquet")

    as_of = dt.date.fromisoformat(sim.start) + dt.timedelta(days=days)
    on_step(f"running the daily job as of {as_of}")
    job = run(ws, as_of, on_step=on_step)
    on_step("summarising")
    wh = ws.warehouse
    summary = wh.summary()
    orders = ws.table("orders")
    daily = (
        orders.group_by(day=orders.ts.truncate("D"))
        .aggregate(n=orders.count())
        .order_by("day")
        .execute()
    )
    run_id = job.run_id
    run_dir = ws.path / "runs" / run_id
    scores = pd.read_parquet(job.outputs["scores"])
    check = truth_check(scores, sim_dir / "truth")
    if "plan" in job.outputs:
        plan_line = plan_check(
            pd.read_parquet(job.outputs["plan"]), scores, sim_dir, ws.config.get("plan", {})
        )
        check = f"{check} {plan_line}".strip()
    (run_dir / "summary.json").write_text(
        json.dumps(
            {"run_id": run_id, "simulation": sim.__dict__, "warehouse": summary},
            indent=2,
            default=str,
        ),
        encoding="utf-8",
    )
    report = summary_report(
        run_dir / "report.html",
        f"liucun demo — simulated shop (seed {seed})",
        summary,
        daily.set_index("day")["n"],
        [
            f"simulated data: {sim_dir}",
            f"ground truth (never read by models): {sim_dir / 'truth'}",
            f"warehouse: {wh.path}",
            f"run {run_id} as of {as_of}: {job.stats['customers']:,} customers, "
            f"{job.stats['segments']} segments, {job.stats['clusters']} clusters; "
            f"outputs in {run_dir}",
        ],
        {"Churn risk (next 90 days)": churn_section(scores, check)},
    )
    summary["churn_check"] = check
    return DemoResult(run_id, sim_dir, sim_dir / "truth", run_dir, report, results, summary)


def closing_lines(
    r: DemoResult, workspace: Path, command: str = "liucun", url: str = "http://127.0.0.1:8000"
) -> list[str]:
    """The demo's last lines: where everything is and what to do next.

    A new user ends the demo knowing where the report is, that the workspace is a folder
    ``ls`` hides (``.liucun``), and the three commands that come next. ``command`` is how
    they call liucun on this workspace (with ``--workspace`` when it is not the default).
    """
    ws = Path(workspace).resolve()
    hidden = (
        " (a hidden folder: its name starts with a dot, so `ls` does not show it; `ls -a` does)"
        if ws.name.startswith(".")
        else ""
    )
    return [
        f"run {r.run_id}: report {Path(r.report).resolve()}",
        f"workspace {ws}{hidden}",
        f"  simulated shop {Path(r.sim_dir).resolve()}; its ground truth "
        f"{Path(r.truth_dir).resolve()} (never ingested)",
        "next steps:",
        f"  1. open the report in a browser: {Path(r.report).resolve().as_uri()}",
        f"  2. create a key for the REST API: {command} apikey create my-shop",
        f"  3. start the dashboard and the API: {command} serve, then open {url} "
        f"(API docs at {url}/docs)",
    ]


def plan_check(plan: pd.DataFrame, scores: pd.DataFrame, sim_dir: Path, plan_cfg: dict) -> str:
    """The campaign plan's true incremental net revenue next to risk targeting's."""

    effects = pd.read_parquet(sim_dir / "truth" / "effects.parquet")
    treatments = pd.read_parquet(sim_dir / "treatments.parquet", columns=["action", "arm"])
    contact = {k: a.contact_cost for k, a in ACTIONS.items()}
    common = most_common_action(treatments)
    c = compare(plan, effects, scores, contact, common)
    ours, risk = c["plan"], c["risk"]
    treated = plan["action"] != "control"
    predicted = float(plan.loc[treated, "expected_uplift"].sum())
    contact_cost = float(plan.loc[treated, "action"].map(contact).fillna(0).sum())
    return (
        f"The campaign plan ({ours['customers']:,} customers, true cost "
        f"{ours['expected_cost']:,.2f}) was predicted to earn {predicted - contact_cost:,.2f} "
        f"and truly earns {ours['net_value']:,.2f} incremental net revenue; sending {common} "
        f"to the highest p_churn at the same cost earns {risk['net_value']:,.2f}, the "
        f"oracle {c['oracle']['net_value']:,.2f}."
    )


def truth_check(scores: pd.DataFrame, truth_dir: Path) -> str:
    """How p_churn ranks the holdout's buyers, next to ranking by the true probability."""
    from sklearn.metrics import roc_auc_score

    truth = pd.read_parquet(truth_dir / "customers.parquet", columns=["user_id", "p_purchase_h"])
    held = pd.read_parquet(truth_dir / "holdout" / "orders.parquet", columns=["user_id"])
    m = scores.merge(truth, on="user_id", how="inner")
    bought = m["user_id"].isin(set(held["user_id"])).to_numpy()
    if len(m) == 0 or bought.all() or not bought.any():
        return ""
    auc = roc_auc_score(bought, 1 - m["p_churn"])
    oracle = roc_auc_score(bought, m["p_purchase_h"])
    return (
        f"Against the simulator's holdout (never read by the models): 1 - p_churn ranks "
        f"the customers who bought in the next 90 days with ROC-AUC {auc:.3f}; ranking by "
        f"the true purchase probability gives {oracle:.3f}."
    )
