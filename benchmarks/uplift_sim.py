"""Next-best-action benchmark: ``liucun plan`` valued by the simulator's true effects, in
every scenario world (``liucun.sim.scenarios``) side by side.

For each scenario × seed it simulates a shop (``--users`` × ``--days``, a ``--horizon``-day
holdout), ingests it and plans as of the cut with the budget rule: ``--reach`` (10%) of the
customers × the mean true cost (``truth/effects.parquet`` ``expected_cost``) of the
campaign action given most often in the treatments (without any treatments, or with
``--budget-basis mean``: the mean over the actions; campaigns draw actions uniformly, so
the most used may be the push, whose pennies make a budget that buys little). Each
plan is valued with the truth (true incremental revenue after discounts, minus contact
costs), next to, at the plan's true cost (``liucun.backtests.policy``):

- risk targeting: the highest p_churn get the most common campaign action (without
  history: the first catalogue action by name);
- random targeting: random customers, random actions;
- doing nothing: 0;
- the oracle: the same budgeted choice fed the true effects and true costs.

Each cell also reports the share of the oracle, plan ÷ risk, the predicted total
(Σ expected_uplift over the planned non-control rows) ÷ the true value, true cost ÷ budget,
the planned spend and, in worlds without history, whether the plan is a valid first test
(randomised arms over catalogue actions with a control, inside the budget). When
``liucun plan`` raises a ``LiucunError`` the message is recorded in the cell (baselines at
the budget still reported) instead of stopping the run.

Per scenario: the mean and the minimum over seeds, and ``checks`` with the issue's targets
(true value > 0 where there is history; ≥ 1.3× risk targeting where risk earns; predicted
÷ true in [0.7, 1.4] where the true value exceeds 5% of the budget; true cost ≤ 1.05 ×
budget; a valid first test without history) as booleans (``null``: not applicable).
Targets are never fatal. Per action it keeps how the predicted uplift ranks the true
effects (Spearman; true gain of the top 10% / 30% as a share of the best; AUUC-style area
against the truth), and the default world's last seed resampled to ``--scale-rows`` rows
(1,000,000; target ≤ 2 min on 2 cores) times the plan step with fitted models.

Each step runs in its own subprocess (peak memory = that process's). Prints JSON and writes
it to ``--out``; exits 1 only if a step crashed, a figure is NaN or a plan breaks the
contract (top-level ``checks``)::

    python benchmarks/uplift_sim.py                       # 8 worlds × 3 seeds × 10,000
    python benchmarks/uplift_sim.py --scenarios default,no_history --seeds 1,2
    python benchmarks/uplift_sim.py --quick --out /tmp/uplift_sim.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import cpu_s, finite, json_clean, peak_mb, simulate_and_ingest, write_report
from _measure import machine as _machine
from _measure import run_child as _run_child

FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
QUICK_SCENARIOS = ("default", "no_history")
SIDE_BY_SIDE = (
    "plan",
    "risk",
    "random",
    "nothing",
    "oracle",
    "share_of_oracle",
    "plan_vs_risk",
    "predicted_total",
    "predicted_over_true",
    "true_cost_over_budget",
    "spend",
)


# -- child steps ---------------------------------------------------------------------------
def _first_test_check(plan: pd.DataFrame, actions: set[str], budget: float) -> dict[str, Any]:
    """Is the plan a valid first test: randomised catalogue arms, a control, in budget?"""
    treated = plan[plan["action"] != "control"]
    arms = sorted(set(treated["action"]))
    out = {
        "arms": arms,
        "treated": len(treated),
        "control": int((plan["action"] == "control").sum()),
        "explore_column": "explore" in plan.columns,
        "actions_in_catalogue": set(arms) <= actions,
        "within_budget": bool(plan["cost"].sum() <= budget + 1e-6),
        "one_row_per_user": bool(plan["user_id"].is_unique),
    }
    out["valid"] = bool(
        arms
        and out["control"] > 0
        and out["actions_in_catalogue"]
        and out["within_budget"]
        and out["one_row_per_user"]
    )
    return out


def _per_action(
    uplift: pd.DataFrame, costs: pd.DataFrame, features: pd.DataFrame, effects: pd.DataFrame
) -> dict[str, Any]:
    """How each action's predicted uplift ranks the true effect over every customer."""
    from scipy.stats import spearmanr

    from liucun.evaluate.uplift import true_uplift_gain

    truth = effects.pivot(index="user_id", columns="action", values="incremental_revenue")
    users = features["user_id"].to_numpy()
    keep = np.isin(users, truth.index)
    out = {}
    for a in uplift.columns:
        if a not in truth:
            continue
        true_e = truth[a].reindex(users[keep]).to_numpy()
        pred = uplift[a].to_numpy()[keep]
        gains = [true_uplift_gain(true_e, pred, f) for f in FRACTIONS]
        share = [g["gain"] / g["oracle"] if g["oracle"] > 0 else float("nan") for g in gains]
        # A constant prediction (an action scaled to nothing) has no rank correlation.
        rho = float(spearmanr(pred, true_e).statistic) if np.ptp(pred) > 0 else None
        true_cost = effects.loc[effects["action"] == a].set_index("user_id")["expected_cost"]
        out[a] = {
            "spearman": rho,
            "top10_share_of_best": share[0],
            "top30_share_of_best": share[2],
            "auuc_vs_truth": float(np.nanmean(share)) if np.isfinite(share).any() else None,
            "predicted_mean": float(pred.mean()),
            "true_mean": float(true_e.mean()),
            "predicted_cost_mean": float(costs[a].to_numpy()[keep].mean()) if a in costs else None,
            "true_cost_mean": float(true_cost.reindex(users[keep]).mean()),
        }
    return out


