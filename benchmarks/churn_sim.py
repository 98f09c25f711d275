"""Simulated-shop churn benchmark: ``liucun score`` against the simulator's ground truth.

For every world (``--scenarios``: the default shop and the churn worlds of
``liucun.sim.scenarios``, whose hidden engagement states, personal seasons and
replenishment cycles the features cannot read directly) and every seed (``--seeds``), it
simulates a shop (``--users``, ``--days``, ``--holdout-days``) with ``liucun.sim.simulate``,
ingests the seven tables (as ``liucun demo`` does) and scores every known customer with
``scoring.score(ws, as_of, horizon)``, as_of = start + days, horizon = the holdout. The
simulator knows each customer's true chance of buying in the holdout
(``truth/customers.parquet``: ``p_purchase_h``, ``expected_orders_h``,
``expected_revenue_h``) and what happened (orders placed in the holdout,
``truth/holdout/orders.parquet``; its rows that only update an order placed before the cut
are not purchases), so it reports per world and seed, side by side (``table``), and per
world over the seeds (``worlds``):

- the AUC of 1 - p_churn against the realised holdout purchase, the oracle AUC (ranking by
  the true ``p_purchase_h``: the truth's own AUC, a real ceiling) and the gap between them;
- Spearman of 1 - p_churn against ``p_purchase_h``; Brier of p_churn against the realised
  churn and against the true churn probability; calibration (mean predicted vs mean true);
- expected_orders against ``expected_orders_h`` (MAE, sum ratio), expected_revenue against
  ``expected_revenue_h`` (Spearman, sum ratio);
- the same for recency only, BG/NBD and Pareto/NBD (``liucun.backtests.churn.btyd_predictions``)
  side by side;
- timings: fit and score seconds, ``ChurnValueModel.predict`` on the scored customers, and on
  ``--score-rows`` rows (the scored features resampled with replacement, fresh user ids,
  each keeping its source customer's BTYD history) without reasons, and with reasons on
  the first 100,000 of them (target: 1M customers in ≤ 60 s on 2 cores), with peak memory;
  timed once, on the first world and seed;
- issue 19's Done-when per world and seed (``done_when``, never fatal): the truth's own
  AUC in [0.75, 0.85] (churn worlds only: the default shop is kept as it is), liucun's AUC
  within 0.04 of the truth's and above recency's + 0.03, liucun's Brier against the true
  probabilities below BG/NBD's.

Each step runs in its own subprocess (peak memory = that process's max RSS). Prints JSON
(and a side-by-side table on stderr) and writes it to ``--out``; exits 1 if a metric is
NaN or the data does not line up (targets are reported, never fatal)::

    python benchmarks/churn_sim.py                       # every world x 3 seeds, 20,000 customers
    python benchmarks/churn_sim.py --scenarios hidden_chain,seasonal --seeds 0,1
    python benchmarks/churn_sim.py --quick --out /tmp/churn_sim.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import cpu_s as _cpu_s
from _measure import finite as _finite
from _measure import json_clean as _clean
from _measure import machine as _machine
from _measure import peak_mb as _peak_mb
from _measure import run_child as _run_child
from _measure import simulate_and_ingest as child_shop
from _measure import warehouse_threads, write_report

HERE = Path(__file__).resolve().parent
# Ingest order: who and what first, then what they did (as liucun demo does).
MODELS = ("liucun", "recency", "bgnbd", "paretonbd")
REASON_ROWS = 100_000
QUICK = {"users": 1500, "days": 240, "score_rows": 20_000}
QUICK_WORLDS = ("hidden_chain",)
TARGET_GAP = 0.02
# Issue 19's Done-when, per world and seed.
TRUTH_BAND = (0.75, 0.85)
MAX_GAP_TO_TRUTH = 0.04
MIN_OVER_RECENCY = 0.03
TARGET_SCORE_ROWS = 1_000_000
TARGET_SCORE_SECONDS = 60.0


# -- steps, each in its own subprocess -------------------------------------------------
def child_score(spec: dict[str, Any]) -> dict[str, Any]:
    """``scoring.score``, then predict timed alone, then the anchors; all to Parquet."""
    import numpy as np
    import pandas as pd

    import liucun
    from liucun.backtests.churn import btyd_predictions
    from liucun.engines import workspace_tables
    from liucun.features import feature_frame
    from liucun.features.btyd import summary_frame
    from liucun.models.churn import ChurnValueModel
    from liucun.tasks import score as scoring

    as_of, H = dt.date.fromisoformat(spec["as_of"]), int(spec["horizon"])
    out = Path(spec["out"])
    with liucun.Workspace(spec["ws"]) as ws:
        t0, c0 = time.perf_counter(), _cpu_s()
        res = scoring.score(ws, as_of, H)
        score_s, score_cpu = time.perf_counter() - t0, _cpu_s() - c0
        score_peak = _peak_mb()
        t0 = time.perf_counter()
        feats = feature_frame(ws, as_of)
        features_s = time.perf_counter() - t0
        model = ChurnValueModel.load(res.model_path)
        t0 = time.perf_counter()
        p = model.predict(feats, reasons=False)
        predict_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        model.predict(feats, reasons=True)
        predict_reasons_s = time.perf_counter() - t0
        tables = workspace_tables(ws)
        summary = summary_frame(tables, as_of)
        preds = pd.DataFrame({"user_id": feats["user_id"].to_numpy()})
        for c in ("p_churn", "expected_orders", "expected_revenue"):
            preds[f"liucun_{c}"] = (
                res.scores.set_index("user_id")[c].reindex(preds["user_id"]).to_numpy()
            )
        preds["predict_p_churn"] = p["p_churn"].to_numpy()
        rec = feats["recency_days"].to_numpy(dtype=float)
        rec = np.where(np.isfinite(rec), rec, np.nanmax(rec, initial=0) + 1)
        preds["recency_p_purchase"] = 1.0 / (1.0 + rec)
        seconds = {}
        for kind in ("bgnbd", "paretonbd"):
            t0 = time.perf_counter()
            b = btyd_predictions(summary, feats["user_id"], H, kind)
            seconds[kind] = time.perf_counter() - t0
            preds[f"{kind}_p_purchase"] = b.p_purchase
            preds[f"{kind}_orders"] = b.orders
            preds[f"{kind}_revenue"] = b.revenue
    preds.to_parquet(out / "predictions.parquet", index=False)
    feats.to_parquet(out / "features.parquet", index=False)
    plan = res.plan
    return {
        "customers": len(res.scores),
        "score_seconds": score_s,
        "score_cpu_seconds": score_cpu,
        "score_steps_seconds": res.seconds,
        "score_peak_mem_mb": score_peak,
        "features_seconds": features_s,
        "predict_seconds": predict_s,
        "predict_with_reasons_seconds": predict_reasons_s,
        "anchor_seconds": seconds,
        "peak_mem_mb": _peak_mb(),
        "model_path": str(res.model_path),
        "plan": {
            "mode": plan.mode,
            "label_days": plan.label_days,
            "cutoffs": [c.isoformat() for c in plan.cutoffs],
            "why": plan.why,
        },
        "validation": model.metrics_,
        "predict_matches_score": bool(
            np.allclose(preds["predict_p_churn"], preds["liucun_p_churn"], equal_nan=True)
        ),
    }


def child_scale(spec: dict[str, Any]) -> dict[str, Any]:
    """``ChurnValueModel.predict`` on N resampled customers, without and then with reasons."""
    import copy

    import numpy as np
    import pandas as pd

    from liucun.models.churn import ChurnValueModel

    model = ChurnValueModel.load(Path(spec["model_path"]))
    feats = pd.read_parquet(spec["features"])
    rows = int(spec["rows"])
    rng = np.random.default_rng(int(spec["seed"]))
    idx = rng.integers(0, len(feats), rows)
    new_ids = pd.Series([f"s{i:08d}" for i in range(rows)])
    big = feats.iloc[idx].reset_index(drop=True)
    old_ids = big["user_id"].to_numpy()
    big["user_id"] = new_ids
    # Each new customer keeps its source customer's repeat-purchase history for BTYD.
    btyd = model.btyd_
    assert btyd.summary_ is not None
    s = btyd.summary_.set_index("user_id").reindex(old_ids)
    s.index = new_ids.to_numpy()
    s = s[s["frequency"].notna()].rename_axis("user_id").reset_index()
    big_btyd = copy.copy(btyd)
    big_btyd.summary_ = s
    big_model = copy.copy(model)
    big_model.btyd_ = big_btyd
    base_peak = _peak_mb()

    t0, c0 = time.perf_counter(), _cpu_s()
    p = big_model.predict(big, reasons=False)
    seconds, cpu = time.perf_counter() - t0, _cpu_s() - c0
    peak = _peak_mb()
    n_reasons = min(rows, REASON_ROWS)
    head = big.iloc[:n_reasons]
    t0, c0 = time.perf_counter(), _cpu_s()
    r = big_model.predict(head, reasons=True)
    r_seconds, r_cpu = time.perf_counter() - t0, _cpu_s() - c0
    return {
        "rows": rows,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rows_per_s": rows / seconds if seconds > 0 else None,
        "peak_mem_mb": peak,
        "peak_mem_mb_before_predict": base_peak,
        "p_churn_finite": bool(np.isfinite(p["p_churn"]).all()),
        "reasons": {
            "rows": n_reasons,
            "seconds": r_seconds,
            "cpu_seconds": r_cpu,
            "rows_per_s": n_reasons / r_seconds if r_seconds > 0 else None,
            "peak_mem_mb": _peak_mb(),
            "filled": int((r["reasons"].astype(str) != "").sum()),
        },
    }


CHILDREN = {"shop": child_shop, "score": child_score, "scale": child_scale}


def run_child(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return _run_child(__file__, kind, spec)


# -- judging against the truth ---------------------------------------------------------
def placed_in_holdout(holdout: Any, as_of: dt.date) -> Any:
    """Orders placed in the holdout: the file also carries status updates (a refund, a
    cancellation) of orders placed before the cut, which are no purchase in the holdout."""
    import pandas as pd

    cut = pd.Timestamp(as_of, tz="UTC")
    ts = pd.to_datetime(holdout["ts"], utc=True)
    return holdout[ts >= cut]


def judge(shop: Path, scratch: Path, as_of: dt.date) -> dict[str, Any]:
    import numpy as np
    import pandas as pd
    from scipy.stats import spearmanr

    from liucun.evaluate.metrics import classification_metrics, regression_metrics

    truth = pd.read_parquet(shop / "truth" / "customers.parquet")
    every = pd.read_parquet(shop / "truth" / "holdout" / "orders.parquet")
    holdout = placed_in_holdout(every, as_of)
    preds = pd.read_parquet(scratch / "predictions.parquet")
    df = truth.merge(preds, on="user_id", how="inner")
    buyers = set(holdout["user_id"])
    y = df["user_id"].isin(buyers).to_numpy().astype(int)
    q = df["p_purchase_h"].to_numpy(dtype=float)
    e_orders = df["expected_orders_h"].to_numpy(dtype=float)
    e_rev = df["expected_revenue_h"].to_numpy(dtype=float)

    def one(p: np.ndarray, orders: np.ndarray | None, revenue: np.ndarray | None) -> dict:
        c = classification_metrics(y, p)
        oracle = classification_metrics(y, q)["roc_auc"]
        m: dict[str, Any] = {
            "roc_auc": c["roc_auc"],
            "pr_auc": c["pr_auc"],
            "auc_gap_to_oracle": oracle - c["roc_auc"],
            "spearman_vs_true_p": float(spearmanr(p, q)[0]),
        }
        if orders is None:
            return m
        m["brier_vs_realised"] = c["brier"]
        m["brier_vs_true_p"] = float(np.mean((p - q) ** 2))
        m["mean_p_purchase"] = float(np.mean(p))
        o = regression_metrics(e_orders, orders)
        m["orders_mae_vs_true"] = o["mae"]
        m["orders_sum_ratio"] = o["sum_ratio"]
        r = regression_metrics(e_rev, revenue)
        m["revenue_spearman_vs_true"] = r["spearman"]
        m["revenue_sum_ratio"] = r["sum_ratio"]
        return m

    p_churn = df["liucun_p_churn"].to_numpy(dtype=float)
    models = {
        "liucun": one(
            1.0 - p_churn,
            df["liucun_expected_orders"].to_numpy(dtype=float),
            df["liucun_expected_revenue"].to_numpy(dtype=float),
        ),
        "recency": one(df["recency_p_purchase"].to_numpy(dtype=float), None, None),
    }
    for kind in ("bgnbd", "paretonbd"):
        models[kind] = one(
            df[f"{kind}_p_purchase"].to_numpy(dtype=float),
            df[f"{kind}_orders"].to_numpy(dtype=float),
            df[f"{kind}_revenue"].to_numpy(dtype=float),
        )
    oracle = classification_metrics(y, q)
    realised_orders = holdout.groupby("user_id").size()
    orders_h = realised_orders.reindex(df["user_id"]).fillna(0).to_numpy(dtype=float)
    lc = models["liucun"]
    states: dict[str, Any] = {}
    if "latent_state" in df.columns:  # a churn world: who is in which hidden state at D
        for name, g in df.groupby("latent_state"):
            states[str(name)] = {
                "share": len(g) / len(df),
                "mean_true_p": float(g["p_purchase_h"].mean()),
                "bought": float(g["user_id"].isin(buyers).mean()),
            }
    return {
        "customers": {
            "truth": len(truth),
            "scored": len(preds),
            "judged": len(df),
            "bought_in_holdout": int(y.sum()),
            "holdout_rows_updating_older_orders": len(every) - len(holdout),
        },
        "latent_states": states,
        "oracle": {
            "roc_auc": oracle["roc_auc"],
            "pr_auc": oracle["pr_auc"],
            "brier_vs_realised": oracle["brier"],
        },
        "liucun": {
            "auc": lc["roc_auc"],
            "oracle_auc": oracle["roc_auc"],
            "auc_gap": lc["auc_gap_to_oracle"],
            "spearman_vs_true_p": lc["spearman_vs_true_p"],
            "brier_vs_realised_churn": lc["brier_vs_realised"],
            "brier_vs_true_churn_p": lc["brier_vs_true_p"],
            "calibration": {
                "mean_p_churn": float(np.mean(p_churn)),
                "mean_true_p_churn": float(np.mean(1.0 - q)),
                "realised_churn_rate": float(1.0 - y.mean()),
            },
            "expected_orders": {
                **{
                    k: v
                    for k, v in regression_metrics(
                        e_orders, df["liucun_expected_orders"].to_numpy(dtype=float)
                    ).items()
                    if k in ("mae", "sum_ratio", "spearman")
                },
                "true_sum": float(e_orders.sum()),
                "realised_sum": float(orders_h.sum()),
            },
            "expected_revenue": {
                **{
                    k: v
                    for k, v in regression_metrics(
                        e_rev, df["liucun_expected_revenue"].to_numpy(dtype=float)
                    ).items()
                    if k in ("spearman", "sum_ratio", "mae")
                },
                "true_sum": float(e_rev.sum()),
            },
        },
        "models": models,
    }


def checks(
    shop_r: dict[str, Any], score_r: dict[str, Any], scale_r: dict[str, Any] | None, j: dict
) -> dict[str, bool]:
    out: dict[str, bool] = {}
    out["ingest_all_loaded"] = all(
        r["loaded"] == shop_r["rows"][t] and r["quarantined"] == 0
        for t, r in shop_r["ingest"].items()
    )
    c = j["customers"]
    out["every_truth_customer_scored"] = c["judged"] == c["truth"] > 0
    out["predict_matches_score"] = score_r["predict_matches_score"]
    if scale_r is not None:
        out["scaled_p_churn_finite"] = scale_r["p_churn_finite"]
    for name, m in j["models"].items():
        out[f"{name}_metrics_finite"] = all(_finite(v) for v in m.values())
    lc = j["liucun"]
    out["liucun_summary_finite"] = all(
        _finite(v)
        for v in (
            lc["auc"],
            lc["oracle_auc"],
            lc["spearman_vs_true_p"],
            lc["brier_vs_realised_churn"],
            lc["brier_vs_true_churn_p"],
            lc["expected_orders"]["mae"],
            lc["expected_orders"]["sum_ratio"],
            lc["expected_revenue"]["spearman"],
            lc["expected_revenue"]["sum_ratio"],
        )
    )
    return out


def machine() -> dict[str, Any]:
    return _machine(
        ("duckdb", "lightgbm", "pandas", "liucun"),
        threads=warehouse_threads(),
        omp_num_threads=os.environ.get("OMP_NUM_THREADS"),
    )


# -- one world and seed ---------------------------------------------------------------
TIMED = (
    *("score_seconds", "score_cpu_seconds", "score_peak_mem_mb", "features_seconds"),
    *("predict_seconds", "predict_with_reasons_seconds", "anchor_seconds"),
)
DATA = ("simulate_seconds", "ingest_seconds", "peak_mem_mb", "rows", "holdout_rows")


def run_world(args: argparse.Namespace, scenario: str, seed: int, scale: bool) -> dict[str, Any]:
    """Simulate, ingest, score and judge one (world, seed); time the scale step if asked."""
    args.work_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="liucun-bench-churn-sim-", dir=args.work_dir))
    shop, ws = scratch / "shop", scratch / "ws"
    start = time.perf_counter()
    scale_r = None
    try:
        size = {"users": args.users, "days": args.days, "holdout_days": args.holdout_days}
        spec = {"shop": str(shop), "ws": str(ws), **size, "seed": seed, "scenario": scenario}
        shop_r = run_child("shop", spec)
        as_of = dt.date.fromisoformat(shop_r["start"]) + dt.timedelta(days=args.days)
        score_spec = {"ws": str(ws), "as_of": as_of.isoformat(), "out": str(scratch)}
        score_r = run_child("score", {**score_spec, "horizon": args.holdout_days})
        if scale:
            features = str(scratch / "features.parquet")
            scale_spec = {"model_path": score_r["model_path"], "features": features}
            scale_r = run_child("scale", {**scale_spec, "rows": args.score_rows, "seed": seed})
        j = judge(shop, scratch, as_of)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    timing = {k: score_r[k] for k in TIMED}
    timing["fit_seconds"] = score_r["score_steps_seconds"]["fit"]
    timing["score_step_seconds"] = score_r["score_steps_seconds"]["score"]
    timing["predict_rows"] = score_r["customers"]
    timing["predict_rows_per_s"] = score_r["customers"] / score_r["predict_seconds"]
    return {
        "scenario": scenario,
        "seed": seed,
        "as_of": as_of.isoformat(),
        "data": {k: shop_r[k] for k in DATA},
        **{k: j[k] for k in ("customers", "latent_states", "liucun", "models", "oracle")},
        "plan": score_r["plan"],
        "validation": score_r["validation"],
        "timing": timing,
        "scale": scale_r,
        "done_when": done_when(scenario, j),
        "checks": checks(shop_r, score_r, scale_r, j),
        "seconds": time.perf_counter() - start,
    }


def done_when(scenario: str, j: dict[str, Any]) -> dict[str, Any]:
    """Issue 19's Done-when for one world and seed (``None``: does not apply, or NaN)."""
    from liucun.sim.scenarios import get_scenario

    m = j["models"]
    truth = j["oracle"]["roc_auc"]
    auc = m["liucun"]["roc_auc"]

    def judged(ok: Any, *values: Any) -> bool | None:
        return bool(ok) if all(_finite(v) for v in values) else None

    churn_world = get_scenario(scenario).churn_world
    lo, hi = TRUTH_BAND
    out = {
        # The default shop stays as it is (its truth is near 1): the band is for the worlds.
        "truth_auc_in_band": judged(lo <= truth <= hi, truth) if churn_world else None,
        "liucun_within_0_04_of_truth": judged(truth - auc <= MAX_GAP_TO_TRUTH, truth, auc),
        "liucun_above_recency_plus_0_03": judged(
            auc >= m["recency"]["roc_auc"] + MIN_OVER_RECENCY, auc, m["recency"]["roc_auc"]
        ),
        "liucun_brier_below_bgnbd": judged(
            m["liucun"]["brier_vs_true_p"] < m["bgnbd"]["brier_vs_true_p"],
            m["liucun"]["brier_vs_true_p"],
            m["bgnbd"]["brier_vs_true_p"],
        ),
    }
    return {**out, "all_met": all(v is not False for v in out.values())}


