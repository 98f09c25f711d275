"""Demand forecast benchmark: ``liucun forecast`` against named baselines, same run.

Data sets:

- ``sim``: a shop simulated by ``liucun.sim.simulate`` (``--users``, ``--days``, holdout =
  ``--horizon``), its items, orders and order lines ingested; as_of = start + days. Actual
  units per item and day come from the holdout files (orders not cancelled, placed from
  as_of on); the simulator's true expected units (``truth/demand.parquet``) give an
  error against the truth as well.
- ``cdnow``: the real CDNOW orders shipped in the ``lifetimes`` package (if installed):
  CDs sold per day by the whole shop, one series (no items), as_of 1998-06-03.

Methods: liucun (``tasks.forecast.forecast_levels``: the global LightGBM model, category
level bottom-up; on CDNOW the same ``DemandGBM`` on the one series), seasonal naive (7),
the 28-day mean, the weekday mean (4 weeks), Croston (TSB) and ETS (statsmodels).

Figures per data set and level (item, category; shop for CDNOW): weighted RMSSE (M5:
each series' squared error scaled by its in-sample one-step squared differences, series
weighted by sales value over the last 28 days) and weighted MASE, for every method; the
80% interval coverage of liucun's item-days (and category-days); seconds per 1,000 series
for every method (fit + predict). Prints JSON and writes it to ``--out``::

    python benchmarks/forecast.py                      # 20,000 users, 730 days, 28-day horizon
    python benchmarks/forecast.py --quick --out /tmp/forecast.json
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
from _measure import cpu_s, finite, floats, json_clean, peak_mb, write_report
from _measure import machine as _machine

METHODS = ("liucun", "seasonal_naive", "moving_average", "weekday_mean", "croston", "ets")
TABLES = ("items", "orders", "order_items")
CDNOW_AS_OF = dt.date(1998, 6, 3)


def _scales(hist: pd.DataFrame, origin: pd.Timestamp) -> pd.DataFrame:
    """Per series: M5's RMSSE and MASE denominators (one-step differences from the first
    sale up to the origin) and its sales value over the last 28 days (the weight)."""
    from liucun.models.forecast import Panel

    p = Panel.from_long(hist, origin)
    rows = []
    for i, item in enumerate(p.items):
        y = p.units[i]
        nz = np.flatnonzero(y)
        y = y[nz[0] :] if len(nz) else y
        d = np.diff(y)
        price = p.price[i, -28:]
        value = np.nansum(p.units[i, -28:] * np.where(np.isnan(price), 1.0, price))
        if np.isnan(price).all():
            value = p.units[i, -28:].sum()
        rows.append(
            (item, np.mean(d**2) if len(d) else 0.0, np.mean(np.abs(d)) if len(d) else 0.0, value)
        )
    return pd.DataFrame(rows, columns=["series", "mse_scale", "mae_scale", "weight"])


def scores(pred: pd.DataFrame, actual: pd.DataFrame, scales: pd.DataFrame) -> dict[str, float]:
    """Weighted RMSSE and MASE of ``pred`` (series, date, forecast) against ``actual``
    (series, date, units; missing days are zero) over the series with a scale."""
    m = pred.merge(actual, on=["series", "date"], how="left").fillna({"units": 0.0})
    err = m.assign(se=(m["units"] - m["forecast"]) ** 2, ae=(m["units"] - m["forecast"]).abs())
    per = err.groupby("series", as_index=False)[["se", "ae"]].mean().merge(scales, on="series")
    per = per[(per["mse_scale"] > 0) & (per["weight"] > 0)]
    w = per["weight"] / per["weight"].sum()
    return {
        "wrmsse": float((w * np.sqrt(per["se"] / per["mse_scale"])).sum()),
        "wmase": float((w * per["ae"] / per["mae_scale"]).sum()),
        "series_scored": len(per),
    }


def coverage(pred: pd.DataFrame, actual: pd.DataFrame) -> float:
    m = pred.merge(actual, on=["series", "date"], how="left").fillna({"units": 0.0})
    return float(((m["units"] >= m["lo"] - 1e-9) & (m["units"] <= m["hi"] + 1e-9)).mean())


VOLUME_EDGES = (0.0, 0.2, 1.0, np.inf)


def coverage_by_volume(pred: pd.DataFrame, actual: pd.DataFrame) -> dict[str, Any]:
    """Coverage and share of item-days per forecast volume (units a day). Counts are
    whole: where a day most likely sells nothing, any interval holding the forecast holds
    0 and covers at least P(0), above 80% for a slow mover, so the pooled item-day
    coverage of a sparse shop sits above the nominal level whatever the method."""
    m = pred.merge(actual, on=["series", "date"], how="left").fillna({"units": 0.0})
    hit = (m["units"] >= m["lo"] - 1e-9) & (m["units"] <= m["hi"] + 1e-9)
    band = pd.cut(m["forecast"], VOLUME_EDGES, right=False)
    out = {}
    for b, g in hit.groupby(band, observed=True):
        lo, hi = b.left, b.right
        out[f"{lo:g}-{hi:g}"] = {"coverage": float(g.mean()), "share": len(g) / len(m)}
    return out


def baselines(hist: pd.DataFrame, origin: pd.Timestamp, horizon: int) -> dict[str, Any]:
    """Every baseline's item forecasts and seconds."""
    from liucun.models.forecast import BASELINES

    out = {}
    for name, cls in BASELINES.items():
        t0 = time.perf_counter()
        f = cls().fit(hist, origin).predict(horizon)
        out[name] = (f, time.perf_counter() - t0)
    return out


