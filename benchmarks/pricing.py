"""Price elasticity benchmark: ``liucun pricing`` against the simulator's true elasticities.

For each seed (each reported separately) a retail world (``scenario="retail"``: shelf
prices move, promotions discount, stock runs out) is simulated, its items, orders, order
lines and inventory snapshots ingested, and elasticities estimated as of the end of the
history. Every category of the items table (a path such as ``food/snacks/chips``) has the
true elasticity of its top-level category (``truth/elasticities.parquet``).

Methods, all in the same run on the same data:

- ``liucun``: :func:`liucun.tasks.pricing.pricing` (Poisson fixed effects, calendar and
  promotions controlled, censored item-days from the inventory table left out);
- ``liucun_no_stock_filter``: the same with the censored-day filter switched off (what the
  stock-out fix is worth);
- ``ols_loglog``: the naive baseline, OLS of log(units) on log(price) over the item-days
  with sales, item fixed effects (within transform), nothing else controlled.

Figures per seed and method over the categories liucun estimates (enough price changes):
``within_0.3`` (share of them within ±0.3 of the truth: the issue's target is every one),
``mean_error`` (estimate − truth: the sign says towards or away from zero), ``mae``; the
same for the top-level categories pooled from the path estimates by inverse variance
(``top_level``); and whether every category without price changes (books) says "not
enough price variation". ``targets`` holds the issue's bars and never fails the run; a
failed correctness check (non-finite figures, an estimate where there is no variation)
exits 1::

    python benchmarks/pricing.py                       # 20,000 users, 730 days, seeds 1 2 3
    python benchmarks/pricing.py --quick --out /tmp/pricing.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import finite, floats, json_clean, peak_mb, write_report
from _measure import machine as _machine

TABLES = ("items", "orders", "order_items", "inventory")
METHODS = ("liucun", "liucun_no_stock_filter", "ols_loglog")
TOLERANCE = 0.3


def ols_loglog(daily: pd.DataFrame, min_changes: int) -> pd.DataFrame:
    """Naive per-category elasticity: OLS slope of log units on log price over the days
    with sales, each item's mean taken out; (category, elasticity, se)."""
    d = daily[(daily["units"] > 0) & (daily["price"] > 0)].copy()
    d["ly"], d["lp"] = np.log(d["units"]), np.log(d["price"])
    d = d.sort_values(["item_id", "date"])
    moved = (d["item_id"] == d["item_id"].shift()) & (d["lp"].diff().abs() > np.log1p(0.01))
    d["moved"] = moved
    rows = []
    for cat, part in d.groupby("category"):
        y = part["ly"] - part.groupby("item_id")["ly"].transform("mean")
        x = part["lp"] - part.groupby("item_id")["lp"].transform("mean")
        sxx = float((x**2).sum())
        if int(part["moved"].sum()) < min_changes or sxx <= 1e-12:
            rows.append((cat, np.nan, np.nan))
            continue
        b = float((x * y).sum() / sxx)
        dof = max(len(part) - part["item_id"].nunique() - 1, 1)
        se = float(np.sqrt(((y - b * x) ** 2).sum() / dof / sxx))
        rows.append((cat, b, se))
    return pd.DataFrame(rows, columns=["category", "elasticity", "se"])


def score(est: pd.DataFrame, truth: pd.Series) -> dict[str, Any]:
    """Path and pooled top-level errors of ``est`` (category, elasticity, se)."""
    e = est.dropna(subset=["elasticity"]).copy()
    e["top"] = e["category"].str.split("/").str[0]
    e["truth"] = e["top"].map(truth)
    e = e.dropna(subset=["truth"])
    err = e["elasticity"] - e["truth"]
    out: dict[str, Any] = {
        "categories": len(e),
        "within_0.3": float((err.abs() <= TOLERANCE).mean()) if len(e) else None,
        "mean_error": float(err.mean()) if len(e) else None,
        "mae": float(err.abs().mean()) if len(e) else None,
        "worst_error": float(err.abs().max()) if len(e) else None,
    }
    w = 1.0 / np.square(e["se"].where(e["se"] > 0))
    e = e.assign(w=w, we=w * e["elasticity"]).dropna(subset=["w"])
    top = e.groupby("top")[["w", "we"]].sum()
    pooled = (top["we"] / top["w"]).rename("elasticity")
    terr = pooled - truth.reindex(pooled.index)
    out["top_level"] = {
        "categories": len(pooled),
        "within_0.3": float((terr.abs() <= TOLERANCE).mean()) if len(pooled) else None,
        "mae": float(terr.abs().mean()) if len(pooled) else None,
        "errors": {k: float(v) for k, v in terr.items()},
    }
    return out