def table_row(run: dict[str, Any]) -> dict[str, Any]:
    """One world and seed's figures, side by side (the ``table`` rows and stderr lines)."""
    m = run["models"]
    return {
        "scenario": run["scenario"],
        "seed": run["seed"],
        "truth_auc": run["oracle"]["roc_auc"],
        "liucun_auc": m["liucun"]["roc_auc"],
        "recency_auc": m["recency"]["roc_auc"],
        "bgnbd_auc": m["bgnbd"]["roc_auc"],
        "paretonbd_auc": m["paretonbd"]["roc_auc"],
        "gap_to_truth": run["oracle"]["roc_auc"] - m["liucun"]["roc_auc"],
        "liucun_over_recency": m["liucun"]["roc_auc"] - m["recency"]["roc_auc"],
        "liucun_brier_vs_true": m["liucun"]["brier_vs_true_p"],
        "bgnbd_brier_vs_true": m["bgnbd"]["brier_vs_true_p"],
        "paretonbd_brier_vs_true": m["paretonbd"]["brier_vs_true_p"],
        "bought_share": run["customers"]["bought_in_holdout"] / run["customers"]["judged"],
        "done_when_met": run["done_when"]["all_met"],
    }


def summarise(rows: list[dict[str, Any]], runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per world: the mean and range of each figure over the seeds, and its Done-when."""
    import numpy as np

    out: dict[str, Any] = {}
    for name in dict.fromkeys(r["scenario"] for r in rows):
        mine = [r for r in rows if r["scenario"] == name]
        figures = [k for k, v in mine[0].items() if _finite(v) and k != "seed"]
        w: dict[str, Any] = {"seeds": [r["seed"] for r in mine]}
        for k in figures:
            v = np.array([r[k] for r in mine], dtype=float)
            w[k] = {"mean": float(v.mean()), "min": float(v.min()), "max": float(v.max())}
        dw = [run["done_when"] for run in runs if run["scenario"] == name]
        w["done_when"] = {
            k: (None if any(d[k] is None for d in dw) else all(d[k] for d in dw))
            for k in dw[0]
            if k != "all_met"
        }
        w["done_when"]["all_met"] = all(d["all_met"] for d in dw)
        out[name] = w
    return out


def print_table(rows: list[dict[str, Any]]) -> None:
    """The side-by-side table on stderr (stdout carries the JSON)."""
    cols = {
        **{"scenario": "world", "seed": "seed", "truth_auc": "truth", "liucun_auc": "liucun"},
        **{"recency_auc": "recency", "bgnbd_auc": "bgnbd", "paretonbd_auc": "pnbd"},
        **{"gap_to_truth": "gap", "liucun_brier_vs_true": "brier_lc"},
        **{"bgnbd_brier_vs_true": "brier_bg", "done_when_met": "done"},
    }

    def cell(v: Any) -> str:
        return f"{v:.4f}" if isinstance(v, float) else str(v)

    lines = [[*cols.values()], *([cell(r[k]) for k in cols] for r in rows)]
    width = [max(len(line[i]) for line in lines) for i in range(len(cols))]
    for line in lines:
        print("  ".join(c.rjust(w) for c, w in zip(line, width, strict=True)), file=sys.stderr)


def bench(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {"benchmark": "churn_sim", "date": dt.date.today().isoformat()}
    for k in ("users", "days", "holdout_days", "scenarios", "seeds", "score_rows"):
        report[k] = getattr(args, k)
    report["machine"] = machine()
    start = time.perf_counter()
    runs = []
    for i, (name, seed) in enumerate((n, s) for n in args.scenarios for s in args.seeds):
        print(f"churn_sim: {name} seed {seed} ...", file=sys.stderr, flush=True)
        runs.append(run_world(args, name, seed, scale=i == 0))
    rows = [table_row(r) for r in runs]
    print_table(rows)
    scale_r = runs[0]["scale"]
    assert scale_r is not None
    report["runs"] = runs
    report["table"] = rows
    report["worlds"] = summarise(rows, runs)
    failing = [
        f"{r['scenario']}/{r['seed']}: {k}"
        for r in runs
        for k, v in r["done_when"].items()
        if v is False and k != "all_met"
    ]
    report["done_when"] = {
        "all_met": not failing,
        "failing": failing,
        "thresholds": {"truth_auc_band": list(TRUTH_BAND), "max_gap_to_truth": MAX_GAP_TO_TRUTH}
        | {"min_over_recency": MIN_OVER_RECENCY},
        "notes": (
            "Issue 19, per world and seed (never fatal). truth = ROC-AUC of the true "
            "p_purchase_h against orders placed in the holdout (a real ceiling); the band "
            "applies to the churn worlds, not to the default shop (kept as it is). Brier "
            "against the true probabilities: mean (p_purchase - p_purchase_h)^2."
        ),
    }
    judged = args.score_rows >= TARGET_SCORE_ROWS
    per_million = scale_r["seconds"] * TARGET_SCORE_ROWS / args.score_rows
    gaps = [r["liucun"]["auc_gap"] for r in runs]
    tg: dict[str, Any] = {
        "auc_gap_le_0_02": all(g <= TARGET_GAP for g in gaps) if all(map(_finite, gaps)) else None,
        "score_1m_le_60s": bool(per_million <= TARGET_SCORE_SECONDS) if judged else None,
    }
    for anchor in ("bgnbd", "paretonbd", "recency"):
        tg[f"beats_{anchor}_auc"] = all(
            r["models"]["liucun"]["roc_auc"] > r["models"][anchor]["roc_auc"] for r in runs
        )
    report["targets"] = {
        **tg,
        "all_met": all(v for v in tg.values() if v is not None),
        "not_measured": [k for k, v in tg.items() if v is None],
        "seconds_per_1m_rows": per_million,
        "thresholds": {"auc_gap": TARGET_GAP, "score_rows": TARGET_SCORE_ROWS}
        | {"score_seconds": TARGET_SCORE_SECONDS},
        "notes": (
            "auc_gap = oracle AUC (ranking by the true p_purchase_h) - liucun AUC, both "
            "against the realised holdout purchase, on every world and seed; beats_* on "
            "every world and seed; score_1m_le_60s is judged only when --score-rows >= "
            "1,000,000 (ChurnValueModel.predict without reasons, first world and seed). "
            "Never fatal."
        ),
    }
    report["timing"] = {"scale": scale_r, "scale_on": [args.scenarios[0], args.seeds[0]]}
    report["seconds"] = time.perf_counter() - start
    report["machine"]["loadavg_1m"].append(round(os.getloadavg()[0], 2))
    names = dict.fromkeys(k for r in runs for k in r["checks"])
    chk = {k: all(run["checks"].get(k, True) for run in runs) for k in names}
    report["checks"] = {**chk, "all_passed": all(chk.values())}
    return _clean(report)


def _world_list(text: str) -> list[str]:
    """``all`` → the default shop and every churn world; else a comma-separated list."""
    from liucun.sim.scenarios import SCENARIOS

    if text.strip() == "all":
        return default_worlds()
    names = [x.strip() for x in text.split(",") if x.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown scenario(s) {', '.join(unknown) or '(none)'}; known: "
            f"all, {', '.join(SCENARIOS)}"
        )
    return list(dict.fromkeys(names))


def default_worlds() -> list[str]:
    """The default shop and every world that changes the purchase and dropout process."""
    from liucun.sim.scenarios import SCENARIOS

    return ["default", *(n for n, sc in SCENARIOS.items() if sc.churn_world)]


def _seed_list(text: str) -> list[int]:
    """``3`` → seeds 0, 1, 2; ``4,7`` → seeds 4 and 7."""
    try:
        parts = [int(x) for x in text.split(",") if x.strip()]
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"--seeds: {e}") from None
    if "," not in text:
        if len(parts) != 1 or parts[0] < 1:
            raise argparse.ArgumentTypeError("--seeds: a count of at least 1, or a list 4,7")
        return list(range(parts[0]))
    return list(dict.fromkeys(parts))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=None, help="customers simulated (20000)")
    ap.add_argument("--days", type=int, default=None, help="days of history (365)")
    ap.add_argument("--holdout-days", type=int, default=90, help="holdout = horizon (90)")
    ap.add_argument(
        "--scenarios",
        type=_world_list,
        default=None,
        help="comma-separated worlds, or all (default: the default shop and every churn world)",
    )
    ap.add_argument("--seeds", type=_seed_list, help="a count (3: seeds 0-2) or a list 4,7")
    ap.add_argument("--seed", type=int, default=None, help="one seed (same as --seeds S,)")
    ap.add_argument("--score-rows", type=int, help="rows predict is timed on (1,000,000)")
    ap.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: hidden_chain, seed 0, 1,500 users, 240 days, 20,000 rows timed "
        "(unless given)",
    )
    ap.add_argument(
        "--out", type=Path, default=HERE / "out" / "churn_sim.json", help="JSON report path"
    )
    ap.add_argument(
        "--work-dir",
        type=Path,
        default=Path(tempfile.gettempdir()),
        help="where the shop and workspace go (removed afterwards)",
    )
    for hidden in ("--child", "--child-arg"):
        ap.add_argument(hidden, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        print(json.dumps(CHILDREN[args.child](json.loads(args.child_arg))))
        return 0

    defaults: dict[str, Any] = (
        {**QUICK, "scenarios": list(QUICK_WORLDS), "seeds": [0]}
        if args.quick
        else {"users": 20_000, "days": 365, "score_rows": 1_000_000, "seeds": [0, 1, 2]}
        | {"scenarios": default_worlds()}
    )
    if args.seed is not None:
        if args.seeds is not None:
            ap.error("give --seed or --seeds, not both")
        args.seeds = [args.seed]
    for k, v in defaults.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    if min(args.users, args.days, args.holdout_days, args.score_rows) < 1:
        ap.error("--users, --days, --holdout-days and --score-rows must be positive")
    report = bench(args)
    return write_report(report, args.out)


if __name__ == "__main__":
    sys.exit(main())