def _levels(
    preds: dict[str, pd.DataFrame], actual: pd.DataFrame, hist: pd.DataFrame, key: pd.Series | None
) -> dict[str, dict[str, float]]:
    """Scores of every method at one level: ``key`` maps item → series (None: items)."""
    if key is not None:
        hist = hist.assign(item_id=hist["item_id"].map(key))
        hist = hist.assign(value=hist["units"] * hist["price"].fillna(1.0))
        hist = hist.groupby(["item_id", "date"], as_index=False)[["units", "value"]].sum()
        hist["price"] = hist["value"] / hist["units"].where(hist["units"] > 0)
    origin = pd.Timestamp(actual["date"].min())
    sc = _scales(hist, origin).rename(columns={"series": "series"})
    return {name: scores(p, actual, sc) for name, p in preds.items()}


def _series(frame: pd.DataFrame, col: str) -> pd.DataFrame:
    return frame.rename(columns={col: "series"}).assign(date=lambda d: pd.to_datetime(d["date"]))


def bench_sim(args: argparse.Namespace, scratch: Path, scenario: str = "default") -> dict[str, Any]:
    import liucun
    from liucun.features.demand import daily_units, item_categories
    from liucun.sim import simulate
    from liucun.tasks.forecast import forecast_levels

    shop, wsp = scratch / f"shop-{scenario}", scratch / f"ws-{scenario}"
    t0 = time.perf_counter()
    sim = simulate(
        shop,
        users=args.users,
        days=args.days,
        holdout_days=args.horizon,
        seed=args.seed,
        scenario=scenario,
    )
    r: dict[str, Any] = {
        "scenario": scenario,
        "users": args.users,
        "days": args.days,
        "seed": args.seed,
    }
    r["simulate_seconds"] = time.perf_counter() - t0
    as_of = dt.date.fromisoformat(sim.start) + dt.timedelta(days=args.days)
    origin = pd.Timestamp(as_of)
    r["as_of"] = as_of.isoformat()
    with liucun.Workspace(wsp) as ws:
        for t in TABLES:
            ws.ingest(t, shop / f"{t}.parquet")
        t0 = time.perf_counter()
        res = forecast_levels(ws, as_of, args.horizon, ("item", "category"), 0.8)
        liucun_s = time.perf_counter() - t0
        hist = daily_units(ws, as_of, days=365 * 3)
        cats = item_categories(ws)
    items = res["item"].frame["item_id"].unique()
    hist = hist[hist["item_id"].isin(items)]
    # Actuals: holdout orders placed from as_of on, not cancelled (UTC days: tz is UTC).
    ho = pd.read_parquet(shop / "truth" / "holdout" / "orders.parquet")
    hl = pd.read_parquet(shop / "truth" / "holdout" / "order_items.parquet")
    ho = ho[(ho["ts"] >= pd.Timestamp(as_of, tz="UTC")) & (ho["status"] != "cancelled")]
    lines = hl.merge(ho[["order_id", "ts"]], on="order_id")
    lines["date"] = lines["ts"].dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()
    lines["units"] = lines["quantity"].fillna(1).astype(float)
    act = lines.groupby(["item_id", "date"], as_index=False)["units"].sum()
    act = act[act["item_id"].isin(items)]
    truth = pd.read_parquet(shop / "truth" / "demand.parquet")
    truth["date"] = pd.to_datetime(truth["date"])
    preds = {"liucun": res["item"].frame.assign(date=lambda d: pd.to_datetime(d["date"]))}
    seconds = {"liucun": liucun_s}
    for name, (f, s) in baselines(hist, origin, args.horizon).items():
        preds[name], seconds[name] = f, s
    item_preds = {k: _series(v, "item_id") for k, v in preds.items()}
    item_act = _series(act, "item_id")
    r["series"] = {"item": len(items), "category": res["category"].stats["series"]}
    r["item"] = _levels(item_preds, item_act, hist, None)
    key = pd.Series(cats).reindex(items).fillna("")
    cat_preds = {"liucun": _series(res["category"].frame, "category")}
    for name, p in item_preds.items():
        if name != "liucun":
            g = p.assign(series=p["series"].map(key))
            cat_preds[name] = g.groupby(["series", "date"], as_index=False)["forecast"].sum()
    cat_act = item_act.assign(series=item_act["series"].map(key))
    cat_act = cat_act.groupby(["series", "date"], as_index=False)["units"].sum()
    r["category"] = _levels(cat_preds, cat_act, hist, key)
    r["coverage_80"] = {
        "item_days": coverage(item_preds["liucun"], item_act),
        "category_days": coverage(cat_preds["liucun"], cat_act),
        "item_days_by_forecast": coverage_by_volume(item_preds["liucun"], item_act),
    }
    # Error against the simulator's true expected units (item level, plain RMSE).
    t = truth.rename(columns={"item_id": "series", "expected_units": "truth"})
    r["rmse_vs_true_mean"] = {
        name: float(
            np.sqrt(((p.merge(t, on=["series", "date"])).eval("forecast - truth") ** 2).mean())
        )
        for name, p in item_preds.items()
    }
    r["seconds_per_1000_series"] = {k: 1000 * v / max(len(items), 1) for k, v in seconds.items()}
    r["liucun_model"] = {
        k: res["item"].stats.get(k) for k in ("model", "train_rows", "origins", "calibration_rows")
    }
    return r