def _ratio(a: float, b: float) -> float | None:
    return a / b if b > 0 else None


def child_plan(spec: dict[str, Any]) -> dict[str, Any]:
    """Score, plan, value the plan and the baselines; per-action ranking vs the truth."""
    import liucun
    from liucun.backtests import policy
    from liucun.errors import LiucunError
    from liucun.features import feature_frame
    from liucun.sim import score_plan
    from liucun.tasks import plan as planning
    from liucun.tasks.score import score

    shop = Path(spec["shop"])
    meta = json.loads((shop / "truth" / "simulation.json").read_text(encoding="utf-8"))
    contact = {k: float(a["contact_cost"]) for k, a in meta["actions"].items()}
    effects = pd.read_parquet(shop / "truth" / "effects.parquet")
    treatments = pd.read_parquet(shop / "treatments.parquet", columns=["action", "arm"])
    history = bool((treatments["arm"] != "control").any())
    common = policy.most_common_action(treatments) if history else None
    as_of = dt.date.fromisoformat(spec["as_of"])
    horizon = spec["horizon"]
    out: dict[str, Any] = {"history": history, "common_action": common, "plan_error": None}
    r = None
    with liucun.Workspace(spec["ws"]) as ws:
        if spec.get("confidence") is not None:
            # The planner's evidence bar, as a shop would set it in liucun.toml.
            toml = ws.path / "liucun.toml"
            text = toml.read_text(encoding="utf-8")
            text = re.sub(r"(?m)^confidence = .*$", f"confidence = {spec['confidence']}", text)
            toml.write_text(text, encoding="utf-8")
        features = feature_frame(ws, as_of)
        t0 = time.perf_counter()
        scores = score(ws, as_of, horizon, features=features).scores
        out["score_seconds"] = time.perf_counter() - t0
        known = effects[effects["user_id"].isin(set(features["user_id"]))]
        mean_cost = known.groupby("action")["expected_cost"].mean()
        # The most-used campaign action's cost; without history (or --budget-basis mean)
        # the mean over actions. Campaigns pick actions uniformly at random, so the most
        # used may be the push, whose cost (pennies) gives a budget that buys little.
        by_common = spec.get("budget_basis", "common") == "common" and common in mean_cost
        unit = float(mean_cost[common]) if by_common else float(mean_cost.mean())
        budget = spec["reach"] * known["user_id"].nunique() * unit
        out["budget"] = budget
        out["budget_rule"] = f"{spec['reach']} x customers x mean true cost of " + (
            str(common) if by_common else "the actions (mean)"
        )
        t0, c0 = time.perf_counter(), cpu_s()
        try:
            r = planning.plan(ws, as_of, budget, horizon, features=features, context=scores)
        except LiucunError as e:
            out["plan_error"] = str(e)
        out["plan_seconds"] = time.perf_counter() - t0
        out["plan_cpu_seconds"] = cpu_s() - c0
        models = getattr(r, "models", None)
        predicted = None
        if models is not None:
            try:
                predicted = models.predict(features)
            except (AttributeError, TypeError, ValueError) as e:
                out["per_action_error"] = f"{type(e).__name__}: {e}"
        if spec.get("scale_rows"):
            if models is None:
                why = out["plan_error"] or "no fitted models (a first test)"
                out["scale"] = {"rows": 0, "skipped": why}
            else:
                out["scale"] = _scale(ws, as_of, spec, r, features, budget)
    risk_action = common or sorted(contact)[0]
    out["risk_action"] = risk_action
    # The baselines with the whole budget (the comparison below is at the plan's cost).
    at_budget = {
        "risk": score_plan(policy.risk_targeting(scores, effects, risk_action, budget), effects),
        "random": score_plan(policy.random_targeting(effects, budget, spec["seed"]), effects),
        "oracle": score_plan(policy.oracle(effects, contact, budget), effects),
    }
    out["at_budget"] = {k: v["net_value"] for k, v in at_budget.items()}
    if r is not None:
        plan = r.plan
        c = policy.compare(plan, effects, scores, contact, risk_action, seed=spec["seed"])
        values = {k: c[k] for k in ("plan", "risk", "random", "oracle")}
        treated = plan[plan["action"] != "control"]
        out["stats"] = getattr(r, "stats", None)
        out["plan_steps_seconds"] = getattr(r, "seconds", None)
        out["planned_rows"] = len(plan)
        out["contract"] = {
            "columns_first": list(plan.columns[:4])
            == ["user_id", "action", "expected_uplift", "cost"],
            "cost_within_budget": bool(plan["cost"].sum() <= budget + 1e-6),
            "one_row_per_user": bool(plan["user_id"].is_unique),
            "control_cost_zero": bool((plan.loc[plan["action"] == "control", "cost"] == 0).all()),
            # A plan that treats nobody needs no control group.
            "has_control": bool((plan["action"] == "control").any()) or treated.empty,
        }
        predicted_total = float(treated["expected_uplift"].astype(float).sum())
        spend = float(treated["cost"].astype(float).sum())
        if not history:
            out["first_test"] = _first_test_check(plan, set(contact), budget)
    else:  # no plan: what the baselines earn with the whole budget
        values = {"plan": None, **at_budget}
        predicted_total = spend = None
        if not history:
            out["first_test"] = {"valid": False, "error": out["plan_error"]}
    out["values"] = values
    net = {k: (v["net_value"] if v else None) for k, v in values.items()}
    ours = net["plan"]
    true_cost = values["plan"]["expected_cost"] if values["plan"] else None
    out["side_by_side"] = {
        "plan": ours,
        "risk": net["risk"],
        "random": net["random"],
        "nothing": 0.0,
        "oracle": net["oracle"],
        "share_of_oracle": _ratio(ours, net["oracle"]) if ours is not None else None,
        "plan_vs_risk": _ratio(ours, net["risk"]) if ours is not None else None,
        "predicted_total": predicted_total,
        "predicted_over_true": (
            predicted_total / ours if predicted_total is not None and ours else None
        ),
        "true_cost": true_cost,
        "true_cost_over_budget": true_cost / budget if true_cost is not None else None,
        "spend": spend,
        "budget": budget,
        "valid_first_test": out["first_test"]["valid"] if not history else None,
        "error": out["plan_error"],
    }
    if predicted is not None:
        out["per_action"] = _per_action(predicted[0], predicted[1], features, effects)
    else:
        out["per_action"] = {}
    out["peak_mem_mb"] = peak_mb()
    return out


