"""Risk benchmark: liucun's account risk scores against the simulator's true abusers.

For each seed it simulates a shop (``--users``, ``--days``, ``--holdout-days``,
``--abuse-share`` of the customers abusers: device rings, refund abusers, card fraud),
ingests it and runs ``liucun.tasks.risk.risk_scores(ws, as_of)`` with as_of = the day after the
simulated days. Against ``truth/customers.parquet`` ``is_abuser`` (accounts not in the
truth count as not abusers) it compares, on the same accounts:

- liucun: ``risk_score`` (rules + anomaly);
- a plain IsolationForest (sklearn defaults, ``random_state=0``) on the same features
  (``detector_matrix(risk_features(...))``), scored by ``-score_samples``;
- rules only: ``rule_score``.

Figures: PR-AUC, ROC-AUC, precision at k = the number of true abusers, recall at k = the
size of liucun's high band (each scorer's top k; ties shared out at random, in
expectation), the high band's precision and recall, and per abuse kind the high band's
recall and the share of accounts each rule fires on.

Unless ``--no-plan``, it also scores the shop (``scoring.score``, the plan's context),
fits the uplift models once and, for each ``--reach`` (10% and 100% by default), plans
twice at the same budget (reach × customers × the predicted mean cost of an action,
averaged over the actions): with ``risky=[]`` and with ``risky=result.high()``. It reports
the planned cost (``cost``) of discount actions going to true abusers and to the high
band in each, and the difference; with ``--holdout-days`` > 0 also each plan's true value
(``liucun.sim.score_plan``). ``--extra-share`` runs the first seed once more at that
abuse share.

Each step runs in its own subprocess. Prints a table to stderr and the JSON report to
stdout, and writes it to ``--out``. ``checks`` (liucun's PR-AUC above the plain forest's
and the rules' on every shop) are reported; the exit status is 1 for a failed check only
with ``--strict``::

    python benchmarks/risk_sim.py                     # seeds 1,2,3 × 10,000 users + one at 3%
    python benchmarks/risk_sim.py --seeds 4 --abuse-share 0.05 --extra-share 0
    python benchmarks/risk_sim.py --quick --out /tmp/risk_sim.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import finite, json_clean, peak_mb, simulate_and_ingest
from _measure import machine as _machine
from _measure import run_child as _run_child

KINDS = ("multi_account", "refund_abuser", "fraud")
SCORERS = ("liucun", "isolation_forest", "rules")


def top_k_hits(y: np.ndarray, s: np.ndarray, k: int) -> float:
    """Expected true positives among the k highest scores, ties broken at random."""
    if k <= 0 or len(s) == 0:
        return 0.0
    k = min(k, len(s))
    t = np.sort(s)[::-1][k - 1]
    above, tied = s > t, s == t
    return float(y[above].sum() + (k - above.sum()) * y[tied].mean())


def ranking(y: np.ndarray, s: np.ndarray, k_flagged: int) -> dict[str, Any]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    pos = int(y.sum())
    both = 0 < pos < len(y)
    at_pos, at_flag = top_k_hits(y, s, pos), top_k_hits(y, s, k_flagged)
    return {
        "pr_auc": float(average_precision_score(y, s)) if both else None,
        "roc_auc": float(roc_auc_score(y, s)) if both else None,
        "precision_at_k": at_pos / pos if pos else None,
        "recall_at_flagged": at_flag / pos if pos else None,
        "precision_at_flagged": at_flag / k_flagged if k_flagged else None,
    }


def discount_money(
    plan: pd.DataFrame, catalog: dict[str, Any], abusers: set[str], high: set[str]
) -> dict[str, Any]:
    """Planned cost of discount actions in total, to true abusers and to the high band."""
    treated = plan[plan["action"] != "control"]
    disc = treated[
        treated["action"].map(lambda a: a in catalog and catalog[a].gives_discount).astype(bool)
    ]
    to_abusers = disc["user_id"].isin(abusers)
    to_high = disc["user_id"].isin(high)
    return {
        "spend": float(plan["cost"].sum()),
        "planned": len(treated),
        "discount_accounts": len(disc),
        "discount_cost": float(disc["cost"].sum()),
        "abuser_accounts": int(to_abusers.sum()),
        "abuser_discount_cost": float(disc.loc[to_abusers, "cost"].sum()),
        "high_accounts": int(to_high.sum()),
        "high_discount_cost": float(disc.loc[to_high, "cost"].sum()),
        "abusers_planned_any": int(treated["user_id"].isin(abusers).sum()),
    }


def plan_comparison(
    ws: Any, as_of: dt.date, spec: dict[str, Any], abusers: set[str], high: list[str]
) -> dict[str, Any]:
    """Per reach, the same budget planned without and with the high band kept out of
    coupons (uplift models fitted once)."""
    from liucun.engines import workspace_tables
    from liucun.features import feature_frame
    from liucun.tasks import plan as planning
    from liucun.tasks.score import score

    H = spec["horizon"]
    t0 = time.perf_counter()
    features = feature_frame(ws, as_of)
    context = score(ws, as_of, H, features=features).scores
    models = planning.fit(workspace_tables(ws), as_of, H, planning.plan_config(ws))
    _, costs = models.predict(features)
    out: dict[str, Any] = {
        "horizon_days": H,
        "customers": len(features),
        "mean_predicted_cost": float(costs.mean().mean()),
        "discount_actions": sorted(a for a, x in models.catalog_.items() if x.gives_discount),
        "fit_seconds": time.perf_counter() - t0,
        "by_reach": {},
    }
    effects = None
    if spec["holdout_days"] > 0:
        effects = pd.read_parquet(Path(spec["shop"]) / "truth" / "effects.parquet")
    t0 = time.perf_counter()
    for reach in spec["reach"]:
        budget = reach * len(features) * out["mean_predicted_cost"]
        b: dict[str, Any] = {"reach": reach, "budget": budget}
        for name, risky in (("no_exclusion", []), ("exclude_high", high)):
            r = planning.plan(
                ws, as_of, budget, H, features=features, context=context, risky=risky, models=models
            )
            m = discount_money(r.plan, models.catalog_, abusers, set(high))
            m["risky_excluded"] = r.stats["risky_excluded"]
            m["by_action"] = r.stats["by_action"]
            if effects is not None:
                from liucun.sim import score_plan

                m["true_value"] = score_plan(r.plan, effects)
            b[name] = m
        no, ex = b["no_exclusion"], b["exclude_high"]
        b["abuser_savings"] = no["abuser_discount_cost"] - ex["abuser_discount_cost"]
        b["high_savings"] = no["high_discount_cost"] - ex["high_discount_cost"]
        out["by_reach"][f"{reach:g}"] = b
    out["plan_seconds"] = time.perf_counter() - t0
    return out


def child_eval(spec: dict[str, Any]) -> dict[str, Any]:
    """Risk scores, the plain forest, rules only against the truth; the plan comparison."""
    from sklearn.ensemble import IsolationForest

    import liucun
    from liucun.features.risk import risk_features
    from liucun.models.risk import detector_matrix
    from liucun.tasks.risk import risk_config, risk_scores

    as_of = dt.date.fromisoformat(spec["as_of"])
    truth = pd.read_parquet(
        Path(spec["shop"]) / "truth" / "customers.parquet",
        columns=["user_id", "is_abuser", "abuse_kind"],
    )
    out: dict[str, Any] = {}
    with liucun.Workspace(spec["ws"]) as ws:
        t0 = time.perf_counter()
        res = risk_scores(ws, as_of)
        out["risk_seconds"] = time.perf_counter() - t0
        feats = risk_features(ws, as_of, risk_config(ws)["shared_attributes"])
        t0 = time.perf_counter()
        x = detector_matrix(feats)
        forest = IsolationForest(random_state=0).fit(x)
        iso = pd.Series(-forest.score_samples(x), index=feats["user_id"].astype(str).to_numpy())
        out["isolation_forest_seconds"] = time.perf_counter() - t0
        s = res.scores.merge(truth, on="user_id", how="left")
        s["is_abuser"] = s["is_abuser"].eq(True)
        s["abuse_kind"] = s["abuse_kind"].fillna("")
        abusers = set(s.loc[s["is_abuser"], "user_id"])
        if spec["plan"]:
            out["plan"] = plan_comparison(ws, as_of, spec, abusers, res.high())
    y = s["is_abuser"].to_numpy(int)
    high = (s["risk_band"] == "high").to_numpy()
    k = int(high.sum())
    scores = {
        "liucun": s["risk_score"].to_numpy(float),
        "isolation_forest": iso.reindex(s["user_id"]).to_numpy(float),
        "rules": s["rule_score"].to_numpy(float),
    }
    out["accounts"] = len(s)
    out["abusers"] = int(y.sum())
    out["abusers_in_truth"] = int(truth["is_abuser"].sum())
    out["abusers_not_scored"] = len(set(truth.loc[truth["is_abuser"], "user_id"]) - abusers)
    out["scorers"] = {name: ranking(y, v, k) for name, v in scores.items()}
    tp = int((high & (y == 1)).sum())
    out["high_band"] = {
        "flagged": k,
        "true_positives": tp,
        "precision": tp / k if k else None,
        "recall": tp / y.sum() if y.sum() else None,
    }
    out["bands"] = s["risk_band"].value_counts().to_dict()
    rule_cols = [c for c in s.columns if c.startswith("rule_") and c != "rule_score"]
    by_kind = {}
    for kind in KINDS:
        part = s[s["abuse_kind"] == kind]
        n = len(part)
        by_kind[kind] = {
            "accounts": n,
            "high_recall": float((part["risk_band"] == "high").mean()) if n else None,
            "medium_or_high": float((part["risk_band"] != "low").mean()) if n else None,
            "median_risk_score": float(part["risk_score"].median()) if n else None,
            "rules_fired": {c[5:]: float(part[c].mean()) for c in rule_cols} if n else {},
        }
    benign = s[~s["is_abuser"]]
    by_kind["not_abuser_high"] = {
        "accounts": len(benign),
        "high": int((benign["risk_band"] == "high").sum()),
        "rules_fired_in_high": {
            c[5:]: int(benign.loc[benign["risk_band"] == "high", c].sum()) for c in rule_cols
        },
    }
    out["by_kind"] = by_kind
    out["risk_stats"] = res.stats
    out["peak_mem_mb"] = peak_mb()
    return out


def run_child(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return _run_child(__file__, kind, spec)


def fmt(v: Any, digits: int = 3) -> str:
    return f"{v:.{digits}f}" if finite(v) else "–"


def table(report: dict[str, Any]) -> str:
    head = (
        "| seed | abuse share | abusers | PR-AUC liucun / IF / rules | ROC-AUC liucun / IF / rules"
        " | precision@k liucun / IF / rules | recall@flagged liucun / IF / rules"
        " | high band: flagged, precision / recall |"
    )
    lines = [head, "|" + "---|" * 8]
    for r in report["runs"]:
        sc = r["scorers"]

        def three(key: str, sc: dict[str, Any] = sc) -> str:
            return " / ".join(fmt(sc[n][key]) for n in SCORERS)

        hb = r["high_band"]
        lines.append(
            f"| {r['seed']} | {r['abuse_share']:.0%} | {r['abusers']} | {three('pr_auc')}"
            f" | {three('roc_auc')} | {three('precision_at_k')} | {three('recall_at_flagged')}"
            f" | {hb['flagged']}, {fmt(hb['precision'])} / {fmt(hb['recall'])} |"
        )
    if any("plan" in r for r in report["runs"]):
        lines += [
            "",
            "| seed | abuse share | reach | budget | discount cost | to abusers: accounts, cost"
            " (no excl. → excl.) | to the high band: accounts, cost (no excl. → excl.) |",
            "|" + "---|" * 7,
        ]
        for r in report["runs"]:
            for b in r.get("plan", {}).get("by_reach", {}).values():
                no, ex = b["no_exclusion"], b["exclude_high"]
                lines.append(
                    f"| {r['seed']} | {r['abuse_share']:.0%} | {b['reach']:g} | {b['budget']:.0f}"
                    f" | {no['discount_cost']:.0f} → {ex['discount_cost']:.0f}"
                    f" | {no['abuser_accounts']}, {no['abuser_discount_cost']:.2f} →"
                    f" {ex['abuser_accounts']}, {ex['abuser_discount_cost']:.2f}"
                    f" | {no['high_accounts']}, {no['high_discount_cost']:.2f} →"
                    f" {ex['high_accounts']}, {ex['high_discount_cost']:.2f} |"
                )
    return "\n".join(lines)


def bench(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {
        "benchmark": "risk_sim",
        "date": dt.date.today().isoformat(),
        "users": args.users,
        "days": args.days,
        "holdout_days": args.holdout_days,
        "seeds": args.seeds,
        "abuse_share": args.abuse_share,
        "extra_share": args.extra_share,
        "plan": not args.no_plan,
        "reach": args.reach,
        "horizon_days": args.horizon,
        "machine": _machine(("duckdb", "scikit-learn", "pandas", "liucun")),
        "runs": [],
    }
    shops = [(seed, args.abuse_share) for seed in args.seeds]
    if args.extra_share:
        shops.append((args.seeds[0], args.extra_share))
    args.work_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="liucun-bench-risk-sim-", dir=args.work_dir))
    t_all = time.perf_counter()
    try:
        for i, (seed, share) in enumerate(shops):
            shop, ws = scratch / f"shop{i}", scratch / f"ws{i}"
            spec = {"shop": str(shop), "ws": str(ws), "users": args.users, "days": args.days}
            spec.update(holdout_days=args.holdout_days, seed=seed, abuse_share=share)
            shop_r = run_child("shop", spec)
            as_of = dt.date.fromisoformat(shop_r["start"]) + dt.timedelta(days=args.days)
            spec.update(as_of=as_of.isoformat(), plan=not args.no_plan)
            spec.update(horizon=args.horizon, reach=args.reach)
            r = {"seed": seed, "abuse_share": share, "as_of": as_of.isoformat()}
            r.update(run_child("eval", spec))
            r["simulate_seconds"] = shop_r["simulate_seconds"]
            r["ingest_seconds"] = shop_r["ingest_seconds"]
            report["runs"].append(r)
            shutil.rmtree(shop, ignore_errors=True)
            shutil.rmtree(ws, ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report["seconds"] = time.perf_counter() - t_all
    runs = report["runs"]

    def pr(r: dict[str, Any], name: str) -> float:
        v = r["scorers"][name]["pr_auc"]
        return v if finite(v) else float("nan")

    report["summary"] = {
        f"{r['seed']}@{r['abuse_share']:g}": {
            "pr_auc": {n: r["scorers"][n]["pr_auc"] for n in SCORERS},
            "high_precision": r["high_band"]["precision"],
            "high_recall": r["high_band"]["recall"],
            "high_recall_by_kind": {k: r["by_kind"][k]["high_recall"] for k in KINDS},
            "abuser_discount_cost": {
                reach: {
                    "no_exclusion": b["no_exclusion"]["abuser_discount_cost"],
                    "exclude_high": b["exclude_high"]["abuser_discount_cost"],
                }
                for reach, b in r.get("plan", {}).get("by_reach", {}).items()
            },
        }
        for r in runs
    }
    report["checks"] = {
        "pr_auc_above_isolation_forest": all(
            pr(r, "liucun") > pr(r, "isolation_forest") for r in runs
        ),
        "pr_auc_above_rules": all(pr(r, "liucun") > pr(r, "rules") for r in runs),
    }
    return json_clean(report)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=10_000)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--holdout-days", type=int, default=0, help="> 0: plans valued by the truth")
    p.add_argument("--seeds", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 3])
    p.add_argument("--abuse-share", type=float, default=0.01, help="share of abusers per shop")
    p.add_argument(
        "--extra-share", type=float, default=0.03, help="one more shop (first seed); 0: none"
    )
    p.add_argument(
        "--reach",
        type=lambda s: [float(x) for x in s.split(",")],
        default=[0.1, 1.0],
        help="plan budgets: reach × customers × the predicted mean cost of an action",
    )
    p.add_argument("--horizon", type=int, default=90, help="the plan's horizon in days")
    p.add_argument("--no-plan", action="store_true", help="skip the plan comparison")
    p.add_argument("--strict", action="store_true", help="exit 1 when a check fails")
    p.add_argument("--quick", action="store_true", help="1 seed, 1,500 users, 200 days")
    p.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()))
    p.add_argument("--out", type=Path, default=Path("benchmarks/out/risk_sim.json"))
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--child-arg", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        fn = {"shop": simulate_and_ingest, "eval": child_eval}[args.child]
        print(json.dumps(json_clean(fn(json.loads(args.child_arg)))))
        return 0
    if args.quick:
        args.users, args.days, args.seeds, args.extra_share = 1500, 200, [1], 0.0
    report = bench(args)
    text = json.dumps(report, indent=2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n", encoding="utf-8")
    print(table(report), file=sys.stderr)
    print(text)
    failed = [k for k, v in report["checks"].items() if not v]
    if failed:
        print(f"checks not met: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