def bench_seed(args: argparse.Namespace, seed: int, scratch: Path) -> dict[str, Any]:
    import liucun
    import liucun.tasks.pricing as tp
    from liucun.features.demand import daily_units
    from liucun.models.elasticity import NO_VARIATION
    from liucun.sim import simulate

    shop, wsp = scratch / f"shop{seed}", scratch / f"ws{seed}"
    t0 = time.perf_counter()
    sim = simulate(
        shop, users=args.users, days=args.days, holdout_days=0, seed=seed, scenario="retail"
    )
    r: dict[str, Any] = {"seed": seed, "simulate_seconds": time.perf_counter() - t0}
    as_of = dt.date.fromisoformat(sim.start) + dt.timedelta(days=args.days)
    r["as_of"] = as_of.isoformat()
    tr = pd.read_parquet(shop / "truth" / "elasticities.parquet")
    truth = tr.set_index("category")["elasticity"]
    no_var_tops = set(tr.loc[tr["n_price_changes"] == 0, "category"])
    r["truth"] = {c: float(v) for c, v in truth.items()}
    est: dict[str, pd.DataFrame] = {}
    seconds: dict[str, float] = {}
    with liucun.Workspace(wsp) as ws:
        for t in TABLES:
            ws.ingest(t, shop / f"{t}.parquet")
        t0 = time.perf_counter()
        res = tp.pricing(ws, as_of)
        seconds["liucun"] = time.perf_counter() - t0
        frame = res.frame
        r["liucun_stats"] = res.stats
        orig = tp.censored_days
        tp.censored_days = lambda *a, **k: orig(*a, **k).iloc[:0]
        try:
            t0 = time.perf_counter()
            plain = tp.pricing(ws, as_of).frame
            seconds["liucun_no_stock_filter"] = time.perf_counter() - t0
        finally:
            tp.censored_days = orig
        days = int(tp.pricing_config(ws)["history_days"])
        min_changes = int(tp.pricing_config(ws)["min_price_changes"])
        t0 = time.perf_counter()
        daily = daily_units(ws, as_of, days=days)
        cats = tp.item_catalogue(ws)[["item_id", "category"]]
        est["ols_loglog"] = ols_loglog(daily.merge(cats, on="item_id"), min_changes)
        seconds["ols_loglog"] = time.perf_counter() - t0
    for name, f in (("liucun", frame), ("liucun_no_stock_filter", plain)):
        c = f[f["level"] == "category"].copy()
        # The output's interval is ± z se at the configured confidence (0.95).
        c["se"] = (c["hi"] - c["lo"]) / (2 * 1.959964)
        est[name] = c[["category", "elasticity", "se"]]
    r["methods"] = {m: score(est[m], truth) for m in METHODS}
    cat_rows = frame[frame["level"] == "category"]
    top = cat_rows["category"].str.split("/").str[0]
    no_var = cat_rows[top.isin(no_var_tops)]
    r["no_variation"] = {
        "categories": len(no_var),
        "say_not_enough_variation": bool(
            no_var["elasticity"].isna().all() and no_var["note"].str.startswith(NO_VARIATION).all()
        ),
    }
    r["categories_without_estimate"] = int(cat_rows["elasticity"].isna().sum())
    r["seconds"] = seconds
    return r


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=20_000)
    p.add_argument("--days", type=int, default=730)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--quick", action="store_true", help="1,500 users, 150 days (a smoke run)")
    p.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()))
    p.add_argument("--out", type=Path, default=Path("benchmarks/out/pricing.json"))
    args = p.parse_args(argv)
    if args.quick:
        args.users, args.days = 1500, 150
    args.work_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="liucun-bench-pricing-", dir=args.work_dir))
    t0 = time.perf_counter()
    report: dict[str, Any] = {
        "benchmark": "pricing",
        "date": dt.date.today().isoformat(),
        "users": args.users,
        "days": args.days,
        "methods": list(METHODS),
        "machine": _machine(("numpy", "pandas", "scipy", "liucun")),
        "seeds": {},
    }
    try:
        for seed in args.seeds:
            report["seeds"][str(seed)] = bench_seed(args, seed, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report["seconds"] = time.perf_counter() - t0
    report["peak_mem_mb"] = peak_mb()
    runs = report["seeds"].values()
    report["targets"] = {
        f"seed_{r['seed']}": {
            "all_estimated_categories_within_0.3": r["methods"]["liucun"]["within_0.3"] == 1.0,
            "liucun_within_0.3": r["methods"]["liucun"]["within_0.3"],
            "baseline_within_0.3": r["methods"]["ols_loglog"]["within_0.3"],
            "top_level_all_within_0.3": r["methods"]["liucun"]["top_level"]["within_0.3"] == 1.0,
            "no_variation_says_so": r["no_variation"]["say_not_enough_variation"],
        }
        for r in runs
    }
    report["checks"] = {
        "finite": all(
            finite(v)
            for r in runs
            for m in r["methods"].values()
            for v in floats(m, ("liucun_stats",))
            if v is not None
        ),
        "estimates_somewhere": all(r["methods"]["liucun"]["categories"] > 0 for r in runs),
        "no_estimate_without_variation": all(
            r["no_variation"]["say_not_enough_variation"] for r in runs
        ),
    }
    return write_report(json_clean(report), args.out)


if __name__ == "__main__":
    sys.exit(main())