def _scale(
    ws: Any, as_of: dt.date, spec: dict[str, Any], r: Any, features: pd.DataFrame, budget: float
) -> dict[str, Any]:
    """The plan step on ``rows`` resampled customers, reusing the models just fitted."""
    from liucun.tasks import plan as planning

    rng = np.random.default_rng(spec["seed"])
    rows = spec["scale_rows"]
    big = features.iloc[rng.integers(0, len(features), rows)].reset_index(drop=True)
    big["user_id"] = [f"s{i:08d}" for i in range(len(big))]
    big_budget = budget * len(big) / len(features)
    t0, c0 = time.perf_counter(), cpu_s()
    try:
        out = planning.plan(ws, as_of, big_budget, spec["horizon"], features=big, models=r.models)
        reused = True
    except TypeError:  # a planner without ``models=``: the timing includes the fit
        t0, c0 = time.perf_counter(), cpu_s()
        out = planning.plan(ws, as_of, big_budget, spec["horizon"], features=big)
        reused = False
    return {
        "rows": len(big),
        "models_reused": reused,
        "plan_seconds": time.perf_counter() - t0,
        "plan_cpu_seconds": cpu_s() - c0,
        "planned": len(out.plan),
        "cost_within_budget": bool(out.plan["cost"].sum() <= big_budget + 1e-6),
    }


