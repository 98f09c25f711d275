"""Simulated-shop recommendation benchmark: liucun's recommender against the shop's future.

It simulates a shop (``--users``, ``--days``, ``--holdout-days``, ``--seed``) with
``liucun.sim.simulate``, ingests the seven tables (as ``liucun demo`` does) and, as of
start + days, builds the recommender's inputs from the warehouse with
``liucun.features.interactions`` (``interaction_frame``, ``item_frame``,
``consumed_frame``). Three recommenders are fitted on them:

- ``liucun``: ``Recommender()`` with its defaults (or ``--liucun-params``);
- ``popular``: ``Recommender(sources=("popular",), ranker=False)``;
- ``als``: ``Recommender(sources=("als",), ranker=False)``.

Each recommends top-20 to every customer who ordered in the holdout (orders with ts ≥
as_of, not cancelled, from ``truth/holdout/``). Relevant items are those of their holdout
orders they had not consumed before as_of (consumed: ``consumed_frame``). Reported with
``liucun.evaluate.ranking.ranking_metrics``: NDCG, Recall, HR, MRR at 10 (and NDCG/Recall
at 20), coverage, diversity and novelty at 10, for all holdout buyers and split into
customers known at as_of and new ones. Against the simulator's true preferences
(``truth/preferences.parquet``: each customer's top-20 items by true utility), every
known customer's top-10 is compared with random lists: the share of recommended items in
the customer's true top-20, the share in the top-level categories of their true top-10,
and the mean true utility rank of the hits.

Latency, with the fitted liucun model: ``recommend([user], 20)`` for 1,000 random known
customers one at a time (p50, p99 ms; target p99 ≤ 5 ms in-process), ``recommend`` on every
known customer at k=10 (rows/s, extrapolated to 1M customers), and on ``--batch-users``
customers resampled from the known ones (target: 1M customers ≤ 300 s, judged from that
run when ``--batch-users`` ≥ 100,000). Each step runs in its own subprocess (peak memory =
that process's max RSS). Prints JSON and writes it to ``--out``; exits 1 if a metric is
NaN, a list holds an item the customer consumed before as_of or the data does not line up
(targets are reported, never fatal)::

    python benchmarks/recs_sim.py                       # 20,000 customers, 100,000 batch
    python benchmarks/recs_sim.py --quick --out /tmp/recs_sim.json
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
from _measure import write_report

HERE = Path(__file__).resolve().parent
# Ingest order: who and what first, then what they did (as liucun demo does).
MODELS = ("liucun", "popular", "als")
K, K_WIDE = 10, 20
LATENCY_USERS = 1000
QUICK = {"users": 1500, "days": 200, "batch_users": 2000}
FULL = {"users": 20_000, "days": 365, "batch_users": 100_000}
TARGET_P99_MS = 5.0
TARGET_BATCH_USERS = 1_000_000
TARGET_BATCH_SECONDS = 300.0
JUDGE_BATCH_FROM = 100_000


def _model(name: str, params: dict[str, Any]):
    from liucun.models.recommend import Recommender

    if name == "liucun":
        return Recommender(**params)
    if name == "popular":
        return Recommender(sources=("popular",), ranker=False)
    return Recommender(sources=("als",), ranker=False)


# -- steps, each in its own subprocess -------------------------------------------------
def child_fit(spec: dict[str, Any]) -> dict[str, Any]:
    """Frames from the warehouse, the three models fitted, lists and latencies to disk."""
    import numpy as np
    import pandas as pd

    import liucun
    from liucun.engines import workspace_tables
    from liucun.features.interactions import consumed_frame, interaction_frame, item_frame

    as_of = dt.date.fromisoformat(spec["as_of"])
    out = Path(spec["out"])
    with liucun.Workspace(spec["ws"]) as ws:
        tables = workspace_tables(ws)
        t0 = time.perf_counter()
        inter = interaction_frame(tables, as_of)
        items = item_frame(tables)
        consumed = consumed_frame(tables, as_of)
        frames_s = time.perf_counter() - t0
    frames_peak = _peak_mb()
    consumed.to_parquet(out / "consumed.parquet", index=False)
    assert items is not None
    items[["item_id", "top_category"]].to_parquet(out / "items.parquet", index=False)
    pairs = inter[["user_id", "item_id"]].astype(str).drop_duplicates()
    pop = pairs["item_id"].value_counts().rename_axis("item_id").rename("users").reset_index()
    pop.to_parquet(out / "popularity.parquet", index=False)
    eval_users = pd.read_parquet(spec["eval_users"])["user_id"].astype(str).tolist()
    known = sorted(inter["user_id"].astype(str).unique())
    when = pd.Timestamp(as_of)
    models: dict[str, Any] = {}
    fitted = {}
    for name in MODELS:
        rec = _model(name, spec["liucun_params"])
        t0, c0 = time.perf_counter(), _cpu_s()
        rec.fit(inter, items, consumed=consumed, as_of=when)
        fit_s, fit_cpu = time.perf_counter() - t0, _cpu_s() - c0
        fit_peak = _peak_mb()
        t0 = time.perf_counter()
        lists = rec.recommend(eval_users, K_WIDE)
        eval_s = time.perf_counter() - t0
        lists.to_parquet(out / f"eval_{name}.parquet", index=False)
        t0, c0 = time.perf_counter(), _cpu_s()
        every = rec.recommend(known, K)
        batch_s, batch_cpu = time.perf_counter() - t0, _cpu_s() - c0
        every.to_parquet(out / f"known_{name}.parquet", index=False)
        models[name] = {
            "fit_seconds": fit_s,
            "fit_cpu_seconds": fit_cpu,
            "peak_mem_mb_after_fit": fit_peak,
            "recommend_eval_seconds": eval_s,
            "batch": {
                "users": len(known),
                "rows": len(every),
                "seconds": batch_s,
                "cpu_seconds": batch_cpu,
                "users_per_s": len(known) / batch_s if batch_s > 0 else None,
                "rows_per_s": len(every) / batch_s if batch_s > 0 else None,
            },
        }
        if name == "liucun":
            models[name]["ranker"] = rec.ranker_metrics_
            models[name]["sources"] = list(rec.sources)
        fitted[name] = rec
    # One customer at a time, as the shop's page would ask.
    rec = fitted["liucun"]
    rng = np.random.default_rng(int(spec["seed"]))
    picks = rng.choice(known, min(int(spec["latency_users"]), len(known)), replace=False)
    rec.recommend([str(picks[0])], K_WIDE)  # warm
    ms = []
    for u in picks:
        t0 = time.perf_counter()
        rec.recommend([str(u)], K_WIDE)
        ms.append((time.perf_counter() - t0) * 1000)
    rec.save(out / "model")
    ms_arr = np.asarray(ms)
    return {
        "frames_seconds": frames_s,
        "frames_peak_mem_mb": frames_peak,
        "interactions": len(inter),
        "interaction_types": inter["event_type"].value_counts().to_dict(),
        "consumed_pairs": len(consumed),
        "items": len(items),
        "known_customers": len(known),
        "models": models,
        "latency": {
            "calls": len(ms),
            "k": K_WIDE,
            "p50_ms": float(np.percentile(ms_arr, 50)),
            "p90_ms": float(np.percentile(ms_arr, 90)),
            "p99_ms": float(np.percentile(ms_arr, 99)),
            "max_ms": float(ms_arr.max()),
            "mean_ms": float(ms_arr.mean()),
        },
        "peak_mem_mb": _peak_mb(),
    }


def child_scale(spec: dict[str, Any]) -> dict[str, Any]:
    """``recommend`` at k=10 on N customers resampled (with replacement) from the known."""
    import numpy as np

    from liucun.models.recommend import Recommender

    rec = Recommender.load(spec["model"])
    known = np.asarray(rec.data_.user_ids, dtype=object)
    rng = np.random.default_rng(int(spec["seed"]))
    users = [str(u) for u in known[rng.integers(0, len(known), int(spec["users"]))]]
    base = _peak_mb()
    t0, c0 = time.perf_counter(), _cpu_s()
    out = rec.recommend(users, K)
    seconds, cpu = time.perf_counter() - t0, _cpu_s() - c0
    return {
        "users": len(users),
        "rows": len(out),
        "seconds": seconds,
        "cpu_seconds": cpu,
        "users_per_s": len(users) / seconds if seconds > 0 else None,
        "rows_per_s": len(out) / seconds if seconds > 0 else None,
        "peak_mem_mb": _peak_mb(),
        "peak_mem_mb_before_recommend": base,
        "k_rows_each": bool(len(out) == K * len(users)),
    }


CHILDREN = {"shop": child_shop, "fit": child_fit, "scale": child_scale}


def run_child(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return _run_child(__file__, kind, spec)


# -- judging against the holdout and the truth -----------------------------------------
def holdout_buyers(shop: Path, as_of: dt.date) -> Any:
    """(user_id, item_id) of holdout orders placed at or after as_of, not cancelled."""
    import pandas as pd

    h = shop / "truth" / "holdout"
    orders = pd.read_parquet(h / "orders.parquet", columns=["order_id", "user_id", "ts", "status"])
    lines = pd.read_parquet(h / "order_items.parquet", columns=["order_id", "item_id"])
    orders = orders[
        (orders["ts"] >= pd.Timestamp(as_of, tz="UTC")) & (orders["status"] != "cancelled")
    ]
    df = lines.merge(orders[["order_id", "user_id"]], on="order_id")
    return df[["user_id", "item_id"]].astype(str).drop_duplicates()


def _pairs(df: Any) -> set[tuple[str, str]]:
    return set(zip(df["user_id"].astype(str), df["item_id"].astype(str), strict=True))


def judge(shop: Path, scratch: Path, known: set[str]) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    from liucun.evaluate.ranking import ranking_metrics

    bought = pd.read_parquet(scratch / "holdout_lines.parquet")
    consumed = pd.read_parquet(scratch / "consumed.parquet")
    items = pd.read_parquet(scratch / "items.parquet")
    pop = pd.read_parquet(scratch / "popularity.parquet")
    before = _pairs(consumed)
    relevant: dict[str, set[str]] = {}
    for u, i in zip(bought["user_id"], bought["item_id"], strict=True):
        if (u, i) not in before:
            relevant.setdefault(u, set()).add(i)
    category = dict(zip(items["item_id"].astype(str), items["top_category"], strict=True))
    category = {i: c for i, c in category.items() if isinstance(c, str)}
    popularity = dict(zip(pop["item_id"].astype(str), pop["users"], strict=True))
    n_items = len(items)
    groups = {
        "all": relevant,
        "known": {u: r for u, r in relevant.items() if u in known},
        "new": {u: r for u, r in relevant.items() if u not in known},
    }
    models: dict[str, Any] = {}
    list_checks: dict[str, Any] = {}
    for name in MODELS:
        recs = pd.read_parquet(scratch / f"eval_{name}.parquet")
        recs["user_id"] = recs["user_id"].astype(str)
        recs["item_id"] = recs["item_id"].astype(str)
        m: dict[str, Any] = {}
        for k in (K, K_WIDE):
            r = ranking_metrics(recs, groups["all"], k, n_items, popularity, category)
            keep = ("ndcg", "recall", "hr", "mrr", "coverage", "diversity", "novelty")
            keep = keep if k == K else ("ndcg", "recall", "hr")
            m.update({f"{x}@{k}": r[f"{x}@{k}"] for x in keep})
            m["users"] = r["users"]
        for g in ("known", "new"):
            r = ranking_metrics(recs, groups[g], K)
            m[g] = {f"{x}@{K}": r[f"{x}@{K}"] for x in ("ndcg", "recall", "hr")} | {
                "users": r["users"]
            }
        models[name] = m
        sizes = recs.groupby("user_id").size()
        ranks_ok = recs.groupby("user_id")["rank"].apply(
            lambda s: list(s) == list(range(1, len(s) + 1))
        )
        list_checks[name] = {
            "every_buyer_listed": set(sizes.index) == set(bought["user_id"]),
            "k_rows_each": bool((sizes == K_WIDE).all()),
            "ranks_1_to_k": bool(ranks_ok.all()),
            "consumed_recommended": len(_pairs(recs) & before),
        }
    return {
        "customers": {
            "holdout_buyers": int(bought["user_id"].nunique()),
            "known_at_as_of": len(set(bought["user_id"]) & known),
            "with_new_items": len(relevant),
            "evaluated_known": len(groups["known"]),
            "evaluated_new": len(groups["new"]),
            "relevant_items_mean": float(np.mean([len(r) for r in relevant.values()])),
        },
        "models": models,
        "lists": list_checks,
    }


def truth_overlap(shop: Path, scratch: Path) -> dict[str, Any]:
    """Every known customer's top-10 against their true top-20 items and categories."""
    import numpy as np
    import pandas as pd

    prefs = pd.read_parquet(shop / "truth" / "preferences.parquet")
    prefs["user_id"] = prefs["user_id"].astype(str)
    prefs["item_id"] = prefs["item_id"].astype(str)
    items = pd.read_parquet(scratch / "items.parquet")
    consumed = pd.read_parquet(scratch / "consumed.parquet").astype(str)
    catalogue = items["item_id"].astype(str).to_numpy()
    cat_of = dict(zip(catalogue, items["top_category"], strict=True))
    cat_share = items["top_category"].value_counts(normalize=True).to_dict()
    top20 = {
        u: dict(zip(g["item_id"], g["rank"], strict=True)) for u, g in prefs.groupby("user_id")
    }
    top10_cats = {
        u: {cat_of.get(i) for i in g.loc[g["rank"] <= 10, "item_id"]} - {None}
        for u, g in prefs.groupby("user_id")
    }
    used = {u: set(g) for u, g in consumed.groupby("user_id")["item_id"]}
    out: dict[str, Any] = {}
    random_in_top20, random_in_cats = [], []
    for name in MODELS:
        recs = pd.read_parquet(scratch / f"known_{name}.parquet")
        recs["user_id"] = recs["user_id"].astype(str)
        recs["item_id"] = recs["item_id"].astype(str)
        in_top20, in_cats, hit_ranks = [], [], []
        for u, g in recs.groupby("user_id", sort=True):
            if u not in top20:
                continue
            its = list(g.sort_values("rank")["item_id"])
            hits = [top20[u][i] for i in its if i in top20[u]]
            in_top20.append(len(hits) / len(its))
            hit_ranks += hits
            in_cats.append(np.mean([cat_of.get(i) in top10_cats[u] for i in its]))
            if name == MODELS[0]:
                # Random lists of the same length over the items not consumed yet.
                free = len(catalogue) - len(used.get(u, ()))
                left = len(set(top20[u]) - used.get(u, set()))
                random_in_top20.append(left / max(free, 1))
                random_in_cats.append(sum(cat_share.get(c, 0) for c in top10_cats[u]))
        out[name] = {
            "customers": len(in_top20),
            "share_in_true_top20": float(np.mean(in_top20)),
            "share_in_true_top_categories": float(np.mean(in_cats)),
            "mean_true_rank_of_hits": float(np.mean(hit_ranks)) if hit_ranks else float("nan"),
        }
    out["random"] = {
        "share_in_true_top20": float(np.mean(random_in_top20)),
        "share_in_true_top_categories": float(np.mean(random_in_cats)),
    }
    out["notes"] = (
        "known customers' top-10 lists; true top-20 items and the top-level categories of "
        "the true top-10 from truth/preferences.parquet (ranked by true utility); random = "
        "the expected share for a uniform random list over the items not yet consumed "
        "(categories: over the whole catalogue)"
    )
    return out