def bench_cdnow(args: argparse.Namespace) -> dict[str, Any] | None:
    """CDNOW: CDs sold per day by the whole shop (one real series)."""
    from liucun.data.samples import is_available, sample_files
    from liucun.models.forecast import DemandGBM

    if not is_available("cdnow"):
        return None
    [src] = sample_files("cdnow")
    raw = pd.read_csv(src, sep=r"\s+", header=0, names=["user", "date", "units", "amount"])
    raw["date"] = pd.to_datetime(raw["date"].astype(str), format="%Y%m%d")
    raw["value"] = raw["amount"]
    daily = raw.groupby("date", as_index=False)[["units", "value"]].sum()
    daily["price"] = daily["value"] / daily["units"]
    daily["item_id"] = "shop"
    origin = pd.Timestamp(CDNOW_AS_OF)
    hist = daily[daily["date"] < origin][["item_id", "date", "units", "price"]]
    end = origin + pd.Timedelta(days=args.horizon)
    act = daily[(daily["date"] >= origin) & (daily["date"] < end)][["item_id", "date", "units"]]
    t0 = time.perf_counter()
    m = DemandGBM(horizon=args.horizon, interval=0.8).fit(hist, origin)
    p = m.predict(args.horizon)
    preds = {"liucun": p}
    seconds = {"liucun": time.perf_counter() - t0}
    for name, (f, s) in baselines(hist, origin, args.horizon).items():
        preds[name], seconds[name] = f, s
    sp = {k: _series(v, "item_id") for k, v in preds.items()}
    sa = _series(act, "item_id")
    return {
        "as_of": CDNOW_AS_OF.isoformat(),
        "history_days": int((origin - hist["date"].min()).days),
        "shop": _levels(sp, sa, hist, None),
        "coverage_80": {"shop_days": coverage(sp["liucun"], sa)},
        "seconds_per_1000_series": {k: 1000 * v for k, v in seconds.items()},
        "liucun_model": m.stats_["model"],
    }