def run_child(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A step in its own process; a crash is recorded (``crashed``) and the run goes on."""
    try:
        return _run_child(__file__, kind, spec)
    except SystemExit as e:
        return {"crashed": str(e)}


# -- the run and its summary ---------------------------------------------------------------
def cell_checks(c: dict[str, Any]) -> dict[str, bool | None]:
    """The issue's targets for one scenario × seed (``None``: not applicable)."""
    s = c.get("side_by_side")
    if s is None:  # a step crashed
        return dict.fromkeys(
            ("true_value_positive", "at_least_1_3x_risk", "predicted_over_true_in_range"),
            False,
        ) | {"true_cost_within_1_05_budget": False, "valid_first_test": None}
    ours, risk, budget = s["plan"], s["risk"], s["budget"]
    history = c["history"]
    made = ours is not None
    checks: dict[str, bool | None] = {
        "true_value_positive": (made and ours > 0) if history else None,
        "at_least_1_3x_risk": (made and ours >= 1.3 * risk)
        if risk is not None and risk > 0
        else None,
        "predicted_over_true_in_range": None,
        "true_cost_within_1_05_budget": s["true_cost"] <= 1.05 * budget if made else None,
        "valid_first_test": None if history else bool(s["valid_first_test"]),
    }
    if made and history and ours > 0.05 * budget:  # a first test predicts nothing
        r = s["predicted_over_true"]
        checks["predicted_over_true_in_range"] = r is not None and 0.7 <= r <= 1.4
    return {k: (None if v is None else bool(v)) for k, v in checks.items()}


def summarise(cells: list[dict[str, Any]], scenarios: list[str]) -> dict[str, Any]:
    """Per scenario: side by side per seed, mean and min over seeds, and the checks."""
    out: dict[str, Any] = {}
    for name in scenarios:
        mine = [c for c in cells if c["scenario"] == name]
        by_seed = {
            str(c["seed"]): c.get("side_by_side") or {"error": c.get("crashed")} for c in mine
        }
        mean, low = {}, {}
        for k in SIDE_BY_SIDE:
            v = [c["side_by_side"][k] for c in mine if c.get("side_by_side")]
            v = [x for x in v if finite(x)]
            mean[k] = float(np.mean(v)) if v else None
            low[k] = float(np.min(v)) if v else None
        per_seed = [cell_checks(c) for c in mine]
        checks = {}
        for k in per_seed[0] if per_seed else ():
            vals = [p[k] for p in per_seed if p[k] is not None]
            checks[k] = all(vals) if vals else None
        out[name] = {
            "by_seed": by_seed,
            "mean": mean,
            "min": low,
            "errors": {str(c["seed"]): c.get("plan_error") or c.get("crashed") for c in mine},
            "checks": checks,
            "checks_by_seed": {str(c["seed"]): p for c, p in zip(mine, per_seed, strict=True)},
        }
    return out


def bench(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {
        "benchmark": "uplift_sim",
        "date": dt.date.today().isoformat(),
        "users": args.users,
        "days": args.days,
        "horizon": args.horizon,
        "seeds": args.seeds,
        "scenarios": args.scenarios,
        "reach": args.reach,
        "budget_basis": args.budget_basis,
        "machine": _machine(("duckdb", "lightgbm", "pandas", "liucun")),
        "cells": [],
    }
    timed = "default" if "default" in args.scenarios else args.scenarios[0]
    args.work_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="liucun-bench-uplift-sim-", dir=args.work_dir))
    t_all = time.perf_counter()
    try:
        for name in args.scenarios:
            for seed in args.seeds:
                t_cell = time.perf_counter()
                shop, ws = scratch / f"shop-{name}-{seed}", scratch / f"ws-{name}-{seed}"
                spec = {"shop": str(shop), "ws": str(ws), "users": args.users}
                spec.update(days=args.days, holdout_days=args.horizon, seed=seed, scenario=name)
                cell: dict[str, Any] = {"scenario": name, "seed": seed}
                shop_r = run_child("shop", spec)
                cell["shop"] = shop_r
                if "crashed" in shop_r:
                    cell["crashed"] = shop_r["crashed"]
                    report["cells"].append(cell)
                    continue
                as_of = dt.date.fromisoformat(shop_r["start"]) + dt.timedelta(days=args.days)
                plan_spec = {"shop": str(shop), "ws": str(ws), "as_of": as_of.isoformat()}
                plan_spec.update(horizon=args.horizon, reach=args.reach, seed=seed)
                plan_spec["budget_basis"] = args.budget_basis
                plan_spec["confidence"] = args.confidence
                if args.scale_rows and name == timed and seed == args.seeds[-1]:
                    plan_spec["scale_rows"] = args.scale_rows
                r = run_child("plan", plan_spec)
                cell.update(r)
                cell["as_of"] = as_of.isoformat()
                cell["cell_seconds"] = time.perf_counter() - t_cell
                report["cells"].append(cell)
                if "scale" in cell:
                    report["scale"] = {"scenario": name, "seed": seed, **cell.pop("scale")}
                shutil.rmtree(shop, ignore_errors=True)
                shutil.rmtree(ws, ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report["seconds"] = time.perf_counter() - t_all
    cells = report["cells"]
    report["by_scenario"] = summarise(cells, args.scenarios)
    failing = [
        f"{name}: {k}"
        for name, s in report["by_scenario"].items()
        for k, v in s["checks"].items()
        if v is False
    ]
    scale = report.get("scale")
    report["targets"] = {
        "all_worlds_meet_the_issue_targets": not failing,
        "failing": failing,
        "plan_1m_within_120s": (
            scale["plan_seconds"] <= 120 if scale and scale["rows"] >= 1_000_000 else None
        ),
    }
    planned = [c for c in cells if c.get("values", {}).get("plan")]
    report["checks"] = {
        "no_step_crashed": not any("crashed" in c for c in cells),
        "contract_holds": all(all(c["contract"].values()) for c in planned),
        "figures_finite": all(
            finite(v["net_value"])
            for c in cells
            if "values" in c
            for v in c["values"].values()
            if v is not None
        )
        and all(
            v["auuc_vs_truth"] is None or finite(v["auuc_vs_truth"])
            for c in cells
            for v in c.get("per_action", {}).values()
        ),
        "oracle_at_least_plan": all(
            c["values"]["oracle"]["net_value"] >= c["values"]["plan"]["net_value"] - 1e-6
            for c in planned
        ),
        "scale_within_budget": scale.get("cost_within_budget", True) if scale else True,
    }
    return json_clean(report)


def _seeds(text: str) -> list[int]:
    """``3`` → seeds 1, 2, 3; ``4,7`` → seeds 4 and 7."""
    parts = [int(x) for x in text.split(",") if x.strip()]
    if len(parts) == 1 and "," not in text:
        if parts[0] < 1:
            raise argparse.ArgumentTypeError("--seeds: a count of at least 1")
        return list(range(1, parts[0] + 1))
    return parts


def main(argv: list[str] | None = None) -> int:
    from liucun.sim.scenarios import SCENARIOS

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=10_000)
    p.add_argument("--days", type=int, default=300)
    p.add_argument("--horizon", "--holdout-days", dest="horizon", type=int, default=90)
    p.add_argument(
        "--seeds", type=_seeds, default=[1, 2, 3], help="a count (3: seeds 1-3) or a list 4,7"
    )
    p.add_argument(
        "--scenarios",
        type=lambda s: [x.strip() for x in s.split(",") if x.strip()],
        default=list(SCENARIOS),
        help=f"comma-separated worlds (default all: {','.join(SCENARIOS)})",
    )
    p.add_argument("--reach", type=float, default=0.10)
    p.add_argument(
        "--confidence",
        type=float,
        default=None,
        help="the planner's [plan] confidence (default: liucun.toml's, 0.9)",
    )
    p.add_argument(
        "--budget-basis",
        choices=("common", "mean"),
        default="common",
        help="cost per contact in the budget: the most-used campaign action's (common) or "
        "the mean over actions (mean; always so without history)",
    )
    p.add_argument("--scale-rows", type=int, default=1_000_000)
    p.add_argument(
        "--quick", action="store_true", help="1,500 customers, 1 seed, default + no_history"
    )
    p.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()))
    p.add_argument("--out", type=Path, default=Path("benchmarks/out/uplift_sim.json"))
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--child-arg", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        fn = {"shop": simulate_and_ingest, "plan": child_plan}[args.child]
        print(json.dumps(json_clean(fn(json.loads(args.child_arg)))))
        return 0
    if args.quick:
        args.users, args.days, args.seeds, args.scale_rows = 1500, 180, [1], 20_000
        args.scenarios = list(QUICK_SCENARIOS)
    unknown = [s for s in args.scenarios if s not in SCENARIOS]
    if unknown:
        p.error(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    return write_report(bench(args), args.out)


if __name__ == "__main__":
    sys.exit(main())