def checks(shop_r: dict, fit_r: dict, scale_r: dict, j: dict, overlap: dict) -> dict[str, bool]:
    out: dict[str, bool] = {}
    out["ingest_all_loaded"] = all(
        r["loaded"] == shop_r["rows"][t] and r["quarantined"] == 0
        for t, r in shop_r["ingest"].items()
    )
    out["holdout_has_buyers"] = j["customers"]["with_new_items"] > 0
    for name in MODELS:
        lc = j["lists"][name]
        out[f"{name}_lists_complete"] = (
            lc["every_buyer_listed"] and lc["k_rows_each"] and lc["ranks_1_to_k"]
        )
        out[f"{name}_no_consumed_recommended"] = lc["consumed_recommended"] == 0
        m = j["models"][name]
        out[f"{name}_metrics_finite"] = all(
            _finite(v) for k, v in m.items() if k not in ("known", "new")
        ) and all(_finite(v) for v in m["known"].values())
        out[f"{name}_known_batch_complete"] = (
            fit_r["models"][name]["batch"]["rows"] == K * fit_r["known_customers"]
        )
        out[f"{name}_truth_overlap_finite"] = all(
            _finite(overlap[name][k])
            for k in ("share_in_true_top20", "share_in_true_top_categories")
        )
    out["latency_finite"] = all(_finite(v) for v in fit_r["latency"].values())
    out["scale_k_rows_each"] = scale_r["k_rows_each"]
    return out