def synthesise(shop: Path, n_items: int, days: int, seed: int) -> dt.date:
    """A long sales history as canonical files: ``n_items`` items over ``days`` days (in 30
    categories), per item a log-normal level from slow movers (0.05 a day) to fast ones
    (30), a weekday profile, a yearly season, price steps and negative-binomial noise; one
    order per item and day with sales. Returns the first day after the history."""
    rng = np.random.default_rng(seed)
    start = dt.date(2022, 1, 1)
    t = np.arange(days)
    level = np.exp(rng.uniform(np.log(0.05), np.log(30.0), n_items))
    weekday = 1.0 + 0.25 * np.sin(2 * np.pi * ((t + rng.integers(0, 7)) % 7) / 7)
    season = 1.0 + 0.3 * np.sin(2 * np.pi * t / 365.25 + rng.uniform(0, 2 * np.pi, (n_items, 1)))
    list_price = np.round(np.exp(rng.uniform(np.log(5), np.log(500), n_items)), 1)
    step = np.exp(rng.normal(0, 0.1, (n_items, days // 90 + 1)))[:, t // 90]
    price = np.round(list_price[:, None] * step, 1)
    mu = level[:, None] * weekday[None, :] * season * step**-1.5
    units = rng.negative_binomial(2.0, 2.0 / (2.0 + mu))
    item, day = np.nonzero(units)
    ids = np.array([f"i{i:05d}" for i in range(n_items)])
    ts = pd.Timestamp(start, tz="UTC") + pd.to_timedelta(
        day * 86400 + rng.integers(0, 86400, len(day)), unit="s"
    )
    oid = np.array([f"o{i}" for i in range(len(day))])
    q = units[item, day].astype(float)
    pr = price[item, day]
    shop.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {
            "order_id": oid,
            "user_id": [f"u{i % 50_000}" for i in range(len(day))],
            "ts": ts,
            "amount": q * pr,
            "status": "paid",
        }
    ).to_parquet(shop / "orders.parquet")
    pd.DataFrame({"order_id": oid, "item_id": ids[item], "quantity": q, "price": pr}).to_parquet(
        shop / "order_items.parquet"
    )
    pd.DataFrame(
        {
            "item_id": ids,
            "category": [f"c{i % 30:02d}" for i in range(n_items)],
            "price": list_price,
        }
    ).to_parquet(shop / "items.parquet")
    return start + dt.timedelta(days=days)


def scale(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    """``--scale``: ``forecast()`` end to end (reading the warehouse, densifying, fitting,
    predicting 28 days with intervals) on a synthesised 3,000 items x 3 years."""
    import liucun
    from liucun.tasks.forecast import forecast

    shop, wsp = scratch / "scale-shop", scratch / "scale-ws"
    t0 = time.perf_counter()
    as_of = synthesise(shop, args.scale_items, args.scale_days, args.seed)
    r: dict[str, Any] = {"items": args.scale_items, "days": args.scale_days}
    r["synthesise_seconds"] = time.perf_counter() - t0
    with liucun.Workspace(wsp) as ws:
        t0 = time.perf_counter()
        for t in TABLES:
            ws.ingest(t, shop / f"{t}.parquet")
        r["ingest_seconds"] = time.perf_counter() - t0
        c0, t0 = cpu_s(), time.perf_counter()
        res = forecast(ws, as_of, 28)
        r["forecast_seconds"] = time.perf_counter() - t0
        r["forecast_cpu_seconds"] = cpu_s() - c0
    r["series"] = res.stats["series"]
    r["rows"] = res.stats["rows"]
    r["model"] = {k: res.stats.get(k) for k in ("model", "train_rows", "origins")}
    r["order_lines"] = int(
        pd.read_parquet(shop / "order_items.parquet", columns=["item_id"]).shape[0]
    )
    return r


def table(report: dict[str, Any]) -> str:
    lines = []
    for ds, levels in (
        ("sim", ("item", "category")),
        ("retail", ("item", "category")),
        ("cdnow", ("shop",)),
    ):
        r = report["datasets"].get(ds)
        if not r:
            continue
        for lv in levels:
            lines.append(f"| {ds} {lv} | " + " | ".join(METHODS) + " |")
            lines.append("|---" * (len(METHODS) + 1) + "|")
            for metric in ("wrmsse", "wmase"):
                vals = [r[lv][mt][metric] for mt in METHODS]
                lines.append(f"| {metric} | " + " | ".join(f"{v:.3f}" for v in vals) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=20_000)
    p.add_argument("--days", type=int, default=730)
    p.add_argument("--horizon", type=int, default=28)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="800 users, 210 days, 14-day horizon")
    p.add_argument("--no-cdnow", action="store_true", help="skip the real CDNOW series")
    p.add_argument("--no-retail", action="store_true", help="skip the retail world")
    p.add_argument(
        "--scale",
        action="store_true",
        help="only time 3,000 items x 3 years end to end (see scale())",
    )
    p.add_argument("--scale-items", type=int, default=3000)
    p.add_argument("--scale-days", type=int, default=365 * 3)
    p.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()))
    p.add_argument("--out", type=Path, default=Path("benchmarks/out/forecast.json"))
    args = p.parse_args(argv)
    if args.quick:
        args.users, args.days, args.horizon = 800, 210, 14
    args.work_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="liucun-bench-forecast-", dir=args.work_dir))
    t0 = time.perf_counter()
    report: dict[str, Any] = {
        "benchmark": "forecast",
        "date": dt.date.today().isoformat(),
        "horizon": args.horizon,
        "methods": list(METHODS),
        "machine": _machine(("lightgbm", "statsmodels", "pandas", "liucun")),
        "datasets": {},
    }
    if args.scale:
        try:
            report["scale"] = scale(args, scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        sc = report["scale"]
        report["seconds"] = time.perf_counter() - t0
        report["peak_mem_mb"] = peak_mb()
        report["targets"] = {
            "scale_under_120_s": sc["forecast_seconds"] < 120,
            "scale_forecast_seconds": sc["forecast_seconds"],
        }
        report["checks"] = {"finite": finite(sc["forecast_seconds"]) and sc["series"] > 0}
        return write_report(json_clean(report), args.out)
    try:
        report["datasets"]["sim"] = bench_sim(args, scratch)
        if not args.no_retail:
            report["datasets"]["retail"] = bench_sim(args, scratch, "retail")
        cd = None if args.no_cdnow else bench_cdnow(args)
        if cd is not None:
            report["datasets"]["cdnow"] = cd
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report["seconds"] = time.perf_counter() - t0
    report["peak_mem_mb"] = peak_mb()
    report["targets"] = {}
    for ds, r in report["datasets"].items():
        lv = "shop" if ds == "cdnow" else "item"
        base = {m: r[lv][m]["wrmsse"] for m in METHODS if m != "liucun"}
        best = min(base, key=base.get)
        cov = r["coverage_80"]["shop_days" if ds == "cdnow" else "item_days"]
        report["targets"][ds] = {
            f"{lv}_wrmsse_below_best_baseline": r[lv]["liucun"]["wrmsse"] < base[best],
            "best_baseline": best,
            "liucun_wrmsse": r[lv]["liucun"]["wrmsse"],
            "best_baseline_wrmsse": base[best],
            "coverage_80_within_0.75_0.85": 0.75 <= cov <= 0.85,
            "coverage_80": cov,
        }
    figures = floats(report["datasets"], ("liucun_model",))
    report["checks"] = {"finite": all(finite(v) for v in figures)}
    report = json_clean(report)
    text = json.dumps(report, indent=2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n", encoding="utf-8")
    print(table(report), file=sys.stderr)
    print(text)
    return 0 if report["checks"]["finite"] else 1


if __name__ == "__main__":
    sys.exit(main())