def machine() -> dict[str, Any]:
    return _machine(
        ("implicit", "lightgbm", "numpy", "pandas", "liucun"),
        omp_num_threads=os.environ.get("OMP_NUM_THREADS"),
    )


def bench(args: argparse.Namespace) -> dict[str, Any]:
    import pandas as pd

    report: dict[str, Any] = {
        "benchmark": "recs_sim",
        "date": dt.date.today().isoformat(),
        "users": args.users,
        "days": args.days,
        "holdout_days": args.holdout_days,
        "seed": args.seed,
        "batch_users": args.batch_users,
        "liucun_params": args.liucun_params,
        "machine": machine(),
    }
    args.work_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="liucun-bench-recs-sim-", dir=args.work_dir))
    shop, ws = scratch / "shop", scratch / "ws"
    start = time.perf_counter()
    try:
        spec = {
            "shop": str(shop),
            "ws": str(ws),
            "users": args.users,
            "days": args.days,
            "holdout_days": args.holdout_days,
            "seed": args.seed,
        }
        shop_r = run_child("shop", spec)
        as_of = dt.date.fromisoformat(shop_r["start"]) + dt.timedelta(days=args.days)
        bought = holdout_buyers(shop, as_of)
        bought.to_parquet(scratch / "holdout_lines.parquet", index=False)
        eval_users = pd.DataFrame({"user_id": sorted(bought["user_id"].unique())})
        eval_users.to_parquet(scratch / "eval_users.parquet", index=False)
        fit_r = run_child(
            "fit",
            {
                "ws": str(ws),
                "as_of": as_of.isoformat(),
                "out": str(scratch),
                "eval_users": str(scratch / "eval_users.parquet"),
                "liucun_params": args.liucun_params,
                "latency_users": LATENCY_USERS,
                "seed": args.seed,
            },
        )
        scale_r = run_child(
            "scale", {"model": str(scratch / "model"), "users": args.batch_users, "seed": args.seed}
        )
        known = set(pd.read_parquet(scratch / "known_liucun.parquet")["user_id"].astype(str))
        j = judge(shop, scratch, known)
        overlap = truth_overlap(shop, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report["as_of"] = as_of.isoformat()
    report["data"] = {
        "simulate_seconds": shop_r["simulate_seconds"],
        "ingest_seconds": shop_r["ingest_seconds"],
        "peak_mem_mb": shop_r["peak_mem_mb"],
        "rows": shop_r["rows"],
        "holdout_rows": shop_r["holdout_rows"],
        "interactions": fit_r["interactions"],
        "interaction_types": fit_r["interaction_types"],
        "consumed_pairs": fit_r["consumed_pairs"],
        "items": fit_r["items"],
        "known_customers": fit_r["known_customers"],
        "frames_seconds": fit_r["frames_seconds"],
    }
    report["customers"] = j["customers"]
    report["models"] = j["models"]
    report["truth_overlap"] = overlap
    report["lists"] = j["lists"]
    report["fit"] = fit_r["models"]
    lat = fit_r["latency"]
    liucun_batch = fit_r["models"]["liucun"]["batch"]
    per_million_known = liucun_batch["seconds"] * TARGET_BATCH_USERS / liucun_batch["users"]
    per_million = scale_r["seconds"] * TARGET_BATCH_USERS / scale_r["users"]
    report["latency"] = {
        "single": lat,
        "batch_known": {**liucun_batch, "seconds_per_1m_customers": per_million_known},
        "batch_resampled": {**scale_r, "seconds_per_1m_customers": per_million},
        "peak_mem_mb_fit_step": fit_r["peak_mem_mb"],
    }
    lc, pop, als = (j["models"][m] for m in MODELS)
    judged = args.batch_users >= JUDGE_BATCH_FROM
    tg: dict[str, Any] = {
        "p99_le_5ms": bool(lat["p99_ms"] <= TARGET_P99_MS),
        "batch_1m_le_300s": bool(per_million <= TARGET_BATCH_SECONDS) if judged else None,
        "beats_popular_ndcg@10": bool(lc["ndcg@10"] > pop["ndcg@10"]),
        "beats_als_ndcg@10": bool(lc["ndcg@10"] > als["ndcg@10"]),
        "beats_popular_recall@10": bool(lc["recall@10"] > pop["recall@10"]),
        "beats_als_recall@10": bool(lc["recall@10"] > als["recall@10"]),
        "beats_random_true_top20": bool(
            overlap["liucun"]["share_in_true_top20"] > overlap["random"]["share_in_true_top20"]
        ),
    }
    report["targets"] = {
        **tg,
        "all_met": all(v for v in tg.values() if v is not None),
        "not_measured": [k for k, v in tg.items() if v is None],
        "seconds_per_1m_customers": per_million,
        "thresholds": {
            "p99_ms": TARGET_P99_MS,
            "batch_customers": TARGET_BATCH_USERS,
            "batch_seconds": TARGET_BATCH_SECONDS,
        },
        "notes": (
            "p99 of recommend([user], 20) one customer at a time, in-process; "
            "batch_1m_le_300s extrapolates recommend(users, 10) on --batch-users resampled "
            f"customers to 1M and is judged only when --batch-users >= {JUDGE_BATCH_FROM:,}. "
            "Never fatal."
        ),
    }
    report["seconds"] = time.perf_counter() - start
    report["machine"]["loadavg_1m"].append(round(os.getloadavg()[0], 2))
    chk = checks(shop_r, fit_r, scale_r, j, overlap)
    report["checks"] = {**chk, "all_passed": all(chk.values())}
    return _clean(report)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=None, help="customers simulated (20000)")
    ap.add_argument("--days", type=int, default=None, help="days of history (365)")
    ap.add_argument("--holdout-days", type=int, default=30, help="days judged after as_of (30)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--batch-users",
        type=int,
        default=None,
        help="customers (resampled from the known) the batch recommend is timed on (100000)",
    )
    ap.add_argument(
        "--liucun-params",
        type=json.loads,
        default={},
        help="Recommender keyword arguments as JSON, e.g. '{\"candidates\": 100}'",
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 1,500 users, 200 days, 2,000 batch customers (unless given)",
    )
    ap.add_argument(
        "--out", type=Path, default=HERE / "out" / "recs_sim.json", help="JSON report path"
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
        print(json.dumps(CHILDREN[args.child](json.loads(args.child_arg)), default=str))
        return 0

    for k, v in (QUICK if args.quick else FULL).items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    if min(args.users, args.days, args.holdout_days, args.batch_users) < 1:
        ap.error("--users, --days, --holdout-days and --batch-users must be positive")
    if not isinstance(args.liucun_params, dict):
        ap.error("--liucun-params must be a JSON object")
    report = bench(args)
    return write_report(report, args.out)


if __name__ == "__main__":
    sys.exit(main())
